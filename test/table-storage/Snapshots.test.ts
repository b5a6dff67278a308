import { odata } from "@azure/data-tables"
import { assert, describe, it } from "@effect/vitest"
import {
  type EventData,
  EventFeed,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  type Snapshot,
  StreamId
} from "@eventable/core"
import { TableEventStore, TableKeys, TableStorageConfig } from "@eventable/table-storage"
import { Context, Effect, Layer, Metric, Option, Stream } from "effect"
import * as FaultProxy from "./FaultProxy.ts"
import { connectionString, freshTable, rawTable } from "./fixtures.ts"

// Helpers -------------------------------------------------------------------------

const instance = (options: TableStorageConfig.TableStorageOptions) =>
  Effect.map(Layer.build(TableEventStore.layer(options)), (context) => ({
    store: Context.get(context, EventStore),
    feed: Context.get(context, EventFeed)
  }))

const table = freshTable("snap")
const onAzurite = () => instance({ connection: TableStorageConfig.connectionString(connectionString()), table })
const throughProxy = (proxy: FaultProxy.FaultProxy, extra: Partial<TableStorageConfig.TableStorageOptions> = {}) =>
  instance({
    connection: TableStorageConfig.connectionString(FaultProxy.redacted(proxy)),
    table,
    retryBaseDelay: "5 millis",
    ...extra
  })

let tenants = 0
const tenant = () => `t${Date.now().toString(36)}${tenants++}`
const streamIn = (id: string) => StreamId.make({ tenant: tenant(), category: "order", id })

const events = (count: number, from = 0): Effect.Effect<Array<EventData.EventData>> =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => from + i),
    (n) => Effect.map(EventMetadata.make(), (metadata) => ({ type: "Added", data: JSON.stringify({ n }), metadata }))
  )

const snapshotAt = (version: number, state: object): Snapshot => ({ version, data: JSON.stringify(state) })

const versionOf = (store: EventStore["Service"], streamId: StreamId.StreamId) =>
  Effect.map(Stream.runCollect(store.readStream(streamId)), (all) => all.length)

/** The snapshot as (version, parsed state), for comparisons. */
const stateOf = (snapshot: Option.Option<Snapshot>) => Option.map(snapshot, (s) => [s.version, JSON.parse(s.data)])

const partitionKeyOf = (streamId: StreamId.StreamId) => TableKeys.partitionKey(streamId.tenant, streamId.category, 0)

/** The raw snapshot rows of a stream, in key order. */
const snapshotRows = (streamId: StreamId.StreamId) =>
  Effect.promise(async () => {
    const lower = TableKeys.snapshotRow(streamId.id, 0)
    const upper = TableKeys.snapshotRow(streamId.id, TableKeys.maxSnapshotRows - 1)
    const rows: Array<Record<string, unknown>> = []
    const query = rawTable(table).listEntities<Record<string, unknown>>({
      queryOptions: {
        filter: odata`PartitionKey eq ${partitionKeyOf(streamId)} and RowKey ge ${lower} and RowKey le ${upper}`
      }
    })
    for await (const row of query) rows.push(row)
    return rows
  })

const damagedCount = Effect.map(Metric.snapshot, (all) => {
  const found = all.find((m) => m.id === "eventable_table_snapshots_damaged_total")
  return found === undefined ? 0 : Number((found.state as { readonly count: number | bigint }).count)
})
const withMetrics = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, Metric.MetricRegistry, new Map())

// Tests ---------------------------------------------------------------------------

