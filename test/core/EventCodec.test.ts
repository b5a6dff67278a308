import { assert, describe, it } from "@effect/vitest"
import { EventCodec, EventMetadata, Partition, type StoredEvent, StreamId } from "@eventable/core"
import { DateTime, Effect, Option, Result, Schema, SchemaTransformation } from "effect"

class ItemAdded extends Schema.TaggedClass<ItemAdded>()("ItemAdded", {
  sku: Schema.String,
  quantity: Schema.Int,
  addedAt: Schema.Date
}) {}
class CartCheckedOut extends Schema.TaggedClass<CartCheckedOut>()("CartCheckedOut", {}) {}
const CartEvent = Schema.Union([ItemAdded, CartCheckedOut])

// Version 1 stored `ItemAdded` with `item` and `qty`, and a millisecond timestamp.
const ItemAddedV1 = Schema.Struct({
  _tag: Schema.tag("ItemAdded"),
  item: Schema.String,
  qty: Schema.Int,
  at: Schema.Number
}).pipe(
  Schema.decodeTo(
    ItemAdded,
    SchemaTransformation.transform({
      decode: (v1) => ({ _tag: "ItemAdded" as const, sku: v1.item, quantity: v1.qty, addedAt: new Date(v1.at) }),
      encode: (v2) => ({ _tag: "ItemAdded" as const, item: v2.sku, qty: v2.quantity, at: v2.addedAt.getTime() })
    })
  )
)
// An event type that was renamed: `CheckedOut` is today's `CartCheckedOut`.
const CheckedOutRenamed = Schema.Struct({ _tag: Schema.tag("CheckedOut") }).pipe(
  Schema.decodeTo(
    CartCheckedOut,
    SchemaTransformation.transform({
      decode: () => ({ _tag: "CartCheckedOut" as const }),
      encode: () => ({ _tag: "CheckedOut" as const })
    })
  )
)

const codec = EventCodec.make(CartEvent, { upcasters: [ItemAddedV1, CheckedOutRenamed] })

const stored = (type: string, data: string, version = 3) =>
  Effect.gen(function* () {
    const streamId = yield* StreamId.make({ tenant: "acme", category: "cart", id: "c-1" })
    const metadata = yield* EventMetadata.make({ correlationId: "c" })
    const event: StoredEvent = {
      type,
      data,
      metadata,
      streamId,
      version,
      partition: Partition.make("acme", "cart", 0),
      position: 9
    }
    return event
  })

