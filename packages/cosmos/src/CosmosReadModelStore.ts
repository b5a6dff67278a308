/**
 * The `ReadModelStore` on Azure Cosmos DB (NoSQL API). It passes the same
 * conformance suite as the in-memory store.
 *
 * Layout: one database, one container per view (created if missing), and
 * the document's partition key (the tenant, in the projections' default) as
 * the container's partition key, at the path `/pk`. An item is
 * `{ id, pk, data }`: the document body sits under `data`, so its fields
 * never collide with `id`, `pk` or Cosmos DB's system properties.
 *
 * Why the tenant as the partition key, in shared containers, rather than a
 * container per tenant: a tenant's documents sit in one logical partition,
 * so listing or querying one tenant is a single-partition query, and a
 * tenant's data can never show up in another tenant's query (every query is
 * scoped to one partition key). Containers cost provisioned throughput and
 * count against account limits; one per tenant would not scale to many
 * small tenants. The price: one tenant holds at most 20 GB per view (Cosmos
 * DB's logical partition limit). A tenant that outgrows it needs a finer key
 * (for example tenant plus a hash bucket) chosen in the projection's `key`.
 *
 * Every write is conditional: `create` fails on an existing id (409 →
 * `DocumentExists`), `replace` and `delete` send `If-Match` with the ETag
 * (412 → `StaleDocument`, 404 → `DocumentNotFound`). Throttling (429),
 * unavailability (503, 500, 408), timeouts and connection resets are retried
 * with a jittered exponential Schedule, then reported as
 * `ReadModelUnavailable`. Queries are parameterised (values are never
 * spliced into the text; field names are checked against a strict pattern)
 * and follow continuation tokens. Interrupting an operation aborts its
 * request.
 *
 * @example
 * ```ts
 * import { CosmosConfig, CosmosReadModelStore } from "@eventable/cosmos"
 * import { Redacted } from "effect"
 *
 * const Store = CosmosReadModelStore.layer({
 *   connection: CosmosConfig.endpointKey("https://my-account.documents.azure.com:443/", Redacted.make("…")),
 *   database: "users-service"
 * })
 * // or, from EVENTABLE_COSMOS_* variables:
 * const FromEnv = CosmosReadModelStore.layerConfig
 * ```
 *
 * @since 0.1.0
 */
import { type Container, CosmosClient, type Database, type SqlQuerySpec } from "@azure/cosmos"
import { ReadModelStore } from "@eventable/core"
import {
  type Config,
  Data,
  Duration,
  Effect,
  Layer,
  Option,
  Redacted,
  Result,
  Schedule,
  Schema,
  type Scope,
  Semaphore
} from "effect"
import * as CosmosConfig from "./CosmosConfig.ts"

type Store = ReadModelStore.ReadModelStore["Service"]

/**
 * How a failed request is classified: by HTTP status when there is one,
 * otherwise by the network error.
 *
 * @since 0.1.0
 */
export type Outcome =
  | { readonly _tag: "Conflict"; readonly status: 404 | 409 | 412 }
  | { readonly _tag: "Transient"; readonly reason: string; readonly status?: number }
  | { readonly _tag: "Permanent"; readonly reason: string; readonly status?: number }

const transientStatuses = new Set([408, 410, 429, 449, 500, 502, 503, 504])
const transientCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT"
])

/**
 * Classifies a failure thrown by the Cosmos DB SDK. Pure: tested without I/O.
 *
 * @since 0.1.0
 */
export const classify = (error: unknown): Outcome => {
  const record = typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {}
  const code = record.code
  const status = typeof code === "number" ? code : typeof record.statusCode === "number" ? record.statusCode : undefined
  const text = error instanceof Error ? error.message.split("\n")[0]!.slice(0, 300) : String(error).slice(0, 300)
  if (status === 404 || status === 409 || status === 412) return { _tag: "Conflict", status }
  if (status !== undefined) {
    return transientStatuses.has(status)
      ? { _tag: "Transient", reason: text, status }
      : { _tag: "Permanent", reason: text, status }
  }
  const name = error instanceof Error ? error.name : ""
  if (typeof code === "string" && transientCodes.has(code)) return { _tag: "Transient", reason: `${code}: ${text}` }
  if (name === "TimeoutError" || name === "AbortError") return { _tag: "Transient", reason: `${name}: ${text}` }
  const cause = record.cause
  if (cause !== undefined && cause !== error) {
    const inner = classify(cause)
    if (inner._tag === "Transient") return inner
  }
  return { _tag: "Permanent", reason: text }
}

