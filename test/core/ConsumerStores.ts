// Minimal in-memory lease and dead-letter stores for the consumer tests, until
// the core ones land. Same fencing rules as the port: every write compares the
// ETag it was given with the stored one.
import {
  type DeadLetter,
  DeadLetterStore,
  InvalidArgument,
  LeaseLost,
  type Lease as LeaseNs,
  LeaseStore,
  Partition
} from "@eventable/core"
import { Effect, Layer, Option } from "effect"

type Lease = LeaseNs.Lease

export interface TestLeaseStore {
  readonly service: LeaseStore["Service"]
  /** Every write that reached the store, for assertions. */
  readonly writes: Array<{ readonly op: string; readonly owner: string | undefined; readonly checkpoint: number }>
  readonly leases: Map<string, Lease>
}

export const makeLeaseStore = (): TestLeaseStore => {
  const leases = new Map<string, Lease>()
  const writes: TestLeaseStore["writes"] = []
  let etags = 0
  const id = (group: string, partition: Partition.Partition) => `${group}\u0001${Partition.key(partition)}`
  const fenced = <A>(
    lease: Lease,
    op: string,
    f: (stored: Lease) => Lease,
    after: (l: Lease) => A
  ): Effect.Effect<A, LeaseLost> =>
    Effect.suspend(() => {
      const stored = leases.get(id(lease.group, lease.partition))
      if (stored === undefined || stored.etag !== lease.etag) {
        return Effect.fail(
          new LeaseLost({
            group: lease.group,
            partition: lease.partition,
            owner: lease.owner ?? "",
            reason: `${op}: the lease moved on`
          })
        )
      }
      const next = { ...f(stored), etag: `e${++etags}` }
      leases.set(id(lease.group, lease.partition), next)
      writes.push({ op, owner: next.owner, checkpoint: next.checkpoint })
      return Effect.succeed(after(next))
    })
  const service = LeaseStore.of({
    list: (group) => Effect.sync(() => [...leases.values()].filter((l) => l.group === group)),
    get: (group, partition) => Effect.sync(() => Option.fromNullishOr(leases.get(id(group, partition)))),
    ensure: (group, partition) =>
      Effect.sync(() => {
        const existing = leases.get(id(group, partition))
        if (existing !== undefined) return existing
        const created: Lease = { group, partition, epoch: 0, checkpoint: 0, attempts: 0, etag: `e${++etags}` }
        leases.set(id(group, partition), created)
        return created
      }),
    acquire: (lease, owner) =>
      fenced(
        lease,
        "acquire",
        (s) => ({ ...s, owner, epoch: s.epoch + 1 }),
        (l) => l
      ),
    renew: (lease) =>
      fenced(
        lease,
        "renew",
        (s) => s,
        (l) => l
      ),
    checkpoint: (lease, position, attempts) =>
      !Number.isSafeInteger(position) || position < lease.checkpoint
        ? Effect.fail(
            new InvalidArgument({
              operation: "checkpoint",
              argument: "position",
              value: String(position),
              reason: "below the checkpoint"
            })
          )
        : fenced(
            lease,
            "checkpoint",
            (s) => ({ ...s, checkpoint: position, attempts: position > s.checkpoint ? 0 : attempts }),
            (l) => l
          ),
    release: (lease) =>
      fenced(
        lease,
        "release",
        (s) => {
          const { owner: _, ...rest } = s
          return rest
        },
        () => undefined
      )
  })
  return { service, writes, leases }
}

export const makeDeadLetterStore = () => {
  const letters = new Map<string, DeadLetter>()
  const key = (group: string, partition: Partition.Partition, position: number) =>
    `${group}\u0001${Partition.key(partition)}\u0001${String(position).padStart(16, "0")}`
  const service = DeadLetterStore.of({
    park: (letter) =>
      Effect.sync(() => {
        letters.set(key(letter.group, letter.event.partition, letter.event.position), letter)
      }),
    list: (group, filter = {}) =>
      Effect.sync(() =>
        [...letters.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([, l]) => l)
          .filter(
            (l) =>
              l.group === group &&
              (filter.partition === undefined || Partition.key(filter.partition) === Partition.key(l.event.partition))
          )
      ),
    remove: (group, partition, position) =>
      Effect.sync(() => {
        letters.delete(key(group, partition, position))
      })
  })
  return { service, letters }
}

export const storesLayer = (lease: TestLeaseStore, deadLetters = makeDeadLetterStore()) =>
  Layer.mergeAll(Layer.succeed(LeaseStore, lease.service), Layer.succeed(DeadLetterStore, deadLetters.service))
