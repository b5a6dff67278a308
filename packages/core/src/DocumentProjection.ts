/**
 * Document projections: a view of documents kept up to date from events, as
 * a consumer handler. You give the view's name, the event codec, the
 * document's schema, a key (which document an event updates) and an `evolve`
 * that takes the stored document (or none) and one recorded event and says
 * what becomes of the document: {@link write} a new one, {@link remove} it,
 * or leave it {@link unchanged}.
 *
 * Guarantees of {@link handler}:
 * - Idempotent: each stored document records, per source stream, the version
 *   of the last event applied; an event at or below it is skipped, so
 *   redelivery and replays from position 0 change nothing.
 * - Never a blind write: `evolve` always gets the stored document, and every
 *   write is a create (fails if the document appeared) or a replace on the
 *   ETag just read (fails if it changed). A conflict re-reads and folds again,
 *   on a Schedule, so concurrent writers never lose an update.
 * - Within one batch the events of one document are folded first and written
 *   once; the documents of a batch are written concurrently, up to a bound.
 * - The handler's Effect completes only after every write is confirmed, so a
 *   consumer's checkpoint never runs ahead of the view.
 * - A removed document stays as a tombstone (no value, its versions kept), so
 *   a replay cannot bring it back. {@link get} and {@link query} hide
 *   tombstones.
 *
 * The stored body is `{ value: <the document's JSON encoding, or null>,
 * versions: { <stream>: <version> } }`.
 *
 * @example
 * ```ts
 * import { DocumentProjection, EventCodec } from "@eventable/core"
 * import { Schema } from "effect"
 *
 * class Registered extends Schema.TaggedClass<Registered>()("Registered", { name: Schema.String, email: Schema.String }) {}
 * class Renamed extends Schema.TaggedClass<Renamed>()("Renamed", { name: Schema.String }) {}
 * const UserView = Schema.Struct({ name: Schema.String, email: Schema.String })
 *
 * const users = DocumentProjection.make({
 *   view: "users",
 *   codec: EventCodec.make(Schema.Union([Registered, Renamed])),
 *   document: UserView,
 *   evolve: (user, { event }) =>
 *     event._tag === "Registered"
 *       ? DocumentProjection.write({ name: event.name, email: event.email })
 *       : user === undefined
 *         ? DocumentProjection.unchanged
 *         : DocumentProjection.write({ ...user, name: event.name })
 * })
 * const handle = DocumentProjection.handler(users) // (events) => Effect<void, ProjectionError, ReadModelStore>
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Metric, Option, Result, Schedule, Schema, Stream } from "effect"
import type { EventCodec } from "./EventCodec.ts"
import { type CorruptEvent, InvalidArgument } from "./EventStoreError.ts"
import {
  type DocumentData,
  type DocumentExists,
  type DocumentKey,
  type DocumentNotFound,
  type DocumentQuery,
  type FieldEquals,
  type ReadModelError,
  ReadModelStore,
  type StaleDocument
} from "./ReadModelStore.ts"
import type { RecordedEvent } from "./RecordedEvent.ts"
import type { StoredEvent } from "./StoredEvent.ts"
import type { StreamId } from "./StreamId.ts"

/**
 * What `evolve` decides for a document.
 *
 * @since 0.1.0
 */
export type Change<D> =
  | { readonly _tag: "Write"; readonly document: D }
  | { readonly _tag: "Remove" }
  | { readonly _tag: "Unchanged" }

/**
 * The document becomes `document`.
 *
 * @since 0.1.0
 */
export const write = <D>(document: D): Change<D> => ({ _tag: "Write", document })

/**
 * The document is removed (kept as a tombstone).
 *
 * @since 0.1.0
 */
export const remove: Change<never> = { _tag: "Remove" }

/**
 * The event does not change the document.
 *
 * @since 0.1.0
 */
export const unchanged: Change<never> = { _tag: "Unchanged" }

/**
 * Where an event's document lives within the view, or `undefined` when the
 * event does not concern this view.
 *
 * @since 0.1.0
 */
export interface Target {
  readonly partitionKey: string
  readonly id: string
}

/**
 * Makes any stream id part usable as a document id or partition key: `%`,
 * `/`, `\`, `?` and `#` (which document ids may not hold) become `%25`,
 * `%2F`, `%5C`, `%3F` and `%23`; everything else is kept. Injective, and the
 * identity for ids without those characters.
 *
 * @since 0.1.0
 */