describe("Table Storage snapshots on Azurite", () => {
  describe("never ahead of the events", () => {
    it.live(
      "given another process moved the stream, when an append with a snapshot conflicts, then the snapshot stays",
      () =>
        Effect.gen(function* () {
          const mine = yield* onAzurite()
          const theirs = yield* onAzurite()
          const streamId = yield* streamIn("s")
          yield* mine.store.append(streamId, yield* events(2), ExpectedVersion.noStream, {
            snapshot: snapshotAt(2, { by: "first" })
          })
          yield* theirs.store.append(streamId, yield* events(1, 2), ExpectedVersion.exact(2))

          // `mine` still holds the header's old ETag: its transaction fails on the header, snapshot rows included.
          const error = yield* Effect.flip(
            mine.store.append(streamId, yield* events(1, 10), ExpectedVersion.exact(2), {
              snapshot: snapshotAt(3, { by: "loser" })
            })
          )

          assert.strictEqual(error._tag, "ConcurrencyConflict")
          assert.deepStrictEqual(stateOf(yield* mine.store.readSnapshot(streamId)), Option.some([2, { by: "first" }]))
          assert.strictEqual(yield* versionOf(mine.store, streamId), 3)
        })
    )

    it.live("given an append with a snapshot whose answer is lost, then both committed once, at one version", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { store } = yield* throughProxy(proxy)
        const streamId = yield* streamIn("lost")
        yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream)

        proxy.inject({ _tag: "LoseAnswer" })
        const result = yield* store.append(streamId, yield* events(2, 1), ExpectedVersion.exact(1), {
          snapshot: snapshotAt(3, { total: 3 })
        })

        assert.strictEqual(proxy.faulted(), 1)
        assert.strictEqual(result.version, 3)
        assert.strictEqual(yield* versionOf(store, streamId), 3)
        assert.deepStrictEqual(stateOf(yield* store.readSnapshot(streamId)), Option.some([3, { total: 3 }]))
      })
    )

    it.live("given a store that stays busy, when an append with a snapshot gives up, then neither is written", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { store } = yield* throughProxy(proxy, { transientRetries: 1 })
        const streamId = yield* streamIn("down")
        yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream, { snapshot: snapshotAt(1, { n: 1 }) })

        proxy.inject({ _tag: "Reject", status: 503 }, { times: 3 })
        const error = yield* Effect.flip(
          store.append(streamId, yield* events(1, 1), ExpectedVersion.exact(1), { snapshot: snapshotAt(2, { n: 2 }) })
        )

        assert.strictEqual(error._tag, "StoreUnavailable")
        assert.strictEqual(yield* versionOf(store, streamId), 1)
        assert.deepStrictEqual(stateOf(yield* store.readSnapshot(streamId)), Option.some([1, { n: 1 }]))
      })
    )

    it.live(
      "given appends with snapshots to many streams of one partition, when group commit batches them, then each is right",
      () =>
        Effect.gen(function* () {
          const { store } = yield* onAzurite()
          const owner = tenant()
          const ids = Array.from({ length: 12 }, (_, i) => i)
          // 1 header + 1 snapshot row + 2 × 24 event rows = 50: two of these and the head are 101 operations, one too many.
          yield* Effect.forEach(
            ids,
            (i) =>
              Effect.flatMap(
                Effect.all([StreamId.make({ tenant: owner, category: "order", id: `s${i}` }), events(24)]),
                ([streamId, batch]) =>
                  store.append(streamId, batch, ExpectedVersion.noStream, { snapshot: snapshotAt(24, { i }) })
              ),
            { concurrency: "unbounded" }
          )

          for (const i of ids) {
            const streamId = yield* StreamId.make({ tenant: owner, category: "order", id: `s${i}` })
            assert.deepStrictEqual(stateOf(yield* store.readSnapshot(streamId)), Option.some([24, { i }]))
            assert.strictEqual(yield* versionOf(store, streamId), 24)
          }
        })
    )
  })

  describe("loading", () => {
    it.live(
      "given a snapshot load in a fresh process, when it appends at the loaded version, then it reads no header",
      () =>
        Effect.gen(function* () {
          const streamId = yield* streamIn("cold")
          const { store: writer } = yield* onAzurite()
          yield* writer.append(streamId, yield* events(3), ExpectedVersion.noStream, {
            snapshot: snapshotAt(3, { n: 3 })
          })
          yield* writer.append(streamId, yield* events(2, 3), ExpectedVersion.exact(3))
          const proxy = yield* FaultProxy.make
          const { store } = yield* throughProxy(proxy)

          const snapshot = yield* store.readSnapshot(streamId)
          const after = yield* Stream.runCollect(store.readStream(streamId, { from: 4 }))
          // A point read of the header (not of the partition head) would now fail: the append must take the ETag
          // the snapshot query returned.
          proxy.inject(
            { _tag: "Reject", status: 400 },
            { match: (method, path) => method === "GET" && path.includes("RowKey=") && path.includes("0000000000") }
          )
          const result = yield* store.append(streamId, yield* events(1, 5), ExpectedVersion.exact(5), {
            snapshot: snapshotAt(6, { n: 6 })
          })

          assert.deepStrictEqual(stateOf(snapshot), Option.some([3, { n: 3 }]))
          assert.deepStrictEqual(
            after.map((e) => e.version),
            [4, 5]
          )
          assert.strictEqual(result.version, 6)
          assert.strictEqual(proxy.faulted(), 0, "no header was read")
        })
    )
  })

  describe("rows", () => {
    it.live(
      "given a large snapshot, when written, then it spans several rows under 1 MiB and a smaller one replaces it",
      () =>
        Effect.gen(function* () {
          const { store } = yield* onAzurite()
          const streamId = yield* streamIn("big")
          const big = JSON.stringify({ text: "é😀".repeat(400_000) }) // 1.2 million UTF-16 units
          yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream, {
            snapshot: { version: 1, data: big }
          })

          const rows = yield* snapshotRows(streamId)
          assert.strictEqual(rows.length, 3)
          assert.strictEqual(rows[0]!.rows, 3)
          for (const row of rows) {
            let units = 0
            for (const [name, value] of Object.entries(row)) {
              if (/^d\d+$/.test(name) && typeof value === "string") units += value.length
            }
            assert.isBelow(units * 2, 1_000_000, "each row stays well under Azure's 1 MiB entity limit")
          }
          assert.deepStrictEqual(yield* store.readSnapshot(streamId), Option.some({ version: 1, data: big }))

          yield* store.append(streamId, yield* events(1, 1), ExpectedVersion.exact(1), {
            snapshot: snapshotAt(2, { small: true })
          })
          assert.strictEqual((yield* snapshotRows(streamId)).length, 3, "the surplus rows of the big one stay")
          assert.deepStrictEqual(stateOf(yield* store.readSnapshot(streamId)), Option.some([2, { small: true }]))
          assert.strictEqual(yield* versionOf(store, streamId), 2, "snapshot rows are never read as events")
        })
    )

    it.live("given a CJK-heavy snapshot, when written, then the service takes every row and it reads back whole", () =>
      Effect.gen(function* () {
        const { store } = yield* onAzurite()
        const streamId = yield* streamIn("cjk")
        // 1.2 MB of UTF-16 but 1.8 MB of UTF-8: rows cut by UTF-16 alone were refused as too large.
        const data = JSON.stringify({ text: "字".repeat(600_000) })
        yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream, { snapshot: { version: 1, data } })

        assert.isAtLeast((yield* snapshotRows(streamId)).length, 2)
        assert.deepStrictEqual(yield* store.readSnapshot(streamId), Option.some({ version: 1, data }))
      })
    )

    it.live(
      "given a damaged snapshot row, when the snapshot is read, then it is ignored, counted, and the next one repairs it",
      () =>
        withMetrics(
          Effect.gen(function* () {
            const { store } = yield* onAzurite()
            const streamId = yield* streamIn("damaged")
            const big = JSON.stringify({ text: "x".repeat(600_000) })
            yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream, {
              snapshot: { version: 1, data: big }
            })
            const raw = rawTable(table)
            const partitionKey = partitionKeyOf(streamId)

            yield* Effect.promise(() => raw.deleteEntity(partitionKey, TableKeys.snapshotRow(streamId.id, 1)))
            const missingRow = yield* store.readSnapshot(streamId)
            yield* Effect.promise(() =>
              raw.updateEntity({ partitionKey, rowKey: TableKeys.snapshotRow(streamId.id, 0), version: "v1" }, "Merge")
            )
            const badVersion = yield* store.readSnapshot(streamId)

            yield* Effect.forEach([0, 1], (row) =>
              Effect.promise(() =>
                raw.upsertEntity(
                  { partitionKey, rowKey: TableKeys.snapshotRow(streamId.id, row), version: "5" },
                  "Merge"
                )
              )
            )
            const whole = yield* snapshotRows(streamId)
            const ahead = yield* store.readSnapshot(streamId)

            assert.isTrue(Option.isNone(missingRow))
            assert.isTrue(Option.isNone(badVersion))
            assert.strictEqual(whole.length, 2, "both rows are back, at version 5")
            assert.isTrue(Option.isNone(ahead), "a snapshot ahead of the stream's header is not believed")
            assert.strictEqual(yield* damagedCount, 3)
            assert.strictEqual(yield* versionOf(store, streamId), 1, "the events are untouched")

            yield* store.append(streamId, yield* events(1, 1), ExpectedVersion.exact(1), {
              snapshot: snapshotAt(2, { repaired: true })
            })
            assert.deepStrictEqual(stateOf(yield* store.readSnapshot(streamId)), Option.some([2, { repaired: true }]))
          })
        )
    )
  })
})
