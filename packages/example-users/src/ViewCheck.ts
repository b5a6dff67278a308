/**
 * Checks the `users` view against the event store: recomputes every user's
 * document from the stored events (a fold with the decider's own `evolve`,
 * independent of the projection's code) and compares it with what the view
 * holds. The demo prints the result; the tests assert on it.
 *
 * @since 0.1.0
 */
import {
  Consumer,
  DocumentProjection,
  EventFeed,
  LeaseStore,
  type Partition,
  type ReadError,
  type ReadModelStore,
  StreamId
} from "@eventable/core"
import { Effect, Option, Stream } from "effect"
import { type User, users } from "./User.ts"
import { userCategory, userCodec } from "./UserCommands.ts"
import type { UserDocument } from "./UserDocument.ts"
import { userView } from "./UserView.ts"

const pageSize = 1000

/**
 * Every stored event of one partition, in position order.
 *
 * @since 0.1.0
 */
export const readAll = (partition: Partition.Partition) =>
  Effect.gen(function* () {
    const feed = yield* EventFeed
    return yield* Stream.paginate(0, (after: number) =>
      Effect.map(feed.read(partition, after, pageSize), (events) => {
        const last = events.at(-1)
        const next: Option.Option<number> =
          events.length === pageSize && last !== undefined ? Option.some(last.position) : Option.none()
        return [events, next] as const
      })
    ).pipe(Stream.runCollect)
  })

/**
 * The `users` documents the stored events imply, one per registered user,
 * sorted by tenant then id. Fails with `CorruptEvent` if an event does not
 * decode.
 *
 * @since 0.1.0
 */
export const expectedViews: Effect.Effect<ReadonlyArray<UserDocument>, ReadError, EventFeed> = Effect.gen(function* () {
  const feed = yield* EventFeed
  const folded = new Map<string, { tenant: string; id: string; state: User; version: number }>()
  for (const partition of yield* feed.partitions({ category: userCategory })) {
    for (const stored of yield* readAll(partition)) {
      const recorded = yield* userCodec.decodeKnown(stored)
      const key = StreamId.format(stored.streamId)
      const current = folded.get(key) ?? {
        tenant: stored.streamId.tenant,
        id: stored.streamId.id,
        state: users.initialState,
        version: 0
      }
      folded.set(key, {
        ...current,
        state: Option.isSome(recorded) ? users.evolve(current.state, recorded.value.event) : current.state,
        version: stored.version
      })
    }
  }
  const documents: Array<UserDocument> = []
  for (const { id, state, tenant, version } of folded.values()) {
    if (state._tag === "Registered") {
      documents.push({ id, tenant, name: state.name, email: state.email, blocked: state.blocked, version })
    }
  }
  return documents.sort(byKey)
})

const byKey = (a: UserDocument, b: UserDocument) =>
  a.tenant === b.tenant ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.tenant < b.tenant ? -1 : 1

/**
 * What the view holds for these tenants, sorted by tenant then id.
 *
 * @since 0.1.0
 */
export const actualViews = (tenants: Iterable<string>) =>
  Effect.gen(function* () {
    const documents: Array<UserDocument> = []
    for (const tenant of new Set(tenants)) {
      const page = yield* Stream.runCollect(DocumentProjection.query(userView, tenant))
      for (const projected of page) if (Option.isSome(projected.document)) documents.push(projected.document.value)
    }
    return documents.sort(byKey)
  })

/**
 * The outcome of a check: documents that match, and every difference.
 *
 * @since 0.1.0
 */
export interface CheckResult {
  readonly expected: number
  readonly matching: number
  readonly differences: ReadonlyArray<string>
}

/**
 * Compares the view with the fold of the events (see {@link expectedViews}).
 *
 * @since 0.1.0
 */
export const check: Effect.Effect<
  CheckResult,
  ReadError | ReadModelStore.ReadModelError | DocumentProjection.CorruptDocument,
  EventFeed | ReadModelStore.ReadModelStore
> = Effect.gen(function* () {
  const expected = yield* expectedViews
  const actual = yield* actualViews(expected.map((user) => user.tenant))
  const actualByKey = new Map(actual.map((user) => [`${user.tenant}/${user.id}`, user]))
  const differences: Array<string> = []
  let matching = 0
  for (const user of expected) {
    const key = `${user.tenant}/${user.id}`
    const found = actualByKey.get(key)
    actualByKey.delete(key)
    if (found === undefined) differences.push(`${key}: missing from the view`)
    else if (JSON.stringify(found) !== JSON.stringify(user)) {
      differences.push(`${key}: view ${JSON.stringify(found)}, events ${JSON.stringify(user)}`)
    } else matching++
  }
  for (const key of actualByKey.keys()) differences.push(`${key}: in the view, not in the events`)
  return { expected: expected.length, matching, differences }
})

/**
 * Completes once the group's checkpoint of every `user` partition has
 * reached the partition's head as it is now: everything written before this
 * call is in the view.
 *
 * @since 0.1.0
 */
export const awaitCaughtUp = (group: string) =>
  Effect.gen(function* () {
    const feed = yield* EventFeed
    const partitions = yield* feed.partitions({ category: userCategory })
    yield* Effect.forEach(
      partitions,
      (partition) => Effect.flatMap(feed.head(partition), (head) => Consumer.awaitCheckpoint(group, partition, head)),
      { concurrency: "unbounded", discard: true }
    )
  })

/**
 * The lag of the group now: events in the `user` partitions not yet checkpointed, summed.
 *
 * @since 0.1.0
 */
export const lag = (group: string) =>
  Effect.gen(function* () {
    const feed = yield* EventFeed
    const partitions = yield* feed.partitions({ category: userCategory })
    const leases = yield* LeaseStore
    let total = 0
    for (const partition of partitions) {
      const head = yield* feed.head(partition)
      const lease = yield* leases.get(group, partition)
      total += head - (Option.isSome(lease) ? lease.value.checkpoint : 0)
    }
    return total
  })
