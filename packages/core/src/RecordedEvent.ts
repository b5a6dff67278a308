/**
 * A decoded event with everything the store recorded about it: stream,
 * version, partition, position and metadata.
 *
 * @since 0.1.0
 */
import type { EventMetadata } from "./EventMetadata.ts"
import type { Partition } from "./Partition.ts"
import type { StreamId } from "./StreamId.ts"

/**
 * A decoded event with everything the store recorded about it.
 *
 * @since 0.1.0
 */
export interface RecordedEvent<E> {
  readonly event: E
  /** The stored type name. */
  readonly type: string
  readonly streamId: StreamId
  /** 1-based, contiguous within the stream. */
  readonly version: number
  readonly partition: Partition
  /** 1-based, contiguous within the partition, in commit order. */
  readonly position: number
  readonly metadata: EventMetadata
}
