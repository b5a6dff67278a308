/**
 * How to reach Cosmos DB and where the views live: an endpoint with an
 * account key, or a connection string; the database; the container of each
 * view; timeouts and retries. The key is `Redacted`: no message, log or
 * error ever shows it.
 *
 * From the environment (`CosmosConfig.fromEnv`):
 *
 * | variable | meaning |
 * |---|---|
 * | `EVENTABLE_COSMOS_CONNECTION_STRING` | `AccountEndpoint=…;AccountKey=…;` (secret), or: |
 * | `EVENTABLE_COSMOS_ENDPOINT`, `EVENTABLE_COSMOS_KEY` | the account endpoint and its key (secret) |
 * | `EVENTABLE_COSMOS_DATABASE` | database name (default `eventable`) |
 * | `EVENTABLE_COSMOS_CONTAINERS` | view to container, e.g. `users=users-v2` (default: each view's own name) |
 *
 * @since 0.1.0
 */
import type { Agent } from "node:http"
import { Config, Duration, Effect, Redacted, Schema } from "effect"

/**
 * How to connect to the account.
 *
 * @since 0.1.0
 */
export type CosmosConnection =
  | { readonly _tag: "ConnectionString"; readonly connectionString: Redacted.Redacted<string> }
  | { readonly _tag: "EndpointKey"; readonly endpoint: string; readonly key: Redacted.Redacted<string> }

/**
 * A connection string: `AccountEndpoint=https://….documents.azure.com:443/;AccountKey=…;`.
 *
 * @since 0.1.0
 */
export const connectionString = (value: Redacted.Redacted<string> | string): CosmosConnection => ({
  _tag: "ConnectionString",
  connectionString: typeof value === "string" ? Redacted.make(value) : value
})

/**
 * An account endpoint with its key.
 *
 * @since 0.1.0
 */
export const endpointKey = (endpoint: string, key: Redacted.Redacted<string>): CosmosConnection => ({
  _tag: "EndpointKey",
  endpoint,
  key
})

/**
 * Options of the Cosmos DB read model store.
 *
 * @since 0.1.0
 */
export interface CosmosOptions {
  readonly connection: CosmosConnection
  /** The database (created if missing); default `eventable`. */
  readonly database?: string
  /** The container of a view, when it is not the view's own name (for example `users` → `users-v2` for a rebuild). */
  readonly containers?: { readonly [view: string]: string }
  /** How long one request may take before it counts as failed (default 10 s). */
  readonly requestTimeout?: Duration.Input
  /** Retries of a transient failure (429, 503, timeout, reset) before `ReadModelUnavailable` (default 5). */
  readonly transientRetries?: number
  /** Base delay of the jittered exponential backoff between those retries (default 50 ms). */
  readonly retryBaseDelay?: Duration.Input
  /** The HTTP agent of this client only (for a local stand-in with a self-signed certificate). */
  readonly agent?: Agent
  /** Whether the client discovers the account's regional endpoints (default true; off for local stand-ins). */
  readonly endpointDiscovery?: boolean
}

/**
 * The configuration is invalid: names the setting and why (never its secret value).
 *
 * @since 0.1.0
 */
