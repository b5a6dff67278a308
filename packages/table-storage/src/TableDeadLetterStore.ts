/**
 * The `DeadLetterStore` on Azure Table Storage: one table (by default the
 * events table's name plus `deadletters`, created if missing), one entity per
 * parked event.
 *
 * | PartitionKey | RowKey | properties |
 * |---|---|---|
 * | escaped group | `tenant|category|shard|<position, 16 digits>` (escaped, as for events) | the event as a feed row stores it (`type`, `eventId`, `occurredAt`, `correlationId`, `causationId`, `custom`, `chunks`, `d0`…, `stream`, `version`), plus `group`, `tenant`, `category`, `shard`, `position`, `error`, `attempts`, `parkedAt` |
 *
 * Parking is an upsert, so parking the same event again overwrites its entry.
 * Large event data is split over `d0`, `d1`, … exactly as in the events table.
 * The event always fits whole (it fitted as a feed row); when it is close to
 * the 1 MiB entity limit, the error text is cut further to make room.
 *
 * @since 0.1.0
 */
import { odata } from "@azure/data-tables"
import {
  type DeadLetter,
  DeadLetterStore,
  Lease,
  maxErrorLength,
  Partition,
  type StoreFailure,
  StoreFailure as StoreFailureError,
  type StoreUnavailable,
  truncateError,
  validateDeadLetter
} from "@eventable/core"
import { Effect, Layer, Metric, Result } from "effect"
import * as EventRows from "./EventRows.ts"
import * as TableKeys from "./TableKeys.ts"
import { groupKey, leaseRow, resolveTable } from "./TableLeaseStore.ts"
import { type Entity, type TableRequestError, TableStorageClient } from "./TableStorageClient.ts"
import type * as TableStorageConfig from "./TableStorageConfig.ts"

/**
 * Options of the Table Storage dead-letter store: the event store's options
 * plus the dead-letter table's name.
 *
 * @since 0.1.0
 */
export interface Options extends TableStorageConfig.TableStorageOptions {
  /** The dead-letter table (created if missing); default: the events table's name plus `deadletters`. */
  readonly deadLetterTable?: string
}

/**
 * What a dead letter adds to its event's feed row, at most, in bytes as Azure
 * sizes an entity: longer keys (an escaped group, a longer RowKey) and the
 * group, tenant, category, shard, position, attempts and parkedAt properties.
 */
const extrasBytes = 8_192

const parked = Metric.counter("eventable_dead_letters_parked_total", { description: "Events parked as dead letters" })

const letterRow = (partition: Partition.Partition, position: number): string =>
  `${leaseRow(partition)}|${position.toString().padStart(TableKeys.positionDigits, "0")}`

const storeError = (error: TableRequestError): StoreUnavailable | StoreFailure => error.toStoreError()

const damaged = (entity: Entity, reason: string): StoreFailure =>
  new StoreFailureError({
    operation: "list",
    reason: `the dead-letter row ${entity.partitionKey ?? "?"}/${entity.rowKey ?? "?"} is damaged: ${reason}`
  })

const decode = (entity: Entity): Effect.Effect<DeadLetter, StoreFailure> => {
  const { group, tenant, category, shard, error } = entity
  const position = EventRows.count(entity, "position")
  const attempts = EventRows.count(entity, "attempts")
  const parkedAt = EventRows.count(entity, "parkedAt")
  if (typeof group !== "string" || typeof tenant !== "string" || typeof category !== "string") {
    return Effect.fail(damaged(entity, "group, tenant or category missing"))
  }
  if (typeof shard !== "number" || !Number.isSafeInteger(shard) || shard < 0) {
    return Effect.fail(damaged(entity, "no valid shard"))
  }
  if (position === undefined || position < 1 || attempts === undefined || parkedAt === undefined) {
    return Effect.fail(damaged(entity, "position, attempts or parkedAt missing or invalid"))
  }
  if (typeof error !== "string") return Effect.fail(damaged(entity, "no error text"))
  const partition = Partition.make(tenant, category, shard)
  const event = EventRows.readFeedRow({ ...entity, rowKey: TableKeys.feedRow(position) }, partition)
  if (Result.isFailure(event)) return Effect.fail(damaged(entity, event.failure.reason))
  return Effect.succeed({ group, event: event.success, error, attempts, parkedAt })
}

