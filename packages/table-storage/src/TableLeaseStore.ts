/**
 * The `LeaseStore` on Azure Table Storage: one table of leases (by default the
 * events table's name plus `leases`, created if missing), one entity per
 * (consumer group, partition).
 *
 * | PartitionKey | RowKey | properties |
 * |---|---|---|
 * | escaped group | `tenant|category|shard` (escaped, as for events) | `group`, `tenant`, `category`, `shard`, `owner` (`""` when none), `epoch`, `checkpoint`, `attempts` (decimal strings), `writeId` |
 *
 * Every write is conditional. `ensure` inserts (a 409 means someone else
 * created it: the stored lease is read and returned). `acquire`, `renew`,
 * `checkpoint` and `release` are Merge updates with `If-Match` on the lease's
 * ETag, writing only what they change (release writes only the owner, so it
 * can never restore an older checkpoint); a 412 is `LeaseLost`, and the lease
 * is never re-read to refresh its ETag.
 *
 * Lost answers: every write carries a fresh random `writeId`. When a write's
 * answer was lost (a transient failure) and its retry then meets a 412, the
 * store reads the lease once and accepts it only if it carries that very
 * `writeId`: the lost attempt committed and nothing was written since. Any
 * other lease means someone else wrote it: `LeaseLost`. So a healthy owner
 * never gives up its lease because of its own write.
 *
 * @since 0.1.0
 */
import { odata } from "@azure/data-tables"
import {
  Lease,
  LeaseLost,
  LeaseStore,
  Partition,
  type StoreFailure,
  StoreFailure as StoreFailureError,
  type StoreUnavailable
} from "@eventable/core"
import { Effect, Layer, Metric, Option } from "effect"
import { count } from "./EventRows.ts"
import * as TableKeys from "./TableKeys.ts"
import { type Entity, type TableRequestError, TableStorageClient } from "./TableStorageClient.ts"
import * as TableStorageConfig from "./TableStorageConfig.ts"

/**
 * Options of the Table Storage lease store: the event store's options (the
 * connection, timeouts and retries are shared) plus the lease table's name.
 *
 * @since 0.1.0
 */
export interface Options extends TableStorageConfig.TableStorageOptions {
  /** The lease table (created if missing); default: the events table's name plus `leases`. */
  readonly leaseTable?: string
}

const acquired = Metric.counter("eventable_leases_acquired_total", { description: "Leases acquired (or stolen)" })
const lost = Metric.counter("eventable_leases_lost_total", {
  description: "Lease writes refused because the lease moved on (LeaseLost)"
})
const checkpoints = Metric.counter("eventable_checkpoints_written_total", { description: "Checkpoints written" })
const recognised = Metric.counter("eventable_table_lease_writes_recognised_total", {
  description: "Lease writes whose answer was lost and that were recognised as committed"
})

/** The PartitionKey of a group's leases. */
export const groupKey = (group: string): string => TableKeys.encodePart(group)

/** The RowKey of a partition's lease. */
export const leaseRow = (partition: Partition.Partition): string =>
  TableKeys.partitionKey(partition.tenant, partition.category, partition.shard)

interface StoredLease {
  readonly lease: Lease.Lease
  readonly writeId: string | undefined
}

const damaged = (operation: string, entity: Entity, reason: string): StoreFailure =>
  new StoreFailureError({
    operation,
    reason: `the lease row ${entity.partitionKey ?? "?"}/${entity.rowKey ?? "?"} is damaged: ${reason}`
  })

