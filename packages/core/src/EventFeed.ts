/**
 * The feed consumers poll: every committed event of a partition, by position.
 *
 * The contract every backend keeps:
 * - A category's events live in one or more partitions (tenant + category + shard).
 * - `partitions` lists the partitions that exist; poll it to discover new ones.
 * - `read(partition, after, limit)` returns the events with positions after
 *   `after`, in position order, at most `limit` of them. Positions start at 1
 *   and are contiguous: no gaps, ever. An event becomes visible exactly when its
 *   append commits, never before, and positions are assigned in commit order,
 *   so a reader that saw position `n` has seen everything before it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventFeed } from "@eventable/core"
 *
 * const firstPage = Effect.gen(function*() {
 *   const feed = yield* EventFeed
 *   const [partition] = yield* feed.partitions({ category: "user" })
 *   return partition === undefined ? [] : yield* feed.read(partition, 0, 100)
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type { CorruptPartition, InvalidArgument, ReadError, StoreFailure, StoreUnavailable } from "./EventStoreError.ts"
import type { Partition } from "./Partition.ts"
import type { StoredEvent } from "./StoredEvent.ts"

/**
 * Narrows a partition listing.
 *
 * @since 0.1.0
 */
export interface PartitionFilter {
  readonly tenant?: string
  readonly category?: string
}

/**
 * The feed consumers poll.
 *
 * @since 0.1.0
 */
export class EventFeed extends Context.Service<
  EventFeed,
  {
    /**
     * The partitions that exist now, optionally for one tenant and/or category.
     * A filter tenant or category that no stream id could have fails with
     * `InvalidArgument`.
     */
    readonly partitions: (
      filter?: PartitionFilter
    ) => Effect.Effect<ReadonlyArray<Partition>, InvalidArgument | StoreUnavailable | StoreFailure>
    /**
     * Up to `limit` events with positions after `after`, in position order.
     * `after` and `limit` must be non-negative safe integers and the partition
     * well formed, else `InvalidArgument` before any request. Never ends short
     * over damage: a missing position fails with `CorruptPartition` (or
     * `CorruptEvent` for a row that cannot be read).
     */
    readonly read: (
      partition: Partition,
      after: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<StoredEvent>, ReadError>
    /**
     * The last committed position of a partition; 0 when it is empty. A
     * malformed partition fails with `InvalidArgument` before any request; a
     * head that is unreadable fails with `CorruptPartition`.
     */
    readonly head: (
      partition: Partition
    ) => Effect.Effect<number, InvalidArgument | CorruptPartition | StoreUnavailable | StoreFailure>
  }
>()("@eventable/core/EventFeed") {}
