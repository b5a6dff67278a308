/**
 * An in-memory `ReadModelStore` with the same semantics as the Cosmos DB
 * store: conditional create, replace and delete on ETags (a fresh ETag per
 * write), the same key, body and query checks, and queries paged in id order
 * with continuation tokens. Documents are copied in and out, so a caller
 * never shares state with the store. State lives as long as the Layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { InMemoryReadModelStore, ReadModelStore } from "@eventable/core"
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* ReadModelStore.ReadModelStore
 *   yield* store.create({ view: "users", partitionKey: "acme", id: "u-1" }, { name: "Ada" })
 * }).pipe(Effect.provide(InMemoryReadModelStore.layer))
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer, Option } from "effect"
import { InvalidArgument } from "./EventStoreError.ts"
import {
  checkData,
  checkKey,
  checkQuery,
  type DocumentData,
  DocumentExists,
  type DocumentKey,
  DocumentNotFound,
  type DocumentPage,
  type DocumentQuery,
  defaultPageSize,
  type FieldEquals,
  ReadModelStore,
  StaleDocument,
  streamPages,
  type VersionedDocument
} from "./ReadModelStore.ts"

interface Stored {
  readonly json: string
  readonly etag: string
}

const slot = (key: DocumentKey) => JSON.stringify([key.view, key.partitionKey])

const valueAt = (data: unknown, path: ReadonlyArray<string>): unknown => {
  let current: unknown = data
  for (const name of path) {
    if (typeof current !== "object" || current === null || Array.isArray(current)) return undefined
    current = Object.hasOwn(current, name) ? (current as Record<string, unknown>)[name] : undefined
  }
  return current
}

const matches = (data: unknown, where: ReadonlyArray<FieldEquals>) =>
  where.every((condition) => valueAt(data, condition.path) === condition.value)

// Ordinal order of the ids' UTF-8 bytes (as Cosmos DB sorts strings), not UTF-16 code units.
const encoder = new TextEncoder()
const compareIds = (a: string, b: string) => Buffer.compare(encoder.encode(a), encoder.encode(b))

const encodeToken = (afterId: string) => Buffer.from(JSON.stringify({ after: afterId }), "utf8").toString("base64url")
const decodeToken = (token: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"))
    return typeof parsed === "object" && parsed !== null && "after" in parsed && typeof parsed.after === "string"
      ? parsed.after
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Builds a fresh, empty store.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<ReadModelStore["Service"]> = Effect.sync(() => {
  const slots = new Map<string, Map<string, Stored>>()
  let writes = 0
  const freshEtag = () => `"${(++writes).toString(16).padStart(8, "0")}-${crypto.randomUUID()}"`
  const documentsOf = (key: DocumentKey, create: boolean) => {
    const name = slot(key)
    let documents = slots.get(name)
    if (documents === undefined && create) {
      documents = new Map()
      slots.set(name, documents)
    }
    return documents
  }
  const toDocument = (key: DocumentKey, stored: Stored): VersionedDocument => ({
    key: { view: key.view, partitionKey: key.partitionKey, id: key.id },
    data: JSON.parse(stored.json) as DocumentData,
    etag: stored.etag
  })
  const guarded = (key: DocumentKey, etag: string) =>
    Effect.suspend((): Effect.Effect<void, DocumentNotFound | StaleDocument> => {
      const stored = documentsOf(key, false)?.get(key.id)
      if (stored === undefined) return Effect.fail(new DocumentNotFound(key))
      if (stored.etag !== etag) return Effect.fail(new StaleDocument({ ...key, etag }))
      return Effect.void
    })

  const get = (key: DocumentKey) =>
    checkKey("ReadModelStore.get", key).pipe(
      Effect.andThen(
        Effect.sync(() => {
          const stored = documentsOf(key, false)?.get(key.id)
          return stored === undefined ? Option.none() : Option.some(toDocument(key, stored))
        })
      )
    )

  const create = (key: DocumentKey, data: DocumentData) =>
    Effect.gen(function* () {
      yield* checkKey("ReadModelStore.create", key)
      const json = yield* checkData("ReadModelStore.create", data)
      const documents = documentsOf(key, true)!
      if (documents.has(key.id)) return yield* new DocumentExists(key)
      const stored = { json, etag: freshEtag() }
      documents.set(key.id, stored)
      return toDocument(key, stored)
    })

  const replace = (key: DocumentKey, data: DocumentData, etag: string) =>
    Effect.gen(function* () {
      yield* checkKey("ReadModelStore.replace", key)
      const json = yield* checkData("ReadModelStore.replace", data)
      yield* guarded(key, etag)
      const stored = { json, etag: freshEtag() }
      documentsOf(key, true)!.set(key.id, stored)
      return toDocument(key, stored)
    })

  const remove = (key: DocumentKey, etag: string) =>
    Effect.gen(function* () {
      yield* checkKey("ReadModelStore.delete", key)
      yield* guarded(key, etag)
      documentsOf(key, false)?.delete(key.id)
    })

  const queryPage = (query: DocumentQuery, continuation?: string) =>
    Effect.gen(function* () {
      yield* checkQuery("ReadModelStore.queryPage", query)
      const after = continuation === undefined ? undefined : decodeToken(continuation)
      if (continuation !== undefined && after === undefined) {
        return yield* new InvalidArgument({
          operation: "ReadModelStore.queryPage",
          argument: "continuation",
          value: continuation.slice(0, 120),
          reason: "not a continuation token of this store"
        })
      }
      const key = { view: query.view, partitionKey: query.partitionKey, id: "" }
      const where = query.where ?? []
      const pageSize = query.pageSize ?? defaultPageSize
      const ids = [...(documentsOf(key, false)?.keys() ?? [])]
        .filter((id) => after === undefined || compareIds(id, after) > 0)
        .sort(compareIds)
      const page: Array<VersionedDocument> = []
      let more = false
      for (const id of ids) {
        const stored = documentsOf(key, false)!.get(id)!
        const document = toDocument({ ...key, id }, stored)
        if (!matches(document.data, where)) continue
        if (page.length === pageSize) {
          more = true
          break
        }
        page.push(document)
      }
      const last = page.at(-1)
      return {
        documents: page,
        continuation: more && last !== undefined ? Option.some(encodeToken(last.key.id)) : Option.none()
      } satisfies DocumentPage
    })

  return ReadModelStore.of({
    get,
    create,
    replace,
    delete: remove,
    queryPage,
    query: (query) => streamPages(queryPage, query)
  })
})

/**
 * A fresh in-memory store for the lifetime of the Layer.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<ReadModelStore> = Layer.effect(ReadModelStore, make)
