import { assert, describe, it } from "@effect/vitest"
import { DocumentProjection, EventCodec, InMemoryReadModelStore, ReadModelStore } from "@eventable/core"
import { Effect, Option, Ref, Stream } from "effect"
import { Blocked, Deleted, feedOf, Registered, Renamed, stats, tenant, UserEvent, users } from "./userProjection.ts"

interface Counts {
  readonly reads: number
  readonly writes: number
  readonly conflicts: number
  readonly inFlight: number
  readonly maxInFlight: number
}

/**
 * The in-memory store wrapped to count writes, conflicts and writes in flight; each operation
 * yields once, as a network round trip would, so concurrent fibers really interleave.
 */
const countingStore = Effect.gen(function* () {
  const inner = yield* InMemoryReadModelStore.make
  const counts = yield* Ref.make<Counts>({ reads: 0, writes: 0, conflicts: 0, inFlight: 0, maxInFlight: 0 })
  const track = <A, E>(write: Effect.Effect<A, E>) =>
    Ref.update(counts, (c) => ({
      ...c,
      inFlight: c.inFlight + 1,
      maxInFlight: Math.max(c.maxInFlight, c.inFlight + 1)
    })).pipe(
      Effect.andThen(Effect.yieldNow),
      Effect.andThen(write),
      Effect.tap(() => Ref.update(counts, (c) => ({ ...c, writes: c.writes + 1 }))),
      Effect.tapError(() => Ref.update(counts, (c) => ({ ...c, conflicts: c.conflicts + 1 }))),
      Effect.ensuring(Ref.update(counts, (c) => ({ ...c, inFlight: c.inFlight - 1 })))
    )
  const store = ReadModelStore.ReadModelStore.of({
    ...inner,
    get: (key) =>
      Ref.update(counts, (c) => ({ ...c, reads: c.reads + 1 })).pipe(
        Effect.andThen(Effect.yieldNow),
        Effect.andThen(inner.get(key))
      ),
    create: (key, data) => track(inner.create(key, data)),
    replace: (key, data, etag) => track(inner.replace(key, data, etag)),
    delete: (key, etag) => track(inner.delete(key, etag))
  })
  return { store, counts, reset: Ref.set(counts, { reads: 0, writes: 0, conflicts: 0, inFlight: 0, maxInFlight: 0 }) }
})

const withStore = <A, E>(
  body: (tools: Effect.Success<typeof countingStore>) => Effect.Effect<A, E, ReadModelStore.ReadModelStore>
) =>
  Effect.gen(function* () {
    const tools = yield* countingStore
    return yield* body(tools).pipe(Effect.provideService(ReadModelStore.ReadModelStore, tools.store))
  })

const handleUsers = DocumentProjection.handler(users)
const getUser = (id: string) =>
  DocumentProjection.get(users, { partitionKey: tenant, id }).pipe(
    Effect.map(Option.map((projected) => ({ ...projected, document: Option.getOrThrow(projected.document) })))
  )

const allDocuments = (view: string) =>
  Effect.flatMap(ReadModelStore.ReadModelStore, (store) =>
    Stream.runCollect(store.query({ view, partitionKey: tenant })).pipe(
      Effect.map((documents) => documents.map((d) => ({ id: d.key.id, data: d.data })))
    )
  )