/** Reads a lease entity back; a damaged row is a `StoreFailure`. */
const decode = (operation: string, entity: Entity): Effect.Effect<StoredLease, StoreFailure> => {
  const { group, tenant, category, owner, writeId } = entity
  const shard = entity.shard
  const epoch = count(entity, "epoch")
  const checkpoint = count(entity, "checkpoint")
  const attempts = count(entity, "attempts")
  if (typeof group !== "string" || typeof tenant !== "string" || typeof category !== "string") {
    return Effect.fail(damaged(operation, entity, "group, tenant or category missing"))
  }
  if (typeof shard !== "number" || !Number.isSafeInteger(shard) || shard < 0) {
    return Effect.fail(damaged(operation, entity, "no valid shard"))
  }
  if (epoch === undefined || checkpoint === undefined || attempts === undefined) {
    return Effect.fail(damaged(operation, entity, "epoch, checkpoint or attempts missing or invalid"))
  }
  if (owner !== undefined && typeof owner !== "string") return Effect.fail(damaged(operation, entity, "bad owner"))
  if (entity.etag === undefined) return Effect.fail(damaged(operation, entity, "no ETag"))
  const lease: Lease.Lease = {
    group,
    partition: Partition.make(tenant, category, shard),
    ...(owner === undefined || owner === "" ? {} : { owner }),
    epoch,
    checkpoint,
    attempts,
    etag: entity.etag
  }
  return Effect.succeed({ lease, writeId: typeof writeId === "string" ? writeId : undefined })
}

const storeError = (error: TableRequestError): StoreUnavailable | StoreFailure => error.toStoreError()

const attributes = (group: string, partition: Partition.Partition) => ({
  "eventable.group": group,
  "eventable.partition": Partition.format(partition)
})

