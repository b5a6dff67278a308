/**
 * The projection benchmark: document projection writes into Cosmos DB (the
 * in-process stand-in) against plain SDK upserts of the same documents, with
 * the same concurrency, interleaved in the same run.
 *
 * Each round projects a fresh set of users in consumer-sized batches: first
 * their registration and a rename (folded into one create per user), then a
 * block (a conditional replace per user; with the handler's document cache
 * no read, without it a read first). The raw contender upserts the same
 * final documents twice, with the same batches and the same concurrency,
 * without reading and without conditions. All three contenders write to
 * their own containers, interleaved round by round.
 *
 * @since 0.1.0
 */
import { CosmosClient } from "@azure/cosmos"
import {
  DocumentProjection,
  EventCodec,
  EventMetadata,
  Partition,
  ReadModelStore,
  type StoredEvent,
  StreamId
} from "@eventable/core"
import { CosmosConfig, CosmosReadModelStore } from "@eventable/cosmos"
import { CosmosEmulator } from "@eventable/testing"
import { Effect, Option, Redacted, Result, Schema } from "effect"
import * as Measure from "./Measure.ts"
import type { Goal } from "./Report.ts"

/**
 * How much work the benchmark does.
 *
 * @since 0.1.0
 */
export interface Settings {
  /** Users (documents) per round. */
  readonly documents: number
  /** Documents per consumer batch. */
  readonly batchDocuments: number
  /** Documents written at the same time, by both contenders. */
  readonly concurrency: number
  readonly rounds: number
}

/**
 * The full run.
 *
 * @since 0.1.0
 */
export const full: Settings = { documents: 2_000, batchDocuments: 100, concurrency: 16, rounds: 5 }

/**
 * `--quick`.
 *
 * @since 0.1.0
 */
export const quick: Settings = { documents: 500, batchDocuments: 100, concurrency: 16, rounds: 3 }

/**
 * The goals of this benchmark.
 *
 * @since 0.1.0
 */
export const goals: ReadonlyArray<Goal> = [
  {
    name: "projection.cosmos.ratio_vs_raw_upsert",
    goal: "≥ 0.5",
    met: (v) => v >= 0.5,
    what: "document projection writes/s into the Cosmos DB stand-in / plain SDK upserts of the same documents, same concurrency"
  }
]

/**
 * How this benchmark measures, for the generated report's Method section.
 *
 * @since 0.1.0
 */
export const method: ReadonlyArray<string> = [
  "- **projection.cosmos**: a document projection folds users' events into documents in the Cosmos DB",
  "  stand-in (`@vercel/cosmosdb-server`, in-process, HTTPS keep-alive): per round, a create per user, then a",
  "  conditional replace per user, in batches of 100 documents written 16 at a time. The raw baseline upserts",
  "  the same documents with the SDK, same batches and concurrency, no read and no condition. `uncached` is",
  "  the projection without its document cache (a read before every replace). Rounds are interleaved."
]

class Registered extends Schema.TaggedClass<Registered>()("Registered", {
  userName: Schema.String,
  email: Schema.String
}) {}
class Renamed extends Schema.TaggedClass<Renamed>()("Renamed", { name: Schema.String }) {}
class Blocked extends Schema.TaggedClass<Blocked>()("Blocked", {}) {}
const UserEvent = Schema.Union([Registered, Renamed, Blocked])
type UserEvent = typeof UserEvent.Type
const codec = EventCodec.make(UserEvent)
const UserView = Schema.Struct({ userName: Schema.String, email: Schema.String, blocked: Schema.Boolean })

const users = DocumentProjection.make({
  view: "users",
  codec,
  document: UserView,
  evolve: (user: typeof UserView.Type | undefined, { event }) => {
    switch (event._tag) {
      case "Registered":
        return DocumentProjection.write({ userName: event.userName, email: event.email, blocked: false })
      case "Renamed":
        return user === undefined
          ? DocumentProjection.unchanged
          : DocumentProjection.write({ ...user, userName: event.name })
      case "Blocked":
        return user === undefined ? DocumentProjection.unchanged : DocumentProjection.write({ ...user, blocked: true })
    }
  }
})

const log = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

/** The feed of one round: per user a registration and a rename, then later a block. */
const roundFeed = (tenant: string, documents: number) =>
  Effect.gen(function* () {
    const metadata = yield* EventMetadata.make()
    const partition = Partition.make(tenant, "user", 0)
    let position = 0
    const stored = (id: string, version: number, event: UserEvent): StoredEvent => ({
      ...Result.getOrThrow(codec.encode(event)),
      metadata,
      streamId: Result.getOrThrow(StreamId.validate({ tenant, category: "user", id })),
      version,
      partition,
      position: ++position
    })
    const ids = Array.from({ length: documents }, (_, i) => `u-${String(i).padStart(6, "0")}`)
    const created = ids.flatMap((id) => [
      stored(id, 1, new Registered({ userName: `user ${id}`, email: `${id}@example.com` })),
      stored(id, 2, new Renamed({ name: `User ${id}` }))
    ])
    const blocked = ids.map((id) => stored(id, 3, new Blocked()))
    return { ids, created, blocked }
  })

