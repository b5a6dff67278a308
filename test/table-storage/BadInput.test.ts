import { assert, describe, it } from "@effect/vitest"
import {
  type EventData,
  EventFeed,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  InMemoryEventStore,
  JsonText,
  Partition,
  type StoredEvent,
  StreamId
} from "@eventable/core"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Azurite } from "@eventable/testing"
import { Context, Effect, Layer, Stream } from "effect"
import * as FaultProxy from "./FaultProxy.ts"
import { freshTable } from "./fixtures.ts"

const instance = (connection: TableStorageConfig.TableConnection, table: string) =>
  Effect.map(Layer.build(TableEventStore.layer({ connection, table })), (context) => ({
    store: Context.get(context, EventStore),
    feed: Context.get(context, EventFeed)
  }))

const event = (data: object, options: EventMetadata.MetadataOptions = {}, type = "Happened") =>
  Effect.map(
    EventMetadata.make(options),
    (metadata): EventData.EventData => ({ type, data: JSON.stringify(data), metadata })
  )

let tenants = 0
const tenant = () => `bad${Date.now().toString(36)}${tenants++}`

describe("TableEventStore with bad input", () => {
  it.live(
    "given every kind of refused argument or event, when sent through a proxy, then no request leaves the store and nothing is written",
    () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { feed, store } = yield* instance(
          TableStorageConfig.connectionString(FaultProxy.redacted(proxy)),
          freshTable("badinput")
        )
        const owner = tenant()
        const streamId = yield* StreamId.make({ tenant: owner, category: "order", id: "o-1" })
        const partition = Partition.make(owner, "order", 0)
        // Warm the store: the table exists, the category is registered, the header is cached.
        yield* store.append(streamId, [yield* event({ n: 0 })], ExpectedVersion.noStream)
        const before = proxy.requests().length

        const good = yield* event({ n: 1 })
        const refusals = [
          Effect.flip(Stream.runCollect(store.readStream(streamId, { from: Number.NaN }))),
          Effect.flip(feed.read(partition, -1, 10)),
          Effect.flip(feed.read(partition, 0, 1.5)),
          Effect.flip(feed.read(Partition.make(owner, "order", Number.NaN), 0, 10)),
          Effect.flip(feed.read(Partition.make("", "order", 0), 0, 10)),
          Effect.flip(feed.head(Partition.make(owner, "order", -1))),
          Effect.flip(feed.head(Partition.make(owner, "order", Partition.maxShards))),
          Effect.flip(feed.partitions({ tenant: "\u2028" })),
          Effect.flip(store.append(streamId, [good], ExpectedVersion.exact(Number.POSITIVE_INFINITY))),
          Effect.flip(store.append(streamId, [good], ExpectedVersion.exact(2 ** 53))),
          Effect.flip(store.append(streamId, [{ ...good, type: "Bad\u2028" }], ExpectedVersion.exact(1))),
          Effect.flip(
            store.append(
              streamId,
              [{ ...good, metadata: { ...good.metadata, eventId: "e\u2029" } }],
              ExpectedVersion.exact(1)
            )
          ),
          Effect.flip(
            store.append(
              streamId,
              [{ ...good, metadata: { ...good.metadata, correlationId: "c\r\n" } }],
              ExpectedVersion.exact(1)
            )
          ),
          Effect.flip(store.append(streamId, [good, good], ExpectedVersion.exact(1))),
          Effect.flip(
            store.append(
              streamId,
              [yield* event({}, { custom: { big: "x".repeat(EventMetadata.maxCustomLength) } })],
              ExpectedVersion.exact(1)
            )
          ),
          Effect.flip(
            store.append(
              streamId,
              [{ ...good, data: `{"v":${"[".repeat(5_000)}${"]".repeat(5_000)}}` }],
              ExpectedVersion.exact(1)
            )
          )
        ]
        const errors = yield* Effect.all(refusals)

        assert.deepStrictEqual(
          errors.map((e) => e._tag),
          [
            ...Array.from({ length: 10 }, () => "InvalidArgument"),
            ...Array.from({ length: 4 }, () => "InvalidAppend"),
            "EventTooLarge",
            "InvalidAppend"
          ]
        )
        assert.deepStrictEqual(proxy.requests().slice(before), [], "no request for any refused input")
        assert.strictEqual((yield* Stream.runCollect(store.readStream(streamId))).length, 1)
        assert.strictEqual(yield* feed.head(partition), 1)
      }).pipe(Effect.scoped)
  )

  it.live(
    "given CJK-heavy events, when appended near the limit, then the store uses the transaction's 4 MiB as bytes on the wire and refuses just past it before any request",
    () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const { store } = yield* instance(
          TableStorageConfig.connectionString(FaultProxy.redacted(proxy)),
          freshTable("cjk")
        )
        const owner = tenant()
        const cjk = (chars: number) =>
          Effect.forEach(Array.from({ length: 4 }), () => event({ text: "漢".repeat(chars) }))
        const fits = yield* StreamId.make({ tenant: owner, category: "doc", id: "fits" })
        const over = yield* StreamId.make({ tenant: owner, category: "doc", id: "over" })
        yield* store.append(fits, [], ExpectedVersion.noStream)

        // 4 events of 170,000 CJK characters: 2.04 MB of data in UTF-8, sent twice (event and feed rows).
        const big = yield* cjk(170_000)
        const ok = yield* store.append(fits, big, ExpectedVersion.noStream)
        const batch = proxy.requests().filter((r) => r.method === "POST" && r.path.includes("$batch"))
        const body = batch[batch.length - 1]!.bodyBytes
        const before = proxy.requests().length
        const error = yield* Effect.flip(store.append(over, yield* cjk(175_000), ExpectedVersion.noStream))

        assert.strictEqual(ok.version, 4)
        const dataBytes = big.reduce((n, e) => n + Buffer.byteLength(e.data, "utf8"), 0)
        assert.isAbove(dataBytes, 2_000_000)
        assert.isAbove(body, 2 * dataBytes, "each event travels twice")
        assert.isBelow(body, 4 * 1024 * 1024, "the body stays under Azure's 4 MiB")
        assert.strictEqual(error._tag, "AppendTooLarge")
        if (error._tag === "AppendTooLarge") {
          assert.isAbove(error.size, body, "the refused append is bigger than the committed one")
          assert.isAtMost(error.limit, 4 * 1024 * 1024)
        }
        assert.strictEqual(proxy.requests().length, before, "refused before any request")
        assert.strictEqual((yield* Stream.runCollect(store.readStream(over))).length, 0)
      }).pipe(Effect.scoped),
    120_000
  )
})

