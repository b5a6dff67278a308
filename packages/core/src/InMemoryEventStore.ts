/**
 * An in-memory `EventStore` and `EventFeed` with the same semantics as the
 * real backends: atomic appends checked against the expected version, per
 * stream contiguous versions, per partition contiguous positions in commit
 * order, sharded categories and the same limits. Use it in your own tests and
 * examples; state lives as long as the Layer.
 *
 * By default the limits are close to `@eventable/table-storage`'s (49 events
 * per append, 1 MiB per event, 4 MiB per append) but measured in UTF-16 bytes,
 * while Table Storage measures the UTF-8 request it sends (each event twice):
 * an append near the size limits, especially of non-ASCII text, can pass here
 * and be refused with `AppendTooLarge` there. Test large appends on Azurite.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InMemoryEventStore } from "@eventable/core"
 *
 * const TestStore = InMemoryEventStore.layer({ shards: { user: 4 } })
 * ```
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Stream } from "effect"
import * as AppendRequest from "./AppendRequest.ts"
import * as Arguments from "./Arguments.ts"
import * as EventData from "./EventData.ts"
import { EventFeed, type PartitionFilter } from "./EventFeed.ts"
import { type AppendResult, EventStore, type StoreLimits } from "./EventStore.ts"
import { ConcurrencyConflict, type InvalidAppend } from "./EventStoreError.ts"
import * as ExpectedVersion from "./ExpectedVersion.ts"
import * as Partition from "./Partition.ts"
import type { Snapshot } from "./Snapshot.ts"
import type { StoredEvent } from "./StoredEvent.ts"
import type { StreamId } from "./StreamId.ts"

/**
 * Options of the in-memory store.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Shard counts per category (default 1). Fixed for a tenant's category once it has events. */
  readonly shards?: { readonly [category: string]: number }
  /** Overrides of {@link defaultLimits}. */
  readonly limits?: Partial<StoreLimits>
}

/**
 * The default limits, the same as Azure Table Storage's.
 *
 * @since 0.1.0
 */
export const defaultLimits: StoreLimits = {
  maxEventsPerAppend: 49,
  maxEventSize: 1_048_576,
  maxAppendSize: 4_194_304,
  sizeUnit: "bytes (UTF-16)"
}

interface PartitionLog {
  readonly partition: Partition.Partition
  readonly events: Array<StoredEvent>
}

/**
 * The stored events an append would have written, when it already did: same event ids at the
 * versions it expected to write (a retry after a lost answer, or of the same request).
 */
const alreadyAppended = (
  stream: ReadonlyArray<StoredEvent>,
  expected: ExpectedVersion.ExpectedVersion,
  events: ReadonlyArray<EventData.EventData>
): ReadonlyArray<StoredEvent> | undefined => {
  const base = expected._tag === "Exact" ? expected.version : expected._tag === "NoStream" ? 0 : undefined
  if (base === undefined || events.length === 0 || stream.length < base + events.length) return undefined
  const candidates = stream.slice(base, base + events.length)
  return candidates.every((stored, index) => stored.metadata.eventId === events[index]!.metadata.eventId)
    ? candidates
    : undefined
}

const streamKey = (streamId: StreamId): string => `${streamId.tenant}\u0000${streamId.category}\u0000${streamId.id}`
const categoryKey = (tenant: string, category: string): string => `${tenant}\u0000${category}`

