/**
 * The dead-letter port: where a consumer with the `park` poison policy puts an
 * event its handler keeps failing on, with the error, so that the partition can
 * go on. Parked events can be listed, replayed through a handler, and removed.
 * Backends: `InMemoryDeadLetterStore` and the Table Storage dead-letter table
 * in `@eventable/table-storage`; both pass the dead-letter conformance suite of
 * `@eventable/testing`.
 *
 * @since 0.1.0
 */
import { Context, Effect } from "effect"
import { InvalidArgument, type StoreFailure, type StoreUnavailable } from "./EventStoreError.ts"
import * as Lease from "./Lease.ts"
import * as Partition from "./Partition.ts"
import type { StoredEvent } from "./StoredEvent.ts"
import * as StreamId from "./StreamId.ts"

/**
 * A parked event: the event as stored, which group parked it, why, and when.
 *
 * @since 0.1.0
 */
export interface DeadLetter {
  readonly group: string
  readonly event: StoredEvent
  /**
   * What the handler failed with, as text. Stores keep at most
   * {@link maxErrorLength} characters of it (the rest is cut, ending in `…`).
   */
  readonly error: string
  /** How many times delivery was attempted before the event was parked. */
  readonly attempts: number
  /** When it was parked, in epoch milliseconds of the parking instance's clock. */
  readonly parkedAt: number
}

/**
 * The longest error text a store keeps, in UTF-16 code units.
 *
 * @since 0.1.0
 */
export const maxErrorLength = 16_384

/**
 * Everything a dead-letter store operation can fail with: `InvalidArgument`
 * for a malformed group (the rules of `Lease.validateGroup`), partition,
 * position or attempts count, refused before any request;
 * `StoreUnavailable` when the store did not answer and retries ran out;
 * `StoreFailure` when it refused for good (or a stored entry is damaged).
 *
 * @since 0.1.0
 */
export type DeadLetterStoreError = InvalidArgument | StoreUnavailable | StoreFailure

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
    /**
     * Parks an event, keyed by (group, event partition, event position);
     * overwrites the entry of the same event, if any. The event comes back
     * from `list` exactly as given (type, data, metadata, stream, version).
     */
    readonly park: (letter: DeadLetter) => Effect.Effect<void, DeadLetterStoreError>
    /**
     * The group's parked events, ordered by partition (`Partition.compare`)
     * then position; none of another group's.
     */
    readonly list: (
      group: string,
      filter?: DeadLetterFilter
    ) => Effect.Effect<ReadonlyArray<DeadLetter>, DeadLetterStoreError>
    /** Removes a parked event (after a successful replay); no-op when absent. */
    readonly remove: (
      group: string,
      partition: Partition.Partition,
      position: number
    ) => Effect.Effect<void, DeadLetterStoreError>
  }
>()("@eventable/core/DeadLetterStore") {}

/**
 * Keeps at most `max` characters (default {@link maxErrorLength}) of an error
 * text, cutting it with `…` (never inside a surrogate pair). Every store
 * applies it.
 *
 * @since 0.1.0
 */
export const truncateError = (error: string, max: number = maxErrorLength): string => {
  if (error.length <= max) return error
  if (max < 1) return ""
  let end = max - 1
  const last = error.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${error.slice(0, end)}…`
}

/**
 * Checks a dead letter the way every store does before parking it: a valid
 * group and partition, a position and version of at least 1, non-negative
 * attempts and time, and a stream that lies in the event's partition. Fails
 * with `InvalidArgument`.
 *
 * @since 0.1.0
 */
export const validateDeadLetter = (letter: DeadLetter): Effect.Effect<void, InvalidArgument> =>
  Effect.gen(function* () {
    yield* Lease.validateGroup("park", letter.group)
    yield* Lease.validatePartition("park", letter.event.partition)
    yield* Lease.validateCount("park", "event.position", letter.event.position, 1)
    yield* Lease.validateCount("park", "event.version", letter.event.version, 1)
    const { streamId, partition } = letter.event
    if (streamId.tenant !== partition.tenant || streamId.category !== partition.category) {
      return yield* new InvalidArgument({
        operation: "park",
        argument: "event.streamId",
        value: StreamId.format(streamId),
        reason: `the stream is not in the event's partition ${Partition.format(partition)}`
      })
    }
    yield* Lease.validateCount("park", "attempts", letter.attempts)
    yield* Lease.validateCount("park", "parkedAt", letter.parkedAt)
  })
