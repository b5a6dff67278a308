/**
 * Where the users example keeps its data, from the environment: the event
 * store, leases and dead letters on Azure Table Storage, the `users` view on
 * Azure Cosmos DB.
 *
 * | variable | meaning |
 * |---|---|
 * | `EVENTABLE_TABLE_CONNECTION_STRING` | Table Storage connection string (secret), or all three of: |
 * | `EVENTABLE_TABLE_ACCOUNT_URL`, `EVENTABLE_TABLE_ACCOUNT_NAME`, `EVENTABLE_TABLE_ACCOUNT_KEY` | the account's table endpoint, name and key (secret) |
 * | `EVENTABLE_TABLE_NAME` | the events table (default `eventable`; leases and dead letters get `<name>leases`, `<name>deadletters`) |
 * | `EVENTABLE_COSMOS_CONNECTION_STRING` | Cosmos DB connection string (secret), or both of: |
 * | `EVENTABLE_COSMOS_ENDPOINT`, `EVENTABLE_COSMOS_KEY` | the account endpoint and its key (secret) |
 * | `EVENTABLE_COSMOS_DATABASE` | the database (default `eventable`) |
 * | `EXAMPLE_COSMOS_STANDIN` | `true` when the Cosmos endpoint is the local stand-in: its self-signed certificate is accepted by this client only, and only for a loopback endpoint |
 *
 * @since 0.1.0
 */

import { Agent } from "node:https"
import type {
  DeadLetterStore,
  EventFeed,
  EventStore,
  LeaseStore,
  ReadModelStore,
  StoreFailure,
  StoreUnavailable
} from "@eventable/core"
import { CosmosConfig, CosmosReadModelStore } from "@eventable/cosmos"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Config, Effect, Layer, Option, Redacted } from "effect"

/**
 * Whether the environment names a Table Storage account.
 *
 * @since 0.1.0
 */
export const tableConfigured: Effect.Effect<boolean> = Effect.map(
  Effect.orElseSucceed(
    Config.all([
      Config.option(Config.String("EVENTABLE_TABLE_CONNECTION_STRING")),
      Config.option(Config.String("EVENTABLE_TABLE_ACCOUNT_URL"))
    ]),
    () => [Option.none(), Option.none()] as const
  ),
  ([byString, byAccount]) => Option.isSome(byString) || Option.isSome(byAccount)
)

/**
 * Whether the environment names a Cosmos DB account.
 *
 * @since 0.1.0
 */
export const cosmosConfigured: Effect.Effect<boolean> = Effect.map(
  Effect.orElseSucceed(
    Config.all([
      Config.option(Config.String("EVENTABLE_COSMOS_CONNECTION_STRING")),
      Config.option(Config.String("EVENTABLE_COSMOS_ENDPOINT"))
    ]),
    () => [Option.none(), Option.none()] as const
  ),
  ([byString, byEndpoint]) => Option.isSome(byString) || Option.isSome(byEndpoint)
)

/**
 * The event store, event feed, lease store and dead-letter store, from the `EVENTABLE_TABLE_*` variables.
 *
 * @since 0.1.0
 */
export const tableLayer: Layer.Layer<
  EventStore | EventFeed | LeaseStore | DeadLetterStore,
  Config.ConfigError | TableStorageConfig.TableStorageConfigError | StoreUnavailable | StoreFailure
> = Layer.unwrap(Effect.map(TableStorageConfig.fromEnv, (options) => TableEventStore.layerWithConsumerStores(options)))

/**
 * What building the Cosmos DB store from the environment can fail with.
 *
 * @since 0.1.0
 */
export type CosmosStoreError =
  | Config.ConfigError
  | CosmosConfig.CosmosConfigError
  | ReadModelStore.ReadModelUnavailable
  | ReadModelStore.ReadModelFailure

const isLoopback = (endpoint: string): boolean => {
  const host = URL.parse(endpoint)?.hostname
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]"
}

/**
 * The read model store on Cosmos DB, from the `EVENTABLE_COSMOS_*` variables
 * (and `EXAMPLE_COSMOS_STANDIN` for the local stand-in).
 *
 * @since 0.1.0
 */
export const cosmosLayer: Layer.Layer<ReadModelStore.ReadModelStore, CosmosStoreError> = Layer.unwrap(
  Effect.gen(function* () {
    const options = yield* CosmosConfig.fromEnv
    const standIn = yield* Config.Boolean("EXAMPLE_COSMOS_STANDIN").pipe(Config.withDefault(false))
    if (!standIn) return CosmosReadModelStore.layer(options)
    const resolved = yield* CosmosConfig.resolve(options)
    if (!isLoopback(resolved.endpoint)) {
      return yield* new CosmosConfig.CosmosConfigError({
        setting: "EXAMPLE_COSMOS_STANDIN",
        reason: "the stand-in's certificate is accepted only for a loopback endpoint (127.0.0.1, localhost)"
      })
    }
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() => new Agent({ keepAlive: true, rejectUnauthorized: false })),
      (agent) => Effect.sync(() => agent.destroy())
    )
    return CosmosReadModelStore.layer({ ...options, agent, endpointDiscovery: false })
  })
)

/**
 * Every store the API and the projector need, from the environment.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  EventStore | EventFeed | LeaseStore | DeadLetterStore | ReadModelStore.ReadModelStore,
  Layer.Error<typeof tableLayer> | CosmosStoreError
> = Layer.merge(tableLayer, cosmosLayer)

/**
 * The environment variables that point a process at the given stores (for
 * the demo's child processes, which reach the stand-ins it started).
 *
 * @since 0.1.0
 */
export const environmentFor = (stores: {
  readonly tableConnectionString: Redacted.Redacted<string>
  readonly table: string
  readonly cosmosEndpoint: string
  readonly cosmosKey: Redacted.Redacted<string>
  readonly cosmosDatabase: string
  readonly cosmosStandIn: boolean
}): Record<string, string> => ({
  EVENTABLE_TABLE_CONNECTION_STRING: Redacted.value(stores.tableConnectionString),
  EVENTABLE_TABLE_NAME: stores.table,
  EVENTABLE_COSMOS_ENDPOINT: stores.cosmosEndpoint,
  EVENTABLE_COSMOS_KEY: Redacted.value(stores.cosmosKey),
  EVENTABLE_COSMOS_DATABASE: stores.cosmosDatabase,
  EXAMPLE_COSMOS_STANDIN: String(stores.cosmosStandIn)
})
