import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, layer } from "@effect/vitest"
import { Consumer, EventFeed, ReadModelStore } from "@eventable/core"
import { CosmosConfig, CosmosReadModelStore } from "@eventable/cosmos"
import { Projector, UsersServer, ViewCheck } from "@eventable/example-users"
import { CosmosEmulator } from "@eventable/testing"
import { Context, Effect, Layer, Redacted } from "effect"
import { connectionString, freshTable } from "../table-storage/fixtures.ts"
import { client, freshDatabase, tableLayer } from "./fixtures.ts"

const table = freshTable("projector")
const database = freshDatabase("projector")
const group = "users-view"
const script = fileURLToPath(new URL("../../packages/example-users/src/run-projector.ts", import.meta.url))

/** Starts `npm run projector`'s script as a child process on this file's stores, with short leases. */
const projectorChild = (owner: string) =>
  Effect.gen(function* () {
    const emulator = yield* CosmosEmulator
    return yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, ["--conditions=@eventable/source", script], {
          stdio: ["ignore", "ignore", "inherit"],
          env: {
            ...process.env,
            EVENTABLE_TABLE_CONNECTION_STRING: connectionString(),
            EVENTABLE_TABLE_NAME: table,
            EVENTABLE_COSMOS_ENDPOINT: emulator.endpoint,
            EVENTABLE_COSMOS_KEY: Redacted.value(emulator.key),
            EVENTABLE_COSMOS_DATABASE: database,
            EXAMPLE_COSMOS_STANDIN: "true",
            EXAMPLE_PROJECTOR_GROUP: group,
            EXAMPLE_PROJECTOR_OWNER: owner,
            EXAMPLE_PROJECTOR_LEASE_TTL: "3 seconds",
            EXAMPLE_PROJECTOR_RENEW_INTERVAL: "500 millis",
            EXAMPLE_PROJECTOR_BALANCE_INTERVAL: "300 millis",
            EXAMPLE_PROJECTOR_SAFETY_MARGIN: "1 second",
            EXAMPLE_PROJECTOR_MAX_IDLE_POLL: "50 millis"
          }
        })
      ),
      (child) => kill(child, "SIGKILL")
    )
  })

const kill = (child: ChildProcess, signal: NodeJS.Signals) =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill(signal)
  })

const cosmosLayer = (containers: Record<string, string> = {}) =>
  Layer.unwrap(
    Effect.map(CosmosEmulator, (emulator) =>
      CosmosReadModelStore.layer({
        connection: CosmosConfig.endpointKey(emulator.endpoint, emulator.key),
        database,
        containers,
        ...emulator.clientOptions
      })
    )
  )

/** The rebuilt view's store: same database, a fresh container for the `users` view. */
class RebuiltStore extends Context.Service<RebuiltStore, ReadModelStore.ReadModelStore["Service"]>()(
  "test/RebuiltStore"
) {}

const Stores = Layer.mergeAll(
  UsersServer.layer(),
  Layer.effect(
    RebuiltStore,
    Effect.gen(function* () {
      return yield* ReadModelStore.ReadModelStore
    })
  ).pipe(Layer.provide(cosmosLayer({ users: "users-rebuilt" })))
).pipe(
  Layer.provideMerge(Layer.mergeAll(tableLayer(table, connectionString()), cosmosLayer())),
  Layer.provideMerge(CosmosEmulator.layer)
)

layer(Stores, { excludeTestServices: true, timeout: "60 seconds" })("the users projector", (it) => {
  describe("crash and restart", () => {
    it.effect(
      "given a projector child process killed with SIGKILL mid-scenario, when another starts, then the view equals a fold of the events",
      () =>
        Effect.gen(function* () {
          const c = yield* client
          const write = (method: string, path: string, json?: unknown) =>
            Effect.map(c.request(method, path, json === undefined ? {} : { json }), (answer) => {
              assert.isBelow(answer.status, 300, `${method} ${path}: ${answer.text}`)
              return answer
            })
          const register = (tenant: string, name: string) =>
            Effect.map(
              write("POST", `/tenants/${tenant}/users`, { userName: name, email: `${name}@${tenant}.example` }),
              (answer) => String(answer.json.id)
            )

          const first = yield* projectorChild("first")
          const users = yield* Effect.forEach(
            Array.from({ length: 12 }, (_, i) => [i % 2 === 0 ? "acme" : "globex", `user${i}`] as const),
            ([tenant, name]) => Effect.map(register(tenant, name), (id) => ({ tenant, id })),
            { concurrency: 4 }
          )
          const renames = Effect.forEach(
            users,
            ({ id, tenant }) => write("PUT", `/tenants/${tenant}/users/${id}/name`, { name: `${id} renamed` }),
            { concurrency: 4, discard: true }
          )
          // Kill the first projector once it has checkpointed something, while the renames are being written.
          const feed = yield* EventFeed
          const [partition] = yield* feed.partitions({ category: "user", tenant: "acme" })
          yield* Effect.all(
            [renames, Effect.andThen(Consumer.awaitCheckpoint(group, partition!, 1), kill(first, "SIGKILL"))],
            { concurrency: "unbounded", discard: true }
          )
          assert.strictEqual(first.signalCode, "SIGKILL")

          // More writes while no projector runs, then a second projector takes over once the leases expire.
          const late = yield* Effect.forEach(["late1", "late2", "late3"], (name) => register("acme", name))
          yield* Effect.forEach(late, (id) => write("POST", `/tenants/acme/users/${id}/block`))
          // The restart runs in this process (a child would do the same, only slower to start).
          yield* Projector.start({
            group,
            owner: "second",
            leaseTtl: "3 seconds",
            renewInterval: "500 millis",
            balanceInterval: "300 millis",
            safetyMargin: "1 second",
            maxIdlePoll: "50 millis"
          })
          yield* ViewCheck.awaitCaughtUp(group)

          const result = yield* ViewCheck.check
          assert.deepStrictEqual(result.differences, [])
          assert.strictEqual(result.expected, 15)
          assert.strictEqual(result.matching, 15)
        })
    )
  })

  describe("rebuild", () => {
    it.effect(
      "given the live view, when a new group projects into a fresh container from position 0, then the documents are the same",
      () =>
        Effect.gen(function* () {
          const rebuilt = yield* RebuiltStore
          const live = yield* ViewCheck.actualViews(["acme", "globex"])
          assert.isAtLeast(live.length, 15)
          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* Projector.start({ group: "users-rebuild", maxIdlePoll: "50 millis" })
              yield* ViewCheck.awaitCaughtUp("users-rebuild")
            }).pipe(Effect.provideService(ReadModelStore.ReadModelStore, rebuilt))
          )
          const again = yield* ViewCheck.actualViews(["acme", "globex"]).pipe(
            Effect.provideService(ReadModelStore.ReadModelStore, rebuilt)
          )
          assert.deepStrictEqual(again, live)
        })
    )
  })
})
