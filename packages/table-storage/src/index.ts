/**
 * @eventable/table-storage: the event store on Azure Table Storage.
 *
 * @since 0.1.0
 */

export * as EventRows from "./EventRows.ts"
export * as SnapshotRows from "./SnapshotRows.ts"
export * as TableDeadLetterStore from "./TableDeadLetterStore.ts"
export * as TableEventStore from "./TableEventStore.ts"
export * as TableKeys from "./TableKeys.ts"
export * as TableLeaseStore from "./TableLeaseStore.ts"
export { classify, type Entity, TableRequestError, TableStorageClient } from "./TableStorageClient.ts"
export * as TableStorageConfig from "./TableStorageConfig.ts"
export { TableStorageConfigError } from "./TableStorageConfig.ts"
