import { assert, describe, it } from "@effect/vitest"
import { Partition } from "@eventable/core"
import { Schema } from "effect"

describe("Partition.shardOf", () => {
  // The expected shards were computed independently (FNV-1a 32 over UTF-8, then murmur3 fmix32) in Python.
  it("given known ids, when hashed, then the shards never change (they are part of the storage format)", () => {
    const golden = ["u-1", "u-2", "order-42", "é漢😀", ""].map((id) => [
      Partition.shardOf(id, 16),
      Partition.shardOf(id, 7)
    ])
    assert.deepStrictEqual(golden, [
      [9, 0],
      [15, 3],
      [7, 6],
      [1, 0],
      [11, 4]
    ])
  })

  it("given one shard, when hashed, then every id is in shard 0", () => {
    assert.strictEqual(Partition.shardOf("anything", 1), 0)
  })

  it("given 10,000 ids over 8 shards, when hashed, then every shard gets a fair share", () => {
    const counts = Array.from({ length: 8 }, () => 0)
    for (let i = 0; i < 10_000; i++) counts[Partition.shardOf(`user-${i}`, 8)]!++
    for (const count of counts) assert.isTrue(count > 1_100 && count < 1_400, `unbalanced shards: ${counts}`)
  })

  it.prop(
    "given any id and shard count, when hashed, then the shard is in range",
    [Schema.String, Schema.Int],
    ([id, n]) => {
      const shards = 1 + (Math.abs(n) % Partition.maxShards)
      const shard = Partition.shardOf(id, shards)
      return Number.isInteger(shard) && shard >= 0 && shard < shards && shard === Partition.shardOf(id, shards)
    }
  )
})

describe("Partition.compare", () => {
  it("given partitions, when sorted, then by tenant, then category, then shard (numerically)", () => {
    const sorted = [
      Partition.make("b", "a", 0),
      Partition.make("a", "b", 10),
      Partition.make("a", "b", 2),
      Partition.make("a", "a", 5)
    ].sort(Partition.compare)
    assert.deepStrictEqual(sorted.map(Partition.format), ["a/a#5", "a/b#2", "a/b#10", "b/a#0"])
    assert.strictEqual(Partition.compare(Partition.make("a", "b", 1), Partition.make("a", "b", 1)), 0)
  })
})
