/**
 * The read model store port: versioned JSON documents, grouped in views,
 * addressed by (view, partition key, id), each write guarded by the
 * document's ETag. Backends: `InMemoryReadModelStore` (tests) and the Cosmos
 * DB store in `@eventable/cosmos`. Every backend passes the read model store
 * conformance suite of `@eventable/testing`, so they answer alike:
 *
 * - `create` fails with `DocumentExists` when the id is taken;
 * - `replace` and `delete` take the ETag the caller last saw and fail with
 *   `StaleDocument` when the document changed since, or `DocumentNotFound`
 *   when it is gone;
 * - every successful write returns (or leaves) a fresh ETag;
 * - `query` lists one partition in id order, page by page, following
 *   continuation tokens.
 *
 * There is no unconditional write: a document is never replaced blindly.
 *
 * @since 0.1.0
 */
import { Context, Effect, Option, Result, Schema, Stream } from "effect"
import { InvalidArgument } from "./EventStoreError.ts"
import * as JsonText from "./JsonText.ts"

/**
 * A document's body: a JSON object.
 *
 * @since 0.1.0
 */
export type DocumentData = Schema.JsonObject

/**
 * Where a document lives: its view (a Cosmos container), its partition key
 * (for example the tenant) and its id (for example the aggregate id).
 *
 * @since 0.1.0
 */
export interface DocumentKey {
  readonly view: string
  readonly partitionKey: string
  readonly id: string
}

/**
 * A stored document with its current ETag (opaque: compare it, never parse it).
 *
 * @since 0.1.0
 */
export interface VersionedDocument {
  readonly key: DocumentKey
  readonly data: DocumentData
  readonly etag: string
}

/**
 * One equality condition of a query: the JSON value at `path` (property names
 * from the document's root, each matching {@link fieldNamePattern}) equals
 * `value`.
 *
 * @since 0.1.0
 */
export interface FieldEquals {
  readonly path: ReadonlyArray<string>
  readonly value: string | number | boolean | null
}

/**
 * A query over one partition of a view: documents whose fields equal the
 * given values (all of them), in id order.
 *
 * @since 0.1.0
 */
export interface DocumentQuery {
  readonly view: string
  readonly partitionKey: string
  /** Conditions that must all hold (default: none, every document of the partition). */
  readonly where?: ReadonlyArray<FieldEquals>
  /** Documents per page, 1 to {@link maxPageSize} (default 100). */
  readonly pageSize?: number
}

/**
 * One page of a query, and the token that continues it (none on the last page).
 *
 * @since 0.1.0
 */
export interface DocumentPage {
  readonly documents: ReadonlyArray<VersionedDocument>
  readonly continuation: Option.Option<string>
}

/**
 * The id is already taken in that view and partition.
 *
 * @since 0.1.0
 */
export class DocumentExists extends Schema.TaggedError<DocumentExists>()("DocumentExists", {
  view: Schema.String,
  partitionKey: Schema.String,
  id: Schema.String
}) {
  override get message(): string {
    return `Document ${this.id} already exists in ${this.view}/${this.partitionKey}`
  }
}

/**
 * The document changed since the caller read it: its ETag is no longer the
 * one given. Re-read it and try again.
 *
 * @since 0.1.0
 */
export class StaleDocument extends Schema.TaggedError<StaleDocument>()("StaleDocument", {
  view: Schema.String,
  partitionKey: Schema.String,
  id: Schema.String,
  etag: Schema.String
}) {
  override get message(): string {
    return `Document ${this.id} in ${this.view}/${this.partitionKey} changed since ETag ${this.etag}`
  }
}

/**
 * The document to replace or delete does not exist (any more).
 *
 * @since 0.1.0
 */
export class DocumentNotFound extends Schema.TaggedError<DocumentNotFound>()("DocumentNotFound", {
  view: Schema.String,
  partitionKey: Schema.String,
  id: Schema.String
}) {
  override get message(): string {
    return `Document ${this.id} not found in ${this.view}/${this.partitionKey}`
  }
}

/**
 * The read model store did not answer, or answered with a transient failure
 * (throttled, busy, timeout, connection reset), and retries ran out. Safe to
 * retry later.
 *
 * @since 0.1.0
 */
