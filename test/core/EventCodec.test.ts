import { assert, describe, it } from "@effect/vitest"
import { EventCodec, EventMetadata, Partition, type StoredEvent, StreamId } from "@eventable/core"
import { DateTime, Effect, Result, Schema, SchemaTransformation } from "effect"

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
    ["an unknown type", "ItemRemoved", "{}", "schema"]
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
})