/**
 * Builds the lease store on the `TableStorageClient` in context (its table is
 * the lease table).
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const client = yield* TableStorageClient

  const read = (operation: string, group: string, partition: Partition.Partition) =>
    client.get(groupKey(group), leaseRow(partition)).pipe(
      Effect.mapError(storeError),
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.succeed(Option.none<StoredLease>()),
          onSome: (entity) => Effect.map(decode(operation, entity), Option.some)
        })
      )
    )

  const validLease = (operation: string, group: string, partition: Partition.Partition) =>
    Effect.andThen(Lease.validateGroup(operation, group), Lease.validatePartition(operation, partition))

  const leaseLost = (lease: Lease.Lease, owner: string, operation: string, reason: string) =>
    Effect.andThen(
      Metric.update(Metric.withAttributes(lost, { operation }), 1),
      Effect.fail(new LeaseLost({ group: lease.group, partition: lease.partition, owner, reason }))
    )

  /**
   * One fenced Merge update of `lease` with `properties`. Transient failures are retried; a 412
   * or 404 after a lost answer is resolved by reading the lease once and accepting it only if it
   * carries this write's `writeId` (our own committed write); anything else is `LeaseLost`.
   */
  const fenced = (
    operation: string,
    lease: Lease.Lease,
    owner: string,
    properties: Record<string, string>,
    next: (etag: string) => Lease.Lease
  ) =>
    Effect.suspend(() => {
      const writeId = crypto.randomUUID()
      const entity = {
        partitionKey: groupKey(lease.group),
        rowKey: leaseRow(lease.partition),
        ...properties,
        writeId
      }
      let outcomeUnknown = false
      const attempt = client.update(entity, "Merge", lease.etag).pipe(
        Effect.tapError((error) =>
          Effect.sync(() => {
            if (error.transient) outcomeUnknown = true
          })
        )
      )
      return client.retryTransient(attempt).pipe(
        Effect.map(next),
        Effect.catch((error) => {
          if (error.transient) {
            // Retries ran out; the last attempts may still have committed. One read tells.
            return read(operation, lease.group, lease.partition).pipe(
              Effect.flatMap((found) =>
                Option.isSome(found) && found.value.writeId === writeId
                  ? Effect.as(Metric.update(recognised, 1), found.value.lease)
                  : Effect.fail(storeError(error))
              ),
              Effect.catchTag("StoreFailure", () => Effect.fail(storeError(error)))
            )
          }
          if (error.status !== 412 && error.status !== 404) return Effect.fail(storeError(error))
          const reason =
            error.status === 404 ? "the lease no longer exists" : "the lease changed since it was read (ETag mismatch)"
          if (!outcomeUnknown) return leaseLost(lease, owner, operation, reason)
          return read(operation, lease.group, lease.partition).pipe(
            Effect.flatMap((found) =>
              Option.isSome(found) && found.value.writeId === writeId
                ? Effect.as(Metric.update(recognised, 1), found.value.lease)
                : leaseLost(lease, owner, operation, `${reason}, and the stored lease does not carry this write`)
            )
          )
        })
      )
    })

  const list = (group: string) =>
    Effect.gen(function* () {
      yield* Lease.validateGroup("list", group)
      const filter = odata`PartitionKey eq ${groupKey(group)}`
      const leases: Array<Lease.Lease> = []
      let continuationToken: string | undefined
      do {
        const page = yield* client.page(filter, { pageSize: 1000, continuationToken }).pipe(Effect.mapError(storeError))
        for (const entity of page.entities) leases.push((yield* decode("list", entity)).lease)
        continuationToken = page.continuationToken
      } while (continuationToken !== undefined)
      return leases.sort((a, b) => Partition.compare(a.partition, b.partition))
    }).pipe(
      Effect.withSpan(
        "TableLeaseStore.list",
        { attributes: { "eventable.group": group } },
        { captureStackTrace: false }
      )
    )

  const get = (group: string, partition: Partition.Partition) =>
    Effect.andThen(
      validLease("get", group, partition),
      Effect.map(
        read("get", group, partition),
        Option.map((found) => found.lease)
      )
    ).pipe(
      Effect.withSpan("TableLeaseStore.get", { attributes: attributes(group, partition) }, { captureStackTrace: false })
    )

  const ensure = (group: string, partition: Partition.Partition) =>
    Effect.gen(function* () {
      yield* validLease("ensure", group, partition)
      const existing = yield* read("ensure", group, partition)
      if (Option.isSome(existing)) return existing.value.lease
      // A lost answer retried, or a racing creator, shows up as 409: then the lease exists.
      yield* client
        .create({
          partitionKey: groupKey(group),
          rowKey: leaseRow(partition),
          group,
          tenant: partition.tenant,
          category: partition.category,
          shard: partition.shard,
          owner: "",
          epoch: "0",
          checkpoint: "0",
          attempts: "0",
          writeId: crypto.randomUUID()
        })
        .pipe(
          Effect.catchIf(
            (error) => error.status === 409,
            () => Effect.void
          ),
          Effect.mapError(storeError)
        )
      const created = yield* read("ensure", group, partition)
      if (Option.isSome(created)) return created.value.lease
      return yield* new StoreFailureError({
        operation: "ensure",
        reason: `the lease of ${group} on ${Partition.format(partition)} vanished right after it was created`
      })
    }).pipe(
      Effect.withSpan(
        "TableLeaseStore.ensure",
        { attributes: attributes(group, partition) },
        { captureStackTrace: false }
      )
    )

  const acquire = (lease: Lease.Lease, owner: string) =>
    Effect.gen(function* () {
      yield* validLease("acquire", lease.group, lease.partition)
      yield* Lease.validateOwner("acquire", owner)
      const epoch = lease.epoch + 1
      const taken = yield* fenced("acquire", lease, owner, { owner, epoch: String(epoch) }, (etag) => ({
        ...lease,
        owner,
        epoch,
        etag
      }))
      yield* Metric.update(acquired, 1)
      return taken
    }).pipe(
      Effect.withSpan(
        "TableLeaseStore.acquire",
        { attributes: { ...attributes(lease.group, lease.partition), "eventable.owner": owner } },
        { captureStackTrace: false }
      )
    )

  const renew = (lease: Lease.Lease) =>
    Effect.gen(function* () {
      yield* validLease("renew", lease.group, lease.partition)
      const owner = yield* Lease.requireOwner("renew", lease)
      return yield* fenced("renew", lease, owner, {}, (etag) => ({ ...lease, etag }))
    }).pipe(
      Effect.withSpan(
        "TableLeaseStore.renew",
        { attributes: attributes(lease.group, lease.partition) },
        { captureStackTrace: false }
      )
    )

  const checkpoint = (lease: Lease.Lease, position: number, attempts: number) =>
    Effect.gen(function* () {
      yield* validLease("checkpoint", lease.group, lease.partition)
      const owner = yield* Lease.requireOwner("checkpoint", lease)
      yield* Lease.validateCount("checkpoint", "position", position)
      yield* Lease.validateCount("checkpoint", "attempts", attempts)
      yield* Lease.validateBackwards("checkpoint", lease, position)
      const stored = position > lease.checkpoint ? 0 : attempts
      const written = yield* fenced(
        "checkpoint",
        lease,
        owner,
        { checkpoint: String(position), attempts: String(stored) },
        (etag) => ({ ...lease, checkpoint: position, attempts: stored, etag })
      )
      yield* Metric.update(checkpoints, 1)
      return written
    }).pipe(
      Effect.withSpan(
        "TableLeaseStore.checkpoint",
        { attributes: { ...attributes(lease.group, lease.partition), "eventable.position": position } },
        { captureStackTrace: false }
      )
    )

  const release = (lease: Lease.Lease) =>
    Effect.gen(function* () {
      yield* validLease("release", lease.group, lease.partition)
      const owner = yield* Lease.requireOwner("release", lease)
      // Merge with the owner only: the checkpoint and attempts are never written back.
      yield* fenced("release", lease, owner, { owner: "" }, (etag) => ({ ...lease, etag }))
    }).pipe(
      Effect.withSpan(
        "TableLeaseStore.release",
        { attributes: attributes(lease.group, lease.partition) },
        { captureStackTrace: false }
      )
    )

  return LeaseStore.of({ list, get, ensure, acquire, renew, checkpoint, release })
})

