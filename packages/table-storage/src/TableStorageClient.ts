/**
 * The Table Storage client as a scoped Effect service: every SDK call becomes
 * an Effect with a timeout, cancelled (through its AbortSignal) when the fiber
 * is interrupted, and failing with a typed `TableRequestError` that says
 * whether the failure is transient. Reads are retried on transient failures
 * with jittered exponential backoff; transactions never are (the event store
 * resolves their unknown outcomes itself). The SDK's own retries are off.
 *
 * @since 0.1.0
 */

import { Agent as HttpAgent } from "node:http"
import { Agent as HttpsAgent } from "node:https"
import {
  AzureNamedKeyCredential,
  RestError,
  TableClient,
  type TableEntityResult,
  type TableTransactionResponse,
  type TransactionAction
} from "@azure/data-tables"
import { StoreFailure, StoreUnavailable } from "@eventable/core"
import { Context, Duration, Effect, Layer, Metric, Option, Redacted, Schedule, Schema } from "effect"
import { type ResolvedOptions, TableStorageConfigError } from "./TableStorageConfig.ts"

/**
 * An entity as read from the table.
 *
 * @since 0.1.0
 */
export type Entity = TableEntityResult<Record<string, unknown>>

/**
 * A Table Storage request failed. `transient` failures (busy, 5xx, timeouts,
 * connection resets) may succeed when retried; for a write they leave its
 * outcome unknown. `index` is the failing operation of a transaction.
 *
 * @since 0.1.0
 */
export class TableRequestError extends Schema.TaggedError<TableRequestError>()("TableRequestError", {
  operation: Schema.String,
  transient: Schema.Boolean,
  detail: Schema.String,
  status: Schema.optionalKey(Schema.Number),
  code: Schema.optionalKey(Schema.String),
  index: Schema.optionalKey(Schema.Number)
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` ${this.status}`
    const code = this.code === undefined ? "" : ` ${this.code}`
    return `Table Storage ${this.operation} failed${status}${code}: ${this.detail}`
  }

  /** The store-level error for a failure that reached the caller. */
  toStoreError(): StoreUnavailable | StoreFailure {
    if (this.transient) return new StoreUnavailable({ operation: this.operation, reason: this.message })
    if (this.status === 403) {
      return new StoreFailure({
        operation: this.operation,
        status: 403,
        reason: `authentication failed (${this.code ?? "Forbidden"}): check the account name and key or the credential`
      })
    }
    return new StoreFailure({
      operation: this.operation,
      reason: this.message,
      ...(this.status === undefined ? {} : { status: this.status })
    })
  }
}

const transientCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "REQUEST_SEND_ERROR",
  "ServerBusy",
  "OperationTimedOut",
  "InternalError"
])
const transientStatuses = new Set([408, 429, 500, 502, 503, 504])

const firstLine = (text: string): string => {
  // Single operations carry the service's JSON or XML body as the message.
  const json = /"value":"((?:[^"\\]|\\.)*)"/.exec(text)
  const xml = /<Message>([^<]*)<\/Message>/.exec(text)
  const line = (json?.[1] ?? xml?.[1] ?? text).split(/\\n|\n/)[0] ?? ""
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}

/**
 * Classifies whatever an SDK call threw.
 *
 * @since 0.1.0
 */
export const classify = (operation: string, error: unknown): TableRequestError => {
  if (error instanceof RestError) {
    const details = error.details as { readonly errorCode?: unknown } | undefined
    const code = error.code ?? (typeof details?.errorCode === "string" ? details.errorCode : undefined)
    const status = error.statusCode
    const message = firstLine(error.message)
    const indexed = /^(\d+):(.*)$/s.exec(message)
    const transient =
      (status !== undefined && transientStatuses.has(status)) ||
      (code !== undefined && transientCodes.has(code)) ||
      (status === undefined && code === undefined)
    return new TableRequestError({
      operation,
      transient,
      detail: indexed === null ? message : indexed[2]!.trim(),
      ...(status === undefined ? {} : { status }),
      ...(code === undefined ? {} : { code }),
      ...(indexed === null ? {} : { index: Number(indexed[1]) })
    })
  }
  if (error instanceof Error && error.name === "AbortError") {
    return new TableRequestError({ operation, transient: true, detail: "the request was aborted (timeout)" })
  }
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined
  return new TableRequestError({
    operation,
    transient: code !== undefined && transientCodes.has(code),
    detail: error instanceof Error ? error.message : String(error),
    ...(code === undefined ? {} : { code })
  })
}

const transientRetries = Metric.counter("eventable_table_transient_retries_total", {
  description: "Table Storage requests retried after a transient failure"
})

