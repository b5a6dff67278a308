/**
 * An event as a store returns it: the appended `EventData` plus where it
 * landed, its stream and version, and its partition and position in the feed.
 * Decode it into your own event type with an `EventCodec`.
 *
 * @since 0.1.0
 */
import type { EventData } from "./EventData.ts"
import type { Partition } from "./Partition.ts"
import type { StreamId } from "./StreamId.ts"

/**
 * An event as a store returns it.
 *
 * @since 0.1.0
 */
export interface StoredEvent extends EventData {
  readonly streamId: StreamId
  /** 1-based; a stream's versions are contiguous. */
  readonly version: number
  /** The feed partition that holds the stream. */
  readonly partition: Partition
  /** 1-based; a partition's positions are contiguous, in commit order. */
  readonly position: number
}