/**
 * Builds the dead-letter store on the `TableStorageClient` in context (its
 * table is the dead-letter table).
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const client = yield* TableStorageClient

  const park = (letter: DeadLetter) =>
    Effect.gen(function* () {
      yield* validateDeadLetter(letter)
      const { event } = letter
      const partitionKey = groupKey(letter.group)
      const rowKey = letterRow(event.partition, event.position)
      const prepared = EventRows.prepare(EventRows.shape(event.streamId), event)
      const row = prepared.feedRow(partitionKey, event.version, event.position)
      // The event must fit whole; the error text gives way (2 bytes per UTF-16 unit) when the
      // event is close to the entity limit.
      const room = Math.floor((EventRows.maxEntityBytes - prepared.entityBytes - extrasBytes) / 2)
      const entity = {
        ...row,
        partitionKey,
        rowKey,
        group: letter.group,
        tenant: event.partition.tenant,
        category: event.partition.category,
        shard: event.partition.shard,
        position: String(event.position),
        error: truncateError(letter.error, Math.min(maxErrorLength, room)),
        attempts: String(letter.attempts),
        parkedAt: String(letter.parkedAt)
      }
      // An upsert in a one-operation transaction, like the events' writes: the same request shape
      // the event store already proves for large payloads. Idempotent, so retried when transient.
      yield* client.retryTransient(client.submit([["upsert", entity, "Replace"]])).pipe(Effect.mapError(storeError))
      yield* Metric.update(parked, 1)
    }).pipe(
      Effect.withSpan(
        "TableDeadLetterStore.park",
        {
          attributes: {
            "eventable.group": letter.group,
            "eventable.partition": Partition.format(letter.event.partition),
            "eventable.position": letter.event.position
          }
        },
        { captureStackTrace: false }
      )
    )

  const list = (group: string, filter: { readonly partition?: Partition.Partition } = {}) =>
    Effect.gen(function* () {
      yield* Lease.validateGroup("list", group)
      const only = filter.partition
      if (only !== undefined) yield* Lease.validatePartition("list", only)
      const partitionKey = groupKey(group)
      // Row keys of one partition share `tenant|category|shard|`; `}` follows `|`.
      const query =
        only === undefined
          ? odata`PartitionKey eq ${partitionKey}`
          : odata`PartitionKey eq ${partitionKey} and RowKey gt ${`${leaseRow(only)}|`} and RowKey lt ${`${leaseRow(only)}}`}`
      const letters: Array<DeadLetter> = []
      let continuationToken: string | undefined
      do {
        const page = yield* client.page(query, { pageSize: 1000, continuationToken }).pipe(Effect.mapError(storeError))
        for (const entity of page.entities) letters.push(yield* decode(entity))
        continuationToken = page.continuationToken
      } while (continuationToken !== undefined)
      return letters.sort(
        (a, b) => Partition.compare(a.event.partition, b.event.partition) || a.event.position - b.event.position
      )
    }).pipe(
      Effect.withSpan(
        "TableDeadLetterStore.list",
        { attributes: { "eventable.group": group } },
        { captureStackTrace: false }
      )
    )

  const remove = (group: string, partition: Partition.Partition, position: number) =>
    Effect.gen(function* () {
      yield* Lease.validateGroup("remove", group)
      yield* Lease.validatePartition("remove", partition)
      yield* Lease.validateCount("remove", "position", position, 1)
      yield* client.remove(groupKey(group), letterRow(partition, position)).pipe(Effect.mapError(storeError))
    }).pipe(
      Effect.withSpan(
        "TableDeadLetterStore.remove",
        { attributes: { "eventable.group": group, "eventable.partition": Partition.format(partition) } },
        { captureStackTrace: false }
      )
    )

  return DeadLetterStore.of({ park, list, remove })
})

/**
 * The Table Storage `DeadLetterStore` with its own client on the dead-letter
 * table, as one scoped Layer. Creates the table if it is missing.
 *
 * @example
 * ```ts
 * import { TableDeadLetterStore, TableStorageConfig } from "@eventable/table-storage"
 *
 * const DeadLetters = TableDeadLetterStore.layer({
 *   connection: TableStorageConfig.connectionString("UseDevelopmentStorage=true"),
 *   table: "orders" // dead letters go to the table "ordersdeadletters"
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<DeadLetterStore, TableStorageConfig.TableStorageConfigError | StoreUnavailable | StoreFailure> =>
  Layer.unwrap(
    Effect.map(resolveTable(options, "deadLetterTable", options.deadLetterTable, "deadletters"), (resolved) =>
      Layer.effect(DeadLetterStore, make).pipe(Layer.provide(TableStorageClient.layer(resolved)))
    )
  )