/**
 * The Table Storage client service.
 *
 * @since 0.1.0
 */
export class TableStorageClient extends Context.Service<
  TableStorageClient,
  {
    readonly table: string
    /** A point read; `None` when the entity does not exist. Retried on transient failures. */
    readonly get: (partitionKey: string, rowKey: string) => Effect.Effect<Option.Option<Entity>, TableRequestError>
    /** One page of a query (`filter` built with the SDK's `odata` tag). Retried on transient failures. */
    readonly page: (
      filter: string,
      options: { readonly pageSize: number; readonly continuationToken?: string | undefined }
    ) => Effect.Effect<
      { readonly entities: ReadonlyArray<Entity>; readonly continuationToken?: string },
      TableRequestError
    >
    /** Inserts one entity; fails with status 409 when it exists. Retried on transient failures. */
    readonly create: (
      entity: Record<string, unknown> & { partitionKey: string; rowKey: string }
    ) => Effect.Effect<void, TableRequestError>
    /** Submits one entity-group transaction, without retrying: a transient failure leaves its outcome unknown. */
    readonly submit: (actions: Array<TransactionAction>) => Effect.Effect<TableTransactionResponse, TableRequestError>
    /**
     * Updates one entity if its ETag is still `etag`: `Merge` writes only the
     * given properties, `Replace` all of them. Returns the new ETag. Fails
     * with status 412 when the ETag moved on, 404 when the entity is gone.
     * Not retried: a transient failure leaves its outcome unknown, so only a
     * caller that can recognise its own earlier write may wrap it in
     * {@link retryTransient}.
     */
    readonly update: (
      entity: Record<string, unknown> & { partitionKey: string; rowKey: string },
      mode: "Merge" | "Replace",
      etag: string
    ) => Effect.Effect<string, TableRequestError>
    /** Deletes one entity; succeeds when it does not exist. Retried on transient failures. */
    readonly remove: (partitionKey: string, rowKey: string) => Effect.Effect<void, TableRequestError>
    /**
     * The client's retry policy for transient failures (jittered exponential
     * backoff, `transientRetries` times), for writes the caller makes safe to
     * retry.
     */
    readonly retryTransient: <A, R>(
      effect: Effect.Effect<A, TableRequestError, R>
    ) => Effect.Effect<A, TableRequestError, R>
  }
>()("@eventable/table-storage/TableStorageClient") {
  /**
   * Connects, creates the table if it is missing, and fails fast with a clear
   * error on a malformed connection string or rejected credentials.
   */
  static readonly layer = (
    options: ResolvedOptions
  ): Layer.Layer<TableStorageClient, TableStorageConfigError | StoreUnavailable | StoreFailure> =>
    Layer.effect(TableStorageClient, make(options))
}

const sdkClient = (
  options: ResolvedOptions,
  agents: { readonly http: HttpAgent; readonly https: HttpsAgent }
): Effect.Effect<TableClient, TableStorageConfigError> =>
  Effect.try({
    try: () => {
      const connection = options.connection
      const endpoint =
        connection._tag === "ConnectionString" ? Redacted.value(connection.connectionString) : connection.url
      const secure = !/^http:|TableEndpoint=http:|UseDevelopmentStorage=true/i.test(endpoint)
      const clientOptions = { retryOptions: { maxRetries: 0 }, agent: secure ? agents.https : agents.http }
      switch (connection._tag) {
        case "ConnectionString":
          return TableClient.fromConnectionString(Redacted.value(connection.connectionString), options.table, {
            ...clientOptions,
            allowInsecureConnection: !secure
          })
        case "SharedKey":
          return new TableClient(
            connection.url,
            options.table,
            new AzureNamedKeyCredential(connection.accountName, Redacted.value(connection.accountKey)),
            { ...clientOptions, allowInsecureConnection: !secure }
          )
        case "TokenCredential":
          return new TableClient(connection.url, options.table, connection.credential, {
            ...clientOptions,
            allowInsecureConnection: !secure
          })
      }
    },
    // Never echo the connection string: it holds the key.
    catch: (error) =>
      new TableStorageConfigError({
        setting: "connection",
        reason: `the connection string or URL is malformed (${
          error instanceof Error
            ? error.message.replace(/(AccountKey|SharedAccessSignature|sig)=[^;&\s]*/gi, "$1=<redacted>")
            : "invalid"
        })`
      })
  })

