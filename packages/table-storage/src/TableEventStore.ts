/**
 * The event store on Azure Table Storage: `EventStore` and `EventFeed` as one
 * Layer. See docs/storage-layout.md for the rows and keys.
 *
 * - **Atomic appends.** One append is one entity-group transaction: its event
 *   rows, its feed rows, its stream header and the partition head, all or
 *   nothing. At most 49 events per append ((100 − header − head) / 2).
 * - **Concurrency by ETag.** The stream header is inserted (new stream) or
 *   updated with If-Match on the ETag read with it; a rival commit makes the
 *   transaction fail. Never a read-compare-write race.
 * - **Gap-free feeds.** Positions are assigned from the partition head, which
 *   the same transaction updates with If-Match: positions commit with their
 *   events, in commit order.
 * - **Group commit.** Concurrent appends to one partition share one
 *   transaction (see `PartitionWriter`); switch it off with `groupCommit: false`.
 * - **Snapshots.** A snapshot goes in the same transaction as its append (rows
 *   `s|id|-snap|NN` of the stream's partition, right before its header), so it
 *   is never ahead of the events; a damaged one reads as none.
 * - **Lost answers.** A transaction whose answer is lost (timeout, reset) is
 *   read back by its event ids before anything is retried, so an append is
 *   never applied twice and never reported as a conflict with itself.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { CommandHandler } from "@eventable/core"
 * import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
 *
 * const Store = TableEventStore.layer({
 *   connection: TableStorageConfig.connectionString(Redacted.make(process.env.STORAGE ?? "")),
 *   table: "events",
 *   shards: { user: 4 }
 * })
 * ```
 *
 * @since 0.1.0
 */
import { odata } from "@azure/data-tables"
import {
  AppendRequest,
  type AppendResult,
  Arguments,
  ConcurrencyConflict,
  CorruptEvent,
  CorruptPartition,
  type DeadLetterStore,
  type EventData,
  EventFeed,
  EventStore,
  ExpectedVersion,
  InvalidAppend,
  type LeaseStore,
  Partition,
  type Snapshot,
  type StoredEvent,
  StoreFailure,
  type StoreLimits,
  StoreUnavailable,
  StreamId
} from "@eventable/core"
import { Context, Data, Effect, Layer, Metric, Option, Result, Schedule, type Scope, Stream } from "effect"
import * as CategoryRegistry from "./CategoryRegistry.ts"
import * as EventRows from "./EventRows.ts"
import * as HeaderCache from "./HeaderCache.ts"
import * as PartitionWriter from "./PartitionWriter.ts"
import * as SnapshotRows from "./SnapshotRows.ts"
import * as StreamLocks from "./StreamLocks.ts"
import * as TableDeadLetterStore from "./TableDeadLetterStore.ts"
import * as TableKeys from "./TableKeys.ts"
import * as TableLeaseStore from "./TableLeaseStore.ts"
import { type Entity, TableStorageClient } from "./TableStorageClient.ts"
import * as TableStorageConfig from "./TableStorageConfig.ts"

/**
 * What one append can hold on Table Storage.
 *
 * @since 0.1.0
 */
export const limits: StoreLimits = {
  maxEventsPerAppend: (EventRows.maxTransactionOperations - 2) / 2,
  maxEventSize: EventRows.maxEntityBytes,
  maxAppendSize: EventRows.maxTransactionBytes - 32_768,
  sizeUnit: "bytes"
}

const appends = Metric.counter("eventable_table_appends_total", { description: "Appends committed to Table Storage" })
const conflicts = Metric.counter("eventable_table_conflicts_total", {
  description: "Appends that failed with a ConcurrencyConflict"
})
const eventsRead = Metric.counter("eventable_table_events_read_total", {
  description: "Events read from Table Storage (streams and feeds)"
})

const damagedSnapshots = Metric.counter("eventable_table_snapshots_damaged_total", {
  description: "Snapshots whose rows could not be read back and were ignored"
})

