/**
 * The dead-letter port: where a consumer with the `park` poison policy puts an
 * event its handler keeps failing on, with the error, so that the partition can
 * go on. Parked events can be listed, replayed through a handler, and removed.
 * Backends: `InMemoryDeadLetterStore` and the Table Storage dead-letter table
 * in `@eventable/table-storage`.
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type { StoreFailure, StoreUnavailable } from "./EventStoreError.ts"
import type * as Partition from "./Partition.ts"
import type { StoredEvent } from "./StoredEvent.ts"

/**
 * A parked event: the event as stored, which group parked it, why, and when.
 *
 * @since 0.1.0
 */
export interface DeadLetter {
  readonly group: string
  readonly event: StoredEvent
  /** What the handler failed with, as text. */
  readonly error: string
  /** How many times delivery was attempted before the event was parked. */
  readonly attempts: number
  /** When it was parked, in epoch milliseconds of the parking instance's clock. */
  readonly parkedAt: number
}

/**
 * Narrows a listing of parked events.
 *
 * @since 0.1.0
 */
export interface DeadLetterFilter {
  readonly partition?: Partition.Partition
}

/**
 * The dead-letter port. Parking is idempotent per (group, partition,
 * position): parking the same event twice keeps one entry.
 *
 * @since 0.1.0
 */
export class DeadLetterStore extends Context.Service<
  DeadLetterStore,
  {
    /** Parks an event; overwrites the entry of the same event, if any. */
    readonly park: (letter: DeadLetter) => Effect.Effect<void, StoreUnavailable | StoreFailure>
    /** The group's parked events, by partition then position. */
    readonly list: (
      group: string,
      filter?: DeadLetterFilter
    ) => Effect.Effect<ReadonlyArray<DeadLetter>, StoreUnavailable | StoreFailure>
    /** Removes a parked event (after a successful replay); no-op when absent. */
    readonly remove: (
      group: string,
      partition: Partition.Partition,
      position: number
    ) => Effect.Effect<void, StoreUnavailable | StoreFailure>
  }
>()("@eventable/core/DeadLetterStore") {}
