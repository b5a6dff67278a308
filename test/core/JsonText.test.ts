import { assert, describe, it } from "@effect/vitest"
import { EventCodec, JsonText } from "@eventable/core"
import { Result, Schema } from "effect"

describe("JsonText", () => {
  it("given JSON with raw line and paragraph separators, when escaped, then none is left raw and it parses to the same value", () => {
    const value = { "\u2028key": ["a\u2028b\u2029c", "\u2029"], plain: "x", escaped: "\\u2028" }
    const raw = JSON.stringify(value)
    assert.include(raw, "\u2028", "JSON.stringify leaves the separators raw")

    const escaped = JsonText.escapeSeparators(raw)

    assert.notInclude(escaped, "\u2028")
    assert.notInclude(escaped, "\u2029")
    assert.deepStrictEqual(JSON.parse(escaped), value)
    assert.strictEqual(JsonText.stringify(value), escaped)
    const clean = '{"a":1}'
    assert.strictEqual(JsonText.escapeSeparators(clean), clean)
  })

  it("given JSON text, when its depth is measured, then brackets inside strings and escapes do not count", () => {
    assert.strictEqual(JsonText.depth("1"), 0)
    assert.strictEqual(JsonText.depth("{}"), 1)
    assert.strictEqual(JsonText.depth('{"a":[{"b":[]}],"c":{}}'), 4)
    assert.strictEqual(JsonText.depth('{"a":"[[[{{{","b":"\\"[[["}'), 1)
    assert.strictEqual(JsonText.depth(`{"v":${"[".repeat(99_999)}${"]".repeat(99_999)}}`), 100_000)
  })

  it("given an event nested far past the depth limit, when the codec encodes it, then it fails typed instead of overflowing", () => {
    const Deep = Schema.TaggedStruct("Deep", { value: Schema.Unknown })
    const codec = EventCodec.make(Deep)
    let value: unknown = 0
    for (let i = 0; i < 100_000; i++) value = [value]

    const encoded = codec.encode(Deep.make({ value }))

    assert.isTrue(Result.isFailure(encoded))
    if (Result.isFailure(encoded)) assert.include(encoded.failure.message, `${JsonText.maxDepth} levels`)
    assert.isTrue(Result.isSuccess(codec.encode(Deep.make({ value: [[[1]]] }))))
  })
})
