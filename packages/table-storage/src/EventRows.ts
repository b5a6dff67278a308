/**
 * How an event becomes table rows and back. Every event is written twice in
 * the same transaction: an **event row** keyed by stream and version (for
 * loading a stream by key range) and a **feed row** keyed by position (for
 * consumers). Both carry the full payload, so neither read needs a second
 * lookup.
 *
 * Payloads longer than one string property (32,768 UTF-16 units) are split
 * across `d0`, `d1`, … (never inside a surrogate pair) with their count in
 * `chunks`, up to Azure's 1 MiB entity size. Raw U+2028/U+2029 in the data
 * are written as their JSON escapes (`\u2028`, `\u2029`), which break no
 * transaction and parse to the same value; custom metadata is one JSON
 * property written the same way (at most 32,768 units, checked by core). Numbers that can outgrow Int32
 * (versions, positions) are stored as decimal strings.
 *
 * @since 0.1.0
 */
import {
  CorruptEvent,
  type EventData,
  EventMetadata,
  JsonText,
  type Partition,
  type StoredEvent,
  StreamId
} from "@eventable/core"
import { DateTime, Result } from "effect"
import * as TableKeys from "./TableKeys.ts"
import type { Entity } from "./TableStorageClient.ts"

/**
 * The most UTF-16 code units in one string property.
 *
 * @since 0.1.0
 */
export const maxPropertyLength = 32_768

/**
 * Azure's limit on one entity, in bytes as Azure counts them.
 *
 * @since 0.1.0
 */
export const maxEntityBytes = 1_048_576

/**
 * Azure's limit on one transaction's request body, in bytes.
 *
 * @since 0.1.0
 */
export const maxTransactionBytes = 4_194_304

/**
 * The most operations in one transaction.
 *
 * @since 0.1.0
 */
export const maxTransactionOperations = 100

/**
 * Framing of one operation in a transaction body (boundary, request line,
 * headers), with room to spare; measured at about 400 bytes.
 *
 * @since 0.1.0
 */
export const operationOverheadBytes = 700

/**
 * A row to write: keys plus properties.
 *
 * @since 0.1.0
 */
export type Row = Record<string, string | number> & { partitionKey: string; rowKey: string }

/**
 * An event ready to be written, once its position is known.
 *
 * @since 0.1.0
 */
export interface PreparedEvent {
  readonly event: EventData.EventData
  readonly eventRow: (partitionKey: string, version: number, position: number) => Row
  readonly feedRow: (partitionKey: string, version: number, position: number) => Row
  /** The larger of its two rows, in bytes as Azure counts entity size. */
  readonly entityBytes: number
  /** What its two rows add to a transaction's request body, at most. */
  readonly requestBytes: number
}

const utf8 = (text: string): number => Buffer.byteLength(text, "utf8")

/** Splits a string into chunks of at most `maxPropertyLength` units, never inside a surrogate pair. */
export const chunk = (data: string): Array<string> => {
  const chunks: Array<string> = []
  let start = 0
  while (start < data.length) {
    let end = Math.min(start + maxPropertyLength, data.length)
    const last = data.charCodeAt(end - 1)
    if (end < data.length && last >= 0xd800 && last <= 0xdbff) end--
    chunks.push(data.slice(start, end))
    start = end
  }
  return chunks.length === 0 ? [""] : chunks
}

/**
 * The UTF-8 size of the properties as JSON, at most. Small payloads use a
 * bound (every UTF-16 unit escaped to 6 bytes) instead of serialising: they
 * cannot come near a transaction's 4 MiB, so precision only matters for big ones.
 */
const jsonBytes = (props: Record<string, string | number>, azureBytes: number): number =>
  azureBytes < 32_768 ? 3 * azureBytes + 64 : utf8(JSON.stringify(props))

/** Azure's size of one property: 8 bytes + the name in UTF-16 + the value. */
const propertyBytes = (name: string, value: string | number): number =>
  8 + name.length * 2 + (typeof value === "string" ? 4 + value.length * 2 : 8)

const payload = (event: EventData.EventData): Record<string, string | number> => {
  const m = event.metadata
  const props: Record<string, string | number> = {
    type: event.type,
    eventId: m.eventId,
    // Same text as DateTime.formatIso, without its cost on the hot path.
    occurredAt: new Date(DateTime.toEpochMillis(m.occurredAt)).toISOString()
  }
  if (m.correlationId !== undefined) props.correlationId = m.correlationId
  if (m.causationId !== undefined) props.causationId = m.causationId
  if (m.custom !== undefined) props.custom = EventMetadata.customText(m.custom)
  // Raw U+2028/U+2029 break the transaction wire; their JSON escapes read back as the same value.
  const chunks = chunk(JsonText.escapeSeparators(event.data))
  props.chunks = chunks.length
  chunks.forEach((part, index) => {
    props[`d${index}`] = part
  })
  return props
}

