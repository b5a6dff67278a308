/**
 * The lease store port: one lease per (consumer group, partition), each write
 * fenced by the lease's ETag. Backends: `InMemoryLeaseStore` (tests) and the
 * Table Storage lease store in `@eventable/table-storage`. Every backend passes
 * the lease store conformance suite of `@eventable/testing`.
 *
 * Every write takes the `Lease` last returned to the caller and fails with
 * `LeaseLost` when the stored lease has moved on (another writer changed its
 * ETag). A write never re-reads the lease to refresh its ETag: that is what
 * fencing means.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option, Schema } from "effect"
import type { InvalidArgument, StoreFailure, StoreUnavailable } from "./EventStoreError.ts"
import type { Lease } from "./Lease.ts"
import * as Partition from "./Partition.ts"

/**
 * The lease was changed by someone else since the caller last read or wrote
 * it: another instance took it over, or it was released. The caller must stop
 * working on the partition at once.
 *
 * @since 0.1.0
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  group: Schema.String,
  partition: Partition.Partition,
  /** The instance that lost the lease. */
  owner: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Lease of group ${this.group} on ${Partition.format(this.partition)} lost by ${this.owner}: ${this.reason}`
  }
}

/**
 * Everything a lease store operation can fail with besides `LeaseLost`:
 * `InvalidArgument` for a malformed group, owner, partition, position or
 * attempts count (refused before any request, the same way by every store),
 * `StoreUnavailable` when the store did not answer and retries ran out,
 * `StoreFailure` when it refused for good (or a stored lease is damaged).
 *
 * @since 0.1.0
 */
export type LeaseStoreError = InvalidArgument | StoreUnavailable | StoreFailure

/**
 * The lease store port.
 *
 * Rules every backend keeps (the conformance suite checks each):
 * - every lease write is a fenced, conditional write on the lease's ETag, and
 *   every successful write returns the lease with a fresh ETag: use that one
 *   for the next write, never an older copy;
 * - a write never re-reads the lease to refresh its ETag; a backend may
 *   re-read only to recognise its own write whose answer was lost (the stored
 *   lease carries that very write), never to adopt someone else's;
 * - `epoch` increments on every acquire, so one ownership can be told from the
 *   next even when the same owner takes the lease again;
 * - the checkpoint never moves backwards, and release never writes it.
 *
 * Names: a group is 1 to `Lease.maxGroupLength` characters, an owner 1 to
 * `Lease.maxOwnerLength`, both well-formed Unicode without control
 * characters; anything else fails with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LeaseStore, Partition } from "@eventable/core"
 *
 * const program = Effect.gen(function* () {
 *   const leases = yield* LeaseStore
 *   const free = yield* leases.ensure("projections", Partition.make("acme", "order", 0))
 *   const mine = yield* leases.acquire(free, "worker-1") // LeaseLost if someone got there first
 *   const moved = yield* leases.checkpoint(mine, 42, 0) // the next write must use `moved`
 *   yield* leases.release(moved)
 * })
 * ```
 *
 * @since 0.1.0
 */
export class LeaseStore extends Context.Service<
  LeaseStore,
  {
    /** Every lease of a group, with its current ETag, ordered by `Partition.compare`. */
    readonly list: (group: string) => Effect.Effect<ReadonlyArray<Lease>, LeaseStoreError>
    /** One lease, or none when it was never created. */
    readonly get: (
      group: string,
      partition: Partition.Partition
    ) => Effect.Effect<Option.Option<Lease>, LeaseStoreError>
    /**
     * The lease, created unowned with epoch 0, checkpoint 0 and attempts 0
     * when missing. Idempotent and safe under races: an existing lease is
     * returned as stored, whoever created it.
     */
    readonly ensure: (group: string, partition: Partition.Partition) => Effect.Effect<Lease, LeaseStoreError>
    /**
     * Takes the lease for `owner` if it is still as `lease` shows it (same
     * ETag), whether it is unowned, expired or owned by someone else (a steal):
     * sets the owner, increments the epoch, keeps the checkpoint and attempts.
     * `LeaseLost` when it moved on: someone else won the race.
     */
    readonly acquire: (lease: Lease, owner: string) => Effect.Effect<Lease, LeaseLost | LeaseStoreError>
    /**
     * Renews the lease: a fenced write that changes only its ETag, so that
     * observers see the owner is alive. `LeaseLost` when it moved on;
     * `InvalidArgument` for an unowned lease.
     */
    readonly renew: (lease: Lease) => Effect.Effect<Lease, LeaseLost | LeaseStoreError>
    /**
     * Records progress, fenced: the checkpoint becomes `position`. When the
     * checkpoint moves (`position` above the lease's), attempts is reset to 0
     * whatever `attempts` says; when it stays, attempts becomes `attempts` (to
     * count deliveries of the next event across crashes). A position below the
     * lease's checkpoint, or a position or attempts count that is not a
     * non-negative safe integer, fails with `InvalidArgument` before any write:
     * the checkpoint never moves backwards. `LeaseLost` when the lease moved on.
     */
    readonly checkpoint: (
      lease: Lease,
      position: number,
      attempts: number
    ) => Effect.Effect<Lease, LeaseLost | LeaseStoreError>
    /**
     * Gives the lease up, fenced: clears the owner and writes nothing else, so
     * an older checkpoint can never be restored by a release. A deposed
     * owner's release fails with `LeaseLost` and changes nothing.
     */
    readonly release: (lease: Lease) => Effect.Effect<void, LeaseLost | LeaseStoreError>
  }
>()("@eventable/core/LeaseStore") {}
