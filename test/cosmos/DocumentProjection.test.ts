import { assert, layer } from "@effect/vitest"
import { DocumentProjection, ReadModelStore } from "@eventable/core"
import { CosmosEmulator } from "@eventable/testing"
import { Effect, Layer, Option, Stream } from "effect"
import { Blocked, Deleted, feedOf, Registered, Renamed, stats, tenant, users } from "../core/userProjection.ts"
import { storeLayer } from "./fixtures.ts"

const handleUsers = DocumentProjection.handler(users, { concurrency: 8 })
const getUser = (id: string) =>
  DocumentProjection.get(users, { partitionKey: tenant, id }).pipe(Effect.map(Option.getOrThrow))

const view = (projection: { readonly view: string }) =>
  Effect.flatMap(ReadModelStore.ReadModelStore, (store) =>
    Stream.runCollect(store.query({ view: projection.view, partitionKey: tenant })).pipe(
      Effect.map((documents) => documents.map((d) => ({ id: d.key.id, data: d.data })))
    )
  )

const history = feedOf([
  ["u-1", new Registered({ userName: "ada", email: "ada@example.com" })],
  ["u-2", new Registered({ userName: "bob", email: "bob@example.com" })],
  ["u-3", new Registered({ userName: "cy", email: "cy@example.com" })],
  ["u-1", new Renamed({ name: "Ada" })],
  ["u-2", new Blocked()],
  ["u-3", new Deleted()],
  ["u-2", new Renamed({ name: "Bob" })]
])

const Live = storeLayer().pipe(Layer.provide(CosmosEmulator.layer))

layer(Live, { excludeTestServices: true, timeout: "120 seconds" })(
  "DocumentProjection on the Cosmos DB stand-in",
  (it) => {
    it.effect("given live batches, when redelivered and replayed, then nothing changes and a rebuild matches", () =>
      Effect.gen(function* () {
        const feed = yield* history
        for (let i = 0; i < feed.length; i += 3) yield* handleUsers(feed.slice(i, i + 3))
        const live = yield* view(users)
        const etag = (yield* getUser("u-1")).etag

        yield* handleUsers(feed)
        yield* handleUsers(feed.slice(2, 5))
        assert.deepStrictEqual(yield* view(users), live)
        assert.strictEqual((yield* getUser("u-1")).etag, etag)

        assert.deepStrictEqual(Option.getOrThrow((yield* getUser("u-1")).document), {
          userName: "Ada",
          email: "ada@example.com",
          blocked: false
        })
        assert.deepStrictEqual(Option.getOrThrow((yield* getUser("u-2")).document), {
          userName: "Bob",
          email: "bob@example.com",
          blocked: true
        })
        assert.isTrue(Option.isNone(yield* DocumentProjection.get(users, { partitionKey: tenant, id: "u-3" })))

        // Rebuild: the same history from position 0 into a fresh view (a fresh container) gives the same documents.
        const rebuilt = DocumentProjection.make({ ...users, view: "users-rebuild" })
        yield* DocumentProjection.handler(rebuilt)(feed)
        assert.deepStrictEqual(yield* view(rebuilt), live)
      })
    )

    it.effect("given 8 concurrent batches updating one document, then every update lands", () =>
      Effect.gen(function* () {
        const batches = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, b) => b),
          (b) =>
            feedOf(
              Array.from(
                { length: 3 },
                (_, i) => [`c-${b}-${i}`, new Registered({ userName: "x", email: "x@example.com" })] as const
              )
            )
        )
        yield* Effect.forEach(batches, DocumentProjection.handler(stats), { concurrency: "unbounded", discard: true })
        const totals = yield* DocumentProjection.get(stats, { partitionKey: tenant, id: "totals" })
        assert.deepStrictEqual(Option.getOrThrow(totals).document, Option.some({ registered: 24 }))
      })
    )
  }
)
