import { assert, describe, it } from "@effect/vitest"
import { Arguments, ExpectedVersion, Partition } from "@eventable/core"

describe("Arguments", () => {
  it("given every kind of number out of a count's domain, when checked, then each gets its own reason", () => {
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "finite"],
      [Number.NEGATIVE_INFINITY, "finite"],
      [-1, "negative"],
      [0.5, "whole"],
      [2 ** 53, "2^53"],
      ["3", "number"],
      [undefined, "number"]
    ]
    for (const [value, reason] of cases) assert.include(Arguments.countProblem(value), reason, String(value))
  })

  it("given a value that is not a number, when checked, then the reason names what it is in plain words", () => {
    assert.strictEqual(Arguments.countProblem(null), "must be a number, got null")
    assert.strictEqual(Arguments.countProblem(undefined), "must be a number, got undefined")
    assert.strictEqual(Arguments.countProblem({}), "must be a number, got an object")
    assert.strictEqual(Arguments.countProblem("3"), "must be a number, got a string")
  })

  it("given counts in the domain, when checked, then they pass, 0 and 2^53 - 1 included", () => {
    for (const value of [0, -0, 1, 49, Number.MAX_SAFE_INTEGER]) {
      assert.isUndefined(Arguments.countProblem(value), String(value))
    }
  })

  it("given an invalid count, when named, then the error carries operation, argument and the value as text", () => {
    const error = Arguments.count("read", "limit", Number.NaN)
    assert.strictEqual(error?._tag, "InvalidArgument")
    assert.strictEqual(error?.operation, "read")
    assert.strictEqual(error?.argument, "limit")
    assert.strictEqual(error?.value, "NaN")
    assert.strictEqual(error?.message, "Invalid limit for read: NaN (must be a number, not NaN)")
  })

  it("given expected versions, when checked, then only exact(n) with n out of domain is refused", () => {
    for (const ok of [
      ExpectedVersion.any,
      ExpectedVersion.noStream,
      ExpectedVersion.streamExists,
      ExpectedVersion.exact(7)
    ]) {
      assert.isUndefined(Arguments.expectedVersion("append", ok))
    }
    const error = Arguments.expectedVersion("append", ExpectedVersion.exact(-2))
    assert.strictEqual(error?.argument, "expected")
    assert.strictEqual(error?.value, "exact(-2)")
  })

  it("given partitions, when checked, then tenant, category and shard are each named", () => {
    assert.isUndefined(Arguments.partition("head", Partition.make("acme", "user", Partition.maxShards - 1)))
    assert.strictEqual(Arguments.partition("head", Partition.make("", "user", 0))?.argument, "partition.tenant")
    assert.strictEqual(
      Arguments.partition("head", Partition.make("acme", "a\u2028b", 0))?.argument,
      "partition.category"
    )
    assert.strictEqual(Arguments.partition("head", Partition.make("acme", "user", 1.5))?.argument, "partition.shard")
    assert.strictEqual(
      Arguments.partition("head", Partition.make("acme", "user", Partition.maxShards))?.argument,
      "partition.shard"
    )
    assert.strictEqual(Arguments.partitionFilter("partitions", { category: "" })?.argument, "category")
    assert.isUndefined(Arguments.partitionFilter("partitions", {}))
  })
})
