// Shared set-up of the consumer tests: an in-memory feed, the test lease and
// dead-letter stores, and helpers to append and to record deliveries.
import {
  type Consumer,
  DeadLetterStore,
  EventFeed,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  InMemoryDeadLetterStore,
  InMemoryEventStore,
  InMemoryLeaseStore,
  LeaseStore,
  Partition,
  StoreFailure,
  StreamId
} from "@eventable/core"
import { Context, Effect, Layer } from "effect"

export const category = "order"
export const tenant = "acme"

/** Short lease timings so takeovers happen within a test. */
export const fast = {
  leaseTtl: "600 millis",
  renewInterval: "100 millis",
  safetyMargin: "150 millis",
  balanceInterval: "40 millis",
  minIdlePoll: "5 millis",
  maxIdlePoll: "20 millis"
} as const

export interface World {
  readonly leases: LeaseStore["Service"]
  readonly deadLetters: DeadLetterStore["Service"]
  readonly layer: Layer.Layer<EventStore | EventFeed | LeaseStore | DeadLetterStore>
}

/** A fresh world; `shards` partitions for the category, `feed` optionally wraps the in-memory feed. */
export const makeWorld = (
  shards = 1,
  feed: (inner: EventFeed["Service"]) => EventFeed["Service"] = (inner) => inner
): Effect.Effect<World> =>
  Effect.gen(function* () {
    const { feed: inner, store } = yield* InMemoryEventStore.make({ shards: { [category]: shards } })
    const leases = yield* InMemoryLeaseStore.make
    const deadLetters = yield* InMemoryDeadLetterStore.make
    const layer = Layer.succeedContext(
      Context.make(EventStore, store).pipe(
        Context.add(EventFeed, feed(inner)),
        Context.add(LeaseStore, leases),
        Context.add(DeadLetterStore, deadLetters)
      )
    )
    return { leases, deadLetters, layer }
  })

/** Appends `count` events to stream `id` (of `tenantName`), one append each; returns the last position. */
export const append = (id: string, count: number, tenantName = tenant) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const streamId = yield* Effect.orDie(StreamId.make({ tenant: tenantName, category, id }))
    let position = 0
    for (let i = 0; i < count; i++) {
      const metadata = yield* EventMetadata.make()
      const result = yield* Effect.orDie(
        store.append(streamId, [{ type: "Placed", data: JSON.stringify({ n: i }), metadata }], ExpectedVersion.any)
      )
      position = result.positions[0] ?? position
    }
    return position
  })

export const partition0 = Partition.make(tenant, category, 0)

/** Records every event a handler saw, by position, with the batch it came in. */
export const recorder = () => {
  const seen: Array<{ readonly position: number; readonly stream: string; readonly version: number }> = []
  const batches: Array<Consumer.Batch> = []
  const handler = (batch: Consumer.Batch) =>
    Effect.sync(() => {
      batches.push(batch)
      for (const e of batch.events) seen.push({ position: e.position, stream: e.streamId.id, version: e.version })
    })
  return { seen, batches, handler }
}

/** A feed whose `read` misbehaves as `fault` says for the given call, or behaves. */
export const faultyFeed =
  (
    fault: (
      call: number,
      partition: Partition.Partition,
      after: number,
      limit: number,
      inner: EventFeed["Service"]
    ) => ReturnType<EventFeed["Service"]["read"]> | undefined
  ) =>
  (inner: EventFeed["Service"]): EventFeed["Service"] => {
    let calls = 0
    return EventFeed.of({
      ...inner,
      read: (partition, after, limit) =>
        Effect.suspend(() => fault(++calls, partition, after, limit, inner) ?? inner.read(partition, after, limit))
    })
  }

/**
 * A lease store that stands in for a process crash: after `crash()` no lease write of this
 * instance lands any more (each fails with StoreFailure), so closing its scope writes nothing,
 * as if the process had died; `revive()` before the next instance starts.
 */
export const crashable = (leases: LeaseStore["Service"]) => {
  let dead = false
  const gone = (operation: string) => Effect.fail(new StoreFailure({ operation, reason: "the process crashed" }))
  const store = LeaseStore.of({
    ...leases,
    acquire: (lease, owner) => (dead ? gone("acquire") : leases.acquire(lease, owner)),
    renew: (lease) => (dead ? gone("renew") : leases.renew(lease)),
    checkpoint: (lease, position, attempts) =>
      dead ? gone("checkpoint") : leases.checkpoint(lease, position, attempts),
    release: (lease) => (dead ? gone("release") : leases.release(lease))
  })
  return {
    store,
    crash: () => {
      dead = true
    },
    revive: () => {
      dead = false
    }
  }
}
