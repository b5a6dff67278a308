/**
 * How to reach the table and how to lay out categories: a connection string,
 * or an account URL with a shared key or an Azure AD token credential; the
 * table name; shard counts per category; group commit; timeouts and retries.
 * Secrets are `Redacted` and never logged.
 *
 * From the environment (`TableStorageConfig.fromEnv`):
 *
 * | variable | meaning |
 * |---|---|
 * | `EVENTABLE_TABLE_CONNECTION_STRING` | a full connection string (secret), or: |
 * | `EVENTABLE_TABLE_ACCOUNT_URL`, `EVENTABLE_TABLE_ACCOUNT_NAME`, `EVENTABLE_TABLE_ACCOUNT_KEY` | account URL, name and key (secret) |
 * | `EVENTABLE_TABLE_NAME` | table name (default `eventable`) |
 * | `EVENTABLE_TABLE_SHARDS` | shard counts, e.g. `user=4,order=2` (default: 1 each) |
 * | `EVENTABLE_TABLE_GROUP_COMMIT` | `true` (default) or `false` |
 *
 * @since 0.1.0
 */
import type { TokenCredential } from "@azure/core-auth"
import { Partition } from "@eventable/core"
import { Config, Duration, Effect, Redacted, Schema } from "effect"

/**
 * How to connect to the storage account.
 *
 * @since 0.1.0
 */
export type TableConnection =
  | { readonly _tag: "ConnectionString"; readonly connectionString: Redacted.Redacted<string> }
  | {
      readonly _tag: "SharedKey"
      readonly url: string
      readonly accountName: string
      readonly accountKey: Redacted.Redacted<string>
    }
  | { readonly _tag: "TokenCredential"; readonly url: string; readonly credential: TokenCredential }

/**
 * A connection string (for Azurite, or an account's access keys).
 *
 * @since 0.1.0
 */
export const connectionString = (value: Redacted.Redacted<string> | string): TableConnection => ({
  _tag: "ConnectionString",
  connectionString: typeof value === "string" ? Redacted.make(value) : value
})

/**
 * An account URL with its shared key.
 *
 * @since 0.1.0
 */
export const sharedKey = (
  url: string,
  accountName: string,
  accountKey: Redacted.Redacted<string>
): TableConnection => ({
  _tag: "SharedKey",
  url,
  accountName,
  accountKey
})

/**
 * An account URL with an Azure AD token credential (e.g. `DefaultAzureCredential`
 * from `@azure/identity`, or a managed identity).
 *
 * @since 0.1.0
 */
export const tokenCredential = (url: string, credential: TokenCredential): TableConnection => ({
  _tag: "TokenCredential",
  url,
  credential
})

/**
 * Options of the Table Storage event store.
 *
 * @since 0.1.0
 */
export interface TableStorageOptions {
  readonly connection: TableConnection
  /** The table (created if missing). `^[A-Za-z][A-Za-z0-9]{2,62}$`; default `eventable`. */
  readonly table?: string
  /** Shard counts per category (default 1). A category's count is fixed once it exists. */
  readonly shards?: { readonly [category: string]: number }
  /** Coalesce concurrent appends to one partition into one transaction (default true). */
  readonly groupCommit?: boolean
  /** How long one request may take before it counts as failed (default 30 s). */
  readonly requestTimeout?: Duration.Input
  /** Retries of a transient failure (503, 500, timeout, reset) before `StoreUnavailable` (default 5). */
  readonly transientRetries?: number
  /** Base delay of the jittered exponential backoff between those retries (default 50 ms). */
  readonly retryBaseDelay?: Duration.Input
  /** Stream headers (version + ETag) kept in memory to append without a read (default 10,000). */
  readonly headerCacheSize?: number
}

/**
 * The configuration is invalid: names the setting and why.
 *
 * @since 0.1.0
 */
