/**
 * @eventable/core: deciders, events, the event store and feed ports, the
 * command handler, and an in-memory store.
 *
 * @since 0.1.0
 */

export * as AppendRequest from "./AppendRequest.ts"
export * as Arguments from "./Arguments.ts"
export * as Balancer from "./Balancer.ts"
export * as CommandHandler from "./CommandHandler.ts"
export * as CommandId from "./CommandId.ts"
export * as Consumer from "./Consumer.ts"
export { FeedGap, PartitionHalted } from "./ConsumerError.ts"
export * as ConsumerOptions from "./ConsumerOptions.ts"
export { InvalidConsumerOptions } from "./ConsumerOptions.ts"
export {
  type DeadLetter,
  type DeadLetterFilter,
  DeadLetterStore,
  type DeadLetterStoreError,
  maxErrorLength,
  truncateError,
  validateDeadLetter
} from "./DeadLetterStore.ts"
export * as Decider from "./Decider.ts"
export * as DocumentProjection from "./DocumentProjection.ts"
export { CorruptDocument, type ProjectionError } from "./DocumentProjection.ts"
export * as EventCodec from "./EventCodec.ts"
export * as EventData from "./EventData.ts"
export { EventFeed, type PartitionFilter } from "./EventFeed.ts"
export * as EventMetadata from "./EventMetadata.ts"
export {
  type AppendOptions,
  type AppendResult,
  EventStore,
  type ReadStreamOptions,
  type StoreLimits
} from "./EventStore.ts"
export * from "./EventStoreError.ts"
export * as ExpectedVersion from "./ExpectedVersion.ts"
export * as InMemoryDeadLetterStore from "./InMemoryDeadLetterStore.ts"
export * as InMemoryEventStore from "./InMemoryEventStore.ts"
export * as InMemoryLeaseStore from "./InMemoryLeaseStore.ts"
export * as InMemoryReadModelStore from "./InMemoryReadModelStore.ts"
export * as JsonText from "./JsonText.ts"
export * as Lease from "./Lease.ts"
export { LeaseLost, LeaseStore, type LeaseStoreError } from "./LeaseStore.ts"
export * as Partition from "./Partition.ts"
export * as ReadModelStore from "./ReadModelStore.ts"
export {
  DocumentExists,
  DocumentNotFound,
  type ReadModelError,
  ReadModelFailure,
  ReadModelUnavailable,
  StaleDocument
} from "./ReadModelStore.ts"
export type { RecordedEvent } from "./RecordedEvent.ts"
export { RetriesExhausted } from "./RetriesExhausted.ts"
export type { Snapshot } from "./Snapshot.ts"
export type { StoredEvent } from "./StoredEvent.ts"
export * as StreamId from "./StreamId.ts"
export { InvalidStreamId } from "./StreamId.ts"
