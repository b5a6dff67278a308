import { assert, describe, it } from "@effect/vitest"
import { EventMetadata, Partition, StreamId } from "@eventable/core"
import { EventRows, TableKeys } from "@eventable/table-storage"
import { Effect } from "effect"
// The writer is internal to the package (not in its index): its admission rules are tested from the module.
import * as PartitionWriter from "../../packages/table-storage/src/PartitionWriter.ts"

const pk = TableKeys.partitionKey("acme", "order", 0)
// Computed per call, never at import: a mutation run swaps the code under a test module that is already loaded.
const budgetOf = () => PartitionWriter.transactionBudget(pk)

/** A pending append of `events` small events to stream `id`. */
const append = (id: string, events = 1, base = 0) =>
  Effect.gen(function* () {
    const shape = EventRows.shape(yield* StreamId.make({ tenant: "acme", category: "order", id }))
    const prepared = yield* Effect.forEach(Array.from({ length: events }), () =>
      Effect.map(EventMetadata.make(), (metadata) =>
        EventRows.prepare(shape, { type: "Happened", data: "{}", metadata })
      )
    )
    return yield* PartitionWriter.pending(shape, undefined, base, prepared)
  })

/** The same append, claiming `requestBytes` (to probe the byte budget exactly). */
const weighing = (pending: PartitionWriter.PendingAppend, requestBytes: number) => ({ ...pending, requestBytes })

const streams = (appends: ReadonlyArray<PartitionWriter.PendingAppend>) => appends.map((a) => a.streamId.id)

