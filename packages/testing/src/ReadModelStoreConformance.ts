/**
 * The contract every `ReadModelStore` backend must keep, as a suite of
 * @effect/vitest tests. Call {@link run} from a test file with your store's
 * Layer; it registers the tests. Each test works in a fresh partition key,
 * so the suite can share one store across all of them. It uses the views
 * `conformance` and `conformance-b`.
 *
 * Covered: conditional create, replace and delete (exists, stale ETag,
 * missing document), fresh ETags per write, isolation between views and
 * partitions, concurrent writers on one document with no lost update, racing
 * creates with one winner, query filters and paging over several pages with
 * continuation tokens, and bad input refused with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { InMemoryReadModelStore } from "@eventable/core"
 * import { ReadModelStoreConformance } from "@eventable/testing"
 *
 * ReadModelStoreConformance.run("in-memory", InMemoryReadModelStore.layer)
 * ```
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { ReadModelStore } from "@eventable/core"
import { Effect, type Layer, Option, Stream } from "effect"

/**
 * Options of the suite.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Concurrent writers in the racing tests (default 8). */
  readonly writers?: number
  /** Increments per writer in the lost-update test (default 5). */
  readonly incrementsPerWriter?: number
}

let counter = 0
const freshPartition = (): string =>
  `p${Date.now().toString(36)}${(counter++).toString(36)}${crypto.randomUUID().slice(0, 8)}`

const view = "conformance"
const keyIn = (partitionKey: string, id: string, inView = view): ReadModelStore.DocumentKey => ({
  view: inView,
  partitionKey,
  id
})

type Store = ReadModelStore.ReadModelStore["Service"]

/** Read, add one, replace on the ETag; on a stale ETag read again. */
const increment = (store: Store, key: ReadModelStore.DocumentKey) =>
  Effect.gen(function* () {
    let conflicts = 0
    while (true) {
      const current = yield* store.get(key)
      if (Option.isNone(current)) return yield* Effect.die(new Error("the counter document vanished"))
      const count = current.value.data.count as number
      // Let the other writers run between the read and the write, as a network would.
      yield* Effect.yieldNow
      const replaced = yield* Effect.result(store.replace(key, { count: count + 1 }, current.value.etag))
      if (replaced._tag === "Success") return conflicts
      if (replaced.failure._tag !== "StaleDocument") return yield* Effect.fail(replaced.failure)
      conflicts++
    }
  })

/**
 * Registers the conformance tests for a store Layer.
 *
 * @since 0.1.0
 */
