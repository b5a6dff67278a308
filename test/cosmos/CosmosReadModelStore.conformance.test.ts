import { CosmosEmulator, ReadModelStoreConformance } from "@eventable/testing"
import { Layer } from "effect"
import { storeLayer } from "./fixtures.ts"

ReadModelStoreConformance.run("Cosmos DB stand-in", storeLayer().pipe(Layer.provide(CosmosEmulator.layer)))