/**
 * Builds the two services over one shared in-memory state.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<{
  readonly store: EventStore["Service"]
  readonly feed: EventFeed["Service"]
}> =>
  Effect.suspend(() => {
    for (const [category, shards] of Object.entries(options.shards ?? {})) {
      if (!Number.isInteger(shards) || shards < 1 || shards > Partition.maxShards) {
        return Effect.die(
          new RangeError(
            `shards for category ${category} must be an integer in 1..${Partition.maxShards}, got ${shards}`
          )
        )
      }
    }
    const limits: StoreLimits = { ...defaultLimits, ...options.limits }
    const streams = new Map<string, Array<StoredEvent>>()
    const snapshots = new Map<string, Snapshot>()
    const logs = new Map<string, PartitionLog>()
    const registry = new Map<string, { readonly tenant: string; readonly category: string; readonly shards: number }>()

    const shardsOf = (tenant: string, category: string): number =>
      registry.get(categoryKey(tenant, category))?.shards ?? options.shards?.[category] ?? 1

    const partitionOf = (streamId: StreamId): Partition.Partition =>
      Partition.make(
        streamId.tenant,
        streamId.category,
        Partition.shardOf(streamId.id, shardsOf(streamId.tenant, streamId.category))
      )

    // A snapshot costs its data in UTF-16 bytes and one event's room, as a small one does on Table Storage.
    const measure: AppendRequest.Measure = {
      event: EventData.utf16Bytes,
      snapshot: (snapshot) => ({ size: snapshot.data.length * 2, room: 1 })
    }

    const append: EventStore["Service"]["append"] = (streamId, events, expected, appendOptions = {}) =>
      AppendRequest.validate(streamId, events, expected, limits, measure, appendOptions.snapshot).pipe(
        Effect.flatMap(() =>
          Effect.suspend((): Effect.Effect<AppendResult, ConcurrencyConflict | InvalidAppend> => {
            // Runs without yielding: the check and the write are one atomic step.
            const stream = streams.get(streamKey(streamId)) ?? []
            const actual = stream.length
            const partition = partitionOf(streamId)
            if (!ExpectedVersion.matches(expected, actual)) {
              const retried = alreadyAppended(stream, expected, events)
              return retried === undefined
                ? Effect.fail(new ConcurrencyConflict({ streamId, expected, actual }))
                : Effect.succeed({
                    version: retried[retried.length - 1]!.version,
                    partition,
                    positions: retried.map((e) => e.position)
                  })
            }
            if (events.length === 0) return Effect.succeed({ version: actual, partition, positions: [] })
            const snapshot = appendOptions.snapshot
            const wrongVersion = AppendRequest.snapshotVersionProblem(streamId, snapshot, actual + events.length)
            if (wrongVersion !== undefined) return Effect.fail(wrongVersion)
            if (snapshot !== undefined)
              snapshots.set(streamKey(streamId), { version: snapshot.version, data: snapshot.data })
            const cKey = categoryKey(streamId.tenant, streamId.category)
            if (!registry.has(cKey)) {
              registry.set(cKey, {
                tenant: streamId.tenant,
                category: streamId.category,
                shards: shardsOf(streamId.tenant, streamId.category)
              })
            }
            const pKey = Partition.key(partition)
            const log = logs.get(pKey) ?? { partition, events: [] }
            const positions: Array<number> = []
            events.forEach((event, index) => {
              const stored: StoredEvent = {
                type: event.type,
                data: event.data,
                metadata: event.metadata,
                streamId,
                version: actual + index + 1,
                partition,
                position: log.events.length + 1
              }
              stream.push(stored)
              log.events.push(stored)
              positions.push(stored.position)
            })
            streams.set(streamKey(streamId), stream)
            logs.set(pKey, log)
            return Effect.succeed({ version: stream.length, partition, positions })
          })
        )
      )

    const readSnapshot: EventStore["Service"]["readSnapshot"] = (streamId) =>
      Effect.sync(() => Option.fromNullishOr(snapshots.get(streamKey(streamId))))

    const readStream: EventStore["Service"]["readStream"] = (streamId, readOptions = {}) =>
      Stream.suspend(() => {
        // Only an omitted `from` means the start: null is refused like any other non-number.
        const invalid = Arguments.count("readStream", "from", readOptions.from === undefined ? 1 : readOptions.from)
        if (invalid !== undefined) return Stream.fail(invalid)
        const from = Math.max(1, readOptions.from ?? 1)
        return Stream.fromIterable((streams.get(streamKey(streamId)) ?? []).slice(from - 1))
      })

    const partitions = (filter: PartitionFilter = {}) =>
      Arguments.check(Arguments.partitionFilter("partitions", filter)).pipe(
        Effect.map(() => {
          const result: Array<Partition.Partition> = []
          for (const entry of registry.values()) {
            if (filter.tenant !== undefined && filter.tenant !== entry.tenant) continue
            if (filter.category !== undefined && filter.category !== entry.category) continue
            for (let shard = 0; shard < entry.shards; shard++) {
              result.push(Partition.make(entry.tenant, entry.category, shard))
            }
          }
          return result.sort((a, b) => Partition.key(a).localeCompare(Partition.key(b)))
        })
      )

    const read = (partition: Partition.Partition, after: number, limit: number) =>
      Arguments.check(
        Arguments.partition("read", partition),
        Arguments.count("read", "after", after),
        Arguments.count("read", "limit", limit)
      ).pipe(
        Effect.map(() => {
          const events = logs.get(Partition.key(partition))?.events ?? []
          return events.slice(after, after + limit)
        })
      )

    const head = (partition: Partition.Partition) =>
      Arguments.check(Arguments.partition("head", partition)).pipe(
        Effect.map(() => logs.get(Partition.key(partition))?.events.length ?? 0)
      )

    return Effect.succeed({
      store: EventStore.of({ append, readStream, readSnapshot, limits }),
      feed: EventFeed.of({ partitions, read, head })
    })
  })

/**
 * A Layer with an in-memory `EventStore` and its `EventFeed`, sharing one state.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<EventStore | EventFeed> =>
  Layer.effectContext(
    Effect.map(make(options), ({ feed, store }) => Context.make(EventStore, store).pipe(Context.add(EventFeed, feed)))
  )
