/** Shared fixtures of the Table Storage tests: the run's Azurite, fresh tables, direct table access. */
import { TableClient } from "@azure/data-tables"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { inject } from "vitest"

/** The connection string of the Azurite started by the global setup. */
export const connectionString = (): string => inject("azuriteConnectionString")

let tables = 0
/** A table name no other test uses, so that each test file works on a small table. */
export const freshTable = (prefix: string): string =>
  `${prefix}${Date.now().toString(36)}${(tables++).toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.slice(
    0,
    62
  )

/** The store on Azurite. */
export const storeLayer = (options: Omit<TableStorageConfig.TableStorageOptions, "connection">) =>
  TableEventStore.layer({ connection: TableStorageConfig.connectionString(connectionString()), ...options })

/** A raw SDK client on a table, for reaching under the store (e.g. to damage a row). */
export const rawTable = (table: string): TableClient =>
  TableClient.fromConnectionString(connectionString(), table, { allowInsecureConnection: true })
