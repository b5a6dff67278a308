/**
 * The guarantees of the Table Storage event store that only damage, contention
 * or a lost answer can show, each against Azurite, each built to fail if the
 * code that keeps it is broken: damaged rows are reported, never skipped; a
 * damaged head fails fast; the header and head conditions hold on their own;
 * a lost answer is read back from the stream's own rows; group commit fails
 * only the stale append.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  type EventData,
  EventFeed,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  Partition,
  StreamId
} from "@eventable/core"
import { TableEventStore, TableKeys, TableStorageConfig } from "@eventable/table-storage"
import { Context, Effect, Fiber, Layer, Stream } from "effect"
import * as FaultProxy from "./FaultProxy.ts"
import { connectionString, freshTable, rawTable } from "./fixtures.ts"

const table = freshTable("guard")

/** A store instance of its own (own caches, own writers): what another process would be. */
const instance = (options: Partial<TableStorageConfig.TableStorageOptions> = {}) =>
  Effect.map(
    Layer.build(
      TableEventStore.layer({ connection: TableStorageConfig.connectionString(connectionString()), table, ...options })
    ),
    (context) => ({ store: Context.get(context, EventStore), feed: Context.get(context, EventFeed) })
  )

const throughProxy = (proxy: FaultProxy.FaultProxy, extra: Partial<TableStorageConfig.TableStorageOptions> = {}) =>
  instance({
    connection: TableStorageConfig.connectionString(FaultProxy.redacted(proxy)),
    retryBaseDelay: "5 millis",
    ...extra
  })

let tenants = 0
const tenant = () => `g${Date.now().toString(36)}${tenants++}`
const streamIn = (owner: string, id: string) => StreamId.make({ tenant: owner, category: "order", id })

const events = (count: number, from = 0): Effect.Effect<Array<EventData.EventData>> =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => from + i),
    (n) => Effect.map(EventMetadata.make(), (metadata) => ({ type: "Happened", data: JSON.stringify({ n }), metadata }))
  )

const readAll = (store: EventStore["Service"], streamId: StreamId.StreamId, from?: number) =>
  Stream.runCollect(store.readStream(streamId, from === undefined ? {} : { from }))

const keyOf = (streamId: StreamId.StreamId) => TableKeys.partitionKey(streamId.tenant, streamId.category, 0)

/** Reaches under the store: rewrites a row's properties (a new ETag, no new rows). */
const rewrite = (partitionKey: string, rowKey: string, properties: Record<string, unknown>) =>
  Effect.promise(() => rawTable(table).updateEntity({ partitionKey, rowKey, ...properties }, "Merge"))
const headerOf = (streamId: StreamId.StreamId) => TableKeys.streamRow(streamId.id, 0)
/** How many rows `rowKey` a transaction's body writes (each entity carries its keys in its JSON). */
const writes = (body: string, rowKey: string) => body.split(`"RowKey":${JSON.stringify(rowKey)}`).length - 1
/** The row keys of a partition, read directly. */
const rowKeys = (partitionKey: string) =>
  Effect.promise(async () => {
    const keys: Array<string> = []
    const rows = rawTable(table).listEntities({ queryOptions: { filter: `PartitionKey eq '${partitionKey}'` } })
    for await (const row of rows) keys.push(row.rowKey ?? "")
    return keys
  })
const remove = (partitionKey: string, rowKey: string) =>
  Effect.promise(() => rawTable(table).deleteEntity(partitionKey, rowKey))

