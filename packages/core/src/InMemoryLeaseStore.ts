/**
 * An in-memory `LeaseStore` with the same semantics as the real backends:
 * every write fenced by the lease's ETag (a fresh opaque one per write), the
 * epoch incremented by every acquire, the checkpoint never moving backwards,
 * release clearing only the owner, ensure idempotent. Use it in tests of
 * consumers; state lives as long as the Layer.
 *
 * @example
 * ```ts
 * import { InMemoryLeaseStore } from "@eventable/core"
 *
 * const TestLeases = InMemoryLeaseStore.layer // a LeaseStore for tests
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer, Option } from "effect"
import * as Lease from "./Lease.ts"
import { LeaseLost, LeaseStore } from "./LeaseStore.ts"
import * as Partition from "./Partition.ts"

const fresh = (): string => `"${crypto.randomUUID()}"`

/**
 * Builds an empty in-memory lease store.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<LeaseStore["Service"]> = Effect.sync(() => {
  // group -> partition key -> lease. Every operation reads and writes synchronously, so each is atomic.
  const groups = new Map<string, Map<string, Lease.Lease>>()
  const leasesOf = (group: string): Map<string, Lease.Lease> => {
    let leases = groups.get(group)
    if (leases === undefined) {
      leases = new Map()
      groups.set(group, leases)
    }
    return leases
  }

  /** Runs `write` on the stored lease if its ETag is still `lease.etag`; `LeaseLost` otherwise. */
  const fenced = (lease: Lease.Lease, owner: string, write: (stored: Lease.Lease) => Lease.Lease) =>
    Effect.suspend(() => {
      const leases = leasesOf(lease.group)
      const key = Partition.key(lease.partition)
      const stored = leases.get(key)
      if (stored === undefined || stored.etag !== lease.etag) {
        return Effect.fail(
          new LeaseLost({
            group: lease.group,
            partition: lease.partition,
            owner,
            reason:
              stored === undefined
                ? "the lease does not exist"
                : `the lease changed since it was read (now owned by ${stored.owner ?? "nobody"}, epoch ${stored.epoch})`
          })
        )
      }
      const next = write(stored)
      leases.set(key, next)
      return Effect.succeed(next)
    })

  const validLease = (operation: string, group: string, partition: Partition.Partition) =>
    Effect.andThen(Lease.validateGroup(operation, group), Lease.validatePartition(operation, partition))

  return LeaseStore.of({
    list: (group) =>
      Effect.andThen(
        Lease.validateGroup("list", group),
        Effect.sync(() =>
          Array.from(groups.get(group)?.values() ?? []).sort((a, b) => Partition.compare(a.partition, b.partition))
        )
      ),
    get: (group, partition) =>
      Effect.andThen(
        validLease("get", group, partition),
        Effect.sync(() => Option.fromUndefinedOr(groups.get(group)?.get(Partition.key(partition))))
      ),
    ensure: (group, partition) =>
      Effect.andThen(
        validLease("ensure", group, partition),
        Effect.sync(() => {
          const leases = leasesOf(group)
          const key = Partition.key(partition)
          const existing = leases.get(key)
          if (existing !== undefined) return existing
          const created: Lease.Lease = {
            group,
            partition: Partition.make(partition.tenant, partition.category, partition.shard),
            epoch: 0,
            checkpoint: 0,
            attempts: 0,
            etag: fresh()
          }
          leases.set(key, created)
          return created
        })
      ),
    acquire: (lease, owner) =>
      Effect.gen(function* () {
        yield* validLease("acquire", lease.group, lease.partition)
        yield* Lease.validateOwner("acquire", owner)
        return yield* fenced(lease, owner, (stored) => ({ ...stored, owner, epoch: stored.epoch + 1, etag: fresh() }))
      }),
    renew: (lease) =>
      Effect.gen(function* () {
        yield* validLease("renew", lease.group, lease.partition)
        const owner = yield* Lease.requireOwner("renew", lease)
        return yield* fenced(lease, owner, (stored) => ({ ...stored, etag: fresh() }))
      }),
    checkpoint: (lease, position, attempts) =>
      Effect.gen(function* () {
        yield* validLease("checkpoint", lease.group, lease.partition)
        const owner = yield* Lease.requireOwner("checkpoint", lease)
        yield* Lease.validateCount("checkpoint", "position", position)
        yield* Lease.validateCount("checkpoint", "attempts", attempts)
        yield* Lease.validateBackwards("checkpoint", lease, position)
        return yield* fenced(lease, owner, (stored) => ({
          ...stored,
          checkpoint: position,
          attempts: position > stored.checkpoint ? 0 : attempts,
          etag: fresh()
        }))
      }),
    release: (lease) =>
      Effect.gen(function* () {
        yield* validLease("release", lease.group, lease.partition)
        const owner = yield* Lease.requireOwner("release", lease)
        yield* fenced(lease, owner, ({ owner: _, ...stored }) => ({ ...stored, etag: fresh() }))
      })
  })
})

/**
 * A Layer with a fresh, empty in-memory lease store.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<LeaseStore> = Layer.effect(LeaseStore, make)
