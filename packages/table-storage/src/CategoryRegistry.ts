/**
 * The registry of categories: one row per (tenant, category) in its own
 * partition, holding the category's shard count. It is written idempotently
 * (insert; if it exists, read it) before a category's first append, so its
 * shard count is fixed from then on and consumers can discover every
 * partition by listing the registry.
 *
 * @since 0.1.0
 */
import { odata } from "@azure/data-tables"
import { Partition, StoreFailure, type StoreUnavailable } from "@eventable/core"
import { Effect, Option } from "effect"
import * as TableKeys from "./TableKeys.ts"
import type { Entity, TableStorageClient } from "./TableStorageClient.ts"

/**
 * The category registry of one store.
 *
 * @since 0.1.0
 */
export interface CategoryRegistry {
  /** The shard count of a category, registering it first if it is new. */
  readonly register: (tenant: string, category: string) => Effect.Effect<number, StoreUnavailable | StoreFailure>
  /** The shard count of a category, or `None` if it has never been written. */
  readonly lookup: (
    tenant: string,
    category: string
  ) => Effect.Effect<Option.Option<number>, StoreUnavailable | StoreFailure>
  /** Every partition of the registered categories, optionally for one tenant and/or category. */
  readonly partitions: (filter: {
    readonly tenant?: string
    readonly category?: string
  }) => Effect.Effect<ReadonlyArray<Partition.Partition>, StoreUnavailable | StoreFailure>
}

const shardsOf = (entity: Entity): number | undefined => {
  const shards = entity.shards
  return typeof shards === "number" && Number.isInteger(shards) && shards >= 1 && shards <= Partition.maxShards
    ? shards
    : undefined
}

/**
 * Builds the registry over a client, with the configured shard counts.
 *
 * @since 0.1.0
 */
export const make = (
  client: TableStorageClient["Service"],
  configured: ReadonlyMap<string, number>
): CategoryRegistry => {
  const known = new Map<string, number>()
  const cacheKey = (tenant: string, category: string) => `${tenant}\u0000${category}`

  const read = (tenant: string, category: string) =>
    client.get(TableKeys.registryPartition, TableKeys.registryRow(tenant, category)).pipe(
      Effect.mapError((error) => error.toStoreError()),
      Effect.flatMap((entity) => {
        if (Option.isNone(entity)) return Effect.succeed(Option.none<number>())
        const shards = shardsOf(entity.value)
        return shards === undefined
          ? Effect.fail(
              new StoreFailure({
                operation: "registry",
                reason: `the registry row of ${tenant}/${category} has no valid shard count`
              })
            )
          : Effect.succeed(Option.some(shards))
      })
    )

  const remember = (tenant: string, category: string, shards: number) =>
    Effect.sync(() => {
      known.set(cacheKey(tenant, category), shards)
      return shards
    })

  const lookup = (tenant: string, category: string) => {
    const cached = known.get(cacheKey(tenant, category))
    if (cached !== undefined) return Effect.succeed(Option.some(cached))
    return read(tenant, category).pipe(
      Effect.tap((shards) => (Option.isSome(shards) ? remember(tenant, category, shards.value) : Effect.void))
    )
  }

  const register = (tenant: string, category: string) => {
    const cached = known.get(cacheKey(tenant, category))
    if (cached !== undefined) return Effect.succeed(cached)
    const wanted = configured.get(category) ?? 1
    return client
      .create({
        partitionKey: TableKeys.registryPartition,
        rowKey: TableKeys.registryRow(tenant, category),
        tenant,
        category,
        shards: wanted
      })
      .pipe(
        Effect.as(wanted),
        Effect.mapError((error) => (error.status === 409 ? ("exists" as const) : error.toStoreError())),
        Effect.catchIf(
          (error) => error === "exists",
          () =>
            // Registered already (by another process, or by a retry of ours): its count is the truth.
            Effect.flatMap(read(tenant, category), (shards) =>
              Option.match(shards, {
                onNone: () =>
                  Effect.fail(
                    new StoreFailure({
                      operation: "registry",
                      reason: `the registry row of ${tenant}/${category} vanished`
                    })
                  ),
                onSome: (registered) =>
                  registered === wanted
                    ? Effect.succeed(registered)
                    : Effect.as(
                        Effect.logWarning(
                          `category ${category} of tenant ${tenant} has ${registered} shards; the configured ${wanted} applies only to new categories`
                        ),
                        registered
                      )
              })
            )
        ),
        Effect.flatMap((shards) => remember(tenant, category, shards))
      )
  }

  const partitions = (filter: { readonly tenant?: string; readonly category?: string }) =>
    Effect.gen(function* () {
      const prefix = filter.tenant === undefined ? undefined : `${TableKeys.encodePart(filter.tenant)}|`
      const query =
        prefix === undefined
          ? odata`PartitionKey eq ${TableKeys.registryPartition}`
          : // "|" sorts right before "}": this range is exactly the rows of one tenant.
            odata`PartitionKey eq ${TableKeys.registryPartition} and RowKey gt ${prefix} and RowKey lt ${`${prefix.slice(0, -1)}}`}`
      const result: Array<Partition.Partition> = []
      let token: string | undefined
      do {
        const page = yield* client.page(query, { pageSize: 1000, continuationToken: token })
        for (const entity of page.entities) {
          const tenant = entity.tenant
          const category = entity.category
          const shards = shardsOf(entity)
          if (typeof tenant !== "string" || typeof category !== "string" || shards === undefined) continue
          if (filter.category !== undefined && filter.category !== category) continue
          known.set(cacheKey(tenant, category), shards)
          for (let shard = 0; shard < shards; shard++) result.push(Partition.make(tenant, category, shard))
        }
        token = page.continuationToken
      } while (token !== undefined)
      return result
    }).pipe(Effect.mapError((error) => error.toStoreError()))

  return { register, lookup, partitions }
}
