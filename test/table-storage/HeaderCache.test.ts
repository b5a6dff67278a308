import { assert, describe, it } from "@effect/vitest"
import * as HeaderCache from "../../packages/table-storage/src/HeaderCache.ts"

describe("HeaderCache", () => {
  it("given more headers than its capacity, when filled, then the least recently used are dropped", () => {
    const cache = HeaderCache.make(2)
    cache.set("a", { version: 1, etag: "a1" })
    cache.set("b", { version: 1, etag: "b1" })
    cache.get("a")
    cache.set("c", { version: 1, etag: "c1" })

    assert.deepStrictEqual(cache.get("a"), { version: 1, etag: "a1" })
    assert.isUndefined(cache.get("b"))
    assert.deepStrictEqual(cache.get("c"), { version: 1, etag: "c1" })
  })

  it("given a newer header, when an older one is set, then the newer one stays", () => {
    const cache = HeaderCache.make(10)
    cache.set("a", { version: 5, etag: "new" })
    cache.set("a", { version: 4, etag: "old" })
    assert.strictEqual(cache.get("a")?.etag, "new")
  })

  it("given capacity 0, when set, then nothing is kept", () => {
    const cache = HeaderCache.make(0)
    cache.set("a", { version: 1, etag: "x" })
    assert.isUndefined(cache.get("a"))
  })
})
