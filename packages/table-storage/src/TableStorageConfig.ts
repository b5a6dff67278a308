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
 * | `EVENTABLE_TABLE_CONNECTION_STRING` | a full connection string (secret), or instead all three of: |
 * | `EVENTABLE_TABLE_ACCOUNT_URL`, `EVENTABLE_TABLE_ACCOUNT_NAME`, `EVENTABLE_TABLE_ACCOUNT_KEY` | account URL, name and key (secret) |
 * | `EVENTABLE_TABLE_NAME` | table name (default `eventable`) |
 * | `EVENTABLE_TABLE_SHARDS` | shard counts, e.g. `user=4,order=2` (default: 1 each) |
 * | `EVENTABLE_TABLE_GROUP_COMMIT` | `true` (default) or `false`, in any case |
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
 * The configuration is invalid: names the setting (an option such as
 * `connection`, or an environment variable), says what is wrong and which
 * settings would fix it. Never repeats a key, a SAS token or a connection string.
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

// Connection strings -------------------------------------------------------

const connectionStringForms =
  "DefaultEndpointsProtocol=https;AccountName=<account>;AccountKey=<key>;EndpointSuffix=core.windows.net " +
  "from the storage account's access keys, TableEndpoint=<url>;SharedAccessSignature=<token> for a SAS, " +
  "or UseDevelopmentStorage=true for a local Azurite on its default ports"

