/**
 * A lease: one consumer group's claim on one feed partition, with the group's
 * checkpoint in it. Ownership, renewal and checkpoints are all fenced by the
 * lease's `etag`: a write made with a stale `etag` fails with `LeaseLost`, so a
 * deposed owner can neither renew nor move the checkpoint.
 *
 * Expiry does not depend on clocks agreeing across machines: a lease carries no
 * absolute expiry time. A contender treats a lease as expired once it has seen
 * the same `etag` unchanged for the group's TTL on its own clock, and an owner
 * stops a partition by itself when it has not renewed within the TTL minus a
 * safety margin on its own clock (see the consumer guide).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Partition from "./Partition.ts"

/**
 * Schema of a lease.
 *
 * @since 0.1.0
 */
export const Lease = Schema.Struct({
  /** The consumer group. */
  group: Schema.String,
  partition: Partition.Partition,
  /** The owning instance; absent when the lease was released or never owned. */
  owner: Schema.optionalKey(Schema.String),
  /** Incremented by every acquire: tells one ownership from the next. */
  epoch: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** The last handled position of the partition; 0 when nothing was handled. */
  checkpoint: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /**
   * Delivery attempts of the events after the checkpoint, counted across
   * crashes; reset to 0 when the checkpoint moves. Lets a poison policy act on
   * an event that kills the process instead of failing in the handler.
   */
  attempts: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** The store's concurrency token; opaque. */
  etag: Schema.String
})

/**
 * A consumer group's lease on one partition.
 *
 * @since 0.1.0
 */
export type Lease = typeof Lease.Type
