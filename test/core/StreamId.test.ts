import { assert, describe, it } from "@effect/vitest"
import { StreamId } from "@eventable/core"
import { Effect, Schema } from "effect"

describe("StreamId", () => {
  it.effect("given valid parts, when made, then it keeps them and formats as tenant/category/id", () =>
    Effect.gen(function* () {
      const id = yield* StreamId.make({ tenant: "acme", category: "user", id: "u/1#x?y|z'é漢😀" })

      assert.strictEqual(id.id, "u/1#x?y|z'é漢😀")
      assert.strictEqual(StreamId.format(id), "acme/user/u/1#x?y|z'é漢😀")
    })
  )

  it.effect("given parts at their maximum length, when made, then they are accepted", () =>
    Effect.gen(function* () {
      const id = yield* StreamId.make({
        tenant: "t".repeat(StreamId.maxTenantLength),
        category: "c".repeat(StreamId.maxCategoryLength),
        id: "i".repeat(StreamId.maxIdLength)
      })
      assert.strictEqual(id.id.length, StreamId.maxIdLength)
    })
  )

  const invalid: ReadonlyArray<readonly [string, { tenant: string; category: string; id: string }, string, string]> = [
    ["an empty tenant", { tenant: "", category: "user", id: "1" }, "tenant", "must not be empty"],
    ["an empty category", { tenant: "acme", category: "", id: "1" }, "category", "must not be empty"],
    ["an empty id", { tenant: "acme", category: "user", id: "" }, "id", "must not be empty"],
    [
      "a tenant one character too long",
      { tenant: "t".repeat(StreamId.maxTenantLength + 1), category: "user", id: "1" },
      "tenant",
      "at most 64"
    ],
    [
      "an id one character too long",
      { tenant: "acme", category: "user", id: "i".repeat(StreamId.maxIdLength + 1) },
      "id",
      "at most 128"
    ],
    ["a control character", { tenant: "acme", category: "user", id: "a\u0001b" }, "id", "U+0001"],
    ["a DEL", { tenant: "acme", category: "us\u007fer", id: "1" }, "category", "U+007F"],
    ["a C1 control", { tenant: "ac\u0085me", category: "user", id: "1" }, "tenant", "U+0085"],
    ["a line separator", { tenant: "acme", category: "user", id: "a\u2028b" }, "id", "U+2028"],
    ["a lone surrogate", { tenant: "acme", category: "user", id: "x\ud800" }, "id", "lone surrogate"]
  ]
  for (const [label, parts, part, reason] of invalid) {
    it.effect(`given ${label}, when made, then InvalidStreamId names the ${part}`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(StreamId.make(parts))

        assert.strictEqual(error._tag, "InvalidStreamId")
        assert.strictEqual(error.part, part)
        assert.include(error.reason, reason)
        assert.include(error.message, `Invalid stream ${part}`)
      })
    )
  }

  it("given a huge invalid value, when reported, then the message stays short", () => {
    const error = Effect.runSync(
      Effect.flip(StreamId.make({ tenant: "acme", category: "user", id: "x".repeat(100_000) }))
    )
    assert.isBelow(error.message.length, 200)
  })

  it("given the schema, when decoding, then invalid parts are rejected and valid ones branded", () => {
    const decode = Schema.decodeUnknownResult(StreamId.StreamId)
    assert.strictEqual(decode({ tenant: "acme", category: "user", id: "1" })._tag, "Success")
    assert.strictEqual(decode({ tenant: "acme", category: "user", id: "" })._tag, "Failure")
    assert.strictEqual(decode({ tenant: "acme", category: "user" })._tag, "Failure")
  })

  it.effect("given two ids, when compared, then only identical parts are equal", () =>
    Effect.gen(function* () {
      const a = yield* StreamId.make({ tenant: "acme", category: "user", id: "1" })
      const same = yield* StreamId.make({ tenant: "acme", category: "user", id: "1" })
      const otherTenant = yield* StreamId.make({ tenant: "other", category: "user", id: "1" })
      assert.isTrue(StreamId.equals(a, same))
      assert.isFalse(StreamId.equals(a, otherTenant))
    })
  )

  it("given each kind of bad part, when checked, then the problem says exactly what and where", () => {
    assert.strictEqual(StreamId.problem("id", ""), "must not be empty")
    assert.strictEqual(StreamId.problem("category", "c".repeat(65)), "must be at most 64 characters (got 65)")
    assert.isUndefined(StreamId.problem("category", "c".repeat(64)))
    assert.strictEqual(StreamId.problem("id", "i".repeat(129)), "must be at most 128 characters (got 129)")
    assert.strictEqual(
      StreamId.problem("id", "ab\u0001"),
      "must not contain control characters (found U+0001 at index 2)"
    )
    assert.strictEqual(
      StreamId.problem("id", "\u2029"),
      "must not contain control characters (found U+2029 at index 0)"
    )
    assert.strictEqual(
      StreamId.problem("id", "\u009f"),
      "must not contain control characters (found U+009F at index 0)"
    )
    assert.isUndefined(StreamId.problem("id", "\u00a0 "))
    assert.strictEqual(StreamId.problem("id", "\udc00x"), "must be well-formed Unicode (it contains a lone surrogate)")
  })

  it("given several bad parts, when validated, then the first in tenant, category, id order is named", () => {
    const result = StreamId.validate({ tenant: "", category: "", id: "" })
    assert.isTrue(result._tag === "Failure" && result.failure.part === "tenant")
    const second = StreamId.validate({ tenant: "t", category: "", id: "" })
    assert.isTrue(second._tag === "Failure" && second.failure.part === "category")
  })

  it("given long invalid values, when reported, then they are cut at 80 characters and quoted", () => {
    const at = (length: number) => {
      const result = StreamId.validate({ tenant: "t", category: "c", id: `${"x".repeat(length - 1)}\u0001` })
      if (result._tag === "Success") throw new Error("expected a failure")
      return result.failure
    }
    assert.strictEqual(at(80).value.length, 80)
    assert.strictEqual(at(81).value, `${"x".repeat(80)}…`)
    assert.strictEqual(
      at(2).message,
      `Invalid stream id ${JSON.stringify("x\u0001")}: must not contain control characters (found U+0001 at index 1)`
    )
  })

  it.effect("given ids that differ in one part, when compared, then they are not equal", () =>
    Effect.gen(function* () {
      const a = yield* StreamId.make({ tenant: "acme", category: "user", id: "1" })
      for (const other of [
        { tenant: "acme", category: "order", id: "1" },
        { tenant: "acme", category: "user", id: "2" }
      ]) {
        assert.isFalse(StreamId.equals(a, yield* StreamId.make(other)))
      }
    })
  )
})