const isHttpUrl = (text: string): boolean => {
  const url = URL.canParse(text) ? new URL(text) : undefined
  return url !== undefined && (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== ""
}

const accountKeyProblem = (key: string): string | undefined =>
  key.trim() === ""
    ? "the account key is empty"
    : /^[A-Za-z0-9+/]+={0,2}$/.test(key.trim())
      ? undefined
      : "the account key is not base64 (an access key is 88 characters of A-Z, a-z, 0-9, +, / and =)"

/**
 * What is wrong with a connection string, in words that never repeat a value
 * from it (values hold keys and SAS tokens), or `undefined` when the Azure SDK
 * will accept it. Mirrors the SDK's rules: an account string needs
 * `DefaultEndpointsProtocol`, `AccountName`, `AccountKey` and an endpoint
 * (`EndpointSuffix` or `TableEndpoint`); a SAS string needs `TableEndpoint` and
 * `SharedAccessSignature`; `UseDevelopmentStorage=true` stands for Azurite.
 */
const connectionStringProblem = (text: string): string | undefined => {
  const fix = `give one of: ${connectionStringForms}`
  if (text.trim() === "") {
    return `the connection string is empty (as when the environment variable it is read from is unset): ${fix}`
  }
  const parts = text
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part !== "")
  const values = new Map<string, string>()
  const names: Array<string> = []
  for (const [index, part] of parts.entries()) {
    const equals = part.indexOf("=")
    // Setting names are short words; anything else (a pasted key ends in "=") is never shown back.
    if (equals <= 0 || !/^[A-Za-z]{1,40}$/.test(part.slice(0, equals).trim())) {
      return `the connection string is not a list of Name=value settings separated by ";" (setting ${index + 1} of ${parts.length} is not): ${fix}`
    }
    const name = part.slice(0, equals).trim()
    names.push(name)
    values.set(name.toLowerCase(), part.slice(equals + 1).trim())
  }
  const value = (name: string) => values.get(name.toLowerCase()) ?? ""
  if (value("UseDevelopmentStorage").toLowerCase() === "true") return undefined
  const has = names.length === 0 ? "" : ` (it has ${names.join(", ")})`
  const tableEndpoint = value("TableEndpoint")
  if (tableEndpoint !== "" && !isHttpUrl(tableEndpoint)) {
    return `the connection string's TableEndpoint is not an http(s) URL: ${fix}`
  }
  if (values.has("accountkey")) {
    const missing = ["DefaultEndpointsProtocol", "AccountName"].filter((name) => value(name) === "")
    if (tableEndpoint === "" && value("EndpointSuffix") === "") missing.push("EndpointSuffix (or TableEndpoint)")
    if (missing.length > 0) {
      return `the connection string has an AccountKey but no ${missing.join(", no ")}${has}: ${fix}`
    }
    const protocol = value("DefaultEndpointsProtocol").toLowerCase()
    if (protocol !== "https" && protocol !== "http") {
      return `the connection string's DefaultEndpointsProtocol must be https or http: ${fix}`
    }
    const keyProblem = accountKeyProblem(value("AccountKey"))
    return keyProblem === undefined ? undefined : `in the connection string, ${keyProblem}: ${fix}`
  }
  if (values.has("sharedaccesssignature")) {
    const missing = [
      ...(tableEndpoint === "" ? ["TableEndpoint"] : []),
      ...(value("SharedAccessSignature") === "" ? ["a SharedAccessSignature value"] : [])
    ]
    return missing.length === 0
      ? undefined
      : `the connection string is a SAS one but has no ${missing.join(" and no ")}${has}: ${fix}`
  }
  return `the connection string has neither an AccountKey nor a SharedAccessSignature${has}: ${fix}`
}

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
    if (table.toLowerCase() === "tables") {
      return yield* new TableStorageConfigError({
        setting: "table",
        reason: `"${table}" is reserved by the Table service; choose another name`
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
    if (connection._tag === "ConnectionString") {
      const problem = connectionStringProblem(Redacted.value(connection.connectionString))
      if (problem !== undefined) {
        return yield* new TableStorageConfigError({ setting: "connection", reason: problem })
      }
    } else {
      if (!isHttpUrl(connection.url)) {
        return yield* new TableStorageConfigError({
          setting: "connection.url",
          reason: `${JSON.stringify(connection.url)} is not an http(s) URL; give the account's table endpoint, e.g. https://<account>.table.core.windows.net`
        })
      }
      if (connection._tag === "SharedKey") {
        const problem =
          connection.accountName.trim() === ""
            ? "the account name is empty"
            : accountKeyProblem(Redacted.value(connection.accountKey))
        if (problem !== undefined) {
          return yield* new TableStorageConfigError({
            setting: "connection",
            reason: `${problem}; give the storage account's name and one of its access keys`
          })
        }
      }
    }
    const requestTimeout = Duration.fromInput(options.requestTimeout ?? "30 seconds")
    if (requestTimeout._tag === "None") {
      return yield* new TableStorageConfigError({ setting: "requestTimeout", reason: "is not a duration" })
    }
    if (!Duration.isFinite(requestTimeout.value) || Duration.toMillis(requestTimeout.value) < 1) {
      return yield* new TableStorageConfigError({
        setting: "requestTimeout",
        reason: "must be a finite duration of at least 1 millisecond (every request would time out)"
      })
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
  if (text.trim() === "") return Effect.succeed(shards)
  for (const entry of text.split(",").map((s) => s.trim())) {
    const match = /^([^=]+)=(\d+)$/.exec(entry)
    if (match === null) {
      return Effect.fail(
        new TableStorageConfigError({
          setting: "EVENTABLE_TABLE_SHARDS",
          reason: `expected category=count, got ${JSON.stringify(entry)}`
        })
      )
    }
    const category = match[1]!.trim()
    if (Object.hasOwn(shards, category)) {
      return Effect.fail(
        new TableStorageConfigError({
          setting: "EVENTABLE_TABLE_SHARDS",
          reason: `category ${JSON.stringify(category)} is listed twice`
        })
      )
    }
    shards[category] = Number(match[2])
  }
  return Effect.succeed(shards)
}

/**
 * Reads the options from the environment (see the table above), through
 * Effect's `ConfigProvider`. Fails with `TableStorageConfigError` naming the
 * variables to set when no way to connect is configured, only part of one, or
 * a malformed one; with a `ConfigError` when another variable does not parse.
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
    const connection = yield* connectionFromEnv
    const table = yield* Config.String("EVENTABLE_TABLE_NAME").pipe(Config.withDefault("eventable"))
    if (!tableName.test(table) || table.toLowerCase() === "tables") {
      return yield* new TableStorageConfigError({
        setting: "EVENTABLE_TABLE_NAME",
        reason: `${JSON.stringify(table)} is not a usable table name (3-63 letters and digits, starting with a letter, not "tables")`
      })
    }
    const shards = yield* shardList(yield* Config.String("EVENTABLE_TABLE_SHARDS").pipe(Config.withDefault("")))
    const groupCommitText = yield* Config.String("EVENTABLE_TABLE_GROUP_COMMIT").pipe(Config.withDefault("true"))
    const groupCommit = groupCommitText.trim().toLowerCase()
    if (groupCommit !== "true" && groupCommit !== "false") {
      return yield* new TableStorageConfigError({
        setting: "EVENTABLE_TABLE_GROUP_COMMIT",
        reason: `must be true or false (any case), got ${JSON.stringify(groupCommitText)}`
      })
    }
    return { connection, table, shards, groupCommit: groupCommit === "true" }
  }
)

const envConnectionString = "EVENTABLE_TABLE_CONNECTION_STRING"
const envAccount = [
  "EVENTABLE_TABLE_ACCOUNT_URL",
  "EVENTABLE_TABLE_ACCOUNT_NAME",
  "EVENTABLE_TABLE_ACCOUNT_KEY"
] as const
const envFix =
  `set ${envConnectionString} to a connection string (${connectionStringForms}), ` +
  `or set all three of ${envAccount.join(", ")} (the account's table endpoint, its name and an access key)`

/** The connection from the environment: one complete way to connect, or an error that says which variables to set. */
const connectionFromEnv: Effect.Effect<TableConnection, Config.ConfigError | TableStorageConfigError> = Effect.gen(
  function* () {
    const byString = yield* Config.option(Config.Redacted(envConnectionString))
    const url = yield* Config.option(Config.String(envAccount[0]))
    const name = yield* Config.option(Config.String(envAccount[1]))
    const key = yield* Config.option(Config.Redacted(envAccount[2]))
    const accountSet = envAccount.filter((_, i) => [url, name, key][i]!._tag === "Some")
    if (byString._tag === "Some") {
      if (accountSet.length > 0) {
        return yield* new TableStorageConfigError({
          setting: envConnectionString,
          reason: `it is set, and so is ${accountSet.join(", ")}: set only one way to connect, ${envConnectionString} or the three ${envAccount.join(", ")}`
        })
      }
      const problem = connectionStringProblem(Redacted.value(byString.value))
      if (problem !== undefined) {
        return yield* new TableStorageConfigError({ setting: envConnectionString, reason: problem })
      }
      return connectionString(byString.value)
    }
    if (url._tag === "Some" && name._tag === "Some" && key._tag === "Some") {
      const [setting, problem] = !isHttpUrl(url.value)
        ? [
            envAccount[0],
            "is not an http(s) URL; give the account's table endpoint, e.g. https://<account>.table.core.windows.net"
          ]
        : name.value.trim() === ""
          ? [envAccount[1], "is empty; give the storage account's name"]
          : [envAccount[2], accountKeyProblem(Redacted.value(key.value))]
      if (problem !== undefined) return yield* new TableStorageConfigError({ setting, reason: problem })
      return sharedKey(url.value, name.value, key.value)
    }
    if (accountSet.length === 0) {
      return yield* new TableStorageConfigError({
        setting: envConnectionString,
        reason: `no connection is configured (${envConnectionString} and ${envAccount.join(", ")} are all unset or empty): ${envFix}`
      })
    }
    const missing = envAccount.filter((variable) => !accountSet.includes(variable))
    return yield* new TableStorageConfigError({
      setting: missing.join(", "),
      reason: `${accountSet.join(" and ")} ${accountSet.length === 1 ? "is" : "are"} set, but not ${missing.join(" or ")}: ${envFix}`
    })
  }
)