export const escapeKey = (value: string): string =>
  value.replace(/[%/\\?#]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`)

/**
 * The default key: one document per stream, partitioned by tenant (both
 * passed through {@link escapeKey}). To read a stream's document, use the
 * same function: `get(projection, byStream({ streamId }))`.
 *
 * @since 0.1.0
 */
export const byStream = (event: { readonly streamId: StreamId }): Target => ({
  partitionKey: escapeKey(event.streamId.tenant),
  id: escapeKey(event.streamId.id)
})

/**
 * A document projection's definition.
 *
 * @since 0.1.0
 */
export interface DocumentProjection<E, D> {
  /** The view's name (a container in Cosmos DB). */
  readonly view: string
  readonly codec: EventCodec<E>
  /** The document's schema; its JSON encoding must be an object. */
  readonly document: Schema.Codec<D, unknown>
  /** Which document an event updates (default {@link byStream}). */
  readonly key: (event: RecordedEvent<E>) => Target | undefined
  readonly evolve: (document: D | undefined, event: RecordedEvent<E>) => Change<D>
}

/**
 * Defines a projection; `key` defaults to {@link byStream}.
 *
 * @since 0.1.0
 */
export const make = <E, D>(definition: {
  readonly view: string
  readonly codec: EventCodec<E>
  readonly document: Schema.Codec<D, unknown>
  readonly key?: (event: RecordedEvent<E>) => Target | undefined
  readonly evolve: (document: D | undefined, event: RecordedEvent<E>) => Change<D>
}): DocumentProjection<E, D> => ({ ...definition, key: definition.key ?? byStream })

/**
 * A stored document does not match the projection's envelope or document
 * schema (written by another version of the code, or by hand).
 *
 * @since 0.1.0
 */
export class CorruptDocument extends Schema.TaggedError<CorruptDocument>()("CorruptDocument", {
  view: Schema.String,
  partitionKey: Schema.String,
  id: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Document ${this.id} in ${this.view}/${this.partitionKey} is not a valid projection document: ${this.reason}`
  }
}

/**
 * Everything a projection handler can fail with. A conflict
 * (`DocumentExists`, `StaleDocument`, `DocumentNotFound`) surfaces only when
 * the retry schedule ran out.
 *
 * @since 0.1.0
 */
export type ProjectionError =
  | CorruptEvent
  | CorruptDocument
  | ReadModelError
  | DocumentExists
  | StaleDocument
  | DocumentNotFound

/**
 * Options of {@link handler}.
 *
 * @since 0.1.0
 */
export interface HandlerOptions {
  /** Documents written at the same time within one batch (default 16). */
  readonly concurrency?: number
  /**
   * When a write conflicts (another writer got there first), how to wait
   * before re-reading and folding again (default: exponential from 5 ms with
   * jitter, capped at 200 ms, at most 20 retries).
   */
  readonly retry?: Schedule.Schedule<unknown, unknown>
  /**
   * Documents this handler last wrote, with their ETags, kept to skip the
   * read before the next write of the same document (default 10,000; 0 turns
   * it off). Safe: the write is still conditional on the cached ETag, and a
   * document changed by anyone else fails that condition, drops out of the
   * cache and is read again.
   */
  readonly cacheSize?: number
}

/**
 * The default conflict retry schedule.
 *
 * @since 0.1.0
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.min([
  Schedule.exponential("5 millis"),
  Schedule.spaced("200 millis")
]).pipe(Schedule.jittered, Schedule.upTo({ times: 20 }))

/**
 * The key of a stream in a document's `versions`: its parts, URI-encoded,
 * joined by `/` (so distinct streams never share a key).
 *
 * @since 0.1.0
 */
export const streamKey = (streamId: StreamId): string =>
  `${encodeURIComponent(streamId.tenant)}/${encodeURIComponent(streamId.category)}/${encodeURIComponent(streamId.id)}`

const Envelope = Schema.Struct({
  value: Schema.NullOr(Schema.Unknown),
  versions: Schema.Record(Schema.String, Schema.Int)
})
const decodeEnvelope = Schema.decodeUnknownResult(Envelope)

/**
 * A projected document as read back: the document (none for a tombstone),
 * the version applied per source stream (keys from {@link streamKey}), and
 * the store's ETag.
 *
 * @since 0.1.0
 */
export interface Projected<D> {
  readonly document: Option.Option<D>
  readonly versions: Readonly<Record<string, number>>
  readonly etag: string
}

const codecs = new WeakMap<
  object,
  {
    readonly decode: (input: unknown) => Result.Result<unknown, Schema.SchemaError>
    readonly encode: (input: unknown) => Result.Result<unknown, Schema.SchemaError>
  }
>()
const codecOf = <D>(schema: Schema.Codec<D, unknown>) => {
  let codec = codecs.get(schema)
  if (codec === undefined) {
    const json = Schema.toCodecJson(schema)
    codec = {
      decode: Schema.decodeUnknownResult(json) as (input: unknown) => Result.Result<unknown, Schema.SchemaError>,
      encode: Schema.encodeUnknownResult(json) as (input: unknown) => Result.Result<unknown, Schema.SchemaError>
    }
    codecs.set(schema, codec)
  }
  return codec as {
    readonly decode: (input: unknown) => Result.Result<D, Schema.SchemaError>
    readonly encode: (input: D) => Result.Result<unknown, Schema.SchemaError>
  }
}

const decodeProjected = <D>(
  schema: Schema.Codec<D, unknown>,
  key: DocumentKey,
  data: unknown,
  etag: string
): Result.Result<Projected<D>, CorruptDocument> => {
  const corrupt = (reason: string) => new CorruptDocument({ ...key, reason })
  const envelope = decodeEnvelope(data)
  if (Result.isFailure(envelope)) return Result.fail(corrupt(envelope.failure.message))
  const { value, versions } = envelope.success
  if (value === null) return Result.succeed({ document: Option.none(), versions, etag })
  const document = codecOf(schema).decode(value)
  return Result.isFailure(document)
    ? Result.fail(corrupt(document.failure.message))
    : Result.succeed({ document: Option.some(document.success), versions, etag })
}

/**
 * Reads one document of the view, with its versions and ETag; none when it
 * is missing or removed.
 *
 * @since 0.1.0
 */
export const get = <E, D>(
  projection: DocumentProjection<E, D>,
  target: Target
): Effect.Effect<Option.Option<Projected<D>>, ReadModelError | CorruptDocument, ReadModelStore> =>
  Effect.gen(function* () {
    const store = yield* ReadModelStore
    const key = { view: projection.view, ...target }
    const stored = yield* store.get(key)
    if (Option.isNone(stored)) return Option.none()
    const projected = yield* Effect.fromResult(
      decodeProjected(projection.document, key, stored.value.data, stored.value.etag)
    )
    return Option.isSome(projected.document) ? Option.some(projected) : Option.none()
  })

/**
 * The view's live documents in one partition whose fields (paths inside the
 * document's JSON encoding) equal the given values, in id order, following
 * continuation tokens. Tombstones are left out by the query itself.
 *
 * @since 0.1.0
 */
export const query = <E, D>(
  projection: DocumentProjection<E, D>,
  partitionKey: string,
  options: { readonly where?: ReadonlyArray<FieldEquals>; readonly pageSize?: number } = {}
): Stream.Stream<Projected<D> & { readonly id: string }, ReadModelError | CorruptDocument, ReadModelStore> =>
  Stream.unwrap(
    Effect.map(ReadModelStore, (store) =>
      store.query(storeQuery(projection, partitionKey, options)).pipe(
        Stream.mapEffect((stored) =>
          Effect.fromResult(
            Result.map(decodeProjected(projection.document, stored.key, stored.data, stored.etag), (projected) => ({
              ...projected,
              id: stored.key.id
            }))
          )
        ),
        Stream.filter((projected) => Option.isSome(projected.document))
      )
    )
  )

/**
 * The store query behind {@link query}: `where` paths are moved under the
 * envelope's `value`. Use it with `ReadModelStore.queryPage` to page by hand
 * (for example behind an HTTP API with continuation tokens).
 *
 * @since 0.1.0
 */
export const storeQuery = <E, D>(
  projection: DocumentProjection<E, D>,
  partitionKey: string,
  options: { readonly where?: ReadonlyArray<FieldEquals>; readonly pageSize?: number } = {}
): DocumentQuery => ({
  view: projection.view,
  partitionKey,
  where: (options.where ?? []).map((condition) => ({ path: ["value", ...condition.path], value: condition.value })),
  ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize })
})

const documentsWritten = Metric.counter("eventable_projection_documents_written_total", {
  description: "Documents created or replaced by document projections"
})
const writeConflicts = Metric.counter("eventable_projection_write_conflicts_total", {
  description: "Document writes that lost a race (exists, stale ETag, gone) and were re-read and retried"
})

interface Group<E> {
  readonly key: DocumentKey
  readonly events: Array<RecordedEvent<E>>
}

const isConflict = (error: { readonly _tag: string }) =>
  error._tag === "DocumentExists" || error._tag === "StaleDocument" || error._tag === "DocumentNotFound"

/**
 * Turns a projection into a consumer handler for a batch of stored events
 * (in feed order): decodes them, groups them by document, and for each
 * document reads it, folds the batch's new events into it and writes it once,
 * conditionally; documents are written concurrently up to
 * `options.concurrency`. Completes when every write is confirmed.
 *
 * The handler keeps the documents it last wrote with their ETags (see
 * `cacheSize`), so the next batch for a document replaces it without a read;
 * the write stays conditional, so a stale copy only costs a retry.
 *
 * When a document's events start at version 1 of a single stream, the first
 * attempt creates the document without reading it (it is almost certainly
 * new); if it exists after all, the create fails and the normal read path
 * takes over. That saves a read per new document during catch-up.
 *
 * Events of a type the codec does not know are skipped when the codec's
 * `unknownTypes` policy is `"skip"`. Fails with `CorruptEvent` (an event the
 * codec cannot decode, or an unknown type under the `"fail"` policy; nothing is
 * written), `CorruptDocument`, a store error, or a conflict when the retry
 * schedule ran out. Invalid options (a concurrency below 1, a negative
 * cache size) make every call fail with `InvalidArgument`, before anything is
 * read or written. Documents of the batch written before a failure stay
 * written; redelivering the batch skips their events by version.
 *
 * @since 0.1.0
 */
export const handler = <E, D>(projection: DocumentProjection<E, D>, options: HandlerOptions = {}) => {
  const concurrency = options.concurrency ?? 16
  const invalidOption =
    !Number.isSafeInteger(concurrency) || concurrency < 1
      ? new InvalidArgument({
          operation: "DocumentProjection.handler",
          argument: "concurrency",
          value: String(concurrency),
          reason: "must be a positive integer"
        })
      : options.cacheSize !== undefined && (!Number.isSafeInteger(options.cacheSize) || options.cacheSize < 0)
        ? new InvalidArgument({
            operation: "DocumentProjection.handler",
            argument: "cacheSize",
            value: String(options.cacheSize),
            reason: "must be a non-negative integer"
          })
        : undefined
  const retry = options.retry ?? defaultRetry
  const codec = codecOf(projection.document)

  const fold = (group: Group<E>, current: Projected<D> | undefined) => {
    let value = current === undefined ? undefined : Option.getOrUndefined(current.document)
    const versions: Record<string, number> = { ...current?.versions }
    let changed = false
    for (const event of group.events) {
      const stream = streamKey(event.streamId)
      if (event.version <= (versions[stream] ?? 0)) continue
      const change = projection.evolve(value, event)
      versions[stream] = event.version
      if (change._tag === "Write") {
        value = change.document
        changed = true
      } else if (change._tag === "Remove" && value !== undefined) {
        value = undefined
        changed = true
      }
    }
    return { value, versions, changed }
  }

  const envelope = (
    group: Group<E>,
    folded: { readonly value: D | undefined; readonly versions: Record<string, number> }
  ): Effect.Effect<DocumentData, CorruptDocument> => {
    if (folded.value === undefined) return Effect.succeed({ value: null, versions: folded.versions })
    const encoded = codec.encode(folded.value)
    return Result.isFailure(encoded)
      ? Effect.fail(
          new CorruptDocument({
            ...group.key,
            reason: `evolve returned a document its schema rejects: ${encoded.failure.message}`
          })
        )
      : Effect.succeed({ value: encoded.success as DocumentData[string], versions: folded.versions })
  }

  // The documents this handler last wrote, per store (the handler may be
  // given different stores), by key, least recently used first.
  const cacheSize = options.cacheSize ?? 10_000
  const caches = new WeakMap<object, Map<string, Projected<D>>>()
  const cacheOf = (store: ReadModelStore["Service"]) => {
    let cache = caches.get(store)
    if (cache === undefined) {
      cache = new Map()
      caches.set(store, cache)
    }
    return cache
  }
  const remember = (
    cache: Map<string, Projected<D>>,
    name: string,
    folded: { readonly value: D | undefined; readonly versions: Record<string, number> },
    etag: string
  ) => {
    if (cacheSize <= 0) return
    cache.delete(name)
    cache.set(name, { document: Option.fromUndefinedOr(folded.value), versions: folded.versions, etag })
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!)
  }

  // Reads the document (or takes it from the cache on the first attempt),
  // folds the group's new events into it, writes it back conditionally.
  // Returns the number of writes (0 or 1).
  const readFoldWrite = (store: ReadModelStore["Service"], group: Group<E>, name: string) =>
    Effect.gen(function* () {
      const cache = cacheOf(store)
      const cached = cache.get(name)
      // A cached copy is used once: if its write conflicts, the retry reads.
      cache.delete(name)
      let current: Projected<D> | undefined = cached
      if (cached === undefined) {
        const stored = yield* store.get(group.key)
        current = Option.isSome(stored)
          ? yield* Effect.fromResult(
              decodeProjected(projection.document, group.key, stored.value.data, stored.value.etag)
            )
          : undefined
      }
      const folded = fold(group, current)
      if (!folded.changed) {
        if (current !== undefined)
          remember(
            cache,
            name,
            { value: Option.getOrUndefined(current.document), versions: { ...current.versions } },
            current.etag
          )
        return 0
      }
      const data = yield* envelope(group, folded)
      // Even a document created and removed within the batch is stored (as a
      // tombstone): its versions stop a partial redelivery from creating it.
      const written =
        current === undefined
          ? yield* store.create(group.key, data)
          : yield* store.replace(group.key, data, current.etag)
      remember(cache, name, folded, written.etag)
      return 1
    })

  const writeDocument = (store: ReadModelStore["Service"], group: Group<E>) => {
    const name = JSON.stringify([group.key.partitionKey, group.key.id])
    const cache = cacheOf(store)
    const first = group.events[0]!
    const likelyNew =
      !cache.has(name) &&
      first.version === 1 &&
      group.events.every((event) => streamKey(event.streamId) === streamKey(first.streamId))
    const careful = readFoldWrite(store, group, name).pipe(
      Effect.tapError((error) => (isConflict(error) ? Metric.update(writeConflicts, 1) : Effect.void)),
      Effect.retry({ schedule: retry, while: isConflict })
    )
    if (!likelyNew) return careful
    // Optimistic create: the fold from nothing, created without a read. If the
    // document exists after all, or the fold changes nothing, read and fold.
    const folded = fold(group, undefined)
    if (!folded.changed) return careful
    return envelope(group, folded).pipe(
      Effect.flatMap((data) => store.create(group.key, data)),
      Effect.map((written) => {
        remember(cache, name, folded, written.etag)
        return 1
      }),
      Effect.catchTag("DocumentExists", () => careful)
    )
  }

  return (events: ReadonlyArray<StoredEvent>): Effect.Effect<void, ProjectionError, ReadModelStore> =>
    Effect.gen(function* () {
      if (invalidOption !== undefined) return yield* invalidOption
      const store = yield* ReadModelStore
      const groups = new Map<string, Group<E>>()
      for (const stored of events) {
        // An unknown type is skipped under the codec's "skip" policy, and fails the batch otherwise.
        const decoded = yield* projection.codec.decodeKnown(stored)
        if (Option.isNone(decoded)) continue
        const event = decoded.value
        const target = projection.key(event)
        if (target === undefined) continue
        const key = { view: projection.view, partitionKey: target.partitionKey, id: target.id }
        const name = JSON.stringify([key.partitionKey, key.id])
        const group = groups.get(name)
        if (group === undefined) groups.set(name, { key, events: [event] })
        else group.events.push(event)
      }
      const written = yield* Effect.forEach(groups.values(), (group) => writeDocument(store, group), { concurrency })
      yield* Metric.update(
        documentsWritten,
        written.reduce((sum, n) => sum + n, 0)
      )
      yield* Effect.annotateCurrentSpan({
        "eventable.documents": groups.size,
        "eventable.writes": written.reduce((sum, n) => sum + n, 0)
      })
    }).pipe(
      Effect.withSpan(
        "DocumentProjection.handle",
        { attributes: { "eventable.view": projection.view, "eventable.events": events.length } },
        { captureStackTrace: false }
      )
    )
}
