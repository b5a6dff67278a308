import { assert, describe, it } from "@effect/vitest"
import * as StateCache from "../../packages/core/src/StateCache.ts"

describe("StateCache", () => {
  it("given a full cache, when one more entry is set, then the least recently used one is evicted", () => {
    const cache = StateCache.make<number>(2)
    cache.set("a", 1)
    cache.set("b", 2)
    assert.strictEqual(cache.get("a"), 1) // a is now the most recently used
    cache.set("c", 3)

    assert.strictEqual(cache.size(), 2)
    assert.isUndefined(cache.get("b"))
    assert.strictEqual(cache.get("a"), 1)
    assert.strictEqual(cache.get("c"), 3)
  })

  it("given many streams, then the cache never holds more than its capacity", () => {
    const cache = StateCache.make<number>(100)
    for (let i = 0; i < 10_000; i++) cache.set(`s${i}`, i)
    assert.strictEqual(cache.size(), 100)
    assert.strictEqual(cache.get("s9999"), 9999)
    assert.isUndefined(cache.get("s0"))
  })

  it("given an entry, when it is set again or deleted, then the cache follows", () => {
    const cache = StateCache.make<number>(2)
    cache.set("a", 1)
    cache.set("a", 2)
    assert.strictEqual(cache.size(), 1)
    assert.strictEqual(cache.get("a"), 2)
    cache.delete("a")
    assert.isUndefined(cache.get("a"))
  })
})
