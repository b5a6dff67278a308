import { odata } from "@azure/data-tables"
import { assert, describe, it } from "@effect/vitest"
import {
  type EventData,
  EventFeed,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  Partition,
  type StoredEvent,
  StreamId
} from "@eventable/core"
import { EventRows, TableEventStore, TableKeys, TableStorageConfig } from "@eventable/table-storage"
import { Cause, Context, Effect, Exit, Fiber, Layer, Metric, Redacted, Scope, Stream } from "effect"
import * as FaultProxy from "./FaultProxy.ts"
import { connectionString, freshTable, rawTable } from "./fixtures.ts"

// Helpers -------------------------------------------------------------------------

/** A store instance of its own (own caches, own writers): what another process would be. */
const instance = (options: TableStorageConfig.TableStorageOptions) =>
  Effect.map(Layer.build(TableEventStore.layer(options)), (context) => ({
    store: Context.get(context, EventStore),
    feed: Context.get(context, EventFeed)
  }))

const onAzurite = (table: string, extra: Partial<TableStorageConfig.TableStorageOptions> = {}) =>
  instance({ connection: TableStorageConfig.connectionString(connectionString()), table, ...extra })

const streamIn = (tenant: string, id: string, category = "order") => StreamId.make({ tenant, category, id })

const event = (data: object | string, type = "Happened"): Effect.Effect<EventData.EventData> =>
  Effect.map(EventMetadata.make(), (metadata) => ({
    type,
    data: typeof data === "string" ? data : JSON.stringify(data),
    metadata
  }))

const events = (count: number, from = 0) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => from + i),
    (n) => event({ n })
  )

type Store = EventStore["Service"]
const readAll = (store: Store, streamId: StreamId.StreamId) => Stream.runCollect(store.readStream(streamId))

const readFeed = (feed: EventFeed["Service"], partition: Partition.Partition) =>
  Effect.gen(function* () {
    const all: Array<StoredEvent> = []
    while (true) {
      const page = yield* feed.read(partition, all.length, 500)
      all.push(...page)
      if (page.length < 500) return all
    }
  })

/** The current value of a metric in a fresh registry (see `withMetrics`). */
const metric = (id: string) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const found = snapshots.find((s) => s.id === id)
    if (found === undefined) return 0
    const count = (found.state as { readonly count: number | bigint }).count
    return Number(count)
  })
const withMetrics = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, Metric.MetricRegistry, new Map())

let tenants = 0
const tenant = () => `t${Date.now().toString(36)}${tenants++}`

const table = freshTable("store")

// Tests ---------------------------------------------------------------------------

