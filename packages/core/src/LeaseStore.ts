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
 * Everything a lease store operation can fail with besides `LeaseLost`.
 *
 * @since 0.1.0
 */
export type LeaseStoreError = StoreUnavailable | StoreFailure

/**
 * The lease store port.
 *
 * @since 0.1.0
 */
export class LeaseStore extends Context.Service<
  LeaseStore,
  {
    /** Every lease of a group, with its current ETag. */
    readonly list: (group: string) => Effect.Effect<ReadonlyArray<Lease>, LeaseStoreError>
    /** One lease, or none when it was never created. */
    readonly get: (
      group: string,
      partition: Partition.Partition
    ) => Effect.Effect<Option.Option<Lease>, LeaseStoreError>
    /**
     * The lease, created unowned with checkpoint 0 when missing. Idempotent and
     * safe under races: an existing lease is returned as stored.
     */
    readonly ensure: (group: string, partition: Partition.Partition) => Effect.Effect<Lease, LeaseStoreError>
    /**
     * Takes the lease for `owner` if it is still as `lease` shows it (same
     * ETag): sets the owner, increments the epoch, keeps the checkpoint and
     * attempts. `LeaseLost` when it moved on.
     */
    readonly acquire: (lease: Lease, owner: string) => Effect.Effect<Lease, LeaseLost | LeaseStoreError>
    /** Renews the lease (a fenced write that changes its ETag). `LeaseLost` when it moved on. */
    readonly renew: (lease: Lease) => Effect.Effect<Lease, LeaseLost | LeaseStoreError>
    /**
     * Records progress, fenced: the checkpoint becomes `position` and attempts
     * becomes `attempts` (0 when the checkpoint moves). A position below the
     * lease's checkpoint (or not a safe integer) fails with `InvalidArgument`:
     * the checkpoint never moves backwards.
     */
    readonly checkpoint: (
      lease: Lease,
      position: number,
      attempts: number
    ) => Effect.Effect<Lease, LeaseLost | LeaseStoreError | InvalidArgument>
    /**
     * Gives the lease up, fenced: clears the owner and writes back nothing
     * else, so an older checkpoint can never be restored by a release.
     */
    readonly release: (lease: Lease) => Effect.Effect<void, LeaseLost | LeaseStoreError>
  }
>()("@eventable/core/LeaseStore") {}