export class TableStorageConfigError extends Schema.TaggedError<TableStorageConfigError>()("TableStorageConfigError", {
  setting: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid Table Storage configuration (${this.setting}): ${this.reason}`
  }
}

/**
 * Options with every default filled in and every value checked.
 *
 * @since 0.1.0
 */
export interface ResolvedOptions {
  readonly connection: TableConnection
  readonly table: string
  readonly shards: ReadonlyMap<string, number>
  readonly groupCommit: boolean
  readonly requestTimeout: Duration.Duration
  readonly transientRetries: number
  readonly retryBaseDelay: Duration.Duration
  readonly headerCacheSize: number
}

const tableName = /^[A-Za-z][A-Za-z0-9]{2,62}$/

/**
 * Checks the options and fills in the defaults.
 *
 * @since 0.1.0
 */
export const resolve = (options: TableStorageOptions): Effect.Effect<ResolvedOptions, TableStorageConfigError> =>
  Effect.gen(function* () {
    const table = options.table ?? "eventable"
    if (!tableName.test(table)) {
      return yield* new TableStorageConfigError({
        setting: "table",
        reason: `${JSON.stringify(table)} is not a valid table name (3-63 letters and digits, starting with a letter)`
      })
    }
    const shards = new Map<string, number>()
    for (const [category, count] of Object.entries(options.shards ?? {})) {
      if (!Number.isInteger(count) || count < 1 || count > Partition.maxShards) {
        return yield* new TableStorageConfigError({
          setting: "shards",
          reason: `category ${JSON.stringify(category)} must have 1 to ${Partition.maxShards} shards, got ${count}`
        })
      }
      shards.set(category, count)
    }
    const transientRetries = options.transientRetries ?? 5
    if (!Number.isInteger(transientRetries) || transientRetries < 0) {
      return yield* new TableStorageConfigError({
        setting: "transientRetries",
        reason: "must be a non-negative integer"
      })
    }
    const headerCacheSize = options.headerCacheSize ?? 10_000
    if (!Number.isInteger(headerCacheSize) || headerCacheSize < 0) {
      return yield* new TableStorageConfigError({
        setting: "headerCacheSize",
        reason: "must be a non-negative integer"
      })
    }
    const connection = options.connection
    if (connection._tag !== "ConnectionString") {
      const url = URL.canParse(connection.url) ? new URL(connection.url) : undefined
      if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
        return yield* new TableStorageConfigError({
          setting: "connection.url",
          reason: `${JSON.stringify(connection.url)} is not an http(s) URL`
        })
      }
    }
    const requestTimeout = Duration.fromInput(options.requestTimeout ?? "30 seconds")
    if (requestTimeout._tag === "None") {
      return yield* new TableStorageConfigError({ setting: "requestTimeout", reason: "is not a duration" })
    }
    const retryBaseDelay = Duration.fromInput(options.retryBaseDelay ?? "50 millis")
    if (retryBaseDelay._tag === "None") {
      return yield* new TableStorageConfigError({ setting: "retryBaseDelay", reason: "is not a duration" })
    }
    return {
      connection,
      table,
      shards,
      groupCommit: options.groupCommit ?? true,
      requestTimeout: requestTimeout.value,
      transientRetries,
      retryBaseDelay: retryBaseDelay.value,
      headerCacheSize
    }
  })

const shardList = (text: string): Effect.Effect<Record<string, number>, TableStorageConfigError> => {
  const shards: Record<string, number> = {}
  for (const entry of text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const match = /^([^=]+)=(\d+)$/.exec(entry)
    if (match === null) {
      return Effect.fail(
        new TableStorageConfigError({
          setting: "EVENTABLE_TABLE_SHARDS",
          reason: `expected category=count, got ${JSON.stringify(entry)}`
        })
      )
    }
    shards[match[1]!.trim()] = Number(match[2])
  }
  return Effect.succeed(shards)
}

/**
 * Reads the options from the environment (see the table above), through
 * Effect's `ConfigProvider`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { TableEventStore } from "@eventable/table-storage"
 *
 * const Store = TableEventStore.layerConfig // EventStore | EventFeed from EVENTABLE_TABLE_* variables
 * ```
 *
 * @since 0.1.0
 */
export const fromEnv: Effect.Effect<TableStorageOptions, Config.ConfigError | TableStorageConfigError> = Effect.gen(
  function* () {
    const byString = yield* Config.option(Config.Redacted("EVENTABLE_TABLE_CONNECTION_STRING"))
    const connection: TableConnection =
      byString._tag === "Some"
        ? connectionString(byString.value)
        : sharedKey(
            yield* Config.String("EVENTABLE_TABLE_ACCOUNT_URL"),
            yield* Config.String("EVENTABLE_TABLE_ACCOUNT_NAME"),
            yield* Config.Redacted("EVENTABLE_TABLE_ACCOUNT_KEY")
          )
    const table = yield* Config.String("EVENTABLE_TABLE_NAME").pipe(Config.withDefault("eventable"))
    const shards = yield* shardList(yield* Config.String("EVENTABLE_TABLE_SHARDS").pipe(Config.withDefault("")))
    const groupCommit = yield* Config.Boolean("EVENTABLE_TABLE_GROUP_COMMIT").pipe(Config.withDefault(true))
    return { connection, table, shards, groupCommit }
  }
)