export class CosmosConfigError extends Schema.TaggedError<CosmosConfigError>()("CosmosConfigError", {
  setting: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid Cosmos DB configuration (${this.setting}): ${this.reason}`
  }
}

/**
 * Options with every default filled in and every value checked.
 *
 * @since 0.1.0
 */
export interface ResolvedOptions {
  readonly endpoint: string
  readonly key: Redacted.Redacted<string>
  readonly database: string
  readonly containers: ReadonlyMap<string, string>
  readonly requestTimeout: Duration.Duration
  readonly transientRetries: number
  readonly retryBaseDelay: Duration.Duration
  readonly agent: Agent | undefined
  readonly endpointDiscovery: boolean
}

// Cosmos DB resource names: 1-255 characters, none of / \ # ? and no trailing space.
const resourceName = /^[^/\\#?\u0000-\u001f]{1,255}$/
const validName = (name: string) => resourceName.test(name) && !name.endsWith(" ")

const parseConnectionString = (
  value: Redacted.Redacted<string>
): Effect.Effect<{ endpoint: string; key: Redacted.Redacted<string> }, CosmosConfigError> => {
  const fields = new Map<string, string>()
  for (const part of Redacted.value(value).split(";")) {
    const at = part.indexOf("=")
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim())
  }
  const endpoint = fields.get("accountendpoint")
  const key = fields.get("accountkey")
  if (endpoint === undefined || key === undefined || key.length === 0) {
    return Effect.fail(
      new CosmosConfigError({
        setting: "connection",
        reason: "the connection string needs AccountEndpoint=…;AccountKey=…; (its value is not shown)"
      })
    )
  }
  return Effect.succeed({ endpoint, key: Redacted.make(key) })
}

/**
 * Checks the options and fills in the defaults.
 *
 * @since 0.1.0
 */
export const resolve = (options: CosmosOptions): Effect.Effect<ResolvedOptions, CosmosConfigError> =>
  Effect.gen(function* () {
    const connection =
      options.connection._tag === "ConnectionString"
        ? yield* parseConnectionString(options.connection.connectionString)
        : { endpoint: options.connection.endpoint, key: options.connection.key }
    const url = URL.canParse(connection.endpoint) ? new URL(connection.endpoint) : undefined
    if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
      return yield* new CosmosConfigError({
        setting: "endpoint",
        reason: `${JSON.stringify(connection.endpoint)} is not an http(s) URL`
      })
    }
    if (Redacted.value(connection.key).length === 0) {
      return yield* new CosmosConfigError({ setting: "key", reason: "must not be empty" })
    }
    const database = options.database ?? "eventable"
    if (!validName(database)) {
      return yield* new CosmosConfigError({
        setting: "database",
        reason: `${JSON.stringify(database)} is not a valid name (1-255 characters, no / \\ # ?, no trailing space)`
      })
    }
    const containers = new Map<string, string>()
    for (const [view, container] of Object.entries(options.containers ?? {})) {
      if (!validName(container)) {
        return yield* new CosmosConfigError({
          setting: "containers",
          reason: `${JSON.stringify(container)} (for view ${JSON.stringify(view)}) is not a valid container name`
        })
      }
      containers.set(view, container)
    }
    const transientRetries = options.transientRetries ?? 5
    if (!Number.isInteger(transientRetries) || transientRetries < 0) {
      return yield* new CosmosConfigError({ setting: "transientRetries", reason: "must be a non-negative integer" })
    }
    const requestTimeout = Duration.fromInput(options.requestTimeout ?? "10 seconds")
    if (requestTimeout._tag === "None" || Duration.toMillis(requestTimeout.value) <= 0) {
      return yield* new CosmosConfigError({ setting: "requestTimeout", reason: "must be a positive duration" })
    }
    const retryBaseDelay = Duration.fromInput(options.retryBaseDelay ?? "50 millis")
    if (retryBaseDelay._tag === "None") {
      return yield* new CosmosConfigError({ setting: "retryBaseDelay", reason: "is not a duration" })
    }
    return {
      endpoint: connection.endpoint,
      key: connection.key,
      database,
      containers,
      requestTimeout: requestTimeout.value,
      transientRetries,
      retryBaseDelay: retryBaseDelay.value,
      agent: options.agent,
      endpointDiscovery: options.endpointDiscovery ?? true
    }
  })

const containerList = (text: string): Effect.Effect<Record<string, string>, CosmosConfigError> => {
  const containers: Record<string, string> = {}
  for (const entry of text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const match = /^([^=]+)=(.+)$/.exec(entry)
    if (match === null) {
      return Effect.fail(
        new CosmosConfigError({
          setting: "EVENTABLE_COSMOS_CONTAINERS",
          reason: `expected view=container, got ${JSON.stringify(entry)}`
        })
      )
    }
    containers[match[1]!.trim()] = match[2]!.trim()
  }
  return Effect.succeed(containers)
}

/**
 * Reads the options from the environment (see the table above), through
 * Effect's `ConfigProvider`.
 *
 * @since 0.1.0
 */
export const fromEnv: Effect.Effect<CosmosOptions, Config.ConfigError | CosmosConfigError> = Effect.gen(function* () {
  const byString = yield* Config.option(Config.Redacted("EVENTABLE_COSMOS_CONNECTION_STRING"))
  const connection: CosmosConnection =
    byString._tag === "Some"
      ? connectionString(byString.value)
      : endpointKey(yield* Config.String("EVENTABLE_COSMOS_ENDPOINT"), yield* Config.Redacted("EVENTABLE_COSMOS_KEY"))
  const database = yield* Config.String("EVENTABLE_COSMOS_DATABASE").pipe(Config.withDefault("eventable"))
  const containers = yield* containerList(
    yield* Config.String("EVENTABLE_COSMOS_CONTAINERS").pipe(Config.withDefault(""))
  )
  return { connection, database, containers }
})
