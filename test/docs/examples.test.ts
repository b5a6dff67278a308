import { assert, describe, it } from "@effect/vitest"
import { EventMetadata, EventStore, ExpectedVersion, Partition, StreamId } from "@eventable/core"
import { Effect, Stream } from "effect"
import { StoreOnAzurite } from "../../docs/examples/azurite-store.ts"

describe("docs/examples/azurite-store.ts", () => {
  it.live("given the example Layer, when used, then it starts Azurite and stores events on it", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const streamId = yield* StreamId.make({ tenant: "docs", category: "order", id: "o-1" })
      const metadata = yield* EventMetadata.make()

      const result = yield* store.append(streamId, [{ type: "Placed", data: "{}", metadata }], ExpectedVersion.noStream)
      const read = yield* Stream.runCollect(store.readStream(streamId))

      assert.strictEqual(result.version, 1)
      assert.strictEqual(read[0]?.type, "Placed")
      assert.strictEqual(result.partition.shard, Partition.shardOf("o-1", 4), "the example's 4 shards apply")
    }).pipe(Effect.provide(StoreOnAzurite))
  )
})