const tableName = /^[A-Za-z][A-Za-z0-9]{2,62}$/

/**
 * Resolves the options of a store that lives in its own table, named
 * `table` (or the events table's name plus `suffix`).
 *
 * @since 0.1.0
 */
export const resolveTable = (
  options: TableStorageConfig.TableStorageOptions,
  setting: string,
  table: string | undefined,
  suffix: string
): Effect.Effect<TableStorageConfig.ResolvedOptions, TableStorageConfig.TableStorageConfigError> => {
  const name = table ?? `${options.table ?? "eventable"}${suffix}`
  if (!tableName.test(name)) {
    return Effect.fail(
      new TableStorageConfig.TableStorageConfigError({
        setting,
        reason: `${JSON.stringify(name)} is not a valid table name (3-63 letters and digits, starting with a letter)${
          table === undefined ? `; name it with the ${setting} option` : ""
        }`
      })
    )
  }
  return TableStorageConfig.resolve({ ...options, table: name })
}

/**
 * The Table Storage `LeaseStore` with its own client on the lease table, as
 * one scoped Layer. Creates the table if it is missing; fails fast with a
 * typed error on bad options or rejected credentials.
 *
 * @example
 * ```ts
 * import { TableLeaseStore, TableStorageConfig } from "@eventable/table-storage"
 *
 * const Leases = TableLeaseStore.layer({
 *   connection: TableStorageConfig.connectionString("UseDevelopmentStorage=true"),
 *   table: "orders" // leases go to the table "ordersleases"
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<LeaseStore, TableStorageConfig.TableStorageConfigError | StoreUnavailable | StoreFailure> =>
  Layer.unwrap(
    Effect.map(resolveTable(options, "leaseTable", options.leaseTable, "leases"), (resolved) =>
      Layer.effect(LeaseStore, make).pipe(Layer.provide(TableStorageClient.layer(resolved)))
    )
  )
