import { assert, describe, it } from "@effect/vitest"
import { DeadLetterStore, EventMetadata, Partition, StreamId } from "@eventable/core"
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

describe("TableDeadLetterStore on Azurite", () => {
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
