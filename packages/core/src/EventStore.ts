/**
 * The event store port: append events to a stream atomically, under an
 * expected version, and read a stream back in version order. Backends
 * (in-memory, Azure Table Storage) provide it as a Layer, usually together
 * with the `EventFeed` that consumers poll.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { EventStore, ExpectedVersion, InMemoryEventStore, StreamId } from "@eventable/core"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* EventStore
 *   const stream = yield* StreamId.make({ tenant: "acme", category: "user", id: "u-1" })
 *   const events = yield* store.readStream(stream).pipe(Stream.runCollect)
 *   return events.length
 * }).pipe(Effect.provide(InMemoryEventStore.layer()))
 * ```
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option, type Stream } from "effect"
import type { EventData } from "./EventData.ts"
import type { AppendError, ReadError } from "./EventStoreError.ts"
import type { ExpectedVersion } from "./ExpectedVersion.ts"
import type { Partition } from "./Partition.ts"
import type { Snapshot } from "./Snapshot.ts"
import type { StoredEvent } from "./StoredEvent.ts"
import type { StreamId } from "./StreamId.ts"

/**
 * What one append can hold. Appends beyond these limits fail before any request
 * with `TooManyEvents`, `EventTooLarge` or `AppendTooLarge`: an append is never
 * split into several writes.
 *
 * @since 0.1.0
 */
export interface StoreLimits {
  /** The most events one append may carry. */
  readonly maxEventsPerAppend: number
  /** The largest single event, in `sizeUnit`. */
  readonly maxEventSize: number
  /** The largest append as a whole, in `sizeUnit`. */
  readonly maxAppendSize: number
  /** How sizes are measured, for messages: e.g. "bytes (UTF-16)". */
  readonly sizeUnit: string
}

/**
 * The outcome of a successful append.
 *
 * @since 0.1.0
 */
export interface AppendResult {
  /** The stream's version after the append (unchanged for an empty append). */
  readonly version: number
  /** The partition that holds the stream. */
  readonly partition: Partition
  /** The feed positions of the appended events, in order. */
  readonly positions: ReadonlyArray<number>
}

/**
 * Options for reading a stream.
 *
 * @since 0.1.0
 */
export interface ReadStreamOptions {
  /**
   * The first version to read (inclusive); 1 when omitted (0 also reads from
   * the start). Must be a non-negative safe integer, else the read fails with
   * `InvalidArgument` before any request.
   */
  readonly from?: number
}

/**
 * Options of one append.
 *
 * @since 0.1.0
 */
export interface AppendOptions {
  /**
   * A snapshot of the state after this append, written in the same atomic
   * write as its events and replacing the stream's previous snapshot. Its
   * `version` must be the stream's version after the append, else the append
   * fails with `InvalidAppend`, as for an empty append or data that is not
   * well-formed JSON. Counted in the append's size, and it takes the room of
   * at least one event (`TooManyEvents` when the append is full).
   */
  readonly snapshot?: Snapshot
}

/**
 * The event store port.
 *
 * @since 0.1.0
 */
export class EventStore extends Context.Service<
  EventStore,
  {
    /**
     * Appends events atomically: all of them or none. Checks `expected` against
     * the stream's version in the same atomic write; if it does not match, fails
     * with `ConcurrencyConflict` and writes nothing. An empty append writes
     * nothing and only checks `expected`. `exact(n)` with `n` not a
     * non-negative safe integer fails with `InvalidArgument` before any request.
     *
     * Retries: the very same append (same event ids) retried under `exact(n)`
     * or `noStream` after it committed succeeds again without writing twice.
     * Under `any` or `streamExists` a retry of an append that committed writes
     * its events again: use `exact(n)`, or the command handler's `commandId`,
     * when a retry must be idempotent.
     */
    readonly append: (
      streamId: StreamId,
      events: ReadonlyArray<EventData>,
      expected: ExpectedVersion,
      options?: AppendOptions
    ) => Effect.Effect<AppendResult, AppendError>
    /** The stream's events in version order; empty when the stream does not exist. */
    readonly readStream: (streamId: StreamId, options?: ReadStreamOptions) => Stream.Stream<StoredEvent, ReadError>
    /** The stream's latest snapshot; none when it has none (or the stream does not exist). */
    readonly readSnapshot: (streamId: StreamId) => Effect.Effect<Option.Option<Snapshot>, ReadError>
    /** The store's limits for one append. */
    readonly limits: StoreLimits
  }
>()("@eventable/core/EventStore") {}
