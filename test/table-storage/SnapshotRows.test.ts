import { assert, describe, it } from "@effect/vitest"
import { StreamId } from "@eventable/core"
import { EventRows, SnapshotRows, TableKeys } from "@eventable/table-storage"
import { Effect } from "effect"

const streamId = Effect.runSync(StreamId.make({ tenant: "acme", category: "user", id: "u/1" }))
const pk = TableKeys.partitionKey("acme", "user", 0)
const shape = EventRows.shape(streamId)
const rowsOf = (data: string, version = 7) =>
  SnapshotRows.prepare(shape, { version, data })
    .rows(pk)
    .map((row) => ({ ...row }) as Record<string, unknown>)

describe("SnapshotRows", () => {
  it("given snapshots of every size, when split and read back, then they are whole and rows hold at most 15 chunks", () => {
    for (const units of [2, 32_768, 32_769, 15 * 32_768, 15 * 32_768 + 1, 1_100_000]) {
      const data = JSON.stringify("😀".repeat(Math.floor(units / 2)))
      const prepared = SnapshotRows.prepare(shape, { version: 7, data })
      const rows = rowsOf(data)
      assert.strictEqual(prepared.operations, rows.length)
      assert.strictEqual(rows.length, Math.ceil(data.length / (15 * 32_768)) || 1, `${units} units`)
      for (const row of rows) assert.isAtMost(row.chunks as number, SnapshotRows.chunksPerRow)
      assert.isAbove(prepared.requestBytes, Buffer.byteLength(data, "utf8"))
      assert.deepStrictEqual(SnapshotRows.read(rows, streamId), { version: 7, data }, `${units} units`)
    }
  })

  it("given CJK-heavy data, when split, then each row's data fits 960 KiB as UTF-8 JSON as well as UTF-16", () => {
    const data = JSON.stringify({ text: "字".repeat(1_000_000), escapes: "\u0001".repeat(50_000) })
    const rows = rowsOf(data)
    assert.isAbove(rows.length, 3, "CJK takes more rows than its UTF-16 size alone would")
    for (const row of rows) {
      const parts = Object.entries(row).filter(([name]) => /^d\d+$/.test(name))
      const utf8 = parts.reduce((total, [, value]) => total + Buffer.byteLength(JSON.stringify(value), "utf8") - 2, 0)
      const utf16 = parts.reduce((total, [, value]) => total + (value as string).length * 2, 0)
      assert.isAtMost(utf8, SnapshotRows.rowDataBytes)
      assert.isAtMost(utf16, SnapshotRows.rowDataBytes)
    }
    assert.deepStrictEqual(SnapshotRows.read(rows, streamId), { version: 7, data })
  })

  it("given line separators, when written, then the rows hold JSON escapes that mean the same", () => {
    const data = JSON.stringify({ text: "a\u2028b\u2029c" })
    const read = SnapshotRows.read(rowsOf(data), streamId)
    assert.isTrue(typeof read === "object")
    if (typeof read === "object") {
      assert.notInclude(read.data, "\u2028")
      assert.deepStrictEqual(JSON.parse(read.data), JSON.parse(data))
    }
  })

  it("given no rows, when read, then there is no snapshot", () => {
    assert.isUndefined(SnapshotRows.read([], streamId))
  })

  it("given damaged rows, when read, then each damage is named", () => {
    const data = JSON.stringify("x".repeat(600_000))
    const whole = rowsOf(data)
    const damaged: ReadonlyArray<readonly [string, ReadonlyArray<Record<string, unknown>>, string]> = [
      ["no first row", whole.slice(1), "first snapshot row is missing"],
      ["a missing row", whole.slice(0, 1), "row 1 of 2 is missing"],
      ["rows of two snapshots", [whole[0]!, { ...whole[1]!, version: "6" }], "belongs to another version"],
      ["a missing chunk", [whole[0]!, { ...whole[1]!, d0: undefined }], "missing data chunk d0"],
      ["a bad version", [{ ...whole[0]!, version: "x" }, whole[1]!], "no valid version"],
      ["a bad row count", [{ ...whole[0]!, rows: 0 }, whole[1]!], "no valid row count"],
      ["a bad chunk count", [{ ...whole[0]!, chunks: 16 }, whole[1]!], "row 0 has no valid chunk count"],
      ["a truncated chunk", [whole[0]!, { ...whole[1]!, d0: "x" }], "its header says"]
    ]
    for (const [label, rows, reason] of damaged) {
      const read = SnapshotRows.read(rows, streamId)
      assert.isTrue(typeof read === "string", label)
      assert.include(read as string, reason, label)
    }
  })

  it("given a snapshot of k rows, then it takes the room of ceil(k / 2) events in a transaction", () => {
    for (const [rows, room] of [
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 2]
    ] as const) {
      assert.strictEqual(SnapshotRows.room(rows), room)
      assert.isAtMost(1 + rows + 2 * (49 - room) + 1, 100)
    }
  })
})