// Full-Unicode property test -------------------------------------------------------

/** A small seeded generator (mulberry32): the same seed gives the same strings on every run. */
const random = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

type Random = () => number
const between = (next: Random, low: number, high: number) => low + Math.floor(next() * (high - low + 1))

/** One piece of text from every corner of Unicode. */
const piece = (next: Random, safe: boolean): string => {
  const kind = between(next, 0, safe ? 4 : 9)
  switch (kind) {
    case 0:
      return String.fromCharCode(between(next, 0x20, 0x7e))
    case 1:
      return String.fromCharCode(between(next, 0xa0, 0xd7ff))
    case 2:
      return String.fromCodePoint(between(next, 0x10000, 0x10ffff))
    case 3:
      return ['"', "\\", "/", "{", "}", "[", "]", "'", "~", "|", "%", "#", "?"][between(next, 0, 12)]!
    case 4:
      return String.fromCharCode(between(next, 0xe000, 0xfffd))
    case 5:
      return String.fromCharCode(between(next, 0x00, 0x1f))
    case 6:
      return String.fromCharCode(between(next, 0x7f, 0x9f))
    case 7:
      return ["\u2028", "\u2029", "\u0085", "\ufeff", "\u00a0", "\u200b", "\u200d", "\ufffe", "\uffff", "\r\n"][
        between(next, 0, 9)
      ]!
    case 8:
      return String.fromCharCode(between(next, 0xd800, 0xdfff))
    default:
      return "\u2028"
  }
}

const text = (next: Random, maxPieces: number, safe = false): string => {
  let result = ""
  const pieces = between(next, 0, maxPieces)
  for (let i = 0; i < pieces; i++) result += piece(next, safe)
  return result
}

/** The documented rule, written independently of the store: identifiers refuse these. */
const identifierRefused = (value: string) =>
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u.test(value) || !value.isWellFormed()

/** An identifier that is mostly well behaved, sometimes anything. */
const identifier = (next: Random, prefix: string) => `${prefix}${text(next, 6, next() < 0.75)}`

const arbitraryEvent = (next: Random, label: string): Effect.Effect<EventData.EventData> =>
  Effect.gen(function* () {
    const custom: Record<string, string> = {}
    for (let i = between(next, 0, 3); i > 0; i--) custom[text(next, 8)] = text(next, 12)
    const metadata = yield* EventMetadata.make({
      ...(next() < 0.6 ? { correlationId: identifier(next, "c") } : {}),
      ...(next() < 0.6 ? { causationId: identifier(next, "k") } : {}),
      ...(next() < 0.8 ? { custom } : {})
    })
    const value = {
      s: text(next, 16),
      [text(next, 6)]: [text(next, 8), between(next, -1e6, 1e6)],
      o: { t: text(next, 4) }
    }
    const whitespace = ["", " ", "\r\n", "\n\t", "\r"][between(next, 0, 4)]!
    return {
      type: identifier(next, "T"),
      data: `{${whitespace}${JSON.stringify(value).slice(1, -1)}${whitespace}}`,
      metadata: { ...metadata, eventId: identifier(next, `${label}-`) }
    }
  })

