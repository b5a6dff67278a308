import { assert, describe, it } from "@effect/vitest"
import { type EventData, EventMetadata, Partition, StreamId } from "@eventable/core"
import { type Entity, EventRows, TableKeys } from "@eventable/table-storage"
import { DateTime, Effect, Result } from "effect"

const streamId = Effect.runSync(StreamId.make({ tenant: "acme", category: "user", id: "u/1" }))
const partition = Partition.make("acme", "user", 0)
const pk = TableKeys.partitionKey("acme", "user", 0)

const event = (data: string, options: EventMetadata.MetadataOptions = {}): EventData.EventData => ({
  type: "UserRegistered",
  data,
  metadata: Effect.runSync(EventMetadata.make(options))
})

/** A row as the table would return it: the written properties plus an ETag. */
const asRead = (row: EventRows.Row): Entity => ({ ...row, etag: 'W/"x"' })

describe("EventRows", () => {
  it("given a short payload, when written and read back, then every field survives", () => {
    const original = event(JSON.stringify({ name: "ada" }), {
      correlationId: "c",
      causationId: "k",
      custom: { ip: "1" }
    })
    const prepared = EventRows.prepare(EventRows.shape(streamId), original)

    const fromEventRow = Result.getOrThrow(
      EventRows.readEventRow(asRead(prepared.eventRow(pk, 3, 17)), streamId, partition)
    )
    const fromFeedRow = Result.getOrThrow(EventRows.readFeedRow(asRead(prepared.feedRow(pk, 3, 17)), partition))

    for (const stored of [fromEventRow, fromFeedRow]) {
      assert.strictEqual(stored.type, original.type)
      assert.strictEqual(stored.data, original.data)
      assert.strictEqual(stored.version, 3)
      assert.strictEqual(stored.position, 17)
      assert.deepStrictEqual(stored.metadata.custom, { ip: "1" })
      assert.strictEqual(stored.metadata.correlationId, "c")
      assert.isTrue(StreamId.equals(stored.streamId, streamId))
    }
  })

  it("given a payload over one property, when written, then it is split at 32,768 units and joined on read", () => {
    const data = JSON.stringify({ blob: "x".repeat(80_000) })
    const row = EventRows.prepare(EventRows.shape(streamId), event(data)).eventRow(pk, 1, 1)

    assert.strictEqual(row.chunks, 3)
    assert.strictEqual(String(row.d0).length, EventRows.maxPropertyLength)
    assert.strictEqual(Result.getOrThrow(EventRows.readEventRow(asRead(row), streamId, partition)).data, data)
  })

  it("given a surrogate pair on a chunk boundary, when split, then the pair stays whole", () => {
    const data = `${"a".repeat(EventRows.maxPropertyLength - 1)}😀tail`
    const chunks = EventRows.chunk(data)

    assert.strictEqual(chunks.join(""), data)
    for (const chunk of chunks) {
      assert.isTrue(chunk.isWellFormed())
      assert.isAtMost(chunk.length, EventRows.maxPropertyLength)
    }
  })

  it("given a surrogate pair at every offset around each boundary, then no chunk boundary cuts a pair", () => {
    const max = EventRows.maxPropertyLength
    const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff
    const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff
    for (let offset = max - 3; offset <= max + 2; offset++) {
      for (const pair of ["😀", "𝄞", "\u{10000}", "\u{10FFFF}"]) {
        const data = `${"a".repeat(offset)}${pair}${"b".repeat(max - 5)}${pair.repeat(max / 2 + 3)}`
        const chunks = EventRows.chunk(data)
        assert.strictEqual(chunks.join(""), data)
        for (const [i, chunk] of chunks.entries()) {
          assert.isFalse(isHigh(chunk.charCodeAt(chunk.length - 1)), `chunk ${i} ends inside a pair (offset ${offset})`)
          assert.isFalse(isLow(chunk.charCodeAt(0)), `chunk ${i} starts inside a pair (offset ${offset})`)
          // Full chunks are as long as allowed: one unit shorter only where a pair would be cut.
          if (i < chunks.length - 1) {
            const expected = isHigh(data.charCodeAt(chunks.slice(0, i).join("").length + max - 1)) ? max - 1 : max
            assert.strictEqual(chunk.length, expected, `chunk ${i} (offset ${offset})`)
          }
        }
      }
    }
    // A lone high surrogate at the very end of the data is not a pair: nothing to keep together.
    assert.deepStrictEqual(
      EventRows.chunk(`${"a".repeat(max - 1)}\ud800`).map((c) => c.length),
      [max]
    )
    assert.deepStrictEqual(EventRows.chunk(""), [""])
    assert.deepStrictEqual(
      EventRows.chunk("a".repeat(max)).map((c) => c.length),
      [max]
    )
    assert.deepStrictEqual(
      EventRows.chunk("a".repeat(max + 1)).map((c) => c.length),
      [max, 1]
    )
  })

  it("given payloads around 1 MiB, when sized, then the entity size follows Azure's formula", () => {
    const small = EventRows.prepare(EventRows.shape(streamId), event("{}"))
    const big = EventRows.prepare(EventRows.shape(streamId), event(JSON.stringify({ blob: "y".repeat(600_000) })))

    assert.isBelow(small.entityBytes, 2_000)
    assert.isAbove(big.entityBytes, EventRows.maxEntityBytes) // 600,000 UTF-16 units = 1.2 MB
    assert.isAbove(big.requestBytes, 2 * 600_000)
  })

  const damaged: ReadonlyArray<readonly [string, (row: EventRows.Row) => Record<string, unknown>, string]> = [
    ["a missing chunk", ({ d1: _, ...row }) => row, "missing data chunk d1"],
    ["a bad chunk count", (row) => ({ ...row, chunks: "two" }), "chunk count"],
    ["no event id", ({ eventId: _, ...row }) => row, "no event id"],
    ["a bad timestamp", (row) => ({ ...row, occurredAt: "yesterday" }), "occurredAt"],
    ["no type", ({ type: _, ...row }) => row, "no event type"],
    ["bad custom metadata", (row) => ({ ...row, custom: "{oops" }), "custom metadata"],
    ["a bad position", (row) => ({ ...row, position: "-1" }), "position"],
    ["position 0", (row) => ({ ...row, position: "0" }), "no valid position"],
    ["an empty type", (row) => ({ ...row, type: "" }), "no event type"],
    ["an empty event id", (row) => ({ ...row, eventId: "" }), "no event id"],
    ["no timestamp", ({ occurredAt: _, ...row }) => row, "no valid occurredAt"],
    ["no chunk count", ({ chunks: _, ...row }) => row, "no valid chunk count"],
    ["a chunk count of 0", (row) => ({ ...row, chunks: 0 }), "no valid chunk count"],
    ["a chunk count of 253", (row) => ({ ...row, chunks: 253 }), "no valid chunk count"],
    ["a fractional chunk count", (row) => ({ ...row, chunks: 1.5 }), "no valid chunk count"],
    ["no first chunk", ({ d0: _, ...row }) => row, "missing data chunk d0 of 2"],
    ["custom metadata that is an array", (row) => ({ ...row, custom: "[]" }), "custom metadata"],
    ["custom metadata with a number", (row) => ({ ...row, custom: '{"a":1}' }), "custom metadata"],
    ["custom metadata that is null", (row) => ({ ...row, custom: "null" }), "custom metadata"],
    ["custom metadata that is not text", (row) => ({ ...row, custom: 5 }), "custom metadata"]
  ]
  for (const [label, damage, reason] of damaged) {
    it(`given an event row with ${label}, when read, then CorruptEvent says so`, () => {
      const row = EventRows.prepare(
        EventRows.shape(streamId),
        event(JSON.stringify({ blob: "z".repeat(40_000) }))
      ).eventRow(pk, 5, 9)
      const result = EventRows.readEventRow({ ...damage(row), etag: "e", rowKey: row.rowKey }, streamId, partition)

      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure._tag, "CorruptEvent")
        assert.strictEqual(result.failure.stream, "acme/user/u/1")
        assert.strictEqual(result.failure.version, 5)
        assert.include(result.failure.reason, reason)
      }
    })
  }

  it("given a row with a chunk count of 252, when read, then all 252 chunks are joined", () => {
    const row: Record<string, unknown> = {
      ...EventRows.prepare(EventRows.shape(streamId), event("{}")).eventRow(pk, 1, 1)
    }
    row.chunks = 252
    for (let i = 0; i < 252; i++) row[`d${i}`] = i === 0 ? "{" : i === 251 ? "}" : " "
    const read = EventRows.readEventRow({ ...row, etag: "e" } as Entity, streamId, partition)
    assert.strictEqual(Result.getOrThrow(read).data, `{${" ".repeat(250)}}`)
  })

  it("given optional metadata left out, when read back, then it stays absent", () => {
    const prepared = EventRows.prepare(EventRows.shape(streamId), event("{}"))
    const stored = Result.getOrThrow(EventRows.readEventRow(asRead(prepared.eventRow(pk, 1, 1)), streamId, partition))
    assert.isFalse(
      "correlationId" in stored.metadata || "causationId" in stored.metadata || "custom" in stored.metadata
    )
    assert.strictEqual(
      DateTime.toEpochMillis(stored.metadata.occurredAt),
      DateTime.toEpochMillis(prepared.event.metadata.occurredAt)
    )
  })

  const feedDamage: ReadonlyArray<readonly [string, (row: EventRows.Row) => Record<string, unknown>, string]> = [
    ["no stream id", ({ stream: _, ...row }) => row, "no stream id"],
    ["no version", ({ version: _, ...row }) => row, "no valid version"],
    ["version 0", (row) => ({ ...row, version: "0" }), "no valid version"],
    ["a row key that is not a feed key", (row) => ({ ...row, rowKey: "f|12" }), "unexpected row key"],
    ["a damaged payload", (row) => ({ ...row, chunks: "x" }), "chunk count"]
  ]
  for (const [label, damage, reason] of feedDamage) {
    it(`given a feed row with ${label}, when read, then CorruptEvent names the stream, position and problem`, () => {
      const row = EventRows.prepare(EventRows.shape(streamId), event("{}")).feedRow(pk, 3, 4)
      const result = EventRows.readFeedRow({ ...damage(row), etag: "e" } as Entity, partition)
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.include(result.failure.reason, reason)
        assert.include(result.failure.stream, "acme/user/")
        assert.strictEqual(result.failure.type, "UserRegistered")
      }
    })
  }

  it("given an event row whose key is not its stream's, when read, then CorruptEvent says so", () => {
    const row = EventRows.prepare(EventRows.shape(streamId), event("{}")).eventRow(pk, 3, 4)
    for (const rowKey of [TableKeys.streamRow("other", 3), `${TableKeys.streamPrefix(streamId.id)}12`]) {
      const result = EventRows.readEventRow({ ...row, rowKey, etag: "e" }, streamId, partition)
      assert.isTrue(Result.isFailure(result) && result.failure.reason.includes("unexpected row key"), rowKey)
    }
  })

  it("given a feed row whose stream id is invalid, when read, then CorruptEvent names the position", () => {
    const row = EventRows.prepare(EventRows.shape(streamId), event("{}")).feedRow(pk, 1, 4)
    const result = EventRows.readFeedRow(asRead({ ...row, stream: "" }), partition)

    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) assert.include(result.failure.reason, "feed position 4")
  })

  it("given raw line and paragraph separators in data and custom metadata, when written, then no property carries them raw and both read back the same", () => {
    const value = { note: "a\u2028b\u2029c", list: ["\u2028".repeat(3)] }
    const custom = { "k\u2028": "v\u2029", plain: "x" }
    const original = event(JSON.stringify(value), { custom })
    const shape = EventRows.shape(streamId)
    const prepared = EventRows.prepare(shape, original)

    for (const row of [prepared.eventRow(pk, 1, 1), prepared.feedRow(pk, 1, 1)]) {
      for (const [name, property] of Object.entries(row)) {
        assert.isFalse(/[\u2028\u2029]/.test(String(property)), `property ${name} carries a raw separator`)
      }
    }
    const back = Result.getOrThrow(EventRows.readEventRow(asRead(prepared.eventRow(pk, 1, 1)), streamId, partition))
    assert.deepStrictEqual(JSON.parse(back.data), value)
    assert.deepStrictEqual(back.metadata.custom, custom)
    // The escapes are counted: six units for each separator instead of one.
    const plain = EventRows.prepare(
      shape,
      event(JSON.stringify({ note: "a b c", list: ["   "] }), { custom: { "k ": "v ", plain: "x" } })
    )
    assert.strictEqual(prepared.entityBytes - plain.entityBytes, 7 * 5 * 2)
  })

  describe("sizes, as Azure counts them", () => {
    /** Azure's entity size, computed independently: 4 bytes, the keys in UTF-16, then per property 8 bytes, the
     * name in UTF-16 and the value (a string: 4 + 2 per unit; a number: 8), the system Timestamp included. */
    const azureSize = (row: EventRows.Row) => {
      let size = 4 + 2 * (row.partitionKey.length + row.rowKey.length) + (8 + 2 * "Timestamp".length + 8)
      for (const [name, value] of Object.entries(row)) {
        if (name === "partitionKey" || name === "rowKey") continue
        size += 8 + 2 * name.length + (typeof value === "string" ? 4 + 2 * value.length : 8)
      }
      return size
    }
    const widest = (prepared: EventRows.PreparedEvent) =>
      Math.max(
        azureSize(prepared.eventRow(pk, TableKeys.maxVersion, TableKeys.maxPosition)),
        azureSize(prepared.feedRow(pk, TableKeys.maxVersion, TableKeys.maxPosition))
      )
    const payloads: ReadonlyArray<readonly [string, EventData.EventData]> = [
      ["a tiny event", event("{}")],
      [
        "full metadata",
        event(JSON.stringify({ a: 1 }), { correlationId: "corr", causationId: "cause", custom: { k: "v" } })
      ],
      ["CJK and emoji over two properties", event(JSON.stringify({ b: "漢😀".repeat(20_000) }))],
      ["quotes and backslashes", event(JSON.stringify({ q: '"\\'.repeat(9_000) }))]
    ]
    for (const [label, data] of payloads) {
      it(`given ${label}, then entityBytes is the larger row's exact Azure size at the widest keys`, () => {
        const prepared = EventRows.prepare(EventRows.shape(streamId), data)
        assert.strictEqual(prepared.entityBytes, widest(prepared))
      })

      it(`given ${label}, then requestBytes covers both rows' JSON and their framing`, () => {
        const prepared = EventRows.prepare(EventRows.shape(streamId), data)
        const json = (row: EventRows.Row) => Buffer.byteLength(JSON.stringify(row), "utf8")
        const rows =
          json(prepared.eventRow(pk, TableKeys.maxVersion, TableKeys.maxPosition)) +
          json(prepared.feedRow(pk, TableKeys.maxVersion, TableKeys.maxPosition))
        assert.isAtLeast(prepared.requestBytes, rows + 2 * EventRows.operationOverheadBytes)
      })
    }

    it("given a stream, then its header and the head are sized for a small row with their keys", () => {
      const shape = EventRows.shape(streamId)
      const small = (rowKey: string) =>
        EventRows.operationOverheadBytes + 128 + 4 * (Buffer.byteLength(pk) + Buffer.byteLength(rowKey))
      assert.strictEqual(shape.headerRequestBytes, small(shape.headerRow))
      assert.strictEqual(shape.headRequestBytes, small(TableKeys.headRow))
      assert.strictEqual(shape.headerRow, TableKeys.streamRow(streamId.id, 0))
      assert.strictEqual(shape.prefix, TableKeys.streamPrefix(streamId.id))
    })
  })

  describe("count", () => {
    it("given decimal strings and numbers, then only non-negative safe integers are counts", () => {
      const cases: ReadonlyArray<readonly [unknown, number | undefined]> = [
        ["0", 0],
        ["42", 42],
        ["9007199254740991", Number.MAX_SAFE_INTEGER],
        ["9999999999999999", undefined],
        ["12345678901234567", undefined],
        ["", undefined],
        ["-1", undefined],
        ["1.5", undefined],
        [" 1", undefined],
        ["1e3", undefined],
        ["0x10", undefined],
        [7, 7],
        [0, 0],
        [-1, undefined],
        [1.5, undefined],
        [2 ** 53, undefined],
        [undefined, undefined],
        [null, undefined]
      ]
      for (const [value, expected] of cases) {
        assert.strictEqual(EventRows.count({ v: value }, "v"), expected, JSON.stringify(value))
      }
    })
  })
})
