/**
 * The typed errors a consumer surfaces for a partition.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Partition from "./Partition.ts"

/**
 * The feed skipped a position: after position `expected - 1` it returned
 * `found` (or, when the page came back empty, `found` is the partition's head,
 * which says rows up to it exist). The contract says positions have no gaps, so this is damage; the
 * consumer never waits for the missing event silently, it halts the partition.
 *
 * @since 0.1.0
 */
export class FeedGap extends Schema.TaggedError<FeedGap>()("FeedGap", {
  partition: Partition.Partition,
  expected: Schema.Number,
  found: Schema.Number
}) {
  override get message(): string {
    return `The feed of ${Partition.format(this.partition)} has a hole: expected position ${this.expected}, found ${this.found}`
  }
}

/**
 * A partition was halted (poison policy `stop`, a hole or a corrupt row in the
 * feed, a store refusal): its lease stays with this instance, its checkpoint
 * stays before `position`, and no further batch of it is delivered until the
 * consumer is restarted. `cause` is the original error.
 *
 * @since 0.1.0
 */
export class PartitionHalted extends Schema.TaggedError<PartitionHalted>()("PartitionHalted", {
  group: Schema.String,
  partition: Partition.Partition,
  /** The first position not handled. */
  position: Schema.Number,
  /** Delivery attempts of that position, when known. */
  attempts: Schema.Number,
  reason: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    return `Group ${this.group} halted ${Partition.format(this.partition)} at position ${this.position}: ${this.reason}`
  }
}
