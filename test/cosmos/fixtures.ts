/**
 * The Cosmos DB stand-in for a test file: started in-process (cheap), with a
 * database of the file's own, and a store Layer on it.
 */

import type { ReadModelStore } from "@eventable/core"
import { CosmosConfig, CosmosReadModelStore } from "@eventable/cosmos"
import { CosmosEmulator } from "@eventable/testing"
import { Effect, Layer } from "effect"

let databases = 0
/** A database name no other test file uses. */
export const freshDatabase = (prefix: string) => `${prefix}${Date.now().toString(36)}${(databases++).toString(36)}`

/** The Cosmos read model store on the stand-in, with options overridable per file. */
export const storeLayer = (
  options: Partial<CosmosConfig.CosmosOptions> = {}
): Layer.Layer<ReadModelStore.ReadModelStore, unknown, CosmosEmulator> =>
  Layer.unwrap(
    Effect.map(CosmosEmulator, (emulator) =>
      CosmosReadModelStore.layer({
        connection: CosmosConfig.endpointKey(emulator.endpoint, emulator.key),
        database: freshDatabase("db"),
        ...emulator.clientOptions,
        ...options
      })
    )
  )