class Failed extends Data.TaggedError("Failed")<{ readonly outcome: Outcome; readonly cause: unknown }> {}

const StoredItem = Schema.Struct({
  id: Schema.String,
  pk: Schema.String,
  data: Schema.JsonObject,
  _etag: Schema.String
})
const decodeItem = Schema.decodeUnknownResult(StoredItem)

/**
 * The Cosmos SQL text and parameters of a query. Values only ever travel as
 * parameters; field names, already checked against
 * `ReadModelStore.fieldNamePattern`, are quoted as JSON strings inside
 * brackets.
 *
 * @since 0.1.0
 */
export const sqlOf = (query: ReadModelStore.DocumentQuery): SqlQuerySpec => {
  const parameters: Array<{ name: string; value: string | number | boolean | null }> = [
    { name: "@pk", value: query.partitionKey }
  ]
  const conditions = ["c.pk = @pk"]
  for (const [index, condition] of (query.where ?? []).entries()) {
    const name = `@w${index}`
    parameters.push({ name, value: condition.value })
    const path = condition.path.map((field) => `[${JSON.stringify(field)}]`).join("")
    conditions.push(`c.data${path} = ${name}`)
  }
  return { query: `SELECT * FROM c WHERE ${conditions.join(" AND ")} ORDER BY c.id`, parameters }
}

/**
 * Builds the store in a scope: a CosmosClient (disposed when the scope
 * closes) and the database, created if missing. Containers are created when
 * a view is first used.
 *
 * @since 0.1.0
 */