/**
 * What every event of one stream shares: its row-key prefix and the sizes of
 * its keys. Computed once per append, whatever the number of events.
 *
 * @since 0.1.0
 */
export interface StreamShape {
  readonly streamId: StreamId.StreamId
  /** `s|<encoded id>|`: the stream's row keys are this plus a 10-digit version. */
  readonly prefix: string
  /** The stream header's row key (version 0). */
  readonly headerRow: string
  /** Azure's size of an event row without its payload, at the widest version and position. */
  readonly eventRowBytes: number
  /** Azure's size of a feed row without its payload, at the widest version and position. */
  readonly feedRowBytes: number
  /** What the keys of one event's two rows add to a request, at most. */
  readonly keyRequestBytes: number
  /** What the stream header's update adds to a request, at most. */
  readonly headerRequestBytes: number
  /** What the partition head's update adds to a request, at most. */
  readonly headRequestBytes: number
}

/**
 * The shape of `streamId`'s rows. The partition key's length does not depend on the shard.
 *
 * @since 0.1.0
 */
export const shape = (streamId: StreamId.StreamId): StreamShape => {
  const partitionKey = TableKeys.partitionKey(streamId.tenant, streamId.category, 0)
  const prefix = TableKeys.streamPrefix(streamId.id)
  const widestRowKey = `${prefix}${String(TableKeys.maxVersion)}`
  // Azure: 4 bytes + the keys in UTF-16 + each property, the system Timestamp (a DateTime) included.
  const keyBytes = 4 + partitionKey.length * 2 + 8 + "Timestamp".length * 2 + 8
  const headerRow = `${prefix}${"0".repeat(TableKeys.versionDigits)}`
  return {
    streamId,
    prefix,
    headerRow,
    headerRequestBytes: smallRowRequestBytes(partitionKey, headerRow),
    headRequestBytes: smallRowRequestBytes(partitionKey, TableKeys.headRow),
    eventRowBytes: keyBytes + widestRowKey.length * 2 + propertyBytes("position", String(TableKeys.maxPosition)),
    feedRowBytes:
      keyBytes +
      TableKeys.feedRow(TableKeys.maxPosition).length * 2 +
      propertyBytes("stream", streamId.id) +
      propertyBytes("version", String(TableKeys.maxVersion)),
    keyRequestBytes: 3 * (utf8(partitionKey) + utf8(widestRowKey) + utf8(streamId.id)) + 2 * 64
  }
}

/**
 * Prepares an event of a stream for writing, at whatever version and position
 * it gets. Sizes assume the widest version and position.
 *
 * @since 0.1.0
 */
export const prepare = (stream: StreamShape, event: EventData.EventData): PreparedEvent => {
  const props = payload(event)
  let payloadBytes = 0
  for (const name in props) payloadBytes += propertyBytes(name, props[name]!)
  const id = stream.streamId.id
  return {
    event,
    eventRow: (pk, version, position) => ({
      ...props,
      partitionKey: pk,
      rowKey: `${stream.prefix}${version.toString().padStart(TableKeys.versionDigits, "0")}`,
      position: String(position)
    }),
    feedRow: (pk, version, position) => ({
      ...props,
      partitionKey: pk,
      rowKey: TableKeys.feedRow(position),
      stream: id,
      version: String(version)
    }),
    entityBytes: payloadBytes + Math.max(stream.eventRowBytes, stream.feedRowBytes),
    requestBytes: 2 * (jsonBytes(props, payloadBytes) + operationOverheadBytes) + stream.keyRequestBytes
  }
}

/**
 * What a row that holds only a few short values adds to a request (stream
 * header, partition head), at most.
 *
 * @since 0.1.0
 */
export const smallRowRequestBytes = (partitionKey: string, rowKey: string): number =>
  operationOverheadBytes + 128 + 4 * (utf8(partitionKey) + utf8(rowKey))

// Reading -------------------------------------------------------------------------

type Fields = Record<string, unknown>

const text = (entity: Fields, name: string): string | undefined => {
  const value = entity[name]
  return typeof value === "string" ? value : undefined
}

/**
 * Reads a decimal string property (versions, positions).
 *
 * @since 0.1.0
 */
export const count = (entity: Fields, name: string): number | undefined => {
  const value = entity[name]
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined
  if (typeof value !== "string" || !/^\d{1,16}$/.test(value)) return undefined
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : undefined
}

const parseJson = (json: string): unknown => {
  try {
    return JSON.parse(json)
  } catch {
    return undefined
  }
}

