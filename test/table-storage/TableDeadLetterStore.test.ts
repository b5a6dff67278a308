import { assert, describe, it } from "@effect/vitest"
import { DeadLetterStore, EventMetadata, maxErrorLength, Partition, StreamId } from "@eventable/core"
import { TableDeadLetterStore, TableStorageConfig } from "@eventable/table-storage"
import { DeadLetterStoreConformance } from "@eventable/testing"
import { Context, Effect, Layer } from "effect"
import * as FaultProxy from "./FaultProxy.ts"
import { connectionString, freshTable } from "./fixtures.ts"

DeadLetterStoreConformance.run(
  "Table Storage on Azurite",
  TableDeadLetterStore.layer({
    connection: TableStorageConfig.connectionString(connectionString()),
    table: freshTable("dead")
  })
)

const letterFor = (position: number, data: string) =>
  Effect.gen(function* () {
    const streamId = yield* StreamId.make({ tenant: "acme", category: "order", id: "o-1" })
    return {
      type: "Failed",
      data,
      metadata: yield* EventMetadata.make(),
      streamId,
      version: position,
      partition: Partition.make("acme", "order", 0),
      position
    }
  })

describe("TableDeadLetterStore on Azurite", () => {
  it.live("given an event close to the 1 MiB entity limit, then it parks whole and the error text gives way", () =>
    Effect.gen(function* () {
      const letters = yield* Effect.map(
        Layer.build(
          TableDeadLetterStore.layer({
            connection: TableStorageConfig.connectionString(connectionString()),
            table: freshTable("deadbig")
          })
        ),
        (context) => Context.get(context, DeadLetterStore)
      )
      // 510,000 UTF-16 units: about 1,020,000 bytes as Azure sizes an entity, under the 1 MiB limit.
      const data = JSON.stringify({ blob: "x".repeat(510_000) })
      const event = yield* letterFor(1, data)

      yield* letters.park({ group: "g", event, error: "e".repeat(maxErrorLength), attempts: 1, parkedAt: 1 })

      const [back] = yield* letters.list("g")
      assert.strictEqual(back?.event.data.length, data.length)
      assert.isTrue(back?.event.data === data)
      assert.isTrue((back?.error.length ?? 0) > 1_000 && (back?.error.length ?? 0) < maxErrorLength)
      assert.isTrue(back?.error.endsWith("…"))
    })
  )

  it.live("given transient 503s on park and list, then both are retried and the entry is written once", () =>
    Effect.gen(function* () {
      const proxy = yield* FaultProxy.make
      const table = freshTable("deadfault")
      const letters = yield* Effect.map(
        Layer.build(
          TableDeadLetterStore.layer({
            connection: TableStorageConfig.connectionString(FaultProxy.redacted(proxy)),
            table,
            retryBaseDelay: "5 millis"
          })
        ),
        (context) => Context.get(context, DeadLetterStore)
      )
      const partition = Partition.make("acme", "order", 0)
      const streamId = yield* StreamId.make({ tenant: "acme", category: "order", id: "o-1" })
      const event = {
        type: "Failed",
        data: "{}",
        metadata: yield* EventMetadata.make(),
        streamId,
        version: 1,
        partition,
        position: 1
      }

      proxy.inject({ _tag: "Reject", status: 503 }, { times: 2, match: () => true })
      yield* letters.park({ group: "g", event, error: "boom", attempts: 1, parkedAt: 1 })
      proxy.inject({ _tag: "Reject", status: 503 }, { times: 2, match: () => true })
      const listed = yield* letters.list("g")

      assert.strictEqual(proxy.faulted(), 4)
      assert.deepStrictEqual(
        listed.map((l) => [l.event.position, l.error]),
        [[1, "boom"]]
      )
    })
  )
})