export const make = (
  options: CosmosConfig.ResolvedOptions
): Effect.Effect<Store, ReadModelStore.ReadModelUnavailable | ReadModelStore.ReadModelFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new CosmosClient({
            endpoint: options.endpoint,
            key: Redacted.value(options.key),
            ...(options.agent === undefined ? {} : { agent: options.agent }),
            connectionPolicy: {
              enableEndpointDiscovery: options.endpointDiscovery,
              requestTimeout: Duration.toMillis(options.requestTimeout)
            }
          })
      ),
      (client) => Effect.sync(() => client.dispose())
    )

    const retry = Schedule.exponential(options.retryBaseDelay).pipe(
      Schedule.jittered,
      Schedule.upTo({ times: options.transientRetries })
    )

    /** One SDK call: aborted on interruption, transient failures retried, then classified. */
    const call = <A>(operation: string, run: (signal: AbortSignal) => Promise<A>) =>
      Effect.tryPromise({
        try: run,
        catch: (cause) => new Failed({ outcome: classify(cause), cause })
      }).pipe(
        Effect.retry({ schedule: retry, while: (failed) => failed.outcome._tag === "Transient" }),
        Effect.mapError((failed) => {
          const outcome = failed.outcome
          return outcome._tag === "Conflict"
            ? outcome
            : outcome._tag === "Transient"
              ? new ReadModelStore.ReadModelUnavailable({ operation, reason: outcome.reason, cause: failed.cause })
              : new ReadModelStore.ReadModelFailure({
                  operation,
                  reason: outcome.reason,
                  ...(outcome.status === undefined ? {} : { status: outcome.status }),
                  cause: failed.cause
                })
        })
      )

    const database: Database = yield* call("CosmosReadModelStore.database", (abortSignal) =>
      client.databases.createIfNotExists({ id: options.database }, { abortSignal })
    ).pipe(
      Effect.map((response) => response.database),
      Effect.catchTag("Conflict", (outcome) =>
        outcome.status === 409
          ? Effect.succeed(client.database(options.database))
          : Effect.fail(
              new ReadModelStore.ReadModelFailure({
                operation: "CosmosReadModelStore.database",
                reason: `unexpected HTTP ${outcome.status} creating the database`,
                status: outcome.status
              })
            )
      )
    )

    // Containers are created on a view's first use, one at a time (a rare
    // path), and remembered. A 409 means another process created it meanwhile.
    const containers = new Map<string, Container>()
    const creating = yield* Semaphore.make(1)
    const containerOf = (
      view: string
    ): Effect.Effect<Container, ReadModelStore.ReadModelUnavailable | ReadModelStore.ReadModelFailure> =>
      Effect.suspend(() => {
        const known = containers.get(view)
        if (known !== undefined) return Effect.succeed(known)
        const id = options.containers.get(view) ?? view
        return creating.withPermit(
          Effect.suspend(() => {
            const created = containers.get(view)
            if (created !== undefined) return Effect.succeed(created)
            return call("CosmosReadModelStore.container", (abortSignal) =>
              database.containers.createIfNotExists({ id, partitionKey: { paths: ["/pk"] } }, { abortSignal })
            ).pipe(
              Effect.map((response) => response.container),
              Effect.catchTag("Conflict", (outcome) =>
                outcome.status === 409
                  ? Effect.succeed(database.container(id))
                  : Effect.fail(
                      new ReadModelStore.ReadModelFailure({
                        operation: "CosmosReadModelStore.container",
                        reason: `unexpected HTTP ${outcome.status} creating container ${id}`,
                        status: outcome.status
                      })
                    )
              ),
              Effect.tap((container) => Effect.sync(() => containers.set(view, container)))
            )
          })
        )
      })

    const toDocument = (operation: string, view: string, item: unknown) => {
      const decoded = decodeItem(item)
      return Result.isSuccess(decoded)
        ? Effect.succeed<ReadModelStore.VersionedDocument>({
            key: { view, partitionKey: decoded.success.pk, id: decoded.success.id },
            data: decoded.success.data,
            etag: decoded.success._etag
          })
        : Effect.fail(
            new ReadModelStore.ReadModelFailure({
              operation,
              reason: `unexpected item shape: ${decoded.failure.message}`
            })
          )
    }

    const unexpected =
      (operation: string) =>
      (outcome: { readonly status: number }): Effect.Effect<never, ReadModelStore.ReadModelFailure> =>
        Effect.fail(
          new ReadModelStore.ReadModelFailure({
            operation,
            reason: `unexpected HTTP ${outcome.status}`,
            status: outcome.status
          })
        )

    const traced =
      (name: string, key: { readonly view: string; readonly partitionKey: string }) =>
      <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
        effect.pipe(
          Effect.withSpan(
            name,
            { attributes: { "eventable.view": key.view, "eventable.partition_key": key.partitionKey } },
            { captureStackTrace: false }
          )
        )

    const get: Store["get"] = (key) =>
      Effect.gen(function* () {
        yield* ReadModelStore.checkKey("ReadModelStore.get", key)
        const container = yield* containerOf(key.view)
        // A missing item answers 404 without throwing.
        const response = yield* call("ReadModelStore.get", (abortSignal) =>
          container.item(key.id, key.partitionKey).read({ abortSignal })
        ).pipe(Effect.catchTag("Conflict", unexpected("ReadModelStore.get")))
        if (response.statusCode === 404 || response.resource === undefined) return Option.none()
        return Option.some(yield* toDocument("ReadModelStore.get", key.view, response.resource))
      }).pipe(traced("CosmosReadModelStore.get", key))

    const create: Store["create"] = (key, data) =>
      Effect.gen(function* () {
        yield* ReadModelStore.checkKey("ReadModelStore.create", key)
        yield* ReadModelStore.checkData("ReadModelStore.create", data)
        const container = yield* containerOf(key.view)
        const response = yield* call("ReadModelStore.create", (abortSignal) =>
          container.items.create({ id: key.id, pk: key.partitionKey, data }, { abortSignal })
        ).pipe(
          Effect.catchTag(
            "Conflict",
            (outcome): Effect.Effect<never, ReadModelStore.DocumentExists | ReadModelStore.ReadModelFailure> =>
              outcome.status === 409
                ? Effect.fail(new ReadModelStore.DocumentExists(key))
                : unexpected("ReadModelStore.create")(outcome)
          )
        )
        return yield* toDocument("ReadModelStore.create", key.view, response.resource)
      }).pipe(traced("CosmosReadModelStore.create", key))

    const guardedConflict =
      (operation: string, key: ReadModelStore.DocumentKey, etag: string) =>
      (outcome: {
        readonly status: number
      }): Effect.Effect<
        never,
        ReadModelStore.StaleDocument | ReadModelStore.DocumentNotFound | ReadModelStore.ReadModelFailure
      > =>
        outcome.status === 412
          ? Effect.fail(new ReadModelStore.StaleDocument({ ...key, etag }))
          : outcome.status === 404
            ? Effect.fail(new ReadModelStore.DocumentNotFound(key))
            : unexpected(operation)(outcome)

    const replace: Store["replace"] = (key, data, etag) =>
      Effect.gen(function* () {
        yield* ReadModelStore.checkKey("ReadModelStore.replace", key)
        yield* ReadModelStore.checkData("ReadModelStore.replace", data)
        const container = yield* containerOf(key.view)
        const response = yield* call("ReadModelStore.replace", (abortSignal) =>
          container
            .item(key.id, key.partitionKey)
            .replace(
              { id: key.id, pk: key.partitionKey, data },
              { abortSignal, accessCondition: { type: "IfMatch", condition: etag } }
            )
        ).pipe(Effect.catchTag("Conflict", guardedConflict("ReadModelStore.replace", key, etag)))
        return yield* toDocument("ReadModelStore.replace", key.view, response.resource)
      }).pipe(traced("CosmosReadModelStore.replace", key))

    const remove: Store["delete"] = (key, etag) =>
      Effect.gen(function* () {
        yield* ReadModelStore.checkKey("ReadModelStore.delete", key)
        const container = yield* containerOf(key.view)
        yield* call("ReadModelStore.delete", (abortSignal) =>
          container
            .item(key.id, key.partitionKey)
            .delete({ abortSignal, accessCondition: { type: "IfMatch", condition: etag } })
        ).pipe(Effect.catchTag("Conflict", guardedConflict("ReadModelStore.delete", key, etag)))
      }).pipe(traced("CosmosReadModelStore.delete", key))

    const queryPage: Store["queryPage"] = (query, continuation) =>
      Effect.gen(function* () {
        yield* ReadModelStore.checkQuery("ReadModelStore.queryPage", query)
        const container = yield* containerOf(query.view)
        const response = yield* call("ReadModelStore.queryPage", (abortSignal) =>
          container.items
            .query(sqlOf(query), {
              partitionKey: query.partitionKey,
              maxItemCount: query.pageSize ?? ReadModelStore.defaultPageSize,
              abortSignal,
              ...(continuation === undefined ? {} : { continuationToken: continuation })
            })
            .fetchNext()
        ).pipe(Effect.catchTag("Conflict", unexpected("ReadModelStore.queryPage")))
        const documents = yield* Effect.forEach(response.resources, (item) =>
          toDocument("ReadModelStore.queryPage", query.view, item)
        )
        const token = response.continuationToken
        return {
          documents,
          continuation: typeof token === "string" && token.length > 0 ? Option.some(token) : Option.none()
        } satisfies ReadModelStore.DocumentPage
      }).pipe(traced("CosmosReadModelStore.queryPage", query))

    return ReadModelStore.ReadModelStore.of({
      get,
      create,
      replace,
      delete: remove,
      queryPage,
      query: (query) => ReadModelStore.streamPages(queryPage, query)
    })
  })

/**
 * The store as a Layer: the CosmosClient lives as long as the Layer.
 *
 * @since 0.1.0
 */
export const layer = (
  options: CosmosConfig.CosmosOptions
): Layer.Layer<
  ReadModelStore.ReadModelStore,
  CosmosConfig.CosmosConfigError | ReadModelStore.ReadModelUnavailable | ReadModelStore.ReadModelFailure
> => Layer.effect(ReadModelStore.ReadModelStore, Effect.flatMap(CosmosConfig.resolve(options), make))

/**
 * {@link layer}, configured from the environment (`EVENTABLE_COSMOS_*`, see
 * `CosmosConfig`).
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<
  ReadModelStore.ReadModelStore,
  | Config.ConfigError
  | CosmosConfig.CosmosConfigError
  | ReadModelStore.ReadModelUnavailable
  | ReadModelStore.ReadModelFailure
> = Layer.unwrap(Effect.map(CosmosConfig.fromEnv, layer))