describe("DocumentProjection", () => {
  it.effect(
    "given a register and a rename in one batch, when handled, then the document is written once with both",
    () =>
      withStore(({ counts }) =>
        Effect.gen(function* () {
          const feed = yield* feedOf([
            ["u-1", new Registered({ userName: "ada", email: "ada@example.com" })],
            ["u-1", new Renamed({ name: "Ada Lovelace" })]
          ])
          yield* handleUsers(feed)
          const user = Option.getOrThrow(yield* getUser("u-1"))
          assert.deepStrictEqual(user.document, { userName: "Ada Lovelace", email: "ada@example.com", blocked: false })
          assert.deepStrictEqual(user.versions, { [DocumentProjection.streamKey(feed[0]!.streamId)]: 2 })
          assert.strictEqual((yield* Ref.get(counts)).writes, 1)
        })
      )
  )

  it.effect("given a stored user, when a later batch renames it, then the email is kept", () =>
    withStore(() =>
      Effect.gen(function* () {
        const feed = yield* feedOf([
          ["u-1", new Registered({ userName: "ada", email: "ada@example.com" })],
          ["u-1", new Renamed({ name: "Ada" })],
          ["u-1", new Blocked()]
        ])
        yield* handleUsers(feed.slice(0, 1))
        yield* handleUsers(feed.slice(1, 2))
        yield* handleUsers(feed.slice(2))
        assert.deepStrictEqual(Option.getOrThrow(yield* getUser("u-1")).document, {
          userName: "Ada",
          email: "ada@example.com",
          blocked: true
        })
      })
    )
  )

  it.effect("given a handled batch, when it is delivered again, then nothing is written and nothing changes", () =>
    withStore(({ counts, reset }) =>
      Effect.gen(function* () {
        const feed = yield* feedOf([
          ["u-1", new Registered({ userName: "ada", email: "ada@example.com" })],
          ["u-2", new Registered({ userName: "bob", email: "bob@example.com" })],
          ["u-1", new Renamed({ name: "Ada" })],
          ["u-2", new Deleted()]
        ])
        yield* handleUsers(feed)
        const before = yield* allDocuments("users")
        const etag = Option.getOrThrow(yield* getUser("u-1")).etag
        yield* reset
        yield* handleUsers(feed)
        yield* handleUsers(feed.slice(1, 3))
        assert.strictEqual((yield* Ref.get(counts)).writes, 0)
        assert.deepStrictEqual(yield* allDocuments("users"), before)
        assert.strictEqual(Option.getOrThrow(yield* getUser("u-1")).etag, etag)
      })
    )
  )

  it.effect("given a history, when it is replayed from position 0, then the documents are the same as live", () =>
    Effect.gen(function* () {
      const feed = yield* feedOf([
        ["u-1", new Registered({ userName: "ada", email: "ada@example.com" })],
        ["u-2", new Registered({ userName: "bob", email: "bob@example.com" })],
        ["u-3", new Registered({ userName: "cy", email: "cy@example.com" })],
        ["u-1", new Renamed({ name: "Ada" })],
        ["u-2", new Blocked()],
        ["u-3", new Deleted()],
        ["u-2", new Renamed({ name: "Bob" })]
      ])
      // Live: small batches as they come. Then a rebuild into a fresh store, and a replay over the live one.
      const live = yield* withStore(() =>
        Effect.gen(function* () {
          for (let i = 0; i < feed.length; i += 2) yield* handleUsers(feed.slice(i, i + 2))
          const documents = yield* allDocuments("users")
          yield* handleUsers(feed)
          assert.deepStrictEqual(yield* allDocuments("users"), documents)
          return documents
        })
      )
      const rebuilt = yield* withStore(() => handleUsers(feed).pipe(Effect.andThen(allDocuments("users"))))
      assert.deepStrictEqual(rebuilt, live)
      assert.deepStrictEqual(
        live.map((d) => [d.id, (d.data.value as { userName?: string } | null)?.userName ?? null]),
        [
          ["u-1", "Ada"],
          ["u-2", "Bob"],
          ["u-3", null]
        ]
      )
    })
  )

  it.effect("given a removed document, when its earlier events are delivered again, then it stays removed", () =>
    withStore(() =>
      Effect.gen(function* () {
        const feed = yield* feedOf([
          ["u-1", new Registered({ userName: "ada", email: "ada@example.com" })],
          ["u-1", new Deleted()]
        ])
        yield* handleUsers(feed.slice(0, 1))
        assert.isTrue(Option.isSome(yield* getUser("u-1")))
        // Redelivery of the first event together with the removal (the optimistic create must not hide it).
        yield* handleUsers(feed)
        assert.isTrue(Option.isNone(yield* getUser("u-1")))
        yield* handleUsers(feed.slice(0, 1))
        assert.isTrue(Option.isNone(yield* getUser("u-1")))
        assert.strictEqual(yield* Stream.runCount(DocumentProjection.query(users, tenant)), 0)
      })
    )
  )

  it.effect("given many events for two documents in one batch, then each document is written exactly once", () =>
    withStore(({ counts }) =>
      Effect.gen(function* () {
        const events: Array<readonly [string, UserEvent]> = [
          ["u-1", new Registered({ userName: "a0", email: "a@example.com" })],
          ["u-2", new Registered({ userName: "b0", email: "b@example.com" })]
        ]
        for (let i = 1; i <= 10; i++) events.push(["u-1", new Renamed({ name: `a${i}` })])
        for (let i = 1; i <= 5; i++) events.push(["u-2", new Renamed({ name: `b${i}` })])
        const feed = yield* feedOf(events)
        yield* handleUsers(feed.slice(0, 2))
        const first = yield* Ref.get(counts)
        yield* handleUsers(feed.slice(2))
        assert.strictEqual((yield* Ref.get(counts)).writes - first.writes, 2)
        assert.strictEqual(Option.getOrThrow(yield* getUser("u-1")).document.userName, "a10")
        assert.strictEqual(Option.getOrThrow(yield* getUser("u-2")).document.userName, "b5")
      })
    )
  )

  it.effect("given a document this handler wrote, when its next batch comes, then it is written without a read", () =>
    withStore(({ counts, reset }) =>
      Effect.gen(function* () {
        const feed = yield* feedOf([
          ["u-1", new Registered({ userName: "ada", email: "a@x" })],
          ["u-1", new Renamed({ name: "Ada" })],
          ["u-1", new Blocked()]
        ])
        const handle = DocumentProjection.handler(users)
        yield* handle(feed.slice(0, 1))
        yield* reset
        yield* handle(feed.slice(1, 2))
        yield* handle(feed.slice(2))
        assert.deepStrictEqual(yield* Ref.get(counts), {
          reads: 0,
          writes: 2,
          conflicts: 0,
          inFlight: 0,
          maxInFlight: 1
        })
        // Without the cache every update reads first.
        const uncached = DocumentProjection.handler(users, { cacheSize: 0 })
        const more = yield* feedOf([
          ["u-2", new Registered({ userName: "bob", email: "b@x" })],
          ["u-2", new Blocked()]
        ])
        yield* reset
        yield* uncached(more.slice(0, 1))
        yield* uncached(more.slice(1))
        assert.strictEqual((yield* Ref.get(counts)).reads, 1)
      })
    )
  )

  it.live(
    "given a cached document changed by another writer, then the next write re-reads and keeps both changes",
    () =>
      withStore(({ counts }) =>
        Effect.gen(function* () {
          const batches = yield* Effect.forEach([0, 1, 2], (b) =>
            feedOf(
              Array.from(
                { length: 5 },
                (_, i) => [`s-${b}-${i}`, new Registered({ userName: "x", email: "x@example.com" })] as const
              )
            )
          )
          const mine = DocumentProjection.handler(stats)
          const theirs = DocumentProjection.handler(stats)
          yield* mine(batches[0]!)
          yield* theirs(batches[1]!)
          yield* mine(batches[2]!)
          const totals = yield* DocumentProjection.get(stats, { partitionKey: tenant, id: "totals" })
          assert.deepStrictEqual(Option.getOrThrow(totals).document, Option.some({ registered: 15 }))
          assert.strictEqual((yield* Ref.get(counts)).conflicts, 1, "the stale cached ETag was refused once")
        })
      )
  )

  it.live("given concurrent batches updating one document, then every update lands (conflicts are retried)", () =>
    withStore(({ counts }) =>
      Effect.gen(function* () {
        const batches = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, b) => b),
          (b) =>
            feedOf(
              Array.from(
                { length: 5 },
                (_, i) => [`u-${b}-${i}`, new Registered({ userName: "x", email: "x@example.com" })] as const
              )
            )
        )
        const handleStats = DocumentProjection.handler(stats)
        yield* Effect.forEach(batches, handleStats, { concurrency: "unbounded", discard: true })
        const totals = yield* DocumentProjection.get(stats, { partitionKey: tenant, id: "totals" })
        assert.deepStrictEqual(Option.getOrThrow(totals).document, Option.some({ registered: 40 }))
        assert.isAbove((yield* Ref.get(counts)).conflicts, 0, "the batches really raced")
      })
    )
  )

  it.effect("given a batch of 40 documents and a bound of 4, then at most 4 writes are in flight", () =>
    withStore(({ counts }) =>
      Effect.gen(function* () {
        const feed = yield* feedOf(
          Array.from({ length: 40 }, (_, i) => [`u-${i}`, new Registered({ userName: `n${i}`, email: "e@x" })] as const)
        )
        yield* DocumentProjection.handler(users, { concurrency: 4 })(feed)
        const { writes, maxInFlight } = yield* Ref.get(counts)
        assert.strictEqual(writes, 40)
        assert.strictEqual(maxInFlight, 4)
      })
    )
  )

  it.effect("given invalid handler options, then InvalidArgument and nothing is read or written", () =>
    withStore(({ counts }) =>
      Effect.gen(function* () {
        const feed = yield* feedOf([["u-1", new Registered({ userName: "ada", email: "a@x" })]])
        for (const [options, argument] of [
          [{ concurrency: 0 }, "concurrency"],
          [{ concurrency: -1 }, "concurrency"],
          [{ concurrency: Number.NaN }, "concurrency"],
          [{ concurrency: 1.5 }, "concurrency"],
          [{ cacheSize: -1 }, "cacheSize"]
        ] as const) {
          const error = yield* Effect.flip(DocumentProjection.handler(users, options)(feed))
          assert.strictEqual(error._tag, "InvalidArgument")
          if (error._tag === "InvalidArgument") assert.strictEqual(error.argument, argument)
        }
        assert.deepStrictEqual(yield* Ref.get(counts), {
          reads: 0,
          writes: 0,
          conflicts: 0,
          inFlight: 0,
          maxInFlight: 0
        })
      })
    )
  )

  it.effect("given a write that fails, then the handler fails with it instead of completing", () =>
    Effect.gen(function* () {
      const inner = yield* InMemoryReadModelStore.make
      const failing = ReadModelStore.ReadModelStore.of({
        ...inner,
        create: () =>
          Effect.fail(
            new ReadModelStore.ReadModelUnavailable({ operation: "create", reason: "throttled for the test" })
          )
      })
      const feed = yield* feedOf([["u-1", new Registered({ userName: "ada", email: "a@x" })]])
      const error = yield* Effect.flip(
        handleUsers(feed).pipe(Effect.provideService(ReadModelStore.ReadModelStore, failing))
      )
      assert.strictEqual(error._tag, "ReadModelUnavailable")
    })
  )

  it.effect("given an event the codec cannot decode, then CorruptEvent and nothing is written", () =>
    withStore(({ counts }) =>
      Effect.gen(function* () {
        const feed = yield* feedOf([
          ["u-1", new Registered({ userName: "ada", email: "a@x" })],
          ["u-2", new Registered({ userName: "bob", email: "b@x" })]
        ])
        const broken = [feed[0]!, { ...feed[1]!, data: "{not json" }]
        const error = yield* Effect.flip(handleUsers(broken))
        assert.strictEqual(error._tag, "CorruptEvent")
        assert.strictEqual((yield* Ref.get(counts)).writes, 0)
      })
    )
  )

  it.effect("given ids with characters document ids may not hold, then the default key escapes them, distinctly", () =>
    withStore(() =>
      Effect.gen(function* () {
        const ids = ["a/b", "a%2Fb", "q?x#y\\z", "100%"]
        const feed = yield* feedOf(ids.map((id) => [id, new Registered({ userName: id, email: "e@x" })] as const))
        yield* handleUsers(feed)
        for (const [index, id] of ids.entries()) {
          const target = DocumentProjection.byStream(feed[index]!)
          assert.notInclude(target.id, "/")
          const user = yield* DocumentProjection.get(users, target)
          assert.strictEqual(Option.getOrThrow(Option.getOrThrow(user).document).userName, id)
        }
        assert.strictEqual(yield* Stream.runCount(DocumentProjection.query(users, tenant)), ids.length)
        assert.strictEqual(DocumentProjection.escapeKey("u-42"), "u-42")
      })
    )
  )

  it.effect("given an event of an unknown type, then it is skipped under the skip policy and fails otherwise", () =>
    withStore(({ counts }) =>
      Effect.gen(function* () {
        const feed = yield* feedOf([
          ["u-1", new Registered({ userName: "ada", email: "a@x" })],
          ["u-1", new Renamed({ name: "Ada" })],
          ["u-1", new Blocked()]
        ])
        const withUnknown = [feed[0]!, { ...feed[1]!, type: "NicknameAdded", data: "{}" }, feed[2]!]
        const strict = yield* Effect.flip(handleUsers(withUnknown))
        assert.strictEqual(strict._tag, "CorruptEvent")
        assert.strictEqual((yield* Ref.get(counts)).writes, 0)

        const tolerant = DocumentProjection.make({
          ...users,
          codec: EventCodec.make(UserEvent, { unknownTypes: "skip" })
        })
        yield* DocumentProjection.handler(tolerant)(withUnknown)
        assert.deepStrictEqual(Option.getOrThrow(yield* getUser("u-1")).document, {
          userName: "ada",
          email: "a@x",
          blocked: true
        })
      })
    )
  )

  it.effect("given a stored document that does not match the schema, then CorruptDocument", () =>
    withStore(({ store }) =>
      Effect.gen(function* () {
        yield* store.create(
          { view: "users", partitionKey: tenant, id: "u-1" },
          { value: { userName: 42 }, versions: {} }
        )
        const feed = yield* feedOf([
          ["u-1", new Registered({ userName: "ada", email: "a@x" })],
          ["u-1", new Renamed({ name: "Ada" })]
        ])
        const error = yield* Effect.flip(handleUsers(feed.slice(1)))
        assert.strictEqual(error._tag, "CorruptDocument")
      })
    )
  )

  it.effect("given users in a partition, when queried by a field, then only live matches come back", () =>
    withStore(() =>
      Effect.gen(function* () {
        const feed = yield* feedOf([
          ["u-1", new Registered({ userName: "ada", email: "a@x" })],
          ["u-2", new Registered({ userName: "bob", email: "b@x" })],
          ["u-3", new Registered({ userName: "cy", email: "c@x" })],
          ["u-1", new Blocked()],
          ["u-3", new Blocked()],
          ["u-3", new Deleted()]
        ])
        yield* handleUsers(feed)
        const blocked = yield* Stream.runCollect(
          DocumentProjection.query(users, tenant, { where: [{ path: ["blocked"], value: true }], pageSize: 1 })
        )
        assert.deepStrictEqual(
          blocked.map((p) => [p.id, Option.getOrThrow(p.document).userName]),
          [["u-1", "ada"]]
        )
      })
    )
  )
})
