// The Table Storage event store on a local Azurite: what this repository's tests do,
// and what your own tests can do. Compiled by `npm run typecheck`.

import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Azurite, EventStoreConformance } from "@eventable/testing"
import { Effect, Layer } from "effect"

/** Azurite for the lifetime of the Layer, and the store on it. */
export const StoreOnAzurite = Layer.unwrap(
  Effect.gen(function* () {
    const azurite = yield* Azurite
    return TableEventStore.layer({
      connection: TableStorageConfig.connectionString(azurite.connectionString),
      table: "events",
      shards: { order: 4 }
    })
  })
).pipe(Layer.provide(Azurite.layer))

/** Call from a test file: holds the store to the same contract as Eventable's own stores. */
export const conformance = () => EventStoreConformance.run("Table Storage on Azurite", StoreOnAzurite)