const refusedField = (event: EventData.EventData): string | undefined => {
  if (identifierRefused(event.type)) return "event type"
  const m = event.metadata
  if (identifierRefused(m.eventId)) return "eventId"
  if (m.correlationId !== undefined && identifierRefused(m.correlationId)) return "correlationId"
  if (m.causationId !== undefined && identifierRefused(m.causationId)) return "causationId"
  return undefined
}

const assertSame = (back: StoredEvent, sent: EventData.EventData, label: string) => {
  assert.strictEqual(back.type, sent.type, label)
  assert.deepStrictEqual(JSON.parse(back.data), JSON.parse(sent.data), label)
  assert.strictEqual(JsonText.escapeSeparators(back.data), JsonText.escapeSeparators(sent.data), label)
  assert.strictEqual(back.metadata.eventId, sent.metadata.eventId, label)
  assert.strictEqual(back.metadata.correlationId, sent.metadata.correlationId, label)
  assert.strictEqual(back.metadata.causationId, sent.metadata.causationId, label)
  assert.deepStrictEqual(back.metadata.custom, sent.metadata.custom, label)
}

describe("TableEventStore with arbitrary Unicode", () => {
  it.live(
    "given arbitrary full-Unicode strings in every stored field, when appended, then each round-trips or both stores refuse it naming the field, and Azurite still commits a plain append",
    () =>
      Effect.gen(function* () {
        // An Azurite of its own: a transaction that went wrong here must not wedge the shared one.
        const azurite = yield* Azurite.start()
        const { feed, store } = yield* instance(
          TableStorageConfig.connectionString(azurite.connectionString),
          "unicode"
        )
        const memory = yield* InMemoryEventStore.make()
        const seed = 20_261_129
        const next = random(seed)
        const owner = tenant()
        const streamId = yield* StreamId.make({ tenant: owner, category: "unicode", id: "u-1" })
        const accepted: Array<EventData.EventData> = []
        let refused = 0

        for (let a = 0; a < 60; a++) {
          const batch = yield* Effect.forEach(Array.from({ length: between(next, 1, 3) }), (_, i) =>
            arbitraryEvent(next, `${a}.${i}`)
          )
          const label = `seed ${seed}, append ${a}`
          const expectedIndex = batch.findIndex((e) => refusedField(e) !== undefined)
          const onTable = yield* Effect.result(store.append(streamId, batch, ExpectedVersion.any))
          const inMemory = yield* Effect.result(memory.store.append(streamId, batch, ExpectedVersion.any))
          if (expectedIndex === -1) {
            assert.strictEqual(
              onTable._tag,
              "Success",
              `${label}: ${onTable._tag === "Failure" ? onTable.failure.message : ""}`
            )
            assert.strictEqual(inMemory._tag, "Success", label)
            accepted.push(...batch)
            continue
          }
          refused++
          assert.strictEqual(onTable._tag, "Failure", label)
          assert.strictEqual(inMemory._tag, "Failure", label)
          if (onTable._tag === "Failure" && inMemory._tag === "Failure") {
            const error = onTable.failure
            assert.strictEqual(error._tag, "InvalidAppend", `${label}: ${error.message}`)
            if (error._tag === "InvalidAppend") {
              assert.strictEqual(error.index, expectedIndex, label)
              assert.isTrue(error.reason.startsWith(refusedField(batch[expectedIndex]!)!), `${label}: ${error.reason}`)
            }
            assert.deepStrictEqual(inMemory.failure, error, `${label}: both stores refuse the same way`)
          }
        }

        const read = yield* Stream.runCollect(store.readStream(streamId))
        const fed = yield* feed.read(Partition.make(owner, "unicode", 0), 0, 1_000)
        assert.isAbove(accepted.length, 40, "most appends carry through")
        assert.isAbove(refused, 5, "the generator reaches the refused characters")
        assert.strictEqual(read.length, accepted.length)
        assert.strictEqual(fed.length, accepted.length)
        accepted.forEach((sent, i) => {
          assertSame(read[i]!, sent, `stream event ${i}`)
          assertSame(fed[i]!, sent, `feed event ${i}`)
        })
        const plain = yield* StreamId.make({ tenant: owner, category: "plain", id: "p-1" })
        assert.strictEqual(
          (yield* store.append(plain, [yield* event({ ok: true })], ExpectedVersion.noStream)).version,
          1
        )
      }).pipe(Effect.scoped),
    120_000
  )
})