describe("EventCodec", () => {
  it("given an event, when encoded, then the type is its tag and the data its JSON without the tag", () => {
    const encoded = Result.getOrThrow(codec.encode(new ItemAdded({ sku: "A-1", quantity: 2, addedAt: new Date(0) })))

    assert.strictEqual(encoded.type, "ItemAdded")
    assert.deepStrictEqual(JSON.parse(encoded.data), { sku: "A-1", quantity: 2, addedAt: "1970-01-01T00:00:00.000Z" })
  })

  it("given an encoded event, when decoded, then the same event comes back", () => {
    const event = new ItemAdded({ sku: "A-1", quantity: 2, addedAt: new Date(1234) })
    const encoded = Result.getOrThrow(codec.encode(event))

    const decoded = Result.getOrThrow(codec.decode(encoded.type, encoded.data))

    assert.instanceOf(decoded, ItemAdded)
    assert.deepStrictEqual(decoded, event)
  })

  it("given an old stored shape, when decoded, then the upcaster turns it into today's event", () => {
    const decoded = Result.getOrThrow(codec.decode("ItemAdded", JSON.stringify({ item: "B-2", qty: 5, at: 1000 })))

    assert.deepStrictEqual(decoded, new ItemAdded({ sku: "B-2", quantity: 5, addedAt: new Date(1000) }))
  })

  it("given a renamed event type, when decoded, then the upcaster maps it to today's event", () => {
    assert.deepStrictEqual(Result.getOrThrow(codec.decode("CheckedOut", "{}")), new CartCheckedOut({}))
  })

  it("given an upcast event, when encoded again, then today's shape is written", () => {
    const decoded = Result.getOrThrow(codec.decode("ItemAdded", JSON.stringify({ item: "B-2", qty: 5, at: 0 })))
    const encoded = Result.getOrThrow(codec.encode(decoded))
    assert.deepStrictEqual(JSON.parse(encoded.data), { sku: "B-2", quantity: 5, addedAt: "1970-01-01T00:00:00.000Z" })
  })

  it.effect(
    "given a stored event, when decoded with its record, then stream, version, position and metadata come along",
    () =>
      Effect.gen(function* () {
        const event = yield* stored("CartCheckedOut", "{}")
        const recorded = yield* codec.decodeStored(event)
        assert.deepStrictEqual(recorded.event, new CartCheckedOut({}))
        assert.strictEqual(recorded.version, 3)
        assert.strictEqual(recorded.position, 9)
        assert.strictEqual(recorded.metadata.correlationId, "c")
        assert.isTrue(DateTime.isDateTime(recorded.metadata.occurredAt))
      })
  )

  const corrupt: ReadonlyArray<readonly [string, string, string, string]> = [
    ["data that is not JSON", "ItemAdded", "{oops", "not valid JSON"],
    ["data that is not an object", "ItemAdded", "42", "not a JSON object"],
    [
      "data that misses a field",
      "ItemAdded",
      JSON.stringify({ sku: "A-1", addedAt: "1970-01-01T00:00:00.000Z" }),
      "quantity"
    ],
    ["a field of the wrong type", "ItemAdded", JSON.stringify({ sku: "A-1", quantity: "two", addedAt: "x" }), "schema"],
    ["an unknown type", "ItemRemoved", "{}", "unknown event type"]
  ]
  for (const [label, type, data, mentions] of corrupt) {
    it.effect(`given ${label}, when decoded, then CorruptEvent names the stream, version, type and issue`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(codec.decodeStored(yield* stored(type, data)))

        assert.strictEqual(error._tag, "CorruptEvent")
        assert.strictEqual(error.stream, "acme/cart/c-1")
        assert.strictEqual(error.version, 3)
        assert.strictEqual(error.type, type)
        assert.include(error.reason, mentions)
        assert.include(error.message, "acme/cart/c-1@3")
      })
    )
  }

  describe("unknown types", () => {
    const skipping = EventCodec.make(CartEvent, { upcasters: [ItemAddedV1, CheckedOutRenamed], unknownTypes: "skip" })
    const itemAdded = JSON.stringify({ sku: "A-1", quantity: 2, addedAt: "1970-01-01T00:00:00.000Z" })

    it("given no policy, when built, then the codec fails on unknown types", () => {
      assert.strictEqual(codec.unknownTypes, "fail")
      assert.strictEqual(skipping.unknownTypes, "skip")
    })

    it("given today's events and upcasters, when asked, then the codec knows their stored types and no other", () => {
      for (const c of [codec, skipping]) {
        assert.isTrue(c.knows("ItemAdded"))
        assert.isTrue(c.knows("CartCheckedOut"))
        assert.isTrue(c.knows("CheckedOut"), "a renamed type an upcaster reads")
        assert.isFalse(c.knows("ItemRemoved"))
        assert.isFalse(c.knows("itemadded"))
        assert.isFalse(c.knows(""))
      }
    })

    it.effect("given the fail policy, when an unknown type is decoded, then CorruptEvent says it is unknown", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(codec.decodeKnown(yield* stored("ItemRemoved", "{}")))

        assert.strictEqual(error._tag, "CorruptEvent")
        assert.strictEqual(error.stream, "acme/cart/c-1")
        assert.strictEqual(error.version, 3)
        assert.strictEqual(error.type, "ItemRemoved")
        assert.include(error.reason, 'unknown event type "ItemRemoved"')
        assert.include(error.reason, "unknownTypes")
      })
    )

    it.effect("given the skip policy, when an unknown type is decoded, then it is skipped", () =>
      Effect.gen(function* () {
        // Even data the codec could never parse: the event is not the codec's business.
        assert.isTrue(Option.isNone(yield* skipping.decodeKnown(yield* stored("ItemRemoved", "{}"))))
        assert.isTrue(Option.isNone(yield* skipping.decodeKnown(yield* stored("ItemRemoved", "{oops"))))
      })
    )

    it.effect("given the skip policy, when a known type is decoded, then the event comes back", () =>
      Effect.gen(function* () {
        const current = yield* skipping.decodeKnown(yield* stored("ItemAdded", itemAdded))
        const upcast = yield* skipping.decodeKnown(yield* stored("CheckedOut", "{}"))

        assert.deepStrictEqual(
          Option.map(current, (recorded) => [recorded.event, recorded.version, recorded.position]),
          Option.some([new ItemAdded({ sku: "A-1", quantity: 2, addedAt: new Date(0) }), 3, 9])
        )
        assert.deepStrictEqual(
          Option.map(upcast, (recorded) => recorded.event),
          Option.some(new CartCheckedOut({}))
        )
      })
    )

    it.effect("given the skip policy, when decodeStored meets an unknown type, then it still fails", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(skipping.decodeStored(yield* stored("ItemRemoved", "{}")))
        assert.strictEqual(error._tag, "CorruptEvent")
        assert.include(error.reason, "unknown event type")
      })
    )

    const damaged: ReadonlyArray<readonly [string, string, string]> = [
      ["data that is not JSON", "ItemAdded", "{oops"],
      ["data that misses a field", "ItemAdded", JSON.stringify({ sku: "A-1" })],
      ["an upcast type with bad data", "CheckedOut", "[]"]
    ]
    for (const [label, type, data] of damaged) {
      for (const c of [codec, skipping]) {
        it.effect(`given the ${c.unknownTypes} policy and ${label}, when decoded, then CorruptEvent`, () =>
          Effect.gen(function* () {
            const error = yield* Effect.flip(c.decodeKnown(yield* stored(type, data)))
            assert.strictEqual(error._tag, "CorruptEvent")
            assert.strictEqual(error.type, type)
            assert.notInclude(error.reason, "unknown event type")
          })
        )
      }
    }

    it.effect("given tags listed with Literals, when asked, then the codec knows each of them", () =>
      Effect.gen(function* () {
        const Mark = Schema.Struct({ _tag: Schema.Literals(["Marked", "Unmarked"]), by: Schema.String })
        const marks = EventCodec.make(Mark, { unknownTypes: "skip" })

        assert.isTrue(marks.knows("Marked"))
        assert.isTrue(marks.knows("Unmarked"))
        assert.isFalse(marks.knows("Erased"))
        const decoded = yield* marks.decodeKnown(yield* stored("Unmarked", JSON.stringify({ by: "ada" })))
        assert.deepStrictEqual(
          Option.map(decoded, (recorded) => recorded.event),
          Option.some({ _tag: "Unmarked" as const, by: "ada" })
        )
      })
    )

    it.effect(
      "given a schema whose tag is any string, when asked, then the codec knows every type and skips none",
      () =>
        Effect.gen(function* () {
          const Anything = Schema.Struct({ _tag: Schema.String, note: Schema.String })
          const open = EventCodec.make(Anything, { unknownTypes: "skip" })

          assert.isTrue(open.knows("WhateverComesNext"))
          const decoded = yield* open.decodeKnown(yield* stored("WhateverComesNext", JSON.stringify({ note: "n" })))
          assert.isTrue(Option.isSome(decoded))
          const error = yield* Effect.flip(open.decodeKnown(yield* stored("WhateverComesNext", "{}")))
          assert.strictEqual(error._tag, "CorruptEvent")
        })
    )
  })
})
