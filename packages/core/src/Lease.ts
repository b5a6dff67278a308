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
import { Effect, Schema } from "effect"
import { InvalidArgument } from "./EventStoreError.ts"
import * as Partition from "./Partition.ts"
import * as StreamId from "./StreamId.ts"

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

/**
 * The longest consumer group name, in UTF-16 code units.
 *
 * @since 0.1.0
 */
export const maxGroupLength = 128

/**
 * The longest owner (instance) name, in UTF-16 code units.
 *
 * @since 0.1.0
 */
export const maxOwnerLength = 256

// C0 and C1 controls, DEL and the line and paragraph separators: never part of a name.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u

const nameProblem = (value: string, max: number): string | undefined => {
  if (value.length === 0) return "must not be empty"
  if (value.length > max) return `must be at most ${max} characters (got ${value.length})`
  if (!value.isWellFormed()) return "must be well-formed Unicode (it contains a lone surrogate)"
  const control = controlCharacter.exec(value)
  if (control !== null) {
    const code = control[0].codePointAt(0) ?? 0
    return `must not contain control characters (found U+${code.toString(16).toUpperCase().padStart(4, "0")} at index ${control.index})`
  }
  return undefined
}

const invalid = (operation: string, argument: string, value: unknown, reason: string) =>
  Effect.fail(
    new InvalidArgument({
      operation,
      argument,
      value: typeof value === "string" ? JSON.stringify(value) : String(value),
      reason
    })
  )

/**
 * Checks a consumer group name: 1 to {@link maxGroupLength} characters,
 * well-formed Unicode, no control characters. Any other character is allowed
 * (stores escape what their keys cannot hold). Fails with `InvalidArgument`.
 *
 * @since 0.1.0
 */
export const validateGroup = (operation: string, group: string): Effect.Effect<void, InvalidArgument> => {
  const problem = typeof group === "string" ? nameProblem(group, maxGroupLength) : "must be a string"
  return problem === undefined ? Effect.void : invalid(operation, "group", group, problem)
}

/**
 * Checks an owner (instance) name: 1 to {@link maxOwnerLength} characters,
 * well-formed Unicode, no control characters. Fails with `InvalidArgument`.
 *
 * @since 0.1.0
 */
export const validateOwner = (operation: string, owner: string): Effect.Effect<void, InvalidArgument> => {
  const problem = typeof owner === "string" ? nameProblem(owner, maxOwnerLength) : "must be a string"
  return problem === undefined ? Effect.void : invalid(operation, "owner", owner, problem)
}

/**
 * Checks a partition: a valid tenant and category (the stream-id rules) and a
 * shard in `0 .. Partition.maxShards - 1`. Fails with `InvalidArgument`.
 *
 * @since 0.1.0
 */
export const validatePartition = (
  operation: string,
  partition: Partition.Partition
): Effect.Effect<void, InvalidArgument> => {
  const tenant = StreamId.problem("tenant", partition.tenant)
  if (tenant !== undefined) return invalid(operation, "partition.tenant", partition.tenant, tenant)
  const category = StreamId.problem("category", partition.category)
  if (category !== undefined) return invalid(operation, "partition.category", partition.category, category)
  const shard = partition.shard
  if (!Number.isSafeInteger(shard) || shard < 0 || shard >= Partition.maxShards) {
    return invalid(operation, "partition.shard", shard, `must be an integer from 0 to ${Partition.maxShards - 1}`)
  }
  return Effect.void
}

/**
 * Checks a count (a position, a checkpoint, attempts): a safe integer of at
 * least `min` (default 0). Fails with `InvalidArgument` naming `argument`.
 *
 * @since 0.1.0
 */
export const validateCount = (
  operation: string,
  argument: string,
  value: number,
  min = 0
): Effect.Effect<void, InvalidArgument> =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min
    ? Effect.void
    : invalid(operation, argument, value, `must be an integer from ${min} to 2^53 - 1`)

/**
 * Checks that a lease passed to a fenced write has an owner: renew,
 * checkpoint and release are the owner's operations. Fails with
 * `InvalidArgument` for an unowned lease (acquire it first).
 *
 * @since 0.1.0
 */
export const requireOwner = (operation: string, lease: Lease): Effect.Effect<string, InvalidArgument> =>
  lease.owner === undefined
    ? invalid(operation, "lease", Partition.format(lease.partition), "the lease has no owner: acquire it first")
    : Effect.succeed(lease.owner)

/**
 * Checks that a checkpoint write does not move the lease's checkpoint
 * backwards. Fails with `InvalidArgument` when `position` is below
 * `lease.checkpoint`.
 *
 * @since 0.1.0
 */
export const validateBackwards = (
  operation: string,
  lease: Lease,
  position: number
): Effect.Effect<void, InvalidArgument> =>
  position < lease.checkpoint
    ? invalid(
        operation,
        "position",
        position,
        `the checkpoint never moves backwards: the lease is at ${lease.checkpoint}`
      )
    : Effect.void
