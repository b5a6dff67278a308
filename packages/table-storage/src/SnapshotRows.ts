/**
 * How a stream's snapshot becomes table rows and back. A snapshot lives in its
 * stream's partition, in rows `s|<id>|-snap|00`, `…|01`, … (right before the
 * stream header, `s|<id>|0000000000`): its JSON data split
 * into properties `d0`, `d1`, … of at most 32,768 UTF-16 units, at most
 * {@link chunksPerRow} of them per row and at most {@link rowDataBytes} of data
 * per row whether the service sizes it in UTF-16 (Azure) or as UTF-8 JSON
 * (Azurite), so every row stays under the 1 MiB entity limit. Data of CJK
 * text (3 UTF-8 bytes per UTF-16 unit) therefore takes more, smaller rows. Every row carries the snapshot's `version`; the first one also
 * the number of `rows` and the data's `length`, so a reader can tell a whole
 * snapshot from a damaged one.
 *
 * The rows are upserted in the same transaction as the append they go with.
 * A later, smaller snapshot leaves the surplus rows of a larger earlier one in
 * place; readers ignore them (they are past the first row's `rows`).
 *
 * @since 0.1.0
 */
import type { Snapshot, StreamId } from "@eventable/core"
import * as EventRows from "./EventRows.ts"
import * as TableKeys from "./TableKeys.ts"

/**
 * Data properties per snapshot row: 15 × 32,768 UTF-16 units is 960 KiB, which
 * leaves room for the keys and the other properties within 1 MiB.
 *
 * @since 0.1.0
 */
export const chunksPerRow = 15

/**
 * The most data a snapshot row holds, in bytes, by the larger of its UTF-16
 * size and its UTF-8 size as escaped JSON: 960 KiB.
 *
 * @since 0.1.0
 */
export const rowDataBytes = chunksPerRow * EventRows.maxPropertyLength * 2

/**
 * A snapshot ready to be written with an append.
 *
 * @since 0.1.0
 */
export interface PreparedSnapshot {
  readonly version: number
  /** Its rows in `partitionKey`, to upsert. */
  readonly rows: (partitionKey: string) => ReadonlyArray<EventRows.Row>
  /** How many rows (= transaction operations) it takes. */
  readonly operations: number
  /** What its rows add to a transaction's request body, at most. */
  readonly requestBytes: number
}

const utf8 = (text: string): number => Buffer.byteLength(text, "utf8")

/**
 * Azurite's transaction parser misreads U+2028 and U+2029, and JSON allows them
 * only inside strings, where the escapes `\u2028` and `\u2029` mean the same.
 */
const lineSeparators = /[\u2028\u2029]/g
const escapeLineSeparators = (json: string): string =>
  json.replace(lineSeparators, (c) => (c === "\u2028" ? "\\u2028" : "\\u2029"))

/**
 * Splits a snapshot of `stream` into rows. The data must be valid JSON (the
 * append's validation checks it first).
 *
 * @since 0.1.0
 */
export const prepare = (stream: EventRows.StreamShape, snapshot: Snapshot): PreparedSnapshot => {
  const data = escapeLineSeparators(snapshot.data)
  const chunks = EventRows.chunk(data)
  const version = String(snapshot.version)
  const rows: Array<Record<string, string | number>> = []
  // A chunk's cost is the larger of its two sizes: Azure counts UTF-16, Azurite was seen to count UTF-8.
  const cost = (text: string): number => Math.max(text.length * 2, utf8(JSON.stringify(text)) - 2)
  const parts: Array<Array<string>> = []
  let part: Array<string> = []
  let bytes = 0
  for (const text of chunks) {
    const size = cost(text)
    if (part.length > 0 && (part.length === chunksPerRow || bytes + size > rowDataBytes)) {
      parts.push(part)
      part = []
      bytes = 0
    }
    part.push(text)
    bytes += size
  }
  parts.push(part)
  for (const part of parts) {
    const props: Record<string, string | number> = { version }
    props.chunks = part.length
    part.forEach((text, index) => {
      props[`d${index}`] = text
    })
    rows.push(props)
  }
  rows[0]!.rows = rows.length
  rows[0]!.length = data.length
  const id = stream.streamId.id
  const partitionKey = TableKeys.partitionKey(stream.streamId.tenant, stream.streamId.category, 0)
  let requestBytes = 0
  rows.forEach((props, index) => {
    const keys = utf8(partitionKey) + utf8(TableKeys.snapshotRow(id, index))
    requestBytes += utf8(JSON.stringify(props)) + EventRows.operationOverheadBytes + 3 * keys + 64
  })
  return {
    version: snapshot.version,
    rows: (pk) =>
      rows.map((props, index) => ({ ...props, partitionKey: pk, rowKey: TableKeys.snapshotRow(id, index) })),
    operations: rows.length,
    requestBytes
  }
}

/**
 * How many events' room a snapshot of `operations` rows takes from an append:
 * header + snapshot rows + 2 rows per event + head fit 100 operations.
 *
 * @since 0.1.0
 */
export const room = (operations: number): number => Math.ceil(operations / 2)

/**
 * Reads a snapshot back from its rows (those of the key range
 * `s|<id>|-snap|00 … s|<id>|-snap|99`, in any order). Returns `undefined` when
 * there are none, the snapshot when the rows hold a whole one, and a reason
 * string when they are damaged.
 *
 * @since 0.1.0
 */
export const read = (
  entities: ReadonlyArray<Record<string, unknown>>,
  streamId: StreamId.StreamId
): Snapshot | string | undefined => {
  if (entities.length === 0) return undefined
  const byKey = new Map<unknown, Record<string, unknown>>()
  for (const entity of entities) byKey.set(entity.rowKey, entity)
  const first = byKey.get(TableKeys.snapshotRow(streamId.id, 0))
  if (first === undefined) return "the first snapshot row is missing"
  const version = EventRows.count(first, "version")
  if (version === undefined || version < 1 || version > TableKeys.maxVersion) return "the snapshot has no valid version"
  const rows = first.rows
  if (typeof rows !== "number" || !Number.isInteger(rows) || rows < 1 || rows > TableKeys.maxSnapshotRows) {
    return "the snapshot has no valid row count"
  }
  const length = first.length
  if (typeof length !== "number" || !Number.isInteger(length) || length < 0) return "the snapshot has no valid length"
  let data = ""
  for (let index = 0; index < rows; index++) {
    const row = byKey.get(TableKeys.snapshotRow(streamId.id, index))
    if (row === undefined) return `snapshot row ${index} of ${rows} is missing`
    if (row.version !== first.version) return `snapshot row ${index} belongs to another version`
    const chunks = row.chunks
    if (typeof chunks !== "number" || !Number.isInteger(chunks) || chunks < 1 || chunks > chunksPerRow) {
      return `snapshot row ${index} has no valid chunk count`
    }
    for (let chunk = 0; chunk < chunks; chunk++) {
      const part = row[`d${chunk}`]
      if (typeof part !== "string") return `snapshot row ${index} is missing data chunk d${chunk} of ${chunks}`
      data += part
    }
  }
  if (data.length !== length) return `the snapshot data has ${data.length} units, its header says ${length}`
  return { version, data }
}
