/**
 * The contract every `EventStore` + `EventFeed` backend must keep, as a suite
 * of @effect/vitest tests. Call {@link run} from a test file with your store's
 * Layer; it registers the tests. Each test works in a fresh tenant, so the
 * suite can share one store (and one Azurite) across all of them.
 *
 * Covered: expected-version cases, atomic and contiguous versions and
 * positions, large streams (10,000 events), feed order, paging and
 * visibility, partition discovery, tenant isolation, bad input, and
 * concurrent appenders racing on one stream with no lost or duplicated event,
 * and snapshots (written only with their append, replaced by later ones,
 * refused when wrong, never visible after a failed append, large ones intact).
 *
 * @example
 * ```ts
 * import { InMemoryEventStore } from "@eventable/core"
 * import { EventStoreConformance } from "@eventable/testing"
 *
 * EventStoreConformance.run("in-memory", InMemoryEventStore.layer({ shards: { sharded: 4 } }), {
 *   sharded: { category: "sharded", shards: 4 }
 * })
 * ```
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import {
  type AppendResult,
  type EventData,
  EventFeed,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  type InvalidArgument,
  JsonText,
  Partition,
  type StoredEvent,
  StreamId
} from "@eventable/core"
import { DateTime, Effect, Fiber, type Layer, Option, Stream } from "effect"

/**
 * Options of the suite.
 *
 * @since 0.1.0
 */
export interface Options {
  /** A category the store's Layer spreads over several shards, to test sharded partitions. */
  readonly sharded?: { readonly category: string; readonly shards: number }
  /** Timeout of each test in milliseconds (default 120,000). */
  readonly timeout?: number
  /** Concurrent writers in the racing tests (default 8). */
  readonly writers?: number
}

type Store = EventStore["Service"]
type Feed = EventFeed["Service"]

let tenantCounter = 0
const freshTenant = (): string =>
  `t${Date.now().toString(36)}${(tenantCounter++).toString(36)}${crypto.randomUUID().slice(0, 8)}`

const streamIn = (tenant: string, id: string, category = "order") =>
  StreamId.make({ tenant, category, id }).pipe(Effect.orDie)

const event = (
  type: string,
  data: object,
  options: EventMetadata.MetadataOptions = {}
): Effect.Effect<EventData.EventData> =>
  Effect.map(EventMetadata.make(options), (metadata) => ({ type, data: JSON.stringify(data), metadata }))

const events = (count: number, from = 0, type = "Added"): Effect.Effect<Array<EventData.EventData>> =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => from + i),
    (n) => event(type, { n })
  )

const readAll = (store: Store, streamId: StreamId.StreamId, from?: number) =>
  Stream.runCollect(store.readStream(streamId, from === undefined ? {} : { from }))

const readFeed = (feed: Feed, partition: Partition.Partition, pageSize = 250) =>
  Effect.gen(function* () {
    const all: Array<StoredEvent> = []
    while (true) {
      const page = yield* feed.read(partition, all.length, pageSize)
      all.push(...page)
      if (page.length < pageSize) return all
    }
  })

const assertContiguous = (values: ReadonlyArray<number>, first: number, what: string) => {
  values.forEach((value, index) => {
    assert.strictEqual(value, first + index, `${what} ${index} should be ${first + index}`)
  })
}

const versionOf = (store: Store, streamId: StreamId.StreamId) =>
  Effect.map(readAll(store, streamId), (all) => all.length)

/** Appends with an exact expected version, reloading and retrying on conflict. */
const appendOptimistically = (store: Store, streamId: StreamId.StreamId, data: ReadonlyArray<EventData.EventData>) =>
  Effect.gen(function* () {
    let conflicts = 0
    while (true) {
      const version = yield* versionOf(store, streamId)
      const outcome = yield* Effect.result(store.append(streamId, data, ExpectedVersion.exact(version)))
      if (outcome._tag === "Success") return { result: outcome.success, conflicts }
      if (outcome.failure._tag !== "ConcurrencyConflict") return yield* Effect.fail(outcome.failure)
      conflicts++
    }
  })

/**
 * Registers the conformance tests for a store Layer.
 *
 * @since 0.1.0
 */
