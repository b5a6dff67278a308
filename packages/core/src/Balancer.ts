/**
 * The pure balancing logic of a consumer group: which leases one instance
 * should try to take in one balance cycle. No I/O, no clock: the caller passes
 * the leases it just listed, what it observed of them before, and its own time.
 *
 * The rules, as in the Cosmos change-feed processor:
 * - the fair share is ceil(partitions / live instances), where the live
 *   instances are this one plus the distinct owners of leases that are not
 *   expired as observed;
 * - unowned leases are taken first, then expired ones, up to the fair share;
 * - when still below the fair share, at most one lease per cycle is stolen,
 *   from the owner holding the most, and only when that owner holds more than
 *   the fair share or at least two more than this instance (so two instances
 *   never steal back and forth).
 *
 * Expiry never compares clocks of different machines: a lease is expired for
 * this instance when it has seen the same ETag, unchanged, for the TTL on its
 * own clock. An owner renews well within the TTL, so a live owner's lease keeps
 * changing ETag and never looks expired.
 *
 * @since 0.1.0
 */
import type { Lease } from "./Lease.ts"
import * as Partition from "./Partition.ts"

/**
 * What one instance has seen of one lease: its ETag and when (on this
 * instance's clock, in epoch milliseconds) that ETag was first seen.
 *
 * @since 0.1.0
 */
export interface Sighting {
  readonly etag: string
  readonly since: number
}

/**
 * Sightings by partition key (see `Partition.key`).
 *
 * @since 0.1.0
 */
export type Sightings = ReadonlyMap<string, Sighting>

/**
 * Records a listing: a lease whose ETag is unchanged keeps its first sighting,
 * a changed or new one is seen from `now`. Leases no longer listed are
 * forgotten.
 *
 * @since 0.1.0
 */
export const observe = (previous: Sightings, leases: ReadonlyArray<Lease>, now: number): Sightings => {
  const next = new Map<string, Sighting>()
  for (const lease of leases) {
    const key = Partition.key(lease.partition)
    const seen = previous.get(key)
    next.set(key, seen !== undefined && seen.etag === lease.etag ? seen : { etag: lease.etag, since: now })
  }
  return next
}

/**
 * True when `lease` has shown the same ETag for at least `ttlMillis` on this
 * instance's clock.
 *
 * @since 0.1.0
 */
export const isExpired = (lease: Lease, sightings: Sightings, now: number, ttlMillis: number): boolean => {
  const seen = sightings.get(Partition.key(lease.partition))
  return seen !== undefined && seen.etag === lease.etag && now - seen.since >= ttlMillis
}

/**
 * The inputs of one balance cycle.
 *
 * @since 0.1.0
 */
export interface Input {
  /** This instance's owner id. */
  readonly self: string
  /** Every lease of the group, as just listed. */
  readonly leases: ReadonlyArray<Lease>
  /** Partition keys this instance is working on now. */
  readonly held: ReadonlySet<string>
  /** Sightings including the listing just made (see {@link observe}). */
  readonly sightings: Sightings
  /** This instance's clock, epoch milliseconds. */
  readonly now: number
  readonly ttlMillis: number
}

/**
 * What to do in this cycle.
 *
 * @since 0.1.0
 */
export interface Plan {
  /** ceil(partitions / live instances). */
  readonly fairShare: number
  /** This instance plus the distinct owners of unexpired leases. */
  readonly liveInstances: number
  /** Leases to acquire: unowned first, then expired; never more than the fair share allows. */
  readonly take: ReadonlyArray<Lease>
  /** At most one lease to steal from the most loaded owner. */
  readonly steal: Lease | undefined
}

/**
 * Plans one balance cycle for `input.self`.
 *
 * @example
 * ```ts
 * import { Balancer } from "@eventable/core"
 *
 * const plan = Balancer.plan({ self: "a", leases, held: new Set(), sightings, now: Date.now(), ttlMillis: 30_000 })
 * // plan.take: acquire these; plan.steal: and this one, if any
 * ```
 *
 * @since 0.1.0
 */
export const plan = (input: Input): Plan => {
  const { held, leases, now, self, sightings, ttlMillis } = input
  const counts = new Map<string, Array<Lease>>()
  const unowned: Array<Lease> = []
  const expired: Array<Lease> = []
  for (const lease of leases) {
    const key = Partition.key(lease.partition)
    if (held.has(key)) continue
    if (lease.owner === undefined || lease.owner === self) {
      // Released, never owned, or ours from a previous life of this instance.
      unowned.push(lease)
    } else if (isExpired(lease, sightings, now, ttlMillis)) {
      expired.push(lease)
    } else {
      const owned = counts.get(lease.owner) ?? []
      owned.push(lease)
      counts.set(lease.owner, owned)
    }
  }
  const liveInstances = counts.size + 1
  const fairShare = leases.length === 0 ? 0 : Math.ceil(leases.length / liveInstances)
  const room = Math.max(0, fairShare - held.size)
  const take = [...unowned, ...expired].slice(0, room)
  let steal: Lease | undefined
  const mine = held.size + take.length
  if (mine < fairShare) {
    let victim: Array<Lease> | undefined
    for (const owned of counts.values()) {
      if (victim === undefined || owned.length > victim.length) victim = owned
    }
    if (victim !== undefined && (victim.length > fairShare || victim.length >= mine + 2)) {
      steal = victim[0]
    }
  }
  return { fairShare, liveInstances, take, steal }
}