describe("TableEventStore guarantees on Azurite", () => {
  describe("never skip silently", () => {
    it.live(
      "given a deleted last event row, when the stream is read, then CorruptEvent names the missing version",
      () =>
        Effect.gen(function* () {
          const { store } = yield* instance()
          const streamId = yield* streamIn(tenant(), "tail")
          yield* store.append(streamId, yield* events(3), ExpectedVersion.noStream)
          yield* remove(keyOf(streamId), TableKeys.streamRow(streamId.id, 3))

          for (const from of [undefined, 2, 3]) {
            const error = yield* Effect.flip(readAll(store, streamId, from))
            assert.strictEqual(error._tag, "CorruptEvent", `from ${from}`)
            if (error._tag === "CorruptEvent") {
              assert.strictEqual(error.stream, StreamId.format(streamId))
              assert.strictEqual(error.version, 3)
              assert.include(error.reason, "header says version 3")
            }
          }
        })
    )

    it.live("given a deleted last feed row, when the feed is read, then CorruptPartition names the position", () =>
      Effect.gen(function* () {
        const { feed, store } = yield* instance()
        const streamId = yield* streamIn(tenant(), "feed-tail")
        const result = yield* store.append(streamId, yield* events(3), ExpectedVersion.noStream)
        yield* remove(keyOf(streamId), TableKeys.feedRow(3))

        for (const [after, limit] of [
          [0, 10],
          [2, 10],
          [2, 1]
        ] as const) {
          const error = yield* Effect.flip(feed.read(result.partition, after, limit))
          assert.strictEqual(error._tag, "CorruptPartition", `after ${after}, limit ${limit}`)
          if (error._tag === "CorruptPartition") {
            assert.strictEqual(error.partition, Partition.format(result.partition))
            assert.strictEqual(error.position, 3)
          }
        }
        // Reads that end before the damage still succeed.
        assert.deepStrictEqual(
          (yield* feed.read(result.partition, 0, 2)).map((e) => e.position),
          [1, 2]
        )
      })
    )

    it.live("given a hole in the middle of the feed, when read across it, then CorruptPartition names it", () =>
      Effect.gen(function* () {
        const { feed, store } = yield* instance()
        const streamId = yield* streamIn(tenant(), "feed-hole")
        const result = yield* store.append(streamId, yield* events(6), ExpectedVersion.noStream)
        yield* remove(keyOf(streamId), TableKeys.feedRow(5))

        const error = yield* Effect.flip(feed.read(result.partition, 0, 100))

        assert.strictEqual(error._tag, "CorruptPartition")
        if (error._tag === "CorruptPartition") assert.strictEqual(error.position, 5)
      })
    )
  })

  describe("stored as written", () => {
    it.live("given CJK and emoji data split over several properties, then no stored chunk holds half a pair", () =>
      Effect.gen(function* () {
        const { store } = yield* instance()
        const streamId = yield* streamIn(tenant(), "split")
        // Azurite keeps lone surrogates, so a cut pair would round-trip: look at the stored chunks themselves.
        const data = JSON.stringify({ b: `${"a".repeat(32_760)}${"漢😀".repeat(40_000)}` })
        const metadata = yield* EventMetadata.make()
        yield* store.append(streamId, [{ type: "Happened", data, metadata }], ExpectedVersion.noStream)

        const row = yield* Effect.promise(() =>
          rawTable(table).getEntity<Record<string, unknown>>(keyOf(streamId), TableKeys.streamRow(streamId.id, 1))
        )
        const chunks = Array.from({ length: Number(row.chunks) }, (_, i) => String(row[`d${i}`]))
        assert.isAtLeast(chunks.length, 4)
        assert.strictEqual(chunks.join(""), data)
        for (const chunk of chunks) assert.isTrue(chunk.isWellFormed(), "a chunk boundary cut a surrogate pair")
      })
    )
  })

  describe("refused before any request", () => {
    it.live("given appends over the limits, then they fail without a single request reaching the store", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { store } = yield* throughProxy(proxy)
        const streamId = yield* streamIn(tenant(), "limits")
        const metadata = yield* EventMetadata.make()
        const huge = { type: "Happened", data: JSON.stringify({ b: "x".repeat(600_000) }), metadata }
        const before = proxy.seen().length

        const tooLarge = yield* Effect.flip(store.append(streamId, [huge], ExpectedVersion.noStream))
        const tooMany = yield* Effect.flip(store.append(streamId, yield* events(50), ExpectedVersion.noStream))
        const tooLargeTogether = yield* Effect.flip(
          store.append(
            streamId,
            yield* Effect.forEach(Array.from({ length: 9 }), () =>
              Effect.map(EventMetadata.make(), (m) => ({
                ...huge,
                data: JSON.stringify({ b: "y".repeat(250_000) }),
                metadata: m
              }))
            ),
            ExpectedVersion.noStream
          )
        )

        assert.deepStrictEqual(
          [tooLarge._tag, tooMany._tag, tooLargeTogether._tag],
          ["EventTooLarge", "TooManyEvents", "AppendTooLarge"]
        )
        assert.deepStrictEqual(proxy.seen().slice(before), [], "no request was made")
      })
    )
  })

  describe("never spin on damage", () => {
    it.live(
      "given a head whose position does not parse, then appends, head and reads fail fast with CorruptPartition",
      () =>
        Effect.gen(function* () {
          const proxy = yield* FaultProxy.make
          const writer = yield* throughProxy(proxy) // caches the head it wrote
          const owner = tenant()
          const first = yield* streamIn(owner, "a")
          const result = yield* writer.store.append(first, yield* events(2), ExpectedVersion.noStream)
          yield* rewrite(keyOf(first), TableKeys.headRow, { position: "forty-seven" })
          const fresh = yield* throughProxy(proxy) // reads the head first
          const before = FaultProxy.transactions(proxy).length

          const cached = yield* Effect.flip(
            writer.store.append(yield* streamIn(owner, "b"), yield* events(1), ExpectedVersion.noStream)
          )
          const uncached = yield* Effect.flip(
            fresh.store.append(yield* streamIn(owner, "c"), yield* events(1), ExpectedVersion.noStream)
          )
          const head = yield* Effect.flip(fresh.feed.head(result.partition))
          const read = yield* Effect.flip(fresh.feed.read(result.partition, 0, 10))

          for (const error of [cached, uncached, head, read]) {
            assert.strictEqual(error._tag, "CorruptPartition")
            if (error._tag === "CorruptPartition") {
              assert.strictEqual(error.partition, Partition.format(result.partition))
              assert.include(error.reason, "forty-seven")
            }
          }
          // One refused transaction for the process that had the head cached, none for the other: no spinning.
          assert.strictEqual(FaultProxy.transactions(proxy).length - before, 1)
        })
    )

    it.live("given a head behind the last feed row, then the next append fails fast with CorruptPartition", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { feed, store } = yield* throughProxy(proxy)
        const owner = tenant()
        const first = yield* streamIn(owner, "a")
        const result = yield* store.append(first, yield* events(3), ExpectedVersion.noStream)
        yield* rewrite(keyOf(first), TableKeys.headRow, { position: "2" })
        const before = FaultProxy.transactions(proxy).length

        const error = yield* Effect.flip(
          store.append(yield* streamIn(owner, "b"), yield* events(1), ExpectedVersion.noStream)
        )
        const read = yield* Effect.flip(feed.read(result.partition, 0, 10))

        assert.strictEqual(error._tag, "CorruptPartition")
        if (error._tag === "CorruptPartition") {
          assert.strictEqual(error.position, 3)
          assert.include(error.reason, "lags its feed")
        }
        assert.strictEqual(read._tag, "CorruptPartition")
        // The cached head is stale (one refused transaction), the renumbered one finds position 3 taken: stop.
        assert.strictEqual(FaultProxy.transactions(proxy).length - before, 2)
        assert.deepStrictEqual(
          (yield* rowKeys(keyOf(first))).filter((key) => key.startsWith("f|")),
          [1, 2, 3].map(TableKeys.feedRow),
          "nothing was written"
        )
      })
    )
  })

  describe("a stream header behind its rows", () => {
    it.live("given a header that says 2 over rows up to 3, then reads report it and an append fails fast", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { store } = yield* throughProxy(proxy)
        const streamId = yield* streamIn(tenant(), "lagging-header")
        yield* store.append(streamId, yield* events(3), ExpectedVersion.noStream)
        yield* rewrite(keyOf(streamId), headerOf(streamId), { version: "2" })
        const fresh = yield* throughProxy(proxy)
        const before = FaultProxy.transactions(proxy).length

        const read = yield* Effect.flip(readAll(fresh.store, streamId))
        const append = yield* Effect.flip(fresh.store.append(streamId, yield* events(1, 3), ExpectedVersion.exact(2)))

        assert.strictEqual(read._tag, "CorruptEvent")
        if (read._tag === "CorruptEvent") assert.include(read.reason, "header says version 2, but its rows reach 3")
        assert.strictEqual(append._tag, "StoreFailure")
        if (append._tag === "StoreFailure") assert.include(append.reason, "version 3 already exists")
        assert.strictEqual(FaultProxy.transactions(proxy).length - before, 1, "one refused transaction, no retries")
      })
    )
  })

  describe("the header and head conditions on their own", () => {
    it.live("given a header moved without new rows, when the process that cached it appends, then a conflict", () =>
      Effect.gen(function* () {
        const { feed, store } = yield* instance()
        const streamId = yield* streamIn(tenant(), "moved-header")
        const result = yield* store.append(streamId, yield* events(2), ExpectedVersion.noStream) // caches version 2
        yield* rewrite(keyOf(streamId), TableKeys.streamRow(streamId.id, 0), { version: "3" })

        const error = yield* Effect.flip(store.append(streamId, yield* events(1, 2), ExpectedVersion.exact(2)))

        assert.strictEqual(error._tag, "ConcurrencyConflict")
        if (error._tag === "ConcurrencyConflict") assert.strictEqual(error.actual, 3)
        assert.strictEqual((yield* feed.read(result.partition, 0, 10)).length, 2, "nothing was written")
      })
    )

    it.live("given a header touched without a new version, when appended at that version, then it still commits", () =>
      Effect.gen(function* () {
        const { store } = yield* instance()
        const streamId = yield* streamIn(tenant(), "touched-header")
        yield* store.append(streamId, yield* events(2), ExpectedVersion.noStream)
        yield* rewrite(keyOf(streamId), TableKeys.streamRow(streamId.id, 0), { version: "2", touched: "yes" })

        const result = yield* store.append(streamId, yield* events(1, 2), ExpectedVersion.exact(2))

        assert.strictEqual(result.version, 3)
        assert.deepStrictEqual(
          (yield* readAll(store, streamId)).map((e) => e.version),
          [1, 2, 3]
        )
      })
    )

    it.live("given a head moved forward without new rows, when the process that cached it appends, then after it", () =>
      Effect.gen(function* () {
        const { store } = yield* instance()
        const owner = tenant()
        const first = yield* streamIn(owner, "a")
        yield* store.append(first, yield* events(3), ExpectedVersion.noStream) // caches head 3
        yield* rewrite(keyOf(first), TableKeys.headRow, { position: "13" })

        const result = yield* store.append(yield* streamIn(owner, "b"), yield* events(2), ExpectedVersion.noStream)

        assert.deepStrictEqual(result.positions, [14, 15])
        const head = yield* Effect.promise(() => rawTable(table).getEntity(keyOf(first), TableKeys.headRow))
        assert.strictEqual(head.position, "15")
      })
    )
  })

  describe("reading back an unknown outcome", () => {
    it.live("given a lost answer, then the read-back recognises the commit without a second transaction", () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { store } = yield* throughProxy(proxy)
        const streamId = yield* streamIn(tenant(), "lost")
        yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream)
        const before = FaultProxy.transactions(proxy).length

        proxy.inject({ _tag: "LoseAnswer" })
        const result = yield* store.append(streamId, yield* events(2, 1), ExpectedVersion.exact(1))

        assert.strictEqual(proxy.faulted(), 1)
        assert.strictEqual(FaultProxy.transactions(proxy).length - before, 1, "one transaction, read back, not resent")
        assert.strictEqual(result.version, 3)
        assert.deepStrictEqual(result.positions, [2, 3])
      })
    )

    it.live(
      "given a first attempt that lands late and later attempts that fail, then the append is reported committed",
      () =>
        Effect.gen(function* () {
          const proxy = yield* FaultProxy.make
          const { feed, store } = yield* throughProxy(proxy, { requestTimeout: "800 millis", transientRetries: 3 })
          const owner = tenant()
          const streamId = yield* streamIn(owner, "late")
          yield* store.append(yield* streamIn(owner, "warm"), yield* events(1), ExpectedVersion.noStream)
          const before = FaultProxy.transactions(proxy).length

          // Attempt 1 times out and commits just after the read-back; every later attempt meets a busy store.
          proxy.inject({ _tag: "Late" })
          proxy.inject({ _tag: "Reject", status: 503 }, { times: 20 })
          const result = yield* store.append(streamId, yield* events(2), ExpectedVersion.noStream)
          proxy.inject({ _tag: "Reject", status: 503 }, { times: 0 })

          assert.strictEqual(result.version, 2)
          assert.deepStrictEqual(result.positions, [2, 3])
          assert.deepStrictEqual(
            (yield* feed.read(result.partition, 0, 10)).map((e) => e.position),
            [1, 2, 3],
            "committed once"
          )
          // The late attempt and one refused retry: the read-back after it finds the events in the stream's rows.
          assert.strictEqual(FaultProxy.transactions(proxy).length - before, 2)
        })
    )
    it.live(
      "given a shared batch whose answer is lost after another writer committed one of its appends, then the other append is still written",
      () =>
        Effect.gen(function* () {
          const proxy = yield* FaultProxy.make
          const { store: here } = yield* throughProxy(proxy)
          const { store: there } = yield* instance()
          const owner = tenant()
          const [s, t, u] = yield* Effect.all([streamIn(owner, "s"), streamIn(owner, "t"), streamIn(owner, "u")])
          yield* here.append(yield* streamIn(owner, "warm"), yield* events(1), ExpectedVersion.noStream)
          // The same append to s, with the same event id, as a re-run of one command on another instance sends it.
          const sEvents = yield* events(1)
          const tEvents = yield* events(1, 1)

          // u's transaction is held, so s and t queue and share the next one; its answer is lost.
          proxy.inject({ _tag: "Delay", millis: 400 })
          proxy.inject({ _tag: "LoseAnswer" })
          const held = yield* Effect.forkChild(here.append(u, yield* events(1, 2), ExpectedVersion.noStream), {
            startImmediately: true
          })
          yield* Effect.sleep("50 millis")
          const sHere = yield* Effect.forkChild(here.append(s, sEvents, ExpectedVersion.noStream), {
            startImmediately: true
          })
          const tHere = yield* Effect.forkChild(here.append(t, tEvents, ExpectedVersion.noStream), {
            startImmediately: true
          })
          // Meanwhile the other instance commits s first: the shared transaction fails on s's header.
          yield* there.append(s, sEvents, ExpectedVersion.noStream)
          yield* Fiber.join(held)
          const sResult = yield* Fiber.join(sHere)
          const tResult = yield* Fiber.join(tHere)

          assert.strictEqual(proxy.faulted(), 2, "the held transaction and the shared one whose answer was lost")
          assert.strictEqual(sResult.version, 1, "s is the other instance's identical commit: recognised, not doubled")
          assert.strictEqual(tResult.version, 1)
          assert.deepStrictEqual(
            (yield* readAll(there, t)).map((e) => e.metadata.eventId),
            tEvents.map((e) => e.metadata.eventId),
            "t was acknowledged, so it is stored"
          )
          assert.deepStrictEqual(
            (yield* readAll(there, s)).map((e) => e.metadata.eventId),
            sEvents.map((e) => e.metadata.eventId),
            "s is stored once"
          )
        })
    )
  })

  describe("any and streamExists under contention", () => {
    it.live(
      "given a header lost to other writers 18 times in a row, then any and streamExists appends back off and commit",
      () =>
        Effect.gen(function* () {
          const proxy = yield* FaultProxy.make
          const { store } = yield* throughProxy(proxy)
          const streamId = yield* streamIn(tenant(), "contended")
          yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream)

          // What losing the header to a rival looks like: the transaction refused at its first operation.
          const lost = {
            _tag: "Reject",
            status: 412,
            code: "UpdateConditionNotSatisfied",
            message: "0:The update condition specified in the request was not satisfied."
          } as const
          proxy.inject(lost, { times: 18 })
          const any = yield* store.append(streamId, yield* events(1, 1), ExpectedVersion.any)
          proxy.inject(lost, { times: 18 })
          const exists = yield* store.append(streamId, yield* events(1, 2), ExpectedVersion.streamExists)

          assert.strictEqual(proxy.faulted(), 36)
          assert.deepStrictEqual([any.version, exists.version], [2, 3])
        })
    )

    it.live("given six processes appending with any to one stream, then every append commits", () =>
      Effect.gen(function* () {
        const processes = yield* Effect.forEach(Array.from({ length: 6 }), () => instance())
        const streamId = yield* streamIn(tenant(), "hot")
        yield* processes[0]!.store.append(streamId, yield* events(1), ExpectedVersion.noStream)

        const results = yield* Effect.forEach(
          processes,
          ({ store }, p) =>
            Effect.forEach(
              Array.from({ length: 8 }, (_, i) => i),
              (i) =>
                Effect.flatMap(events(1, 100 * p + i), (batch) =>
                  Effect.result(
                    store.append(streamId, batch, i % 2 === 0 ? ExpectedVersion.any : ExpectedVersion.streamExists)
                  )
                )
            ),
          { concurrency: "unbounded" }
        )

        const failures = results.flat().filter((r) => r._tag === "Failure")
        assert.deepStrictEqual(failures, [])
        assert.deepStrictEqual(
          (yield* readAll(processes[0]!.store, streamId)).map((e) => e.version),
          Array.from({ length: 49 }, (_, i) => i + 1)
        )
      })
    )
  })

  describe("group commit", () => {
    it.live(
      "given a forced shared batch with one stale header, then only its owner fails and no stream appears twice",
      () =>
        Effect.gen(function* () {
          const proxy = yield* FaultProxy.make
          const { feed, store } = yield* throughProxy(proxy)
          const owner = tenant()
          const stale = yield* streamIn(owner, "stale")
          const others = yield* Effect.forEach(["x", "y", "z"], (id) => streamIn(owner, id))
          yield* store.append(stale, yield* events(1), ExpectedVersion.noStream) // cached at version 1
          yield* rewrite(keyOf(stale), TableKeys.streamRow(stale.id, 0), { version: "2" })
          const before = proxy.seen().length

          // Hold the first transaction so every other append queues behind it and shares the next one.
          proxy.inject({ _tag: "Delay", millis: 1000 })
          const held = yield* Effect.forkChild(
            Effect.flatMap(Effect.all([streamIn(owner, "first"), events(1)]), ([streamId, batch]) =>
              store.append(streamId, batch, ExpectedVersion.noStream)
            ),
            { startImmediately: true }
          )
          yield* Effect.sleep("300 millis")
          const expectations = [
            ExpectedVersion.exact(1), // stale: the store has version 1 cached, the header says 2
            ExpectedVersion.noStream,
            ExpectedVersion.noStream,
            ExpectedVersion.noStream,
            ExpectedVersion.exact(1) // a second append of x, queued with the first
          ]
          const queued = yield* Effect.forEach([stale, ...others, others[0]!], (streamId, i) =>
            Effect.forkChild(
              Effect.flatMap(events(1, 10 + i), (batch) =>
                Effect.result(store.append(streamId, batch, expectations[i]!))
              ),
              { startImmediately: true }
            )
          )
          yield* Fiber.join(held)
          const outcomes = yield* Effect.forEach(queued, Fiber.join)

          assert.strictEqual(outcomes[0]?._tag, "Failure")
          if (outcomes[0]?._tag === "Failure") assert.strictEqual(outcomes[0].failure._tag, "ConcurrencyConflict")
          assert.isTrue(
            outcomes.slice(1).every((o) => o._tag === "Success"),
            "the others commit"
          )
          const seen = proxy.seen().slice(before)
          const sent = seen.filter((r) => FaultProxy.isTransaction(r.method, r.path))
          const headers = (body: string) => [stale, ...others].filter((s) => writes(body, headerOf(s)) > 0).length
          assert.strictEqual(headers(sent[1]!.body), 4, "the stale append shared the second transaction with x, y, z")
          for (const { body } of sent) {
            for (const s of others)
              assert.isAtMost(writes(body, headerOf(s)), 1, "one append per stream per transaction")
          }
          // Only the stale append was failed back to its caller: no other append had to read its header again.
          for (const s of others) {
            const reads = seen.filter(
              (r) => r.method === "GET" && decodeURIComponent(r.path).includes(`RowKey='${headerOf(s)}'`)
            )
            assert.strictEqual(reads.length, 0, `${s.id} re-read its header`)
          }
          assert.strictEqual((yield* feed.read(Partition.make(owner, "order", 0), 0, 20)).length, 6)
        })
    )
  })
})