export class ReadModelUnavailable extends Schema.TaggedError<ReadModelUnavailable>()("ReadModelUnavailable", {
  operation: Schema.String,
  reason: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  /** Always true: the failure is transient. */
  get retryable(): true {
    return true
  }
  override get message(): string {
    return `Read model store unavailable during ${this.operation}: ${this.reason}`
  }
}

/**
 * The read model store refused the request for a reason retrying will not
 * fix (bad credentials, an unexpected answer). `status` is the HTTP status
 * when there was one.
 *
 * @since 0.1.0
 */
export class ReadModelFailure extends Schema.TaggedError<ReadModelFailure>()("ReadModelFailure", {
  operation: Schema.String,
  reason: Schema.String,
  status: Schema.optionalKey(Schema.Number),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `Read model store failure during ${this.operation}${status}: ${this.reason}`
  }
}

/**
 * What every read model operation can fail with, besides its own conflicts.
 *
 * @since 0.1.0
 */
export type ReadModelError = ReadModelUnavailable | ReadModelFailure | InvalidArgument

/**
 * The read model store port.
 *
 * @since 0.1.0
 */
export class ReadModelStore extends Context.Service<
  ReadModelStore,
  {
    /** The document with its ETag, or none. */
    readonly get: (key: DocumentKey) => Effect.Effect<Option.Option<VersionedDocument>, ReadModelError>
    /** Creates the document; `DocumentExists` when the id is taken. */
    readonly create: (
      key: DocumentKey,
      data: DocumentData
    ) => Effect.Effect<VersionedDocument, DocumentExists | ReadModelError>
    /**
     * Replaces the document if its ETag is still `etag`: `StaleDocument` when
     * it changed, `DocumentNotFound` when it is gone.
     */
    readonly replace: (
      key: DocumentKey,
      data: DocumentData,
      etag: string
    ) => Effect.Effect<VersionedDocument, StaleDocument | DocumentNotFound | ReadModelError>
    /** Deletes the document if its ETag is still `etag` (same failures as `replace`). */
    readonly delete: (
      key: DocumentKey,
      etag: string
    ) => Effect.Effect<void, StaleDocument | DocumentNotFound | ReadModelError>
    /** One page of a query, from the start or from a continuation token. */
    readonly queryPage: (query: DocumentQuery, continuation?: string) => Effect.Effect<DocumentPage, ReadModelError>
    /** Every document a query matches, fetched page by page. */
    readonly query: (query: DocumentQuery) => Stream.Stream<VersionedDocument, ReadModelError>
  }
>()("@eventable/core/ReadModelStore") {}

/**
 * The largest page a query may ask for.
 *
 * @since 0.1.0
 */
export const maxPageSize = 1000

/**
 * The default page size of a query.
 *
 * @since 0.1.0
 */
export const defaultPageSize = 100

/**
 * The largest document body, in bytes of its UTF-8 JSON: Cosmos DB's 2 MiB
 * item limit, less room for the envelope and the system properties.
 *
 * @since 0.1.0
 */
export const maxDocumentBytes = 2 * 1024 * 1024 - 16 * 1024

/**
 * The longest view name, in characters.
 *
 * @since 0.1.0
 */
export const maxViewLength = 200

/**
 * The longest id and partition key, in UTF-8 bytes.
 *
 * @since 0.1.0
 */
export const maxIdBytes = 1023

/**
 * Field names a query may use.
 *
 * @since 0.1.0
 */
export const fieldNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/

const viewPattern = /^[A-Za-z][A-Za-z0-9-]*$/
// Cosmos DB refuses `/`, `\`, `?` and `#` in ids; control characters are refused too.
const forbiddenInId = /[/\\?#\u0000-\u001f\u007f-\u009f]/u
const encoder = new TextEncoder()

/**
 * Why the key is invalid, or `undefined` when it is valid. Every backend
 * checks keys with this, before any request.
 *
 * - view: a letter, then letters, digits and `-`, at most {@link maxViewLength};
 * - id and partition key: non-empty, well-formed Unicode, at most
 *   {@link maxIdBytes} UTF-8 bytes, no `/`, `\`, `?`, `#` or control characters.
 *
 * @since 0.1.0
 */
export const keyProblem = (key: DocumentKey): { readonly argument: string; readonly reason: string } | undefined => {
  if (!viewPattern.test(key.view) || key.view.length > maxViewLength) {
    return {
      argument: "view",
      reason: `must start with a letter and hold only letters, digits and "-", at most ${maxViewLength} characters`
    }
  }
  for (const argument of ["partitionKey", "id"] as const) {
    const value = key[argument]
    if (value.length === 0) return { argument, reason: "must not be empty" }
    if (!value.isWellFormed()) return { argument, reason: "must be well-formed Unicode" }
    if (encoder.encode(value).length > maxIdBytes) return { argument, reason: `must be at most ${maxIdBytes} bytes` }
    if (forbiddenInId.test(value)) return { argument, reason: "must not contain /, \\, ?, # or control characters" }
  }
  return undefined
}

// Walks the value without recursion. Shared (non-cyclic) references are fine in
// JSON, so there is no "seen" set: a cycle shows as nesting past the limit, and
// a budget of visits (every JSON value takes at least one byte) bounds the walk.
const nestingProblem = (root: object, limit: number): string | undefined => {
  const pending: Array<readonly [unknown, number]> = [[root, 1]]
  let visits = 0
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!
    if (++visits > maxDocumentBytes) return `is larger than ${maxDocumentBytes} bytes of JSON`
    if (typeof value !== "object" || value === null) continue
    if (depth > limit) return `must nest arrays and objects at most ${limit} deep (and must not refer to itself)`
    for (const child of Array.isArray(value) ? value : Object.values(value)) pending.push([child, depth + 1])
  }
  return undefined
}

/**
 * The body as the JSON text a backend stores, or why it cannot be stored: it
 * is not a plain JSON object, it nests deeper than `JsonText.maxDepth` (or
 * refers to itself), or it is larger than {@link maxDocumentBytes}.
 *
 * @since 0.1.0
 */
export const encodeData = (data: unknown): Result.Result<string, string> => {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return Result.fail("must be a JSON object")
  // Measured without recursion, before anything recursive (the schema check, JSON.stringify) sees it.
  const nesting = nestingProblem(data, JsonText.maxDepth)
  if (nesting !== undefined) return Result.fail(nesting)
  const checked = Schema.decodeUnknownResult(Schema.JsonObject)(data)
  if (Result.isFailure(checked)) return Result.fail(`must be JSON: ${checked.failure.message}`)
  let text: string
  try {
    text = JSON.stringify(data)
  } catch (error) {
    return Result.fail(`must be JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  const bytes = encoder.encode(text).length
  if (bytes > maxDocumentBytes) return Result.fail(`is ${bytes} bytes of JSON, more than ${maxDocumentBytes}`)
  return Result.succeed(text)
}

/**
 * Why the query is invalid, or `undefined` when it is valid.
 *
 * @since 0.1.0
 */
export const queryProblem = (
  query: DocumentQuery
): { readonly argument: string; readonly value: string; readonly reason: string } | undefined => {
  const key = keyProblem({ view: query.view, partitionKey: query.partitionKey, id: "x" })
  if (key !== undefined) {
    return { ...key, value: key.argument === "view" ? query.view : query.partitionKey }
  }
  const pageSize = query.pageSize ?? defaultPageSize
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > maxPageSize) {
    return { argument: "pageSize", value: String(pageSize), reason: `must be an integer from 1 to ${maxPageSize}` }
  }
  for (const condition of query.where ?? []) {
    if (condition.path.length === 0 || condition.path.length > 8) {
      return { argument: "where", value: JSON.stringify(condition.path), reason: "a path has 1 to 8 field names" }
    }
    const bad = condition.path.find((name) => !fieldNamePattern.test(name))
    if (bad !== undefined) {
      return { argument: "where", value: JSON.stringify(bad), reason: `field names must match ${fieldNamePattern}` }
    }
    const value = condition.value
    if (typeof value === "number" && !Number.isFinite(value)) {
      return { argument: "where", value: String(value), reason: "a number must be finite" }
    }
  }
  return undefined
}

/**
 * Checks a key before any request: `InvalidArgument` naming the part and why.
 *
 * @since 0.1.0
 */
export const checkKey = (operation: string, key: DocumentKey): Effect.Effect<void, InvalidArgument> => {
  const problem = keyProblem(key)
  return problem === undefined
    ? Effect.void
    : Effect.fail(
        new InvalidArgument({
          operation,
          argument: problem.argument,
          value: JSON.stringify(key[problem.argument as keyof DocumentKey]).slice(0, 120),
          reason: problem.reason
        })
      )
}

/**
 * Checks a body before any request and returns its JSON text, or
 * `InvalidArgument` saying why it cannot be stored.
 *
 * @since 0.1.0
 */
export const checkData = (operation: string, data: unknown): Effect.Effect<string, InvalidArgument> => {
  const encoded = encodeData(data)
  return Result.isSuccess(encoded)
    ? Effect.succeed(encoded.success)
    : Effect.fail(new InvalidArgument({ operation, argument: "data", value: "(document)", reason: encoded.failure }))
}

/**
 * Checks a query before any request.
 *
 * @since 0.1.0
 */
export const checkQuery = (operation: string, query: DocumentQuery): Effect.Effect<void, InvalidArgument> => {
  const problem = queryProblem(query)
  return problem === undefined ? Effect.void : Effect.fail(new InvalidArgument({ operation, ...problem }))
}

/**
 * A query as a Stream, from a backend's `queryPage`: fetches the next page
 * only when the previous one is consumed, and ends after the page without a
 * continuation token.
 *
 * @since 0.1.0
 */
export const streamPages = <E>(
  queryPage: (query: DocumentQuery, continuation?: string) => Effect.Effect<DocumentPage, E>,
  query: DocumentQuery
): Stream.Stream<VersionedDocument, E> =>
  Stream.paginate(Option.none<string>(), (continuation: Option.Option<string>) =>
    Effect.map(
      Option.isSome(continuation) ? queryPage(query, continuation.value) : queryPage(query),
      (page) => [page.documents, Option.map(page.continuation, Option.some)] as const
    )
  )