const make = (options: ResolvedOptions) =>
  Effect.gen(function* () {
    // The connection pool is the client's resource: its sockets close with the scope.
    const agents = yield* Effect.acquireRelease(
      Effect.sync(() => ({ http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) })),
      (pool) =>
        Effect.sync(() => {
          pool.http.destroy()
          pool.https.destroy()
        })
    )
    const client = yield* sdkClient(options, agents)
    const timeout = options.requestTimeout

    const timeoutMillis = Duration.toMillis(timeout)
    // One AbortController and one timer per request: the timer aborts a request that takes too
    // long (cheaper than Effect.timeout, which forks a fiber), and interruption aborts it too.
    const call = <A>(operation: string, run: (signal: AbortSignal) => Promise<A>) =>
      Effect.callback<A, TableRequestError>((resume) => {
        const controller = new AbortController()
        let timedOut = false
        const timer = setTimeout(() => {
          timedOut = true
          controller.abort()
        }, timeoutMillis)
        run(controller.signal).then(
          (value) => {
            clearTimeout(timer)
            resume(Effect.succeed(value))
          },
          (error: unknown) => {
            clearTimeout(timer)
            resume(
              Effect.fail(
                timedOut
                  ? new TableRequestError({
                      operation,
                      transient: true,
                      detail: `no answer within ${Duration.format(timeout)}`
                    })
                  : classify(operation, error)
              )
            )
          }
        )
        return Effect.sync(() => {
          clearTimeout(timer)
          controller.abort()
        })
      })

    const retryTransient = <A, R>(effect: Effect.Effect<A, TableRequestError, R>) =>
      effect.pipe(
        Effect.tapError((error) => (error.transient ? Metric.update(transientRetries, 1) : Effect.void)),
        Effect.retry({
          schedule: Schedule.exponential(options.retryBaseDelay).pipe(
            Schedule.jittered,
            Schedule.upTo({ times: options.transientRetries })
          ),
          while: (error: TableRequestError) => error.transient
        })
      )

    const get = (partitionKey: string, rowKey: string) =>
      retryTransient(
        call("read", (abortSignal) => client.getEntity<Record<string, unknown>>(partitionKey, rowKey, { abortSignal }))
      ).pipe(
        Effect.map((entity): Option.Option<Entity> => Option.some(entity)),
        Effect.catchIf(
          (error) => error.status === 404 && error.code === "ResourceNotFound",
          () => Effect.succeed(Option.none())
        )
      )

    const page = (
      filter: string,
      pageOptions: { readonly pageSize: number; readonly continuationToken?: string | undefined }
    ) =>
      retryTransient(
        call("query", async (abortSignal) => {
          const iterator = client
            .listEntities<Record<string, unknown>>({ queryOptions: { filter }, abortSignal })
            .byPage({
              maxPageSize: pageOptions.pageSize,
              ...(pageOptions.continuationToken === undefined
                ? {}
                : { continuationToken: pageOptions.continuationToken })
            })
          const next = await iterator.next()
          const entities: ReadonlyArray<Entity> = next.done === true ? [] : next.value
          const token = next.done === true ? undefined : next.value.continuationToken
          return token === undefined ? { entities } : { entities, continuationToken: token }
        })
      )

    const create = (entity: Record<string, unknown> & { partitionKey: string; rowKey: string }) =>
      retryTransient(call("insert", (abortSignal) => client.createEntity(entity, { abortSignal }))).pipe(Effect.asVoid)

    const submit = (actions: Array<TransactionAction>) =>
      call("transaction", (abortSignal) => client.submitTransaction(actions, { abortSignal }))

    const update = (
      entity: Record<string, unknown> & { partitionKey: string; rowKey: string },
      mode: "Merge" | "Replace",
      etag: string
    ) =>
      call("update", (abortSignal) => client.updateEntity(entity, mode, { etag, abortSignal })).pipe(
        Effect.flatMap((answer) =>
          answer.etag === undefined
            ? Effect.fail(
                new TableRequestError({ operation: "update", transient: false, detail: "the answer carries no ETag" })
              )
            : Effect.succeed(answer.etag)
        )
      )

    const remove = (partitionKey: string, rowKey: string) =>
      retryTransient(call("delete", (abortSignal) => client.deleteEntity(partitionKey, rowKey, { abortSignal }))).pipe(
        Effect.asVoid,
        Effect.catchIf(
          (error) => error.status === 404,
          () => Effect.void
        )
      )

    yield* retryTransient(call("create table", (abortSignal) => client.createTable({ abortSignal }))).pipe(
      Effect.mapError((error) => error.toStoreError()),
      Effect.withSpan("TableStorageClient.createTable", { attributes: { "eventable.table": options.table } })
    )

    return TableStorageClient.of({
      table: options.table,
      get,
      page,
      create,
      submit,
      update,
      remove,
      retryTransient
    })
  })