/**
 * Runs the benchmark on a fresh in-process stand-in and returns its figures.
 *
 * @since 0.1.0
 */
export const run = (settings: Settings) =>
  Effect.gen(function* () {
    const emulator = yield* CosmosEmulator.start
    const database = `bench${Date.now().toString(36)}`
    const store = yield* CosmosReadModelStore.make(
      yield* CosmosConfig.resolve({
        connection: CosmosConfig.endpointKey(emulator.endpoint, emulator.key),
        database,
        ...emulator.clientOptions
      })
    )
    const client = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new CosmosClient({
            endpoint: emulator.endpoint,
            key: Redacted.value(emulator.key),
            agent: emulator.clientOptions.agent,
            connectionPolicy: { enableEndpointDiscovery: false }
          })
      ),
      (client) => Effect.sync(() => client.dispose())
    )
    const raw = yield* Effect.promise(async () => {
      const { database: db } = await client.databases.createIfNotExists({ id: database })
      const { container } = await db.containers.createIfNotExists({ id: "users-raw", partitionKey: { paths: ["/pk"] } })
      return container
    })
    const handle = DocumentProjection.handler(users, { concurrency: settings.concurrency })
    // The same projection into its own container, without the document cache: every update reads first.
    const usersUncached = DocumentProjection.make({ ...users, view: "users-uncached" })
    const handleUncached = DocumentProjection.handler(usersUncached, {
      concurrency: settings.concurrency,
      cacheSize: 0
    })
    // Create the projections' containers before timing.
    yield* store.get({ view: "users", partitionKey: "warm-up", id: "none" })
    yield* store.get({ view: "users-uncached", partitionKey: "warm-up", id: "none" })

    const perBatch = settings.batchDocuments
    const rounds = yield* Effect.forEach(
      Array.from({ length: settings.rounds }, (_, i) => i),
      (round) => roundFeed(`r${round}`, settings.documents)
    )
    const projectWith = (handler: typeof handle) => (round: number) =>
      Effect.gen(function* () {
        const { created, blocked } = rounds[round]!
        for (const batch of chunks(created, perBatch * 2)) yield* handler(batch)
        for (const batch of chunks(blocked, perBatch)) yield* handler(batch)
      }).pipe(Effect.provideService(ReadModelStore.ReadModelStore, store))
    const upsert = (round: number) =>
      Effect.gen(function* () {
        const { ids } = rounds[round]!
        const tenant = `r${round}`
        const document = (id: string, version: number, blocked: boolean) => ({
          id,
          pk: tenant,
          data: {
            value: { userName: `User ${id}`, email: `${id}@example.com`, blocked },
            versions: { [`${tenant}/user/${id}`]: version }
          }
        })
        for (const [version, blocked] of [
          [2, false],
          [3, true]
        ] as const) {
          for (const batch of chunks(ids, perBatch)) {
            yield* Effect.forEach(
              batch,
              (id) => Effect.promise(() => raw.items.upsert(document(id, version, blocked))),
              { concurrency: settings.concurrency, discard: true }
            )
          }
        }
      })

    yield* log(
      `projection.cosmos: ${settings.rounds} rounds of ${settings.documents} documents (2 writes each), batches of ${perBatch}, concurrency ${settings.concurrency}`
    )
    const medians = yield* Measure.alternate(settings.rounds, {
      projection: projectWith(handle),
      uncached: projectWith(handleUncached),
      raw: upsert
    })
    const writes = settings.documents * 2
    const projectionRate = writes / (medians.projection / 1000)
    const uncachedRate = writes / (medians.uncached / 1000)
    const rawRate = writes / (medians.raw / 1000)
    yield* log(
      `  projection ${projectionRate.toFixed(0)} docs/s (without the document cache ${uncachedRate.toFixed(0)}), raw upsert ${rawRate.toFixed(0)} docs/s`
    )

    // Sanity: the projection wrote what the fold says.
    const sample = yield* DocumentProjection.get(users, { partitionKey: "r0", id: "u-000000" }).pipe(
      Effect.provideService(ReadModelStore.ReadModelStore, store)
    )
    const document = sample._tag === "Some" ? Option.getOrUndefined(sample.value.document) : undefined
    if (document?.userName !== "User u-000000" || document.email !== "u-000000@example.com" || !document.blocked) {
      return yield* Effect.die(
        new Error(`the projection did not write the expected document: ${JSON.stringify(document)}`)
      )
    }
    const figures: Record<string, number> = {
      "projection.cosmos.docs_per_s": projectionRate,
      "projection.cosmos.raw_upsert_docs_per_s": rawRate,
      "projection.cosmos.uncached.docs_per_s": uncachedRate,
      "projection.cosmos.uncached.ratio_vs_raw_upsert": uncachedRate / rawRate,
      "projection.cosmos.ratio_vs_raw_upsert": projectionRate / rawRate
    }
    return figures
  }).pipe(Effect.scoped)