/**
 * How an append that may write at any version (`any`, `streamExists`) waits
 * while other writers keep moving its stream's header: jittered exponential
 * backoff capped at 100 ms, for at most 60 s, like head contention. Bounded by
 * time, not by a count of immediate re-reads, so a busy stream slows such
 * appends down but never fails them with a conflict they did not ask for.
 */
const headerContention = Schedule.min([Schedule.exponential("2 millis", 2), Schedule.spaced("100 millis")]).pipe(
  Schedule.jittered,
  Schedule.upTo({ duration: "60 seconds" })
)

/** A header moved under an append that will try again (internal: never leaves this module). */
class HeaderMoved extends Data.TaggedError("HeaderMoved")<{ readonly actual: number }> {}

interface HeaderState {
  readonly version: number
  readonly etag: string | undefined
}

/**
 * Builds both services over a client. Background writers live in the current scope.
 *
 * @since 0.1.0
 */
export const make = (
  options: TableStorageConfig.ResolvedOptions
): Effect.Effect<
  { readonly store: EventStore["Service"]; readonly feed: EventFeed["Service"] },
  never,
  TableStorageClient | Scope.Scope
> =>
  Effect.gen(function* () {
    const client = yield* TableStorageClient
    const scope = yield* Effect.scope
    const registry = CategoryRegistry.make(client, options.shards)
    const headers = HeaderCache.make(options.headerCacheSize)
    const writer = PartitionWriter.make(client, options)
    const writers = new Map<string, (append: PartitionWriter.PendingAppend) => Effect.Effect<PartitionWriter.Outcome>>()
    const lockStream = StreamLocks.make()

    const groupWriters: Array<{ readonly shutdown: Effect.Effect<void> }> = []
    const groupWriter = (partitionKey: string) => {
      const group = writer.groupWriter(partitionKey, scope)
      groupWriters.push(group)
      return group.submit
    }
    const writerFor = (partitionKey: string) => {
      const existing = writers.get(partitionKey)
      if (existing !== undefined) return existing
      const created = options.groupCommit ? groupWriter(partitionKey) : writer.soloWriter(partitionKey)
      writers.set(partitionKey, created)
      return created
    }
    // When the store closes, appends still waiting for a group commit fail instead of hanging.
    yield* Effect.addFinalizer(() => Effect.forEach(groupWriters, (group) => group.shutdown, { discard: true }))

    /** A header whose version is unreadable, met while reading the stream. */
    const corruptHeader = (streamId: StreamId.StreamId, error: StoreFailure) =>
      new CorruptEvent({ stream: StreamId.format(streamId), version: 0, type: "(header)", reason: error.reason })

    /** The header cache's key of a stream: its partition and header row. */
    const headerKey = (partitionKey: string, headerRow: string) => `${partitionKey}\u0000${headerRow}`

    const readHeader = (partitionKey: string, { headerRow, streamId }: EventRows.StreamShape) =>
      client.get(partitionKey, headerRow).pipe(
        Effect.mapError((error) => error.toStoreError()),
        Effect.flatMap((entity): Effect.Effect<HeaderState, StoreFailure> => {
          if (Option.isNone(entity)) return Effect.succeed({ version: 0, etag: undefined })
          const version = EventRows.count(entity.value, "version")
          if (version === undefined) {
            return Effect.fail(
              new StoreFailure({
                operation: "append",
                reason: `the header of stream ${StreamId.format(streamId)} has no valid version`
              })
            )
          }
          headers.set(headerKey(partitionKey, headerRow), { version, etag: entity.value.etag })
          return Effect.succeed({ version, etag: entity.value.etag })
        })
      )

    /** The header to write against: from the cache when it can match `expected`, else read. */
    const headerFor = (
      partitionKey: string,
      shape: EventRows.StreamShape,
      expected: ExpectedVersion.ExpectedVersion
    ) => {
      if (expected._tag === "NoStream" || (expected._tag === "Exact" && expected.version === 0)) {
        return Effect.succeed<HeaderState>({ version: 0, etag: undefined })
      }
      const cached = headers.get(headerKey(partitionKey, shape.headerRow))
      if (cached !== undefined && (expected._tag !== "Exact" || cached.version === expected.version)) {
        return Effect.succeed<HeaderState>(cached)
      }
      return readHeader(partitionKey, shape)
    }

    /** Whether the events at `base + 1…` are these very events: a commit whose answer was lost. */
    const alreadyCommitted = (
      partitionKey: string,
      streamId: StreamId.StreamId,
      base: number,
      events: ReadonlyArray<EventData.EventData>
    ) =>
      PartitionWriter.readBack(
        client,
        partitionKey,
        streamId,
        base,
        events.map((event) => event.metadata.eventId)
      ).pipe(Effect.mapError((error) => error.toStoreError()))

    // Spans without stack capture on the hot paths: a stack per call costs more than a local round trip's 5%.
    const append: EventStore["Service"]["append"] = (streamId, events, expected, appendOptions = {}) =>
      appendTraced(streamId, events, expected, appendOptions.snapshot).pipe(
        // A header read or a read-back that gives up is still a failed append, to the caller.
        Effect.mapError((error) =>
          error._tag === "StoreUnavailable" && error.operation !== "append"
            ? new StoreUnavailable({ ...error, operation: "append", reason: `${error.operation}: ${error.reason}` })
            : error
        ),
        Effect.withSpan(
          "TableEventStore.append",
          { attributes: { "eventable.stream": StreamId.format(streamId), "eventable.events": events.length } },
          { captureStackTrace: false }
        )
      )

    const appendTraced = (
      streamId: StreamId.StreamId,
      events: ReadonlyArray<EventData.EventData>,
      expected: ExpectedVersion.ExpectedVersion,
      snapshot: Snapshot | undefined
    ) =>
      Effect.gen(function* () {
        const shape = EventRows.shape(streamId)
        const prepared: Array<EventRows.PreparedEvent> = []
        let preparedSnapshot: SnapshotRows.PreparedSnapshot | undefined
        yield* AppendRequest.validate(
          streamId,
          events,
          expected,
          limits,
          {
            event: (event) => {
              const ready = EventRows.prepare(shape, event)
              prepared.push(ready)
              return ready.entityBytes
            },
            append: () =>
              prepared.reduce(
                (bytes, event) => bytes + event.requestBytes,
                shape.headerRequestBytes + shape.headRequestBytes
              ),
            snapshot: (snapshot) => {
              preparedSnapshot = SnapshotRows.prepare(shape, snapshot)
              return { size: preparedSnapshot.requestBytes, room: SnapshotRows.room(preparedSnapshot.operations) }
            }
          },
          snapshot
        )

        const shards =
          events.length === 0
            ? Option.getOrElse(
                yield* registry.lookup(streamId.tenant, streamId.category),
                () => options.shards.get(streamId.category) ?? 1
              )
            : yield* registry.register(streamId.tenant, streamId.category)
        const partition = Partition.make(streamId.tenant, streamId.category, Partition.shardOf(streamId.id, shards))
        const partitionKey = TableKeys.partitionKey(partition.tenant, partition.category, partition.shard)
        const cacheKey = headerKey(partitionKey, shape.headerRow)

        if (events.length === 0) {
          const header = yield* readHeader(partitionKey, shape)
          if (!ExpectedVersion.matches(expected, header.version)) {
            return yield* new ConcurrencyConflict({ streamId, expected, actual: header.version })
          }
          return { version: header.version, partition, positions: [] }
        }

        const submit = writerFor(partitionKey)
        return yield* lockStream(
          cacheKey,
          commitWithHeader(
            partitionKey,
            partition,
            cacheKey,
            submit,
            shape,
            events,
            expected,
            prepared,
            preparedSnapshot
          )
        )
      })

    const commitWithHeader = (
      partitionKey: string,
      partition: Partition.Partition,
      cacheKey: string,
      submit: (append: PartitionWriter.PendingAppend) => Effect.Effect<PartitionWriter.Outcome>,
      shape: EventRows.StreamShape,
      events: ReadonlyArray<EventData.EventData>,
      expected: ExpectedVersion.ExpectedVersion,
      prepared: ReadonlyArray<EventRows.PreparedEvent>,
      snapshot: SnapshotRows.PreparedSnapshot | undefined
    ) =>
      Effect.gen(function* () {
        const streamId = shape.streamId
        const flexible = expected._tag === "Any" || expected._tag === "StreamExists"
        const attempt = Effect.gen(function* () {
          const header = yield* headerFor(partitionKey, shape, expected)
          if (!ExpectedVersion.matches(expected, header.version)) {
            // A retry of an append that already committed finds its own events where it expected to write them.
            const pinned = expected._tag === "Exact" ? expected.version : expected._tag === "NoStream" ? 0 : undefined
            if (pinned !== undefined && header.version >= pinned + events.length) {
              const mine = yield* alreadyCommitted(partitionKey, streamId, pinned, events)
              if (Option.isSome(mine)) {
                return { version: pinned + events.length, partition, positions: mine.value } satisfies AppendResult
              }
            }
            yield* Metric.update(conflicts, 1)
            return yield* new ConcurrencyConflict({ streamId, expected, actual: header.version })
          }
          const base = header.version
          if (base + events.length > TableKeys.maxVersion) {
            return yield* new InvalidAppend({
              streamId,
              reason: `the stream would pass version ${TableKeys.maxVersion}`
            })
          }
          const wrongSnapshot = AppendRequest.snapshotVersionProblem(streamId, snapshot, base + events.length)
          if (wrongSnapshot !== undefined) return yield* Effect.fail(wrongSnapshot)
          const pending = yield* PartitionWriter.pending(shape, header.etag, base, prepared, snapshot)
          const outcome = yield* submit(pending)
          switch (outcome._tag) {
            case "Committed": {
              if (outcome.headerEtag === undefined) headers.delete(cacheKey)
              else headers.set(cacheKey, { version: pending.version, etag: outcome.headerEtag })
              yield* Metric.update(appends, 1)
              return { version: pending.version, partition, positions: outcome.positions } satisfies AppendResult
            }
            case "Failed":
              return yield* Effect.fail(outcome.error)
            case "HeaderConflict": {
              headers.delete(cacheKey)
              const fresh = yield* readHeader(partitionKey, shape)
              if (fresh.version >= base + events.length) {
                const mine = yield* alreadyCommitted(partitionKey, streamId, base, events)
                if (Option.isSome(mine)) {
                  yield* Metric.update(appends, 1)
                  return { version: base + events.length, partition, positions: mine.value } satisfies AppendResult
                }
              }
              if (outcome.row === "event" && fresh.version === base && fresh.etag === header.etag) {
                // The header did not move, yet a row of a version past it exists: the header lags its events.
                return yield* new StoreFailure({
                  operation: "append",
                  reason: `the header of ${StreamId.format(streamId)} says version ${base}, but version ${
                    base + 1
                  } already exists: the stream is damaged`
                })
              }
              if (!flexible && fresh.version !== base) {
                yield* Metric.update(conflicts, 1)
                return yield* new ConcurrencyConflict({ streamId, expected, actual: fresh.version })
              }
              // `any`/`streamExists` writes wherever the stream is now; an unchanged version is a header touched
              // without new events: both go again, after a backoff.
              return yield* new HeaderMoved({ actual: fresh.version })
            }
          }
        })
        return yield* attempt.pipe(
          Effect.retry({ schedule: headerContention, while: (error) => error._tag === "HeaderMoved" }),
          Effect.catchTag("HeaderMoved", (moved) =>
            Metric.update(conflicts, 1).pipe(
              Effect.andThen(Effect.fail(new ConcurrencyConflict({ streamId, expected, actual: moved.actual })))
            )
          )
        )
      })

    const readStream: EventStore["Service"]["readStream"] = (streamId, readOptions = {}) =>
      Stream.unwrap(
        Effect.gen(function* () {
          yield* Arguments.check(
            Arguments.count("readStream", "from", readOptions.from === undefined ? 1 : readOptions.from)
          )
          if ((readOptions.from ?? 1) > TableKeys.maxVersion) return Stream.empty
          const shards = yield* registry.lookup(streamId.tenant, streamId.category)
          if (Option.isNone(shards)) return Stream.empty
          const partition = Partition.make(
            streamId.tenant,
            streamId.category,
            Partition.shardOf(streamId.id, shards.value)
          )
          const partitionKey = TableKeys.partitionKey(partition.tenant, partition.category, partition.shard)
          const from = Math.max(1, readOptions.from ?? 1)
          const lower = TableKeys.streamRow(streamId.id, from === 1 ? 0 : from)
          const upper = TableKeys.streamRow(streamId.id, TableKeys.maxVersion)
          const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${lower} and RowKey le ${upper}`
          const headerRow = TableKeys.streamRow(streamId.id, 0)
          // The version the stream must reach. Read from `from` on, the header comes first, in the same listing;
          // otherwise it is read before the listing, so every version it counts has committed before the rows are.
          let header: number | undefined =
            from === 1
              ? undefined
              : (yield* readHeader(partitionKey, EventRows.shape(streamId)).pipe(
                  Effect.mapError((error) => (error._tag === "StoreFailure" ? corruptHeader(streamId, error) : error))
                )).version
          let next = from
          const prefix = TableKeys.streamPrefix(streamId.id)
          const corrupt = (version: number, reason: string) =>
            new CorruptEvent({ stream: StreamId.format(streamId), version, type: "(missing)", reason })
          const decodePage = (entities: ReadonlyArray<EventRows.Row | Record<string, unknown>>) => {
            const page: Array<StoredEvent> = []
            for (const entity of entities) {
              const row = entity as Parameters<typeof EventRows.readEventRow>[0]
              if (row.rowKey === headerRow) {
                const version = EventRows.count(row, "version")
                if (version === undefined) return Result.fail(corrupt(0, "the stream header's version is unreadable"))
                header = version
                headers.set(headerKey(partitionKey, headerRow), { version, etag: row.etag })
                continue
              }
              const stored = EventRows.readEventRow(row, streamId, partition, prefix)
              if (Result.isFailure(stored)) return Result.fail(stored.failure)
              if (stored.success.version !== next) {
                return Result.fail(
                  new CorruptEvent({
                    stream: StreamId.format(streamId),
                    version: stored.success.version,
                    type: stored.success.type,
                    reason: `version ${next} is missing from the stream`
                  })
                )
              }
              next++
              page.push(stored.success)
            }
            return Result.succeed(page)
          }
          /** At the end of the listing: the rows must reach the header's version, never end short of it. */
          const checkEnd = (): Result.Result<void, CorruptEvent> => {
            const last = next - 1
            if (header === undefined) {
              return last === 0 ? Result.void : Result.fail(corrupt(last, "the stream header is missing"))
            }
            if (last < header) {
              return Result.fail(
                corrupt(next, `version ${next} is missing from the stream: its header says version ${header}`)
              )
            }
            if (from === 1 && last > header) {
              return Result.fail(corrupt(last, `the stream header says version ${header}, but its rows reach ${last}`))
            }
            return Result.void
          }
          return Stream.paginate(undefined as string | undefined, (token) =>
            client.page(filter, { pageSize: 1000, continuationToken: token }).pipe(
              Effect.mapError((error) => error.toStoreError()),
              Effect.flatMap((page) =>
                Effect.map(
                  Effect.fromResult(
                    Result.flatMap(decodePage(page.entities), (events) =>
                      page.continuationToken === undefined
                        ? Result.map(checkEnd(), () => events)
                        : Result.succeed(events)
                    )
                  ),
                  (events) => [events, Option.fromNullishOr(page.continuationToken)] as const
                )
              ),
              Effect.tap(([events]) => Metric.update(eventsRead, events.length))
            )
          )
        })
      ).pipe(
        Stream.withSpan("TableEventStore.readStream", { attributes: { "eventable.stream": StreamId.format(streamId) } })
      )

    const read: EventFeed["Service"]["read"] = (partition, after, limit) =>
      readTraced(partition, after, limit).pipe(
        Effect.withSpan(
          "TableEventFeed.read",
          { attributes: { "eventable.partition": Partition.format(partition), "eventable.after": after } },
          { captureStackTrace: false }
        )
      )

    const readTraced = (partition: Partition.Partition, after: number, limit: number) =>
      Effect.gen(function* () {
        yield* Arguments.check(
          Arguments.partition("read", partition),
          Arguments.count("read", "after", after),
          Arguments.count("read", "limit", limit)
        )
        const start = after
        const count = limit
        if (count === 0 || start >= TableKeys.maxPosition) return []
        const partitionKey = TableKeys.partitionKey(partition.tenant, partition.category, partition.shard)
        const name = Partition.format(partition)
        // The range runs on to the partition head ("f|…" sorts before "h"): when the feed ends within this read,
        // the head comes in the same listing, and the last row must be the position it names.
        const lower = TableKeys.feedRow(start)
        const filter = odata`PartitionKey eq ${partitionKey} and RowKey gt ${lower} and RowKey le ${TableKeys.headRow}`
        const events: Array<StoredEvent> = []
        let head: number | undefined
        let token: string | undefined
        do {
          const page = yield* client
            .page(filter, { pageSize: Math.min(count - events.length + 1, 1000), continuationToken: token })
            .pipe(Effect.mapError((error) => error.toStoreError()))
          for (const entity of page.entities) {
            if (entity.rowKey === TableKeys.headRow) {
              head = EventRows.count(entity, "position")
              if (head === undefined) {
                return yield* new CorruptPartition({
                  partition: name,
                  position: -1,
                  reason: `the partition head's position ${JSON.stringify(entity.position)} is not a position`
                })
              }
              break
            }
            if (events.length === count) break
            const stored = yield* Effect.fromResult(EventRows.readFeedRow(entity, partition))
            const expected = start + events.length + 1
            if (stored.position !== expected) {
              return yield* new CorruptPartition({
                partition: name,
                position: expected,
                reason: `feed position ${expected} is missing (the next row is ${stored.position})`
              })
            }
            events.push(stored)
          }
          token = page.continuationToken
        } while (token !== undefined && events.length < count && head === undefined)
        const last = start + events.length
        if (events.length < count && head === undefined && events.length > 0) {
          return yield* new CorruptPartition({
            partition: name,
            position: last,
            reason: `the partition head is missing, but the feed holds position ${last}`
          })
        }
        if (head !== undefined && head > last && events.length < count) {
          return yield* new CorruptPartition({
            partition: name,
            position: last + 1,
            reason: `feed position ${last + 1} is missing: the partition head says ${head}`
          })
        }
        if (head !== undefined && head < last && events.length > 0) {
          return yield* new CorruptPartition({
            partition: name,
            position: head,
            reason: `the partition head says ${head}, but the feed holds position ${last}: the head lags its feed`
          })
        }
        yield* Metric.update(eventsRead, events.length)
        return events
      })

    const head: EventFeed["Service"]["head"] = (partition) =>
      Arguments.check(Arguments.partition("head", partition)).pipe(
        Effect.flatMap(() =>
          writer.readHead(TableKeys.partitionKey(partition.tenant, partition.category, partition.shard)).pipe(
            Effect.map((state) => state.position),
            Effect.mapError((error) => (error._tag === "CorruptPartition" ? error : error.toStoreError()))
          )
        )
      )

    const partitions: EventFeed["Service"]["partitions"] = (filter = {}) =>
      Arguments.check(Arguments.partitionFilter("partitions", filter)).pipe(
        Effect.flatMap(() => registry.partitions(filter))
      )

    const readSnapshot: EventStore["Service"]["readSnapshot"] = (streamId) =>
      Effect.gen(function* () {
        const shards = yield* registry.lookup(streamId.tenant, streamId.category)
        if (Option.isNone(shards)) return Option.none<Snapshot>()
        const partitionKey = TableKeys.partitionKey(
          streamId.tenant,
          streamId.category,
          Partition.shardOf(streamId.id, shards.value)
        )
        // The snapshot rows sort right before the stream header: one key range reads both. The header's
        // ETag is cached, so the append that follows a snapshot load needs no read of its own.
        const headerRow = TableKeys.streamRow(streamId.id, 0)
        const lower = TableKeys.snapshotRow(streamId.id, 0)
        const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${lower} and RowKey le ${headerRow}`
        const rows: Array<Entity> = []
        let header: Entity | undefined
        let token: string | undefined
        do {
          const page = yield* client
            .page(filter, { pageSize: TableKeys.maxSnapshotRows + 1, continuationToken: token })
            .pipe(Effect.mapError((error) => error.toStoreError()))
          for (const entity of page.entities) {
            if (entity.rowKey === headerRow) header = entity
            else rows.push(entity)
          }
          token = page.continuationToken
        } while (token !== undefined)
        const streamVersion = header === undefined ? undefined : EventRows.count(header, "version")
        if (header !== undefined && streamVersion !== undefined) {
          headers.set(headerKey(partitionKey, headerRow), { version: streamVersion, etag: header.etag })
        }
        const read = SnapshotRows.read(rows, streamId)
        const snapshot =
          typeof read === "object" && read.version > (streamVersion ?? 0)
            ? `the snapshot is at version ${read.version}, ahead of the stream's ${streamVersion ?? 0}`
            : read
        if (typeof snapshot !== "string") return Option.fromUndefinedOr(snapshot)
        // The events are the truth and the snapshot only a shortcut to them: a damaged one is skipped
        // (the stream is then loaded in full) and replaced by the next append that carries one.
        yield* Metric.update(damagedSnapshots, 1)
        yield* Effect.logWarning("ignoring a damaged snapshot", {
          stream: StreamId.format(streamId),
          reason: snapshot
        })
        return Option.none<Snapshot>()
      }).pipe(
        Effect.withSpan(
          "TableEventStore.readSnapshot",
          { attributes: { "eventable.stream": StreamId.format(streamId) } },
          { captureStackTrace: false }
        )
      )

    return {
      store: EventStore.of({ append, readStream, readSnapshot, limits }),
      feed: EventFeed.of({ partitions, read, head })
    }
  })

