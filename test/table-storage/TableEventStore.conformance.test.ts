import { EventStoreConformance } from "@eventable/testing"
import { freshTable, storeLayer } from "./fixtures.ts"

EventStoreConformance.run(
  "Table Storage on Azurite, group commit on",
  storeLayer({ table: freshTable("conformance"), shards: { sharded: 4 } }),
  { sharded: { category: "sharded", shards: 4 } }
)

EventStoreConformance.run(
  "Table Storage on Azurite, group commit off",
  storeLayer({ table: freshTable("conformancesolo"), shards: { sharded: 3 }, groupCommit: false }),
  { sharded: { category: "sharded", shards: 3 } }
)