export const run = <E>(
  name: string,
  storeLayer: Layer.Layer<EventStore | EventFeed, E>,
  options: Options = {}
): void => {
  const timeout = options.timeout ?? 120_000
  const writers = options.writers ?? 8

  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`EventStore conformance: ${name}`, (it) => {
    it.effect(
      "given a new stream, when events are appended, then they read back in order with their metadata",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const tenant = freshTenant()
          const streamId = yield* streamIn(tenant, "o-1")
          const custom = { user: "ada", "x-ip": "10.0.0.1" }
          const appended = [
            yield* event("Created", { title: "first" }, { correlationId: "c-1", causationId: "cmd-1", custom }),
            yield* event("Renamed", { title: "second", nested: { list: [1, 2, 3], quote: `'"\\` } }),
            yield* event("Renamed", { title: "ünïcødé ✓ 漢字 😀" })
          ]

          const result = yield* store.append(streamId, appended, ExpectedVersion.noStream)

          assert.strictEqual(result.version, 3)
          assert.deepStrictEqual(result.positions, [1, 2, 3])
          const read = yield* readAll(store, streamId)
          assert.strictEqual(read.length, 3)
          read.forEach((stored, index) => {
            const original = appended[index]!
            assert.strictEqual(stored.version, index + 1)
            assert.strictEqual(stored.position, index + 1)
            assert.deepStrictEqual(stored.partition, result.partition)
            assert.isTrue(StreamId.equals(stored.streamId, streamId))
            assert.strictEqual(stored.type, original.type)
            assert.deepStrictEqual(JSON.parse(stored.data), JSON.parse(original.data))
            assert.strictEqual(stored.metadata.eventId, original.metadata.eventId)
            assert.strictEqual(
              DateTime.toEpochMillis(stored.metadata.occurredAt),
              DateTime.toEpochMillis(original.metadata.occurredAt)
            )
          })
          assert.strictEqual(read[0]!.metadata.correlationId, "c-1")
          assert.strictEqual(read[0]!.metadata.causationId, "cmd-1")
          assert.deepStrictEqual(read[0]!.metadata.custom, custom)
          assert.isUndefined(read[1]!.metadata.correlationId)
        }),
      timeout
    )

    it.effect(
      "given a stream, when it is read from a version, then only later events are returned",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "o-1")
          yield* store.append(streamId, yield* events(5), ExpectedVersion.noStream)

          const fromThree = yield* readAll(store, streamId, 3)
          const pastTheEnd = yield* readAll(store, streamId, 6)

          assert.deepStrictEqual(
            fromThree.map((e) => e.version),
            [3, 4, 5]
          )
          assert.deepStrictEqual(pastTheEnd, [])
        }),
      timeout
    )

    it.effect(
      "given no stream, when it is read, then it is empty",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "missing")
          assert.deepStrictEqual(yield* readAll(store, streamId), [])
        }),
      timeout
    )

    it.effect(
      "given each expected version, when appending, then only matching versions succeed and a conflict writes nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const cases: ReadonlyArray<readonly [number, ExpectedVersion.ExpectedVersion, boolean]> = [
            [0, ExpectedVersion.any, true],
            [0, ExpectedVersion.noStream, true],
            [0, ExpectedVersion.streamExists, false],
            [0, ExpectedVersion.exact(0), true],
            [0, ExpectedVersion.exact(1), false],
            [2, ExpectedVersion.any, true],
            [2, ExpectedVersion.noStream, false],
            [2, ExpectedVersion.streamExists, true],
            [2, ExpectedVersion.exact(2), true],
            [2, ExpectedVersion.exact(1), false],
            [2, ExpectedVersion.exact(3), false],
            [2, ExpectedVersion.exact(0), false]
          ]
          for (const [index, [existing, expected, succeeds]] of cases.entries()) {
            const streamId = yield* streamIn(tenant, `case-${index}`)
            if (existing > 0) yield* store.append(streamId, yield* events(existing), ExpectedVersion.noStream)
            const partition = Partition.make(tenant, "order", 0)
            const headBefore = yield* feed.head(partition)

            const outcome = yield* Effect.result(store.append(streamId, yield* events(1), expected))

            const label = `${existing} events, expecting ${ExpectedVersion.format(expected)}`
            if (succeeds) {
              assert.strictEqual(outcome._tag, "Success", label)
              assert.strictEqual(yield* versionOf(store, streamId), existing + 1, label)
              assert.strictEqual(yield* feed.head(partition), headBefore + 1, label)
            } else {
              assert.strictEqual(outcome._tag, "Failure", label)
              if (outcome._tag === "Failure") {
                const error = outcome.failure
                assert.strictEqual(error._tag, "ConcurrencyConflict", label)
                if (error._tag === "ConcurrencyConflict") {
                  assert.deepStrictEqual(error.expected, expected, label)
                  assert.strictEqual(error.actual, existing, label)
                  assert.isTrue(StreamId.equals(error.streamId, streamId), label)
                }
              }
              assert.strictEqual(yield* versionOf(store, streamId), existing, label)
              assert.strictEqual(yield* feed.head(partition), headBefore, label)
            }
          }
        }),
      timeout
    )

    it.effect(
      "given a stream, when nothing is appended, then nothing is written but the expectation is checked",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const streamId = yield* streamIn(tenant, "o-1")
          yield* store.append(streamId, yield* events(2), ExpectedVersion.noStream)

          const empty = yield* store.append(streamId, [], ExpectedVersion.exact(2))
          const stale = yield* Effect.flip(store.append(streamId, [], ExpectedVersion.exact(1)))

          assert.strictEqual(empty.version, 2)
          assert.deepStrictEqual(empty.positions, [])
          assert.strictEqual(stale._tag, "ConcurrencyConflict")
          assert.strictEqual(yield* feed.head(Partition.make(tenant, "order", 0)), 2)
        }),
      timeout
    )

    it.effect(
      "given an append that committed, when the very same append is retried, then it succeeds once",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const streamId = yield* streamIn(tenant, "o-1")
          yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream)
          const batch = yield* events(2, 1)

          const first = yield* store.append(streamId, batch, ExpectedVersion.exact(1))
          const retried = yield* store.append(streamId, batch, ExpectedVersion.exact(1))
          const other = yield* Effect.flip(store.append(streamId, yield* events(2, 1), ExpectedVersion.exact(1)))

          assert.deepStrictEqual(retried, first)
          assert.strictEqual(other._tag, "ConcurrencyConflict", "different events at the same version still conflict")
          assert.strictEqual(yield* versionOf(store, streamId), 3)
          assert.strictEqual(yield* feed.head(Partition.make(tenant, "order", 0)), 3)
        }),
      timeout
    )

    it.effect(
      "given an append with any or streamExists that committed, when retried, then its events are written again: only exact and noStream retries are idempotent",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "o-1")
          yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream)
          const viaAny = yield* events(1, 1)
          const viaExists = yield* events(1, 2)

          yield* store.append(streamId, viaAny, ExpectedVersion.any)
          yield* store.append(streamId, viaAny, ExpectedVersion.any)
          yield* store.append(streamId, viaExists, ExpectedVersion.streamExists)
          yield* store.append(streamId, viaExists, ExpectedVersion.streamExists)

          // Documented: these expectations carry no version to recognise the earlier commit by. A caller that
          // may retry must append under exact/noStream, or go through the command handler with a commandId.
          const ids = (yield* readAll(store, streamId)).map((stored) => stored.metadata.eventId)
          assert.deepStrictEqual(ids.slice(1), [
            viaAny[0]!.metadata.eventId,
            viaAny[0]!.metadata.eventId,
            viaExists[0]!.metadata.eventId,
            viaExists[0]!.metadata.eventId
          ])
        }),
      timeout
    )

    it.effect(
      "given several streams in one partition, when appended in turn, then versions and positions are contiguous in commit order",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const ids = ["a", "b", "c", "d", "e"]
          const committed: Array<{ readonly id: string; readonly version: number }> = []
          let counter = 0
          for (let round = 0; round < 4; round++) {
            for (const id of ids) {
              const count = 1 + ((round + id.charCodeAt(0)) % 3)
              const streamId = yield* streamIn(tenant, id)
              const result = yield* store.append(streamId, yield* events(count, counter), ExpectedVersion.any)
              counter += count
              for (let i = count - 1; i >= 0; i--) committed.push({ id, version: result.version - i })
            }
          }

          const all = yield* readFeed(feed, Partition.make(tenant, "order", 0), 7)

          assert.strictEqual(all.length, counter)
          assertContiguous(
            all.map((e) => e.position),
            1,
            "position"
          )
          assert.deepStrictEqual(
            all.map((e) => ({ id: e.streamId.id, version: e.version })),
            committed
          )
          assert.deepStrictEqual(
            all.map((e) => JSON.parse(e.data).n),
            Array.from({ length: counter }, (_, i) => i)
          )
          for (const id of ids) {
            const stream = yield* readAll(store, yield* streamIn(tenant, id))
            assertContiguous(
              stream.map((e) => e.version),
              1,
              `${id} version`
            )
            const inFeed = all.filter((e) => e.streamId.id === id)
            assert.deepStrictEqual(
              inFeed.map((e) => e.position),
              stream.map((e) => e.position)
            )
          }
        }),
      timeout
    )

    it.effect(
      "given a 10,000-event stream, when it is read, then every event comes back once, in order",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "big")
          const batch = Math.min(store.limits.maxEventsPerAppend, 100)
          let version = 0
          while (version < 10_000) {
            const count = Math.min(batch, 10_000 - version)
            const result = yield* store.append(streamId, yield* events(count, version), ExpectedVersion.exact(version))
            version = result.version
          }

          const all = yield* readAll(store, streamId)
          const tail = yield* readAll(store, streamId, 9_991)

          assert.strictEqual(all.length, 10_000)
          assertContiguous(
            all.map((e) => e.version),
            1,
            "version"
          )
          assertContiguous(
            all.map((e) => e.position),
            1,
            "position"
          )
          all.forEach((e, index) => {
            assert.strictEqual(JSON.parse(e.data).n, index)
          })
          assert.deepStrictEqual(
            tail.map((e) => e.version),
            Array.from({ length: 10 }, (_, i) => 9_991 + i)
          )
        }),
      timeout
    )

    it.effect(
      "given a partition, when the feed is paged, then pages are consecutive and end at the head",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const partition = Partition.make(tenant, "order", 0)
          for (let i = 0; i < 5; i++) {
            yield* store.append(yield* streamIn(tenant, `s${i}`), yield* events(5, i * 5), ExpectedVersion.noStream)
          }

          const first = yield* feed.read(partition, 0, 10)
          const second = yield* feed.read(partition, 10, 10)
          const last = yield* feed.read(partition, 20, 10)
          const beyond = yield* feed.read(partition, 25, 10)

          assert.deepStrictEqual(
            first.map((e) => e.position),
            Array.from({ length: 10 }, (_, i) => i + 1)
          )
          assert.deepStrictEqual(
            second.map((e) => e.position),
            Array.from({ length: 10 }, (_, i) => i + 11)
          )
          assert.deepStrictEqual(
            last.map((e) => e.position),
            [21, 22, 23, 24, 25]
          )
          assert.deepStrictEqual(beyond, [])
          assert.strictEqual(yield* feed.head(partition), 25)
          assert.strictEqual(yield* feed.head(Partition.make(tenant, "nothing-here", 0)), 0)
        }),
      timeout
    )

    it.effect(
      "given events in several categories, when partitions are listed, then each category's partitions are discovered",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const other = freshTenant()
          const before = yield* feed.partitions({ tenant })
          yield* store.append(yield* streamIn(tenant, "x", "order"), yield* events(1), ExpectedVersion.any)
          yield* store.append(yield* streamIn(tenant, "y", "invoice"), yield* events(1), ExpectedVersion.any)
          yield* store.append(yield* streamIn(other, "z", "order"), yield* events(1), ExpectedVersion.any)

          const mine = yield* feed.partitions({ tenant })
          const orders = yield* feed.partitions({ tenant, category: "order" })
          const everyone = yield* feed.partitions()

          assert.deepStrictEqual(before, [])
          assert.deepStrictEqual(
            [...mine].map(Partition.format).sort(),
            [Partition.make(tenant, "invoice", 0), Partition.make(tenant, "order", 0)].map(Partition.format).sort()
          )
          assert.deepStrictEqual(orders.map(Partition.format), [Partition.format(Partition.make(tenant, "order", 0))])
          const all = everyone.map(Partition.format)
          assert.include(all, Partition.format(Partition.make(other, "order", 0)))
          assert.include(all, Partition.format(Partition.make(tenant, "invoice", 0)))
        }),
      timeout
    )

    if (options.sharded !== undefined) {
      const { category, shards } = options.sharded
      it.effect(
        `given the sharded category ${category}, when many aggregates append, then each lands in its shard with contiguous positions`,
        () =>
          Effect.gen(function* () {
            const store = yield* EventStore
            const feed = yield* EventFeed
            const tenant = freshTenant()
            const ids = Array.from({ length: 8 * shards }, (_, i) => `agg-${i}`)
            for (const id of ids) {
              const result = yield* store.append(
                yield* streamIn(tenant, id, category),
                yield* events(2),
                ExpectedVersion.noStream
              )
              assert.strictEqual(result.partition.shard, Partition.shardOf(id, shards), id)
            }

            const partitions = yield* feed.partitions({ tenant, category })

            assert.deepStrictEqual(
              partitions.map((p) => p.shard).sort((a, b) => a - b),
              Array.from({ length: shards }, (_, i) => i)
            )
            let total = 0
            for (const partition of partitions) {
              const all = yield* readFeed(feed, partition)
              assertContiguous(
                all.map((e) => e.position),
                1,
                `${Partition.format(partition)} position`
              )
              for (const e of all) assert.strictEqual(Partition.shardOf(e.streamId.id, shards), partition.shard)
              total += all.length
            }
            assert.strictEqual(total, ids.length * 2)
          }),
        timeout
      )
    }

    it.effect(
      "given two tenants, when both write the same category and id, then their streams and feeds stay apart",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const a = freshTenant()
          const b = freshTenant()
          const inA = yield* streamIn(a, "same")
          const inB = yield* streamIn(b, "same")

          yield* store.append(inA, yield* events(3), ExpectedVersion.noStream)
          const inBResult = yield* store.append(inB, yield* events(1, 100), ExpectedVersion.noStream)

          assert.strictEqual(inBResult.version, 1)
          assert.deepStrictEqual(inBResult.positions, [1])
          assert.strictEqual((yield* readAll(store, inA)).length, 3)
          const bFeed = yield* readFeed(feed, Partition.make(b, "order", 0))
          assert.deepStrictEqual(
            bFeed.map((e) => JSON.parse(e.data).n),
            [100]
          )
          assert.isTrue(bFeed.every((e) => e.streamId.tenant === b))
        }),
      timeout
    )

    it.effect(
      "given the append limit, when appending exactly the maximum and one more, then the first succeeds and the second is TooManyEvents",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const max = store.limits.maxEventsPerAppend
          const tenant = freshTenant()
          const fits = yield* streamIn(tenant, "fits")
          const overflows = yield* streamIn(tenant, "overflows")

          const ok = yield* store.append(fits, yield* events(max), ExpectedVersion.noStream)
          const error = yield* Effect.flip(store.append(overflows, yield* events(max + 1), ExpectedVersion.noStream))

          assert.strictEqual(ok.version, max)
          assert.strictEqual(error._tag, "TooManyEvents")
          if (error._tag === "TooManyEvents") {
            assert.strictEqual(error.max, max)
            assert.strictEqual(error.count, max + 1)
            assert.include(error.message, String(max))
          }
          assert.strictEqual(yield* versionOf(store, overflows), 0)
        }),
      timeout
    )

    it.effect(
      "given an oversized event, when it is appended, then EventTooLarge names its size and the limit and nothing is written",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const streamId = yield* streamIn(tenant, "o-1")
          const small = yield* event("Small", { n: 0 })
          const huge = yield* event("Huge", { blob: "x".repeat(Math.ceil(store.limits.maxEventSize / 2) + 1024) })

          const error = yield* Effect.flip(store.append(streamId, [small, huge], ExpectedVersion.noStream))

          assert.strictEqual(error._tag, "EventTooLarge")
          if (error._tag === "EventTooLarge") {
            assert.strictEqual(error.index, 1)
            assert.strictEqual(error.type, "Huge")
            assert.strictEqual(error.limit, store.limits.maxEventSize)
            assert.isAbove(error.size, error.limit)
          }
          assert.strictEqual(yield* versionOf(store, streamId), 0)
          assert.strictEqual(yield* feed.head(Partition.make(tenant, "order", 0)), 0)
        }),
      timeout
    )

    it.effect(
      "given events that fit one by one but not together, when appended, then AppendTooLarge and nothing is written",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const { maxAppendSize, maxEventSize, maxEventsPerAppend } = store.limits
          const chars = Math.floor(maxEventSize * 0.35)
          const count = Math.floor(maxAppendSize / (maxEventSize * 0.7)) + 1
          const streamId = yield* streamIn(freshTenant(), "o-1")
          if (count > maxEventsPerAppend) return
          const blob = "y".repeat(chars)
          const batch = yield* Effect.forEach(
            Array.from({ length: count }, (_, n) => n),
            (n) => event("Big", { n, blob })
          )

          const one = yield* store.append(streamId, batch.slice(0, 1), ExpectedVersion.noStream)
          const error = yield* Effect.flip(store.append(streamId, batch, ExpectedVersion.exact(1)))

          assert.strictEqual(one.version, 1, "one big event alone fits")
          assert.strictEqual(error._tag, "AppendTooLarge")
          if (error._tag === "AppendTooLarge") assert.isAbove(error.size, error.limit)
          assert.strictEqual(yield* versionOf(store, streamId), 1)
        }),
      timeout
    )

    it.effect(
      "given malformed requests, when appended, then InvalidAppend explains each and nothing is written",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "o-1")
          const good = yield* event("Good", { ok: true })
          const metadata = good.metadata
          const bad: ReadonlyArray<
            readonly [string, ReadonlyArray<EventData.EventData>, ExpectedVersion.ExpectedVersion]
          > = [
            ["empty type", [{ type: "", data: "{}", metadata }], ExpectedVersion.any],
            ["control character in type", [{ type: "Bad\u0007Type", data: "{}", metadata }], ExpectedVersion.any],
            ["data that is not JSON", [good, { type: "Good", data: "{not json", metadata }], ExpectedVersion.any],
            ["data that is not an object", [{ type: "Good", data: "[1,2,3]", metadata }], ExpectedVersion.any],
            [
              "empty event id",
              [{ type: "Good", data: "{}", metadata: { ...metadata, eventId: "" } }],
              ExpectedVersion.any
            ]
          ]
          for (const [label, batch, expected] of bad) {
            const error = yield* Effect.flip(store.append(streamId, batch, expected))
            assert.strictEqual(error._tag, "InvalidAppend", label)
            assert.isTrue(error.message.length > 0, label)
          }
          const dataError = yield* Effect.flip(store.append(streamId, bad[2]![1], ExpectedVersion.any))
          if (dataError._tag === "InvalidAppend") assert.strictEqual(dataError.index, 1)
          assert.strictEqual(yield* versionOf(store, streamId), 0)
        }),
      timeout
    )

    it.effect(
      "given numbers out of their domain, when any port operation gets one, then InvalidArgument names it and nothing is written",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const streamId = yield* streamIn(tenant, "o-1")
          yield* store.append(streamId, yield* events(3), ExpectedVersion.noStream)
          const partition = Partition.make(tenant, "order", 0)
          const bad: ReadonlyArray<readonly [number, string]> = [
            [Number.NaN, "NaN"],
            [Number.POSITIVE_INFINITY, "Infinity"],
            [Number.NEGATIVE_INFINITY, "-Infinity"],
            [-1, "-1"],
            [1.5, "1.5"],
            [2 ** 53, "9007199254740992"],
            [Number.MAX_VALUE, String(Number.MAX_VALUE)]
          ]
          const expectInvalid = (
            error: { readonly _tag: string },
            operation: string,
            argument: string,
            value: string
          ) => {
            const label = `${operation} ${argument}=${value}`
            assert.strictEqual(error._tag, "InvalidArgument", label)
            if (error._tag === "InvalidArgument") {
              const invalid = error as InvalidArgument
              assert.strictEqual(invalid.operation, operation, label)
              assert.strictEqual(invalid.argument, argument, label)
              assert.strictEqual(invalid.value, value, label)
              assert.include(invalid.message, argument, label)
            }
          }
          for (const [value, shown] of bad) {
            expectInvalid(
              yield* Effect.flip(Stream.runCollect(store.readStream(streamId, { from: value }))),
              "readStream",
              "from",
              shown
            )
            expectInvalid(yield* Effect.flip(feed.read(partition, value, 10)), "read", "after", shown)
            expectInvalid(yield* Effect.flip(feed.read(partition, 0, value)), "read", "limit", shown)
            expectInvalid(
              yield* Effect.flip(feed.read(Partition.make(tenant, "order", value), 0, 10)),
              "read",
              "partition.shard",
              shown
            )
            expectInvalid(
              yield* Effect.flip(feed.head(Partition.make(tenant, "order", value))),
              "head",
              "partition.shard",
              shown
            )
            expectInvalid(
              yield* Effect.flip(store.append(streamId, yield* events(1), ExpectedVersion.exact(value))),
              "append",
              "expected",
              `exact(${shown})`
            )
            expectInvalid(
              yield* Effect.flip(store.append(streamId, [], ExpectedVersion.exact(value))),
              "append",
              "expected",
              `exact(${shown})`
            )
          }
          // Only an omitted `from` reads from the start; null is not a count, as in `feed.read`.
          expectInvalid(
            yield* Effect.flip(Stream.runCollect(store.readStream(streamId, { from: null as unknown as number }))),
            "readStream",
            "from",
            "null"
          )
          const tooManyShards = Partition.make(tenant, "order", Partition.maxShards)
          expectInvalid(yield* Effect.flip(feed.head(tooManyShards)), "head", "partition.shard", "1024")
          expectInvalid(yield* Effect.flip(feed.read(tooManyShards, 0, 1)), "read", "partition.shard", "1024")
          for (const [tenantPart, categoryPart, argument, shown] of [
            ["", "order", "partition.tenant", '""'],
            [tenant, "", "partition.category", '""'],
            ["bad\u0000tenant", "order", "partition.tenant", JSON.stringify("bad\u0000tenant")],
            [
              tenant,
              "x".repeat(StreamId.maxCategoryLength + 1),
              "partition.category",
              `"${"x".repeat(StreamId.maxCategoryLength + 1)}"`
            ]
          ] as const) {
            const malformed = Partition.make(tenantPart, categoryPart, 0)
            expectInvalid(yield* Effect.flip(feed.read(malformed, 0, 10)), "read", argument, shown)
            expectInvalid(yield* Effect.flip(feed.head(malformed)), "head", argument, shown)
          }
          expectInvalid(yield* Effect.flip(feed.partitions({ tenant: "" })), "partitions", "tenant", '""')
          expectInvalid(
            yield* Effect.flip(feed.partitions({ tenant, category: "bad\u2028category" })),
            "partitions",
            "category",
            JSON.stringify("bad\u2028category")
          )

          // In-domain edge values still work: 0 reads from the start, a limit of 0 reads nothing.
          assert.strictEqual((yield* readAll(store, streamId, 0)).length, 3)
          assert.deepStrictEqual(yield* feed.read(partition, 0, 0), [])
          assert.deepStrictEqual(yield* feed.read(partition, Number.MAX_SAFE_INTEGER, 10), [])
          assert.deepStrictEqual(yield* readAll(store, streamId, Number.MAX_SAFE_INTEGER), [])
          assert.strictEqual(yield* feed.head(Partition.make(tenant, "order", Partition.maxShards - 1)), 0)
          // Nothing was written by any refused append.
          assert.strictEqual(yield* versionOf(store, streamId), 3)
          assert.strictEqual(yield* feed.head(partition), 3)
        }),
      timeout
    )

    it.effect(
      "given line separators, controls or lone surrogates in the type or an id, when appended, then InvalidAppend names the field and nothing is written",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const streamId = yield* streamIn(tenant, "o-1")
          const good = yield* event("Good", { ok: true })
          const metadata = good.metadata
          for (const bad of ["\u2028", "\u2029", "\r", "\n", "\r\n", "\u0000", "\u0085", "\ud800", "\udfff"]) {
            const cases: ReadonlyArray<readonly [string, EventData.EventData]> = [
              ["event type", { ...good, type: `Bad${bad}Type` }],
              ["eventId", { ...good, metadata: { ...metadata, eventId: `id${bad}` } }],
              ["correlationId", { ...good, metadata: { ...metadata, correlationId: `c${bad}` } }],
              ["causationId", { ...good, metadata: { ...metadata, causationId: `c${bad}` } }]
            ]
            for (const [field, candidate] of cases) {
              const label = `${field} with U+${bad.charCodeAt(0).toString(16)}`
              const first = yield* event("First", { n: 0 })
              const error = yield* Effect.flip(store.append(streamId, [first, candidate], ExpectedVersion.any))
              assert.strictEqual(error._tag, "InvalidAppend", label)
              if (error._tag === "InvalidAppend") {
                assert.strictEqual(error.index, 1, label)
                assert.isTrue(error.reason.startsWith(field), `${label}: ${error.reason}`)
              }
            }
          }
          assert.strictEqual(yield* versionOf(store, streamId), 0)
          assert.strictEqual(yield* feed.head(Partition.make(tenant, "order", 0)), 0)
          // The store still takes a plain append afterwards.
          assert.strictEqual((yield* store.append(streamId, [good], ExpectedVersion.noStream)).version, 1)
        }),
      timeout
    )

    it.effect(
      "given data and custom metadata full of separators, controls, surrogates and astral characters, when appended, then they read back unchanged",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const streamId = yield* streamIn(tenant, "o-1")
          const nasty = 'a\u2028b\u2029c\r\nd\u0000e\u0085f\ufeffg\ud800h\udfffi😀j\u00a0k\ufffel\\m"n'
          const custom = { [nasty]: nasty, "\u2028": "\u2029", plain: "value" }
          const data = `{\r\n\t"text": ${JSON.stringify(nasty)},\n"raw": "\u2028\u2029\u0085\ufeff😀", "list": [${JSON.stringify(nasty)}]\r}`
          const stored = { ...(yield* event("Nasty", {}, { custom })), data }

          yield* store.append(streamId, [stored], ExpectedVersion.noStream)
          const plain = yield* store.append(streamId, yield* events(1), ExpectedVersion.exact(1))

          const [read] = yield* readAll(store, streamId)
          const [fed] = yield* feed.read(Partition.make(tenant, "order", 0), 0, 1)
          for (const back of [read!, fed!]) {
            assert.deepStrictEqual(JSON.parse(back.data), JSON.parse(data))
            assert.deepStrictEqual(back.metadata.custom, custom)
            assert.strictEqual(back.type, "Nasty")
          }
          assert.strictEqual(plain.version, 2)
        }),
      timeout
    )

    it.effect(
      "given two events with the same event id, when appended together, then InvalidAppend names both indexes and nothing is written",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "o-1")
          const [a, b, c] = yield* events(3)
          const twin = { ...c!, metadata: { ...c!.metadata, eventId: a!.metadata.eventId } }

          const error = yield* Effect.flip(store.append(streamId, [a!, b!, twin], ExpectedVersion.noStream))

          assert.strictEqual(error._tag, "InvalidAppend")
          if (error._tag === "InvalidAppend") {
            assert.strictEqual(error.index, 2)
            assert.include(error.reason, "events 0 and 2")
            assert.include(error.reason, a!.metadata.eventId)
          }
          assert.strictEqual(yield* versionOf(store, streamId), 0)
        }),
      timeout
    )

    it.effect(
      "given custom metadata at and past its limit, when appended, then the first reads back and the second is EventTooLarge naming metadata.custom",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "o-1")
          const overhead = EventMetadata.customText({ k: "" }).length
          const fits = { k: "é".repeat(EventMetadata.maxCustomLength - overhead) }
          const over = { k: "é".repeat(EventMetadata.maxCustomLength - overhead - 5), x: "\u2028" }
          assert.strictEqual(EventMetadata.customText(fits).length, EventMetadata.maxCustomLength)

          const ok = yield* store.append(
            streamId,
            [yield* event("Fits", {}, { custom: fits })],
            ExpectedVersion.noStream
          )
          const error = yield* Effect.flip(
            store.append(streamId, [yield* event("Over", {}, { custom: over })], ExpectedVersion.exact(1))
          )

          assert.strictEqual(ok.version, 1)
          assert.deepStrictEqual((yield* readAll(store, streamId))[0]!.metadata.custom, fits)
          assert.strictEqual(error._tag, "EventTooLarge")
          if (error._tag === "EventTooLarge") {
            assert.strictEqual(error.field, "metadata.custom")
            assert.strictEqual(error.limit, EventMetadata.maxCustomLength)
            assert.isAbove(error.size, error.limit)
            assert.include(error.message, "metadata.custom")
          }
          assert.strictEqual(yield* versionOf(store, streamId), 1)
        }),
      timeout
    )

    it.effect(
      "given event data nested past the depth limit, when appended, then InvalidAppend and nothing is written, while the limit itself reads back",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "o-1")
          const nested = (levels: number) => `{"v":${"[".repeat(levels - 1)}${"]".repeat(levels - 1)}}`
          const base = yield* event("Deep", {})

          const atLimit = yield* store.append(
            streamId,
            [{ ...base, data: nested(JsonText.maxDepth) }],
            ExpectedVersion.noStream
          )
          const errors = yield* Effect.forEach([JsonText.maxDepth + 1, 5_000, 100_000], (levels) =>
            Effect.flatMap(event("Deep", {}), (e) =>
              Effect.flip(store.append(streamId, [{ ...e, data: nested(levels) }], ExpectedVersion.exact(1)))
            )
          )

          assert.strictEqual(atLimit.version, 1)
          assert.strictEqual(JsonText.depth((yield* readAll(store, streamId))[0]!.data), JsonText.maxDepth)
          for (const error of errors) {
            assert.strictEqual(error._tag, "InvalidAppend")
            if (error._tag === "InvalidAppend") assert.include(error.reason, "levels deep")
          }
          assert.strictEqual(yield* versionOf(store, streamId), 1)
        }),
      timeout
    )

    it.effect(
      "given writers racing on one stream with exact versions, when they all finish, then no event is lost or duplicated",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const streamId = yield* streamIn(tenant, "contended")
          const appendsPerWriter = 6
          const submitted = new Set<string>()

          const outcomes = yield* Effect.forEach(
            Array.from({ length: writers }, (_, w) => w),
            (w) =>
              Effect.forEach(
                Array.from({ length: appendsPerWriter }, (_, a) => a),
                (a) =>
                  Effect.gen(function* () {
                    const batch = yield* events(1 + ((w + a) % 2), w * 1000 + a * 10)
                    for (const e of batch) submitted.add(e.metadata.eventId)
                    return yield* appendOptimistically(store, streamId, batch)
                  })
              ),
            { concurrency: "unbounded" }
          )

          const all = yield* readAll(store, streamId)
          const ids = all.map((e) => e.metadata.eventId)
          assert.strictEqual(all.length, submitted.size)
          assert.strictEqual(new Set(ids).size, ids.length, "no duplicated event")
          for (const id of submitted) assert.isTrue(ids.includes(id), `event ${id} was lost`)
          assertContiguous(
            all.map((e) => e.version),
            1,
            "version"
          )
          const inFeed = yield* readFeed(feed, Partition.make(tenant, "order", 0))
          assertContiguous(
            inFeed.map((e) => e.position),
            1,
            "position"
          )
          assert.deepStrictEqual(
            inFeed.map((e) => e.metadata.eventId),
            ids
          )
          const results = outcomes.flat().map((o) => o.result)
          assert.deepStrictEqual(
            results.map((r) => r.version).sort((a, b) => a - b),
            [...new Set(results.map((r) => r.version))].sort((a, b) => a - b),
            "each append got its own version"
          )
        }),
      timeout
    )

    it.effect(
      "given writers racing on one stream with any version, when they all finish, then every event is there exactly once",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "any")
          const results = yield* Effect.forEach(
            Array.from({ length: writers * 4 }, (_, i) => i),
            (i) => Effect.flatMap(events(2, i * 2), (batch) => store.append(streamId, batch, ExpectedVersion.any)),
            { concurrency: "unbounded" }
          )

          const all = yield* readAll(store, streamId)
          assert.strictEqual(all.length, writers * 8)
          assertContiguous(
            all.map((e) => e.version),
            1,
            "version"
          )
          assert.deepStrictEqual(
            all.map((e) => JSON.parse(e.data).n).sort((a, b) => a - b),
            Array.from({ length: writers * 8 }, (_, i) => i)
          )
          const versions = results.map((r: AppendResult) => r.version).sort((a, b) => a - b)
          assert.deepStrictEqual(
            versions,
            Array.from({ length: writers * 4 }, (_, i) => (i + 1) * 2)
          )
        }),
      timeout
    )

    it.effect(
      "given many streams written concurrently in one partition, then positions are gap-free and match each stream's order",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const streams = writers * 4
          const appendsPerStream = 3
          yield* Effect.forEach(
            Array.from({ length: streams }, (_, s) => s),
            (s) =>
              Effect.gen(function* () {
                const streamId = yield* streamIn(tenant, `s-${s}`)
                for (let a = 0; a < appendsPerStream; a++) {
                  yield* store.append(streamId, yield* events(1, s * 100 + a), ExpectedVersion.exact(a))
                }
              }),
            { concurrency: "unbounded" }
          )

          const all = yield* readFeed(feed, Partition.make(tenant, "order", 0), 100)

          assert.strictEqual(all.length, streams * appendsPerStream)
          assertContiguous(
            all.map((e) => e.position),
            1,
            "position"
          )
          for (let s = 0; s < streams; s++) {
            const inFeed = all.filter((e) => e.streamId.id === `s-${s}`)
            assert.deepStrictEqual(
              inFeed.map((e) => e.version),
              [1, 2, 3],
              `s-${s}`
            )
            assert.deepStrictEqual(
              inFeed.map((e) => JSON.parse(e.data).n),
              [s * 100, s * 100 + 1, s * 100 + 2]
            )
          }
        }),
      timeout
    )

    it.effect(
      "given a poller, when writers append and conflict, then it only ever sees committed events, without gaps",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const feed = yield* EventFeed
          const tenant = freshTenant()
          const partition = Partition.make(tenant, "order", 0)
          const seen: Array<StoredEvent> = []
          let done = false

          const poller = Effect.gen(function* () {
            while (true) {
              const finished = done
              const page = yield* feed.read(partition, seen.length, 50)
              page.forEach((e, i) => {
                assert.strictEqual(e.position, seen.length + i + 1, "the feed showed a gap")
              })
              seen.push(...page)
              if (finished && page.length === 0) return
              if (page.length === 0) yield* Effect.sleep("1 millis")
            }
          })
          const writer = (w: number) =>
            Effect.gen(function* () {
              const streamId = yield* streamIn(tenant, `w-${w % 3}`)
              const rejected: Array<string> = []
              for (let a = 0; a < 8; a++) {
                const batch = yield* events(1 + (a % 3), w * 100 + a * 5)
                const version = yield* versionOf(store, streamId)
                const outcome = yield* Effect.result(store.append(streamId, batch, ExpectedVersion.exact(version)))
                if (outcome._tag === "Failure") rejected.push(...batch.map((e) => e.metadata.eventId))
              }
              return rejected
            })

          const pollerFiber = yield* Effect.forkChild(poller)
          const rejected = (yield* Effect.forEach(
            Array.from({ length: writers }, (_, w) => w),
            writer,
            {
              concurrency: "unbounded"
            }
          )).flat()
          done = true
          yield* Fiber.join(pollerFiber) // fails the test if the poller saw a gap

          const final = yield* readFeed(feed, partition)
          assert.deepStrictEqual(
            seen.map((e) => e.metadata.eventId),
            final.map((e) => e.metadata.eventId)
          )
          const committed = new Set(final.map((e) => e.metadata.eventId))
          for (const id of rejected) assert.isFalse(committed.has(id), `rejected event ${id} became visible`)
        }),
      timeout
    )

    it.effect(
      "given appends with snapshots, when the snapshot is read, then it is the latest one written, at its version",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const tenant = freshTenant()
          const streamId = yield* streamIn(tenant, "o-1")
          const other = yield* streamIn(tenant, "o-2")
          assert.isTrue(Option.isNone(yield* store.readSnapshot(streamId)), "a missing stream has no snapshot")
          yield* store.append(other, yield* events(1), ExpectedVersion.noStream)
          assert.isTrue(Option.isNone(yield* store.readSnapshot(other)), "a stream without snapshots has none")

          yield* store.append(streamId, yield* events(3), ExpectedVersion.noStream, {
            snapshot: { version: 3, data: JSON.stringify({ total: 3 }) }
          })
          const first = yield* store.readSnapshot(streamId)
          yield* store.append(streamId, yield* events(2, 3), ExpectedVersion.exact(3))
          const unchanged = yield* store.readSnapshot(streamId)
          yield* store.append(streamId, yield* events(1, 5), ExpectedVersion.exact(5), {
            snapshot: { version: 6, data: JSON.stringify({ total: 6 }) }
          })
          const replaced = yield* store.readSnapshot(streamId)

          assert.deepStrictEqual(
            Option.map(first, (s) => [s.version, JSON.parse(s.data)]),
            Option.some([3, { total: 3 }])
          )
          assert.deepStrictEqual(unchanged, first, "an append without a snapshot keeps the previous one")
          assert.deepStrictEqual(
            Option.map(replaced, (s) => [s.version, JSON.parse(s.data)]),
            Option.some([6, { total: 6 }])
          )
          assert.isTrue(Option.isNone(yield* store.readSnapshot(other)), "snapshots stay with their stream")
        }),
      timeout
    )

    it.effect(
      "given a bad snapshot, when appending with it, then the append fails with a typed error and writes nothing",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "o-1")
          const good = { version: 2, data: JSON.stringify({ total: 2 }) }
          yield* store.append(streamId, yield* events(2), ExpectedVersion.noStream, { snapshot: good })
          const max = store.limits.maxEventsPerAppend
          const cases: ReadonlyArray<readonly [string, number, { version: number; data: string }, string]> = [
            ["behind the append", 1, { version: 2, data: "{}" }, "InvalidAppend"],
            ["ahead of the append", 1, { version: 4, data: "{}" }, "InvalidAppend"],
            ["with an empty append", 0, { version: 2, data: "{}" }, "InvalidAppend"],
            ["at version 0", 1, { version: 0, data: "{}" }, "InvalidAppend"],
            ["with data that is not JSON", 1, { version: 3, data: "{total" }, "InvalidAppend"],
            ["with a lone surrogate", 1, { version: 3, data: '"\ud800"' }, "InvalidAppend"],
            ["with a full append", max, { version: 2 + max, data: "{}" }, "TooManyEvents"]
          ]
          for (const [label, count, snapshot, tag] of cases) {
            const outcome = yield* Effect.result(
              store.append(streamId, yield* events(count, 10), ExpectedVersion.exact(2), { snapshot })
            )
            assert.strictEqual(outcome._tag, "Failure", label)
            if (outcome._tag === "Failure") assert.strictEqual(outcome.failure._tag, tag, label)
            assert.strictEqual(yield* versionOf(store, streamId), 2, label)
            assert.deepStrictEqual(yield* store.readSnapshot(streamId), Option.some(good), label)
          }
          const fits = yield* store.append(streamId, yield* events(max - 1, 100), ExpectedVersion.exact(2), {
            snapshot: { version: 1 + max, data: "{}" }
          })
          assert.strictEqual(fits.version, 1 + max, "one event fewer than the limit leaves room for a snapshot")
        }),
      timeout
    )

    it.effect(
      "given writers racing with snapshots, when only one append wins, then only its snapshot is ever visible",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "o-1")
          yield* store.append(streamId, yield* events(1), ExpectedVersion.noStream, {
            snapshot: { version: 1, data: JSON.stringify({ writer: -1 }) }
          })
          const outcomes = yield* Effect.forEach(
            Array.from({ length: writers }, (_, w) => w),
            (w) =>
              Effect.flatMap(events(2, w * 10), (batch) =>
                Effect.result(
                  store.append(streamId, batch, ExpectedVersion.exact(1), {
                    snapshot: { version: 3, data: JSON.stringify({ writer: w }) }
                  })
                )
              ),
            { concurrency: "unbounded" }
          )
          const winners = outcomes.flatMap((outcome, w) => (outcome._tag === "Success" ? [w] : []))
          assert.strictEqual(winners.length, 1)
          for (const outcome of outcomes) {
            if (outcome._tag === "Failure") assert.strictEqual(outcome.failure._tag, "ConcurrencyConflict")
          }
          const snapshot = yield* store.readSnapshot(streamId)
          assert.deepStrictEqual(
            Option.map(snapshot, (s) => [s.version, JSON.parse(s.data)]),
            Option.some([3, { writer: winners[0] }])
          )
          const read = yield* readAll(store, streamId)
          assert.deepStrictEqual(JSON.parse(read[1]!.data), { n: winners[0]! * 10 })
        }),
      timeout
    )

    it.effect(
      "given a large snapshot in any script, when it is written and read, then it comes back whole",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore
          const streamId = yield* streamIn(freshTenant(), "o-1")
          // Over a million UTF-16 units: several Table Storage properties and rows, surrogate pairs across
          // the boundaries, and raw line separators (U+2028, U+2029), which JSON allows inside strings.
          const parts = Array.from({ length: 50_000 }, (_, i) => `${i}:漢字😀\u2028 ü\u2029😀-${"x".repeat(i % 7)}`)
          const data = JSON.stringify({ parts, tail: "\u2028\u2029" })
          assert.isAbove(data.length, 1_000_000)
          yield* store.append(streamId, yield* events(2), ExpectedVersion.noStream, {
            snapshot: { version: 2, data }
          })
          const read = yield* store.readSnapshot(streamId)
          assert.isTrue(Option.isSome(read))
          if (Option.isSome(read)) {
            assert.strictEqual(read.value.version, 2)
            assert.deepStrictEqual(JSON.parse(read.value.data), JSON.parse(data))
          }
          assert.strictEqual(yield* versionOf(store, streamId), 2)
        }),
      timeout
    )
  })
}