export const run = <E>(
  name: string,
  storeLayer: Layer.Layer<ReadModelStore.ReadModelStore, E>,
  options: Options = {}
): void => {
  const writers = options.writers ?? 8
  const increments = options.incrementsPerWriter ?? 5

  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(
    `ReadModelStore conformance: ${name}`,
    (it) => {
      it.effect("given no document, when it is read, then there is none", () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          assert.isTrue(Option.isNone(yield* store.get(keyIn(freshPartition(), "missing"))))
        })
      )

      it.effect("given a created document, when it is read, then it comes back with the same data and ETag", () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          const key = keyIn(freshPartition(), "u-1")
          const data = {
            name: "Ada",
            email: "ada@example.com",
            tags: ["a", "b"],
            nested: { n: 1.5, ok: true, no: null }
          }
          const created = yield* store.create(key, data)
          const read = yield* store.get(key)
          assert.isTrue(Option.isSome(read))
          const document = Option.getOrThrow(read)
          assert.deepStrictEqual(document.data, data)
          assert.deepStrictEqual(document.key, key)
          assert.strictEqual(document.etag, created.etag)
          assert.deepStrictEqual(created.data, data)
        })
      )

      it.effect("given an existing document, when it is created again, then DocumentExists and it is unchanged", () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          const key = keyIn(freshPartition(), "u-1")
          yield* store.create(key, { name: "first" })
          const error = yield* Effect.flip(store.create(key, { name: "second" }))
          assert.strictEqual(error._tag, "DocumentExists")
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(key)).data, { name: "first" })
        })
      )

      it.effect("given a document, when it is replaced on its ETag, then it changes and gets a fresh ETag", () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          const key = keyIn(freshPartition(), "u-1")
          const created = yield* store.create(key, { name: "first", email: "a@x" })
          const replaced = yield* store.replace(key, { name: "second", email: "a@x" }, created.etag)
          assert.notStrictEqual(replaced.etag, created.etag)
          const read = Option.getOrThrow(yield* store.get(key))
          assert.deepStrictEqual(read.data, { name: "second", email: "a@x" })
          assert.strictEqual(read.etag, replaced.etag)
        })
      )

      it.effect(
        "given a document changed since it was read, when it is replaced on the old ETag, then StaleDocument",
        () =>
          Effect.gen(function* () {
            const store = yield* ReadModelStore.ReadModelStore
            const key = keyIn(freshPartition(), "u-1")
            const created = yield* store.create(key, { n: 1 })
            yield* store.replace(key, { n: 2 }, created.etag)
            const error = yield* Effect.flip(store.replace(key, { n: 3 }, created.etag))
            assert.strictEqual(error._tag, "StaleDocument")
            assert.deepStrictEqual(Option.getOrThrow(yield* store.get(key)).data, { n: 2 })
            const deleteError = yield* Effect.flip(store.delete(key, created.etag))
            assert.strictEqual(deleteError._tag, "StaleDocument")
            assert.isTrue(Option.isSome(yield* store.get(key)))
          })
      )

      it.effect("given no document, when it is replaced or deleted, then DocumentNotFound", () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          const key = keyIn(freshPartition(), "u-1")
          const created = yield* store.create(key, { n: 1 })
          yield* store.delete(key, created.etag)
          assert.isTrue(Option.isNone(yield* store.get(key)))
          assert.strictEqual((yield* Effect.flip(store.replace(key, { n: 2 }, created.etag)))._tag, "DocumentNotFound")
          assert.strictEqual((yield* Effect.flip(store.delete(key, created.etag)))._tag, "DocumentNotFound")
          assert.isTrue(Option.isNone(yield* store.get(key)))
          const recreated = yield* store.create(key, { n: 3 })
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(key)).data, { n: 3 })
          assert.notStrictEqual(recreated.etag, created.etag)
        })
      )

      it.effect("given the same id in two partitions and two views, when each is written, then they stay apart", () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          const [a, b] = [freshPartition(), freshPartition()]
          yield* store.create(keyIn(a, "same"), { owner: "a" })
          yield* store.create(keyIn(b, "same"), { owner: "b" })
          yield* store.create(keyIn(a, "same", "conformance-b"), { owner: "a in b" })
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(keyIn(a, "same"))).data, { owner: "a" })
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(keyIn(b, "same"))).data, { owner: "b" })
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(keyIn(a, "same", "conformance-b"))).data, {
            owner: "a in b"
          })
          assert.deepStrictEqual(
            (yield* Stream.runCollect(store.query({ view, partitionKey: a }))).map((d) => d.data),
            [{ owner: "a" }]
          )
        })
      )

      it.effect(
        `given ${writers} concurrent writers incrementing one document on its ETag, then no update is lost`,
        () =>
          Effect.gen(function* () {
            const store = yield* ReadModelStore.ReadModelStore
            const key = keyIn(freshPartition(), "counter")
            yield* store.create(key, { count: 0 })
            const conflicts = yield* Effect.forEach(
              Array.from({ length: writers }, (_, i) => i),
              () =>
                Effect.forEach(
                  Array.from({ length: increments }, (_, i) => i),
                  () => increment(store, key)
                ),
              { concurrency: "unbounded" }
            )
            assert.deepStrictEqual(Option.getOrThrow(yield* store.get(key)).data, { count: writers * increments })
            // The race was real: at least one writer had to retry.
            assert.isAbove(
              conflicts.flat().reduce((sum, n) => sum + n, 0),
              0
            )
          })
      )

      it.effect(`given ${writers} concurrent creates of one id, then exactly one wins`, () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          const key = keyIn(freshPartition(), "contended")
          const outcomes = yield* Effect.forEach(
            Array.from({ length: writers }, (_, i) => i),
            (i) => Effect.result(store.create(key, { writer: i })),
            { concurrency: "unbounded" }
          )
          const winners = outcomes.flatMap((o, i) => (o._tag === "Success" ? [i] : []))
          assert.strictEqual(winners.length, 1)
          for (const outcome of outcomes) {
            if (outcome._tag === "Failure") assert.strictEqual(outcome.failure._tag, "DocumentExists")
          }
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(key)).data, { writer: winners[0] ?? -1 })
        })
      )

      it.effect("given 25 documents, when queried 4 per page, then every one comes back once, in id order", () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          const partitionKey = freshPartition()
          const ids = Array.from({ length: 25 }, (_, i) => `d${String(i).padStart(3, "0")}`)
          yield* Effect.forEach(
            [...ids].reverse(),
            (id, i) => store.create(keyIn(partitionKey, id), { n: 24 - i, even: (24 - i) % 2 === 0, meta: { id } }),
            { concurrency: 8 }
          )
          yield* store.create(keyIn(freshPartition(), "d000"), { n: 0, even: true, meta: { id: "other" } })

          const all = yield* Stream.runCollect(store.query({ view, partitionKey, pageSize: 4 }))
          assert.deepStrictEqual(
            all.map((d) => d.key.id),
            ids
          )
          assert.isTrue(all.every((d) => d.etag.length > 0 && d.key.partitionKey === partitionKey))

          // By hand: pages of at most 4, each continuing the last.
          const pages: Array<ReadonlyArray<string>> = []
          let continuation: string | undefined
          do {
            const page = yield* store.queryPage({ view, partitionKey, pageSize: 4 }, continuation)
            assert.isAtMost(page.documents.length, 4)
            pages.push(page.documents.map((d) => d.key.id))
            continuation = Option.getOrUndefined(page.continuation)
          } while (continuation !== undefined)
          assert.isAtLeast(pages.length, 7)
          assert.deepStrictEqual(pages.flat(), ids)

          const even = yield* Stream.runCollect(
            store.query({ view, partitionKey, pageSize: 3, where: [{ path: ["even"], value: true }] })
          )
          assert.deepStrictEqual(
            even.map((d) => d.data.n),
            [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]
          )
          const nested = yield* Stream.runCollect(
            store.query({
              view,
              partitionKey,
              where: [
                { path: ["meta", "id"], value: "d007" },
                { path: ["even"], value: false }
              ]
            })
          )
          assert.deepStrictEqual(
            nested.map((d) => d.key.id),
            ["d007"]
          )
          const none = yield* Stream.runCollect(
            store.query({ view, partitionKey, where: [{ path: ["n"], value: "1" }] })
          )
          assert.strictEqual(none.length, 0)
        })
      )

      it.effect("given invalid keys, bodies or queries, then InvalidArgument before anything is written", () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          const partitionKey = freshPartition()
          const invalidKeys: ReadonlyArray<[ReadModelStore.DocumentKey, string]> = [
            [keyIn(partitionKey, "a/b"), "id"],
            [keyIn(partitionKey, "a#b"), "id"],
            [keyIn(partitionKey, "a?b"), "id"],
            [keyIn(partitionKey, "a\\b"), "id"],
            [keyIn(partitionKey, ""), "id"],
            [keyIn(partitionKey, "x".repeat(1024)), "id"],
            [keyIn(partitionKey, "tab\there"), "id"],
            [keyIn("", "ok"), "partitionKey"],
            [keyIn(partitionKey, "ok", "no spaces"), "view"],
            [keyIn(partitionKey, "ok", "1starts-with-digit"), "view"]
          ]
          for (const [key, argument] of invalidKeys) {
            for (const error of [
              yield* Effect.flip(store.get(key)),
              yield* Effect.flip(store.create(key, { n: 1 })),
              yield* Effect.flip(store.replace(key, { n: 1 }, "etag")),
              yield* Effect.flip(store.delete(key, "etag"))
            ]) {
              assert.strictEqual(error._tag, "InvalidArgument", `${JSON.stringify(key)}: ${error.message}`)
              if (error._tag === "InvalidArgument") assert.strictEqual(error.argument, argument)
            }
          }
          const key = keyIn(partitionKey, "ok")
          let deep: Record<string, unknown> = { leaf: true }
          for (let i = 0; i < 10_000; i++) deep = { next: deep }
          const cyclic: Record<string, unknown> = { name: "loop" }
          cyclic.self = cyclic
          const badBodies: ReadonlyArray<unknown> = [
            [1, 2],
            null,
            "text",
            { big: "x".repeat(2 * 1024 * 1024) },
            deep,
            cyclic,
            { n: Number.NaN },
            { when: new Date(0) }
          ]
          for (const body of badBodies) {
            const error = yield* Effect.flip(store.create(key, body as ReadModelStore.DocumentData))
            assert.strictEqual(error._tag, "InvalidArgument")
          }
          assert.isTrue(Option.isNone(yield* store.get(key)))
          // The same object twice is not a cycle: it is stored as two copies.
          const shared = { tag: "x" }
          yield* store.create(key, { a: shared, b: shared })
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(key)).data, { a: { tag: "x" }, b: { tag: "x" } })
          const badQueries: ReadonlyArray<ReadModelStore.DocumentQuery> = [
            { view, partitionKey, pageSize: 0 },
            { view, partitionKey, pageSize: 1.5 },
            { view, partitionKey, pageSize: 1001 },
            { view, partitionKey, where: [{ path: ["a b"], value: 1 }] },
            { view, partitionKey, where: [{ path: ['x"] = 1 OR 1=1 --'], value: 1 }] },
            { view, partitionKey, where: [{ path: [], value: 1 }] },
            { view, partitionKey, where: [{ path: ["n"], value: Number.NaN }] },
            { view, partitionKey: "" }
          ]
          for (const query of badQueries) {
            const error = yield* Effect.flip(Stream.runCollect(store.query(query)))
            assert.strictEqual(error._tag, "InvalidArgument", JSON.stringify(query))
          }
        })
      )

      it.effect("given a document read back, when the caller mutates it, then the store is unaffected", () =>
        Effect.gen(function* () {
          const store = yield* ReadModelStore.ReadModelStore
          const key = keyIn(freshPartition(), "u-1")
          const data = { list: [1, 2] }
          yield* store.create(key, data)
          data.list.push(3)
          const read = Option.getOrThrow(yield* store.get(key))
          ;(read.data.list as Array<number>).push(4)
          assert.deepStrictEqual(Option.getOrThrow(yield* store.get(key)).data, { list: [1, 2] })
        })
      )
    }
  )
}