/**
 * The Table Storage `EventStore` and `EventFeed`, with their client, as one
 * scoped Layer. Creates the table if it is missing; fails fast with a typed
 * error on a malformed connection string or rejected credentials.
 *
 * @since 0.1.0
 */
export const layer = (
  options: TableStorageConfig.TableStorageOptions
): Layer.Layer<EventStore | EventFeed, TableStorageConfig.TableStorageConfigError | StoreUnavailable | StoreFailure> =>
  Layer.unwrap(
    Effect.map(TableStorageConfig.resolve(options), (resolved) =>
      Layer.effectContext(
        Effect.map(make(resolved), ({ feed, store }) =>
          Context.make(EventStore, store).pipe(Context.add(EventFeed, feed))
        )
      ).pipe(Layer.provide(TableStorageClient.layer(resolved)))
    )
  )

/**
 * {@link layer}, configured from the environment (`EVENTABLE_TABLE_*`, see
 * `TableStorageConfig.fromEnv`).
 *
 * @since 0.1.0
 */
export const layerConfig = Layer.unwrap(Effect.map(TableStorageConfig.fromEnv, layer))

/**
 * Everything a consumer on Table Storage needs, as one Layer: the
 * `EventStore` and `EventFeed` of {@link layer}, the `LeaseStore` of
 * `TableLeaseStore.layer` and the `DeadLetterStore` of
 * `TableDeadLetterStore.layer`, from one set of options (each store has its
 * own table and connection pool: `<table>`, `<table>leases`,
 * `<table>deadletters` by default).
 *
 * @example
 * ```ts
 * import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
 *
 * const Storage = TableEventStore.layerWithConsumerStores({
 *   connection: TableStorageConfig.connectionString("UseDevelopmentStorage=true"),
 *   table: "orders"
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layerWithConsumerStores = (
  options: TableLeaseStore.Options & TableDeadLetterStore.Options
): Layer.Layer<
  EventStore | EventFeed | LeaseStore | DeadLetterStore,
  TableStorageConfig.TableStorageConfigError | StoreUnavailable | StoreFailure
> => Layer.mergeAll(layer(options), TableLeaseStore.layer(options), TableDeadLetterStore.layer(options))