const isStringRecord = (value: unknown): value is Record<string, string> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((field) => typeof field === "string")

type Payload = Pick<StoredEvent, "type" | "data" | "metadata">

const readPayload = (entity: Fields): Payload | string => {
  const type = entity.type
  if (typeof type !== "string" || type.length === 0) return "the row has no event type"
  const eventId = entity.eventId
  if (typeof eventId !== "string" || eventId.length === 0) return "the row has no event id"
  const occurredAt = entity.occurredAt
  const occurredAtMillis = typeof occurredAt === "string" ? Date.parse(occurredAt) : Number.NaN
  if (!Number.isFinite(occurredAtMillis)) return "the row has no valid occurredAt"
  const chunks = entity.chunks
  if (typeof chunks !== "number" || !Number.isInteger(chunks) || chunks < 1 || chunks > 252) {
    return "the row has no valid chunk count"
  }
  let data = entity.d0
  if (typeof data !== "string") return `the row is missing data chunk d0 of ${chunks}`
  for (let index = 1; index < chunks; index++) {
    const part = entity[`d${index}`]
    if (typeof part !== "string") return `the row is missing data chunk d${index} of ${chunks}`
    data += part
  }
  const metadata: { -readonly [K in keyof EventMetadata.EventMetadata]: EventMetadata.EventMetadata[K] } = {
    eventId,
    occurredAt: DateTime.makeUnsafe(occurredAtMillis)
  }
  const correlationId = entity.correlationId
  if (typeof correlationId === "string") metadata.correlationId = correlationId
  const causationId = entity.causationId
  if (typeof causationId === "string") metadata.causationId = causationId
  const custom = entity.custom
  if (custom !== undefined) {
    const parsed = typeof custom === "string" ? parseJson(custom) : undefined
    if (!isStringRecord(parsed)) return "the row's custom metadata is not a JSON object of strings"
    metadata.custom = parsed
  }
  return { type, data, metadata }
}

const stored = (
  payload: Payload,
  streamId: StreamId.StreamId,
  version: number,
  partition: Partition.Partition,
  position: number
): StoredEvent => ({
  type: payload.type,
  data: payload.data,
  metadata: payload.metadata,
  streamId,
  version,
  partition,
  position
})

/**
 * Reads an event row of `streamId` back into a stored event.
 *
 * @since 0.1.0
 */
export const readEventRow = (
  entity: Entity,
  streamId: StreamId.StreamId,
  partition: Partition.Partition,
  prefix: string = TableKeys.streamPrefix(streamId.id)
): Result.Result<StoredEvent, CorruptEvent> => {
  const rowKey = entity.rowKey ?? ""
  const digits = rowKey.slice(prefix.length)
  const version = rowKey.startsWith(prefix) && /^\d{10}$/.test(digits) ? Number(digits) : -1
  const fail = (reason: string) =>
    Result.fail(
      new CorruptEvent({
        stream: StreamId.format(streamId),
        version,
        type: text(entity, "type") ?? "(unknown)",
        reason
      })
    )
  if (version < 0) return fail(`unexpected row key ${rowKey}`)
  const position = count(entity, "position")
  if (position === undefined || position < 1) return fail("the row has no valid position")
  const read = readPayload(entity)
  return typeof read === "string" ? fail(read) : Result.succeed(stored(read, streamId, version, partition, position))
}

/**
 * Reads a feed row of `partition` back into a stored event.
 *
 * @since 0.1.0
 */
export const readFeedRow = (
  entity: Entity,
  partition: Partition.Partition
): Result.Result<StoredEvent, CorruptEvent> => {
  const position = TableKeys.parseFeedRow(entity.rowKey ?? "") ?? -1
  const id = text(entity, "stream")
  const version = count(entity, "version")
  const fail = (reason: string) =>
    Result.fail(
      new CorruptEvent({
        stream: `${partition.tenant}/${partition.category}/${id ?? "(unknown)"}`,
        version: version ?? -1,
        type: text(entity, "type") ?? "(unknown)",
        reason: `feed position ${position}: ${reason}`
      })
    )
  if (position < 1) return fail(`unexpected row key ${entity.rowKey}`)
  if (id === undefined) return fail("the row has no stream id")
  if (version === undefined || version < 1) return fail("the row has no valid version")
  const streamId = StreamId.validate({ tenant: partition.tenant, category: partition.category, id })
  if (Result.isFailure(streamId)) return fail(`the row's stream id is invalid: ${streamId.failure.reason}`)
  const read = readPayload(entity)
  return typeof read === "string"
    ? fail(read)
    : Result.succeed(stored(read, streamId.success, version, partition, position))
}
