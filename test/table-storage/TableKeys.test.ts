import { assert, describe, it } from "@effect/vitest"
import { StreamId } from "@eventable/core"
import { TableKeys } from "@eventable/table-storage"
import { Arbitrary, Schema } from "effect"

/** Strings built mostly from the characters that matter to keys, so collisions would show up fast. */
const tricky = Arbitrary.array(
  Arbitrary.schema(
    Schema.Literals(["/", "\\", "#", "?", "%", "~", "|", "'", " ", "a", "b", "~2F", "é", "漢", "😀", "0"])
  ),
  { minLength: 1, maxLength: 12 }
).pipe(Arbitrary.map((parts) => parts.join("")))

/** Any valid stream-id part: arbitrary Unicode, cleaned of what StreamId rejects. */
const anyPart = Arbitrary.schema(Schema.String).pipe(
  Arbitrary.map((s) => `x${s.toWellFormed().replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu, "")}`.slice(0, 64)),
  Arbitrary.filter((s) => StreamId.problem("tenant", s) === undefined)
)

const forbidden = /[/\\#?\u0000-\u001f\u007f-\u009f]/u

describe("TableKeys", () => {
  it.prop(
    "given any valid part, when encoded, then it decodes back and holds no forbidden character",
    [anyPart],
    ([part]) => {
      const encoded = TableKeys.encodePart(part)
      return TableKeys.decodePart(encoded) === part && !forbidden.test(encoded) && !encoded.includes("|")
    }
  )

  it.prop(
    "given tricky parts, when encoded and decoded, then they come back (so no two parts share a key)",
    [tricky],
    ([part]) => TableKeys.decodePart(TableKeys.encodePart(part)) === part
  )

  it.prop(
    "given two tricky parts, when encoded, then different parts get different keys",
    [tricky, tricky],
    ([a, b]) => a === b || TableKeys.encodePart(a) !== TableKeys.encodePart(b)
  )

  it.prop(
    "given two tenants, when their partition keys are built, then one tenant can never address the other's rows",
    [tricky, tricky, tricky, tricky],
    ([tenantA, categoryA, tenantB, categoryB]) =>
      (tenantA === tenantB && categoryA === categoryB) ||
      TableKeys.partitionKey(tenantA, categoryA, 0) !== TableKeys.partitionKey(tenantB, categoryB, 0)
  )

  it.prop(
    "given a stream, when its row key is split at the separators, then id and version come back",
    [tricky],
    ([id]) => {
      const [kind, encoded, version, ...rest] = TableKeys.streamRow(id, 42).split("|")
      return (
        kind === "s" &&
        encoded !== undefined &&
        TableKeys.decodePart(encoded) === id &&
        version === "0000000042" &&
        rest.length === 0
      )
    }
  )

  it("given a separator inside parts, when keys are built, then the boundary between parts cannot move", () => {
    assert.notStrictEqual(TableKeys.partitionKey("a|b", "c", 0), TableKeys.partitionKey("a", "b|c", 0))
    assert.notStrictEqual(TableKeys.registryRow("a|b", "c"), TableKeys.registryRow("a", "b|c"))
    const [tenant, category, shard] = TableKeys.partitionKey("a|b", "c/d", 7).split("|")
    assert.deepStrictEqual(
      [TableKeys.decodePart(tenant!), TableKeys.decodePart(category!), shard],
      ["a|b", "c/d", "0007"]
    )
  })

  // Pairs chosen to collide under a plausible escaping bug (an unescaped "~", "%" or "|", lower-case hex,
  // URL-style escapes, a moved separator): random strings rarely hit them.
  const colliding: ReadonlyArray<readonly [string, string]> = [
    ["~2F", "/"],
    ["~7C", "|"],
    ["~7E", "~"],
    ["~25", "%"],
    ["%2F", "/"],
    ["%7C", "|"],
    ["~2f", "/"],
    ["~~", "~7E"],
    ["a~7Cb", "a|b"],
    ["~", "~7E"],
    ["/", "\\"],
    ["#", "?"]
  ]
  it("given pairs an escaping bug would merge, when encoded, then each part keeps its own key", () => {
    for (const [a, b] of colliding) {
      assert.notStrictEqual(TableKeys.encodePart(a), TableKeys.encodePart(b), `${a} vs ${b}`)
      assert.strictEqual(TableKeys.decodePart(TableKeys.encodePart(a)), a)
      assert.strictEqual(TableKeys.decodePart(TableKeys.encodePart(b)), b)
      assert.notStrictEqual(TableKeys.streamRow(a, 1), TableKeys.streamRow(b, 1))
    }
    const boundaries: ReadonlyArray<readonly [readonly [string, string], readonly [string, string]]> = [
      [
        ["a|b", "c"],
        ["a", "b|c"]
      ],
      [
        ["a~7Cb", "c"],
        ["a", "b~7Cc"]
      ],
      [
        ["a", "b|0000"],
        ["a|b", "0000"]
      ],
      [
        ["t", "c|0001"],
        ["t|c", "0001"]
      ]
    ]
    for (const [[tenantA, categoryA], [tenantB, categoryB]] of boundaries) {
      assert.notStrictEqual(
        TableKeys.partitionKey(tenantA, categoryA, 1),
        TableKeys.partitionKey(tenantB, categoryB, 1)
      )
      assert.notStrictEqual(TableKeys.registryRow(tenantA, categoryA), TableKeys.registryRow(tenantB, categoryB))
    }
    // A stream id can never reach into the version digits, the feed rows or the head.
    assert.notStrictEqual(TableKeys.streamRow("x|0000000001", 2), TableKeys.streamRow("x", 1))
    assert.isFalse(TableKeys.streamRow("|", 0).startsWith("s||"))
    assert.isUndefined(TableKeys.parseFeedRow(TableKeys.streamRow("f", 1)))
  })

  it("given the forbidden characters, when encoded, then each becomes ~XX", () => {
    assert.strictEqual(TableKeys.encodePart("a/b\\c#d?e%f~g|h"), "a~2Fb~5Cc~23d~3Fe~25f~7Eg~7Ch")
    assert.strictEqual(TableKeys.encodePart("it's é 漢 😀"), "it's é 漢 😀")
  })

  it("given strings encoding never produces, when decoded, then they are refused", () => {
    for (const bad of ["a/b", "a|b", "~", "~4", "~zz", "~41", "a%b"]) assert.isUndefined(TableKeys.decodePart(bad), bad)
  })

  it("given the longest parts made of the widest characters, when keys are built, then they fit Azurite's 512 units", () => {
    const tenant = "/".repeat(StreamId.maxTenantLength)
    const category = "|".repeat(StreamId.maxCategoryLength)
    const id = "#".repeat(StreamId.maxIdLength)
    const keys = [
      TableKeys.partitionKey(tenant, category, 1023),
      TableKeys.registryRow(tenant, category),
      TableKeys.streamRow(id, TableKeys.maxVersion),
      TableKeys.feedRow(TableKeys.maxPosition)
    ]
    for (const key of keys) assert.isAtMost(key.length, TableKeys.maxKeyLength)
    assert.isAtMost(Buffer.byteLength(TableKeys.streamRow("漢".repeat(StreamId.maxIdLength), 1)), 1024)
  })

  it("given positions and versions, when keys are built, then their lexicographic order is numeric order", () => {
    const positions = [1, 9, 10, 99, 100, 12_345, 10_000_000_000, Number.MAX_SAFE_INTEGER]
    const keys = positions.map(TableKeys.feedRow)
    assert.deepStrictEqual([...keys].sort(), keys)
    assert.deepStrictEqual(keys.map(TableKeys.parseFeedRow), positions)
    const versions = [0, 1, 9, 10, 1_000, TableKeys.maxVersion].map((v) => TableKeys.streamRow("x", v))
    assert.deepStrictEqual([...versions].sort(), versions)
  })
})
