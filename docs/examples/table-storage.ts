import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Redacted } from "effect"

// Provide this where the tests provide InMemoryEventStore.layer(): nothing else changes.
export const Store = TableEventStore.layer({
  connection: TableStorageConfig.connectionString(Redacted.make(process.env.STORAGE_CONNECTION ?? "")),
  table: "events",
  shards: { account: 4 }
})

// Or configured from EVENTABLE_TABLE_* environment variables (see docs/guides/table-storage.md).
export const StoreFromEnv = TableEventStore.layerConfig