describe("PartitionWriter", () => {
  describe("pending", () => {
    it.effect("given events, then the append counts its header and two rows per event, and its bytes", () =>
      Effect.gen(function* () {
        const shape = EventRows.shape(yield* StreamId.make({ tenant: "acme", category: "order", id: "o-1" }))
        const prepared = yield* Effect.forEach([1, 2, 3], () =>
          Effect.map(EventMetadata.make(), (metadata) => EventRows.prepare(shape, { type: "T", data: "{}", metadata }))
        )
        const pending = yield* PartitionWriter.pending(shape, 'W/"e"', 4, prepared)

        assert.strictEqual(pending.operations, 7)
        assert.strictEqual(pending.base, 4)
        assert.strictEqual(pending.version, 7)
        assert.strictEqual(pending.headerEtag, 'W/"e"')
        assert.strictEqual(pending.headerRow, TableKeys.streamRow("o-1", 0))
        assert.strictEqual(
          pending.requestBytes,
          shape.headerRequestBytes + prepared.reduce((sum, event) => sum + event.requestBytes, 0)
        )
      })
    )
    it.effect("given a snapshot, then the append also counts its rows and their bytes", () =>
      Effect.gen(function* () {
        const shape = EventRows.shape(yield* StreamId.make({ tenant: "acme", category: "order", id: "o-2" }))
        const prepared = [EventRows.prepare(shape, { type: "T", data: "{}", metadata: yield* EventMetadata.make() })]
        const snapshot = { version: 1, rows: () => [], operations: 2, requestBytes: 5_000 }
        const plain = yield* PartitionWriter.pending(shape, undefined, 0, prepared)
        const withSnapshot = yield* PartitionWriter.pending(shape, undefined, 0, prepared, snapshot)

        assert.strictEqual(withSnapshot.operations, plain.operations + 2)
        assert.strictEqual(withSnapshot.requestBytes, plain.requestBytes + 5_000)
      })
    )
  })

  describe("transactionBudget", () => {
    it("given a partition, then one transaction leaves room for the head's operation and bytes", () => {
      assert.strictEqual(budgetOf().operations, EventRows.maxTransactionOperations - 1)
      assert.strictEqual(
        budgetOf().bytes,
        EventRows.maxTransactionBytes - 16_384 - EventRows.smallRowRequestBytes(pk, TableKeys.headRow)
      )
    })
  })

  describe("select (group-commit admission)", () => {
    it.effect("given two appends of one stream waiting, then only the first is admitted; the second waits", () =>
      Effect.gen(function* () {
        const first = yield* append("a")
        const other = yield* append("b")
        const second = yield* append("a", 1, 1)

        const { batch, rest } = PartitionWriter.select(pk, [first, other, second])

        assert.deepStrictEqual(batch, [first, other])
        assert.deepStrictEqual(rest, [second])
      })
    )

    it.effect("given an append that does not fit, then a later append of its stream never overtakes it", () =>
      Effect.gen(function* () {
        const big = weighing(yield* append("a"), budgetOf().bytes)
        const filler = yield* append("b")
        const later = yield* append("a", 1, 1)

        const { batch, rest } = PartitionWriter.select(pk, [filler, big, later])

        assert.deepStrictEqual(streams(batch), ["b"])
        assert.deepStrictEqual(rest, [big, later])
      })
    )

    it.effect("given appends that exactly fill the operations, then all are admitted; one more waits", () =>
      Effect.gen(function* () {
        // 33 appends of one event are 33 × 3 = 99 operations: exactly the budgetOf().
        const full = yield* Effect.forEach(
          Array.from({ length: 33 }, (_, i) => i),
          (i) => append(`s${i}`)
        )
        const extra = yield* append("extra")

        const { batch, rest } = PartitionWriter.select(pk, [...full, extra])

        assert.strictEqual(budgetOf().operations, 99)
        assert.deepStrictEqual(batch, full)
        assert.deepStrictEqual(rest, [extra])
      })
    )

    it.effect("given 97 operations waiting, then a 3-operation append waits: the head needs the 100th", () =>
      Effect.gen(function* () {
        const big = yield* append("big", 48) // 1 + 2 × 48 = 97 operations
        const small = yield* append("small")

        const { batch, rest } = PartitionWriter.select(pk, [big, small])

        assert.strictEqual(big.operations, 97)
        assert.deepStrictEqual(batch, [big])
        assert.deepStrictEqual(rest, [small])
      })
    )

    it.effect("given the largest append alone, then it is admitted; nothing else fits beside it", () =>
      Effect.gen(function* () {
        const largest = yield* append("big", 49) // 1 + 2 × 49 = 99 operations
        const small = yield* append("small")

        const { batch, rest } = PartitionWriter.select(pk, [largest, small])

        assert.strictEqual(largest.operations, 99)
        assert.deepStrictEqual(batch, [largest])
        assert.deepStrictEqual(rest, [small])
      })
    )

    it.effect("given appends that exactly fill the bytes, then they are admitted; one byte more waits", () =>
      Effect.gen(function* () {
        const half = Math.floor(budgetOf().bytes / 2)
        const a = weighing(yield* append("a"), half)
        const b = weighing(yield* append("b"), budgetOf().bytes - half)
        const c = weighing(yield* append("c"), 1)

        const exact = PartitionWriter.select(pk, [a, b, c])
        assert.deepStrictEqual(exact.batch, [a, b])
        assert.deepStrictEqual(exact.rest, [c])

        const over = PartitionWriter.select(pk, [a, weighing(b, budgetOf().bytes - half + 1), c])
        assert.deepStrictEqual(streams(over.batch), ["a", "c"])
        assert.deepStrictEqual(streams(over.rest), ["b"])
      })
    )

    it.effect("given an append too big to share, then smaller appends behind it still go, in arrival order", () =>
      Effect.gen(function* () {
        const first = weighing(yield* append("first"), budgetOf().bytes - 10)
        const big = weighing(yield* append("big"), 11)
        const tiny = weighing(yield* append("tiny"), 10)
        const late = weighing(yield* append("late"), 1)

        const { batch, rest } = PartitionWriter.select(pk, [first, big, tiny, late])

        assert.deepStrictEqual(streams(batch), ["first", "tiny"])
        assert.deepStrictEqual(streams(rest), ["big", "late"])
      })
    )

    it("given nobody waiting, then the batch is empty", () => {
      const { batch, rest } = PartitionWriter.select(pk, [])
      assert.deepStrictEqual([batch, rest], [[], []])
    })
  })

  describe("partitionName", () => {
    it("given an escaped partition key, then it names the partition as Partition.format does", () => {
      assert.strictEqual(
        PartitionWriter.partitionName(TableKeys.partitionKey("a|b", "c/d", 3)),
        Partition.format(Partition.make("a|b", "c/d", 3))
      )
    })
  })
})