describe("TableEventStore on Azurite", () => {
  describe("payload sizes", () => {
    const roundTrip = (label: string, data: string) =>
      it.live(`given ${label}, when appended, then it reads back intact from the stream and the feed`, () =>
        Effect.gen(function* () {
          const { feed, store } = yield* onAzurite(table)
          const streamId = yield* streamIn(tenant(), "big")
          const result = yield* store.append(streamId, [yield* event(data)], ExpectedVersion.noStream)

          const [fromStream] = yield* readAll(store, streamId)
          const [fromFeed] = yield* feed.read(result.partition, 0, 10)

          assert.strictEqual(fromStream?.data.length, data.length)
          assert.strictEqual(fromStream?.data, data)
          assert.strictEqual(fromFeed?.data, data)
        })
      )
    const sized = (units: number, filler = "x") => {
      const frame = JSON.stringify({ b: "" }).length
      return JSON.stringify({ b: filler.repeat(Math.floor((units - frame) / filler.length)) })
    }

    roundTrip("a payload of exactly 32,768 UTF-16 units (one property)", sized(32_768))
    roundTrip("a payload of 32,769 units (two properties)", sized(32_769))
    roundTrip("a 300,000-unit payload of CJK and emoji (split between surrogates)", sized(300_000, "漢😀é"))

    it.live("given the largest payload that fits one entity, when appended, then it round-trips", () =>
      Effect.gen(function* () {
        const { store } = yield* onAzurite(table)
        const streamId = yield* streamIn(tenant(), "max")
        let units = 520_000
        while (
          EventRows.prepare(EventRows.shape(streamId), yield* event(sized(units))).entityBytes >
          EventRows.maxEntityBytes
        )
          units -= 1_000
        const data = sized(units)

        yield* store.append(streamId, [yield* event(data)], ExpectedVersion.noStream)

        assert.isAbove(units, 500_000)
        assert.strictEqual((yield* readAll(store, streamId))[0]?.data, data)
      })
    )

    it.live(
      "given a payload over 1 MiB, when appended, then EventTooLarge with size and limit, before any request",
      () =>
        Effect.gen(function* () {
          const { store } = yield* onAzurite(table)
          const streamId = yield* streamIn(tenant(), "too-big")
          const error = yield* Effect.flip(
            store.append(streamId, [yield* event(sized(600_000))], ExpectedVersion.noStream)
          )

          assert.strictEqual(error._tag, "EventTooLarge")
          if (error._tag === "EventTooLarge") {
            assert.strictEqual(error.limit, 1_048_576)
            assert.isAbove(error.size, 1_200_000)
          }
          assert.deepStrictEqual(yield* readAll(store, streamId), [])
        })
    )

    it.live(
      "given exactly 49 events and then 50, when appended, then 49 commit in one transaction and 50 are refused",
      () =>
        Effect.gen(function* () {
          const { store } = yield* onAzurite(table)
          const streamId = yield* streamIn(tenant(), "many")
          const ok = yield* store.append(streamId, yield* events(49), ExpectedVersion.noStream)
          const error = yield* Effect.flip(store.append(streamId, yield* events(50), ExpectedVersion.exact(49)))

          assert.strictEqual(ok.version, 49)
          assert.strictEqual(error._tag, "TooManyEvents")
          if (error._tag === "TooManyEvents") assert.strictEqual(error.max, 49)
          assert.strictEqual((yield* readAll(store, streamId)).length, 49)
        })
    )
  })

  describe("identifiers", () => {
    it.live(
      "given ids with / \\ # ? | ' % ~, unicode and the maximum length, when used, then they work and stay apart",
      () =>
        Effect.gen(function* () {
          const { feed, store } = yield* onAzurite(table)
          const tenantId = `${tenant()}/#?'|`
          const ids = [
            "a/b\\c#d?e",
            "it's|piped",
            "100%~2F",
            "~2F",
            "/",
            "ünïcødé 漢字 😀",
            "i".repeat(StreamId.maxIdLength),
            "/".repeat(StreamId.maxIdLength)
          ]
          for (const [index, id] of ids.entries()) {
            const streamId = yield* StreamId.make({ tenant: tenantId, category: "c/a|t", id })
            yield* store.append(streamId, yield* events(index + 1, index * 10), ExpectedVersion.noStream)
          }

          for (const [index, id] of ids.entries()) {
            const streamId = yield* StreamId.make({ tenant: tenantId, category: "c/a|t", id })
            const read = yield* readAll(store, streamId)
            assert.strictEqual(read.length, index + 1, id)
            assert.strictEqual(read[0]?.streamId.id, id)
            assert.strictEqual(JSON.parse(read[0]!.data).n, index * 10)
          }
          const [partition] = yield* feed.partitions({ tenant: tenantId })
          const all = yield* readFeed(feed, partition!)
          assert.deepStrictEqual([...new Set(all.map((e) => e.streamId.id))], ids)
        })
    )

    it.live(
      "given a tenant whose name is another's prefix, when partitions are listed, then each sees only its own",
      () =>
        Effect.gen(function* () {
          const { feed, store } = yield* onAzurite(table)
          const base = tenant()
          yield* store.append(yield* streamIn(base, "x"), yield* events(1), ExpectedVersion.any)
          yield* store.append(yield* streamIn(`${base}|x`, "x"), yield* events(1), ExpectedVersion.any)
          yield* store.append(yield* streamIn(`${base}a`, "x"), yield* events(1), ExpectedVersion.any)

          const listed = yield* feed.partitions({ tenant: base })
          assert.deepStrictEqual(
            listed.map((p) => p.tenant),
            [base]
          )
        })
    )
  })

  describe("corrupt rows", () => {
    it.live("given a damaged event row, when the stream and the feed are read, then CorruptEvent names it", () =>
      Effect.gen(function* () {
        const { feed, store } = yield* onAzurite(table)
        const streamId = yield* streamIn(tenant(), "damaged")
        const result = yield* store.append(streamId, yield* events(3), ExpectedVersion.noStream)
        const pk = TableKeys.partitionKey(streamId.tenant, streamId.category, result.partition.shard)
        const raw = rawTable(table)
        yield* Effect.promise(() =>
          raw.updateEntity({ partitionKey: pk, rowKey: TableKeys.streamRow(streamId.id, 2), chunks: 2 }, "Merge")
        )
        yield* Effect.promise(() =>
          raw.updateEntity(
            { partitionKey: pk, rowKey: TableKeys.feedRow(result.positions[1]!), occurredAt: "soon" },
            "Merge"
          )
        )

        const fromStream = yield* Effect.flip(readAll(store, streamId))
        const fromFeed = yield* Effect.flip(feed.read(result.partition, 0, 10))

        assert.strictEqual(fromStream._tag, "CorruptEvent")
        if (fromStream._tag === "CorruptEvent") {
          assert.strictEqual(fromStream.version, 2)
          assert.include(fromStream.reason, "missing data chunk d1")
        }
        assert.strictEqual(fromFeed._tag, "CorruptEvent")
        if (fromFeed._tag === "CorruptEvent") assert.include(fromFeed.reason, "occurredAt")
      })
    )

    it.live("given a deleted event row, when the stream is read, then the gap is reported, not skipped", () =>
      Effect.gen(function* () {
        const { store } = yield* onAzurite(table)
        const streamId = yield* streamIn(tenant(), "holed")
        const result = yield* store.append(streamId, yield* events(3), ExpectedVersion.noStream)
        const pk = TableKeys.partitionKey(streamId.tenant, streamId.category, result.partition.shard)
        yield* Effect.promise(() => rawTable(table).deleteEntity(pk, TableKeys.streamRow(streamId.id, 2)))

        const error = yield* Effect.flip(readAll(store, streamId))

        assert.strictEqual(error._tag, "CorruptEvent")
        if (error._tag === "CorruptEvent") assert.include(error.reason, "version 2 is missing")
      })
    )
  })

  describe("connection problems", () => {
    it.live(
      "given a malformed connection string, when the layer starts, then TableStorageConfigError without the secret",
      () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(
            instance({
              connection: TableStorageConfig.connectionString("AccountName=x;AccountKey=s3cret!;TableEndpoint=nope"),
              table
            })
          )
          assert.strictEqual(error._tag, "TableStorageConfigError")
          assert.notInclude(error.message, "s3cret")
        })
    )

    it.live(
      "given a wrong account key, when the layer starts, then StoreFailure says authentication failed (403)",
      () =>
        Effect.gen(function* () {
          const wrongKey = connectionString().replace(
            /AccountKey=[^;]+/,
            `AccountKey=${Buffer.from("wrong").toString("base64")}`
          )
          const error = yield* Effect.flip(
            instance({ connection: TableStorageConfig.connectionString(Redacted.make(wrongKey)), table })
          )

          assert.strictEqual(error._tag, "StoreFailure")
          if (error._tag === "StoreFailure") assert.strictEqual(error.status, 403)
          assert.include(error.message, "authentication failed")
        })
    )

    it.live("given nothing listening, when the layer starts, then StoreUnavailable after its retries", () =>
      Effect.gen(function* () {
        const nowhere = connectionString().replace(/127\.0\.0\.1:\d+/, "127.0.0.1:9")
        const error = yield* Effect.flip(
          instance({
            connection: TableStorageConfig.connectionString(nowhere),
            table,
            transientRetries: 2,
            retryBaseDelay: "1 millis"
          })
        )
        assert.strictEqual(error._tag, "StoreUnavailable")
      })
    )
  })

  describe("concurrency", () => {
    it.live(
      "given two processes racing on one stream, when all appends finish, then versions are contiguous and nothing is lost",
      () =>
        Effect.gen(function* () {
          const a = yield* onAzurite(table)
          const b = yield* onAzurite(table)
          const streamId = yield* streamIn(tenant(), "contended")
          const submitted: Array<string> = []

          yield* Effect.forEach(
            Array.from({ length: 24 }, (_, i) => i),
            (i) =>
              Effect.gen(function* () {
                const { store } = i % 2 === 0 ? a : b
                const batch = yield* events(1 + (i % 3), i * 10)
                submitted.push(...batch.map((e) => e.metadata.eventId))
                while (true) {
                  const version = (yield* readAll(store, streamId)).length
                  const outcome = yield* Effect.result(store.append(streamId, batch, ExpectedVersion.exact(version)))
                  if (outcome._tag === "Success") return
                  assert.strictEqual(outcome.failure._tag, "ConcurrencyConflict")
                }
              }),
            { concurrency: "unbounded" }
          )

          const all = yield* readAll(a.store, streamId)
          assert.deepStrictEqual(
            all.map((e) => e.version),
            Array.from({ length: submitted.length }, (_, i) => i + 1)
          )
          assert.deepStrictEqual(new Set(all.map((e) => e.metadata.eventId)), new Set(submitted))
        })
    )

    it.live(
      "given a header cached by one process and moved by another, when the first appends, then it is a conflict, not an overwrite",
      () =>
        Effect.gen(function* () {
          const a = yield* onAzurite(table)
          const b = yield* onAzurite(table)
          const streamId = yield* streamIn(tenant(), "stale")
          yield* a.store.append(streamId, yield* events(1), ExpectedVersion.noStream) // a caches version 1
          yield* b.store.append(streamId, yield* events(1, 1), ExpectedVersion.exact(1))

          const error = yield* Effect.flip(a.store.append(streamId, yield* events(1, 2), ExpectedVersion.exact(1)))

          assert.strictEqual(error._tag, "ConcurrencyConflict")
          if (error._tag === "ConcurrencyConflict") assert.strictEqual(error.actual, 2)
          assert.deepStrictEqual(
            (yield* readAll(b.store, streamId)).map((e) => JSON.parse(e.data).n),
            [0, 1]
          )
        })
    )

    it.live(
      "given many writers on many streams of one partition, then positions are gap-free and follow commit order",
      () =>
        withMetrics(
          Effect.gen(function* () {
            const { feed, store } = yield* onAzurite(table)
            const owner = tenant()
            const completed: Array<{ readonly positions: ReadonlyArray<number> }> = []
            const observed: Array<{ readonly before: number; readonly positions: ReadonlyArray<number> }> = []

            yield* Effect.forEach(
              Array.from({ length: 48 }, (_, s) => s),
              (s) =>
                Effect.gen(function* () {
                  const streamId = yield* streamIn(owner, `s-${s}`)
                  let version = 0
                  for (let a = 0; a < 4; a++) {
                    const before = completed.length
                    const batch = yield* events(1 + (s % 2), s * 100 + a * 2)
                    const result = yield* store.append(streamId, batch, ExpectedVersion.exact(version))
                    version = result.version
                    completed.push(result)
                    observed.push({ before, positions: result.positions })
                  }
                }),
              { concurrency: "unbounded" }
            )

            const all = yield* readFeed(feed, Partition.make(owner, "order", 0))
            assert.deepStrictEqual(
              all.map((e) => e.position),
              Array.from({ length: all.length }, (_, i) => i + 1)
            )
            // Whatever had committed before an append started sits before it in the feed.
            for (const { before, positions } of observed) {
              const earlier = completed.slice(0, before).flatMap((c) => c.positions)
              assert.isTrue(
                earlier.every((p) => p < positions[0]!),
                "an append appeared before one that committed earlier"
              )
            }
            for (let s = 0; s < 48; s++) {
              const versions = all.filter((e) => e.streamId.id === `s-${s}`).map((e) => e.version)
              assert.deepStrictEqual(
                versions,
                Array.from({ length: versions.length }, (_, i) => i + 1)
              )
            }
            const transactions = yield* metric("eventable_table_batch_appends")
            assert.isBelow(transactions, completed.length, "group commit shared transactions between appends")
          })
        )
    )

    it.live("given a batch where one append is stale, when committed together, then only that append fails", () =>
      Effect.gen(function* () {
        const a = yield* onAzurite(table)
        const b = yield* onAzurite(table)
        const owner = tenant()
        const stale = yield* streamIn(owner, "stale")
        const others = yield* Effect.forEach(["x", "y", "z", "w"], (id) => streamIn(owner, id))
        yield* a.store.append(stale, yield* events(1), ExpectedVersion.noStream)
        yield* b.store.append(stale, yield* events(1, 1), ExpectedVersion.exact(1)) // a's cached header is now stale

        const outcomes = yield* Effect.forEach(
          [stale, ...others],
          (streamId) =>
            Effect.flatMap(events(1, 9), (batch) =>
              Effect.result(a.store.append(streamId, batch, ExpectedVersion.exact(streamId === stale ? 1 : 0)))
            ),
          { concurrency: "unbounded" }
        )

        assert.strictEqual(outcomes[0]?._tag, "Failure")
        assert.isTrue(outcomes.slice(1).every((o) => o._tag === "Success"))
        const all = yield* readFeed(a.feed, Partition.make(owner, "order", 0))
        assert.deepStrictEqual(
          all.map((e) => e.position),
          [1, 2, 3, 4, 5, 6]
        )
      })
    )

    it.live(
      "given two processes writing one partition, when their heads go stale, then they renumber and nothing collides",
      () =>
        withMetrics(
          Effect.gen(function* () {
            const a = yield* onAzurite(table)
            const b = yield* onAzurite(table)
            const owner = tenant()
            yield* Effect.forEach(
              Array.from({ length: 60 }, (_, i) => i),
              (i) =>
                Effect.flatMap(Effect.all([streamIn(owner, `s-${i}`), events(1, i)]), ([streamId, batch]) =>
                  (i % 2 === 0 ? a : b).store.append(streamId, batch, ExpectedVersion.noStream)
                ),
              { concurrency: "unbounded" }
            )

            const all = yield* readFeed(a.feed, Partition.make(owner, "order", 0))
            assert.deepStrictEqual(
              all.map((e) => e.position),
              Array.from({ length: 60 }, (_, i) => i + 1)
            )
            assert.deepStrictEqual(
              all.map((e) => JSON.parse(e.data).n).sort((x, y) => x - y),
              Array.from({ length: 60 }, (_, i) => i)
            )
            assert.isAbove(
              yield* metric("eventable_table_head_conflicts_total"),
              0,
              "the two processes did contend for the head"
            )
          })
        )
    )
  })

  describe("lost answers and transient failures", () => {
    const throughProxy = (proxy: FaultProxy.FaultProxy, extra: Partial<TableStorageConfig.TableStorageOptions> = {}) =>
      instance({
        connection: TableStorageConfig.connectionString(FaultProxy.redacted(proxy)),
        table,
        retryBaseDelay: "5 millis",
        ...extra
      })

    it.live("given an append whose answer is lost after it committed, then the store recognises its own commit", () =>
      withMetrics(
        Effect.gen(function* () {
          const proxy = yield* FaultProxy.make
          const { store } = yield* throughProxy(proxy)
          const streamId = yield* streamIn(tenant(), "lost")
          yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream)

          proxy.inject({ _tag: "LoseAnswer" })
          const result = yield* store.append(streamId, yield* events(2, 1), ExpectedVersion.exact(1))

          assert.strictEqual(proxy.faulted(), 1)
          assert.strictEqual(result.version, 3)
          assert.deepStrictEqual(
            (yield* readAll(store, streamId)).map((e) => JSON.parse(e.data).n),
            [0, 1, 2]
          )
          assert.strictEqual(yield* metric("eventable_table_unknown_outcomes_total"), 1)
        })
      )
    )

    it.live("given a batch of appends whose answer is lost, then every one of them is reported committed, once", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { feed, store } = yield* throughProxy(proxy)
        const owner = tenant()
        yield* store.append(yield* streamIn(owner, "warm"), yield* events(1), ExpectedVersion.noStream)

        proxy.inject({ _tag: "LoseAnswer" })
        const results = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, i) => i),
          (i) =>
            Effect.flatMap(Effect.all([streamIn(owner, `s${i}`), events(1, i + 1)]), ([streamId, batch]) =>
              store.append(streamId, batch, ExpectedVersion.noStream)
            ),
          { concurrency: "unbounded" }
        )

        assert.strictEqual(proxy.faulted(), 1)
        assert.strictEqual(results.length, 8)
        const all = yield* readFeed(feed, Partition.make(owner, "order", 0))
        assert.deepStrictEqual(
          all.map((e) => e.position),
          Array.from({ length: 9 }, (_, i) => i + 1)
        )
        assert.deepStrictEqual(
          results.flatMap((r) => r.positions).sort((x, y) => x - y),
          [2, 3, 4, 5, 6, 7, 8, 9]
        )
      })
    )

    it.live(
      "given an answer slower than the request timeout, when the write went through, then it is not written twice",
      () =>
        Effect.gen(function* () {
          const proxy = yield* FaultProxy.make
          const { store } = yield* throughProxy(proxy, { requestTimeout: "150 millis" })
          const streamId = yield* streamIn(tenant(), "slow")
          proxy.inject({ _tag: "Delay", millis: 600 })

          const result = yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream)

          assert.strictEqual(result.version, 1)
          assert.strictEqual((yield* readAll(store, streamId)).length, 1)
        })
    )

    it.live("given a 503 on a transaction, when retried, then the append commits once", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { store } = yield* throughProxy(proxy)
        const streamId = yield* streamIn(tenant(), "busy")
        yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream)

        proxy.inject({ _tag: "Reject", status: 503 }, { times: 2 })
        const result = yield* store.append(streamId, yield* events(1, 1), ExpectedVersion.exact(1))

        assert.strictEqual(proxy.faulted(), 2)
        assert.strictEqual(result.version, 2)
        assert.strictEqual((yield* readAll(store, streamId)).length, 2)
      })
    )

    it.live("given 503s on reads, when a stream is loaded, then the read is retried transparently", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { store } = yield* throughProxy(proxy)
        const streamId = yield* streamIn(tenant(), "reads")
        yield* store.append(streamId, yield* events(3), ExpectedVersion.noStream)

        proxy.inject({ _tag: "Reject", status: 503 }, { times: 2, match: (method) => method === "GET" })
        const all = yield* readAll(store, streamId)

        assert.strictEqual(proxy.faulted(), 2)
        assert.strictEqual(all.length, 3)
      })
    )

    it.live("given appends waiting for a group commit, when the store closes, then they fail instead of hanging", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const scope = yield* Scope.make()
        const { store } = yield* Scope.provide(scope)(throughProxy(proxy))
        const owner = tenant()
        yield* store.append(yield* streamIn(owner, "warm"), yield* events(1), ExpectedVersion.noStream)
        proxy.inject({ _tag: "Delay", millis: 600 })

        const fibers = yield* Effect.forEach(
          Array.from({ length: 6 }, (_, i) => i),
          (i) =>
            Effect.forkChild(
              Effect.flatMap(Effect.all([streamIn(owner, `s${i}`), events(1, i)]), ([streamId, batch]) =>
                store.append(streamId, batch, ExpectedVersion.noStream)
              ),
              { startImmediately: true }
            )
        )
        yield* Effect.sleep("150 millis") // the first commit is in flight, the other five wait for it
        yield* Scope.close(scope, Exit.void)
        const exits = yield* Effect.forEach(fibers, (fiber) => Fiber.await(fiber).pipe(Effect.timeout("5 seconds")))

        const failures = exits.flatMap((exit) => (Exit.isFailure(exit) ? [Cause.pretty(exit.cause)] : []))
        assert.strictEqual(exits.filter(Exit.isSuccess).length, 1, "the transaction in flight completes")
        assert.strictEqual(failures.length, 5)
        for (const failure of failures) assert.include(failure, "shutting down")
      })
    )

    it.live("given a store that stays busy, when retries run out, then StoreUnavailable and nothing is written", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { store } = yield* throughProxy(proxy, { transientRetries: 2 })
        const streamId = yield* streamIn(tenant(), "down")
        yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream)

        proxy.inject({ _tag: "Reject", status: 503 }, { times: 100, match: () => true })
        const error = yield* Effect.flip(store.append(streamId, yield* events(1, 1), ExpectedVersion.exact(1)))

        assert.strictEqual(error._tag, "StoreUnavailable")
        if (error._tag === "StoreUnavailable") assert.strictEqual(error.operation, "append", "named after the call")
        const direct = yield* onAzurite(table) // past the proxy, which still refuses everything
        assert.deepStrictEqual(
          (yield* readAll(direct.store, streamId)).map((e) => e.version),
          [1],
          "nothing was written"
        )
      })
    )
  })

  describe("discovery and paging", () => {
    it.live(
      "given 20 categories of one tenant, when partitions are listed, then all are found (no OR-chain limit)",
      () =>
        Effect.gen(function* () {
          const { feed, store } = yield* onAzurite(table)
          const owner = tenant()
          const categories = Array.from({ length: 20 }, (_, i) => `cat${i}`)
          yield* Effect.forEach(categories, (category) =>
            Effect.flatMap(Effect.all([streamIn(owner, "x", category), events(1)]), ([streamId, batch]) =>
              store.append(streamId, batch, ExpectedVersion.any)
            )
          )

          const listed = yield* feed.partitions({ tenant: owner })

          assert.deepStrictEqual(listed.map((p) => p.category).sort(), [...categories].sort())
        })
    )

    it.live(
      "given a partition of 2,500 events, when one read asks for all, then continuation tokens are followed",
      () =>
        Effect.gen(function* () {
          const { feed, store } = yield* onAzurite(table)
          const owner = tenant()
          const streamId = yield* streamIn(owner, "long")
          for (let v = 0; v < 2_500; v += 49) {
            yield* store.append(streamId, yield* events(Math.min(49, 2_500 - v), v), ExpectedVersion.exact(v))
          }

          const all = yield* feed.read(Partition.make(owner, "order", 0), 0, 5_000)
          const tail = yield* feed.read(Partition.make(owner, "order", 0), 1_999, 1_000)

          assert.strictEqual(all.length, 2_500)
          assert.deepStrictEqual(
            all.map((e) => e.position),
            Array.from({ length: 2_500 }, (_, i) => i + 1)
          )
          assert.strictEqual(tail.length, 501)
          assert.strictEqual(tail[0]?.position, 2_000)
        })
    )

    it.live("given the registry, when a category is registered, then its shard count is stored and fixed", () =>
      Effect.gen(function* () {
        const owner = tenant()
        const first = yield* onAzurite(table, { shards: { sharded: 4 } })
        yield* first.store.append(yield* streamIn(owner, "x", "sharded"), yield* events(1), ExpectedVersion.any)
        const second = yield* onAzurite(table, { shards: { sharded: 2 } })

        const result = yield* second.store.append(
          yield* streamIn(owner, "y", "sharded"),
          yield* events(1),
          ExpectedVersion.any
        )
        const partitions = yield* second.feed.partitions({ tenant: owner, category: "sharded" })

        assert.strictEqual(partitions.length, 4)
        assert.strictEqual(result.partition.shard, Partition.shardOf("y", 4))
        const rows = yield* Effect.promise(async () => {
          const found: Array<unknown> = []
          for await (const row of rawTable(table).listEntities({
            queryOptions: { filter: odata`PartitionKey eq 'registry' and tenant eq ${owner}` }
          }))
            found.push(row.shards)
          return found
        })
        assert.deepStrictEqual(rows, [4])
      })
    )
  })
})
