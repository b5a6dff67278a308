import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { CommandHandler, Decider, EventCodec, EventStore, type StoredEvent, StreamId } from "@eventable/core"
import { BlockUser, RegisterUser, RenameUser, UserCommands, userCodec, users } from "@eventable/example-users"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Context, Effect, Exit, Layer, Metric, Option, Redacted, Schedule, Schema, Stream } from "effect"
import * as FaultProxy from "./FaultProxy.ts"
import { connectionString, freshTable } from "./fixtures.ts"

// Helpers -------------------------------------------------------------------------

const table = freshTable("commands")

/** A store instance of its own (own caches, own writers): what another process would be. */
const instance = (connection: string) =>
  Effect.map(
    Layer.build(
      TableEventStore.layer({
        connection: TableStorageConfig.connectionString(Redacted.make(connection)),
        table,
        retryBaseDelay: "5 millis"
      })
    ),
    (context) => Context.get(context, EventStore)
  )

let tenants = 0
const tenant = () => `c${Date.now().toString(36)}${tenants++}`

const readAll = (store: EventStore["Service"], tenantId: string, id: string) =>
  Effect.flatMap(StreamId.make({ tenant: tenantId, category: "user", id }), (streamId) =>
    Stream.runCollect(store.readStream(streamId))
  )

const names = (events: ReadonlyArray<StoredEvent>) =>
  events.filter((e) => e.type === "UserNameChanged").map((e) => JSON.parse(e.data).name as string)

const script = fileURLToPath(new URL("./commandProcess.ts", import.meta.url))

interface Outcome {
  readonly command: string
  readonly ok: boolean
  readonly version?: number
  readonly error?: string
}

/** Starts another process (the pinned node) running users commands; killed when the scope closes. */
const otherProcess = (job: {
  readonly connection: string
  readonly tenant: string
  readonly id: string
  readonly commands: ReadonlyArray<string>
  readonly commandId?: string
  readonly sequential?: boolean
}) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(
          process.execPath,
          ["--conditions=@eventable/source", script, JSON.stringify({ ...job, table })],
          {
            stdio: ["ignore", "pipe", "pipe"]
          }
        )
        let out = ""
        let err = ""
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString("utf8")
        })
        child.stderr.on("data", (chunk: Buffer) => {
          err += chunk.toString("utf8")
        })
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
        return { child, exited, output: () => out, errors: () => err }
      }),
      ({ child }) => Effect.sync(() => kill(child))
    ),
    (proc) => ({
      ...proc,
      /** Waits for the process to finish and returns its outcomes. */
      outcomes: Effect.promise(() => proc.exited).pipe(
        Effect.map((code) => {
          assert.strictEqual(code, 0, proc.errors())
          const lines = proc.output().trim().split("\n")
          assert.strictEqual(lines.at(-1), "done")
          return lines.slice(0, -1).map((line) => JSON.parse(line) as Outcome)
        })
      )
    })
  )

const kill = (child: ChildProcess) => {
  if (child.exitCode === null) child.kill("SIGKILL")
}

const untilTrue = (check: Effect.Effect<boolean, unknown>) =>
  check.pipe(
    Effect.orDie,
    Effect.repeat({ until: (done) => done, schedule: Schedule.spaced("20 millis") }),
    Effect.timeout("20 seconds"),
    Effect.orDie
  )

/** The handler's conflict counter, in a fresh registry (see `withMetrics`). */
const conflictsSeen = Effect.map(Metric.snapshot, (snapshots) => {
  const found = snapshots.find((s) => s.id === "eventable_command_conflicts_total")
  return found === undefined ? 0 : Number((found.state as { readonly count: number | bigint }).count)
})
const withMetrics = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, Metric.MetricRegistry, new Map())

// Tests ---------------------------------------------------------------------------

describe("CommandHandler on Table Storage", () => {
  for (const count of [20, 200]) {
    it.live(
      `given ${count} concurrent commands on one stream in one process, then all succeed and each event is written once`,
      () =>
        Effect.gen(function* () {
          const store = yield* instance(connectionString())
          const owner = tenant()
          const user = { tenant: owner, id: "hot" }
          const run = <A, E>(effect: Effect.Effect<A, E, EventStore>) =>
            Effect.provideService(effect, EventStore, store)
          yield* run(UserCommands.create(user, new RegisterUser({ userName: "ada", email: "ada@example.com" })))

          const results = yield* Effect.forEach(
            Array.from({ length: count }, (_, i) => `name-${i}`),
            (name) => run(UserCommands.update(user, new RenameUser({ name }))),
            { concurrency: "unbounded" }
          )

          const events = yield* readAll(store, owner, "hot")
          assert.strictEqual(events.length, count + 1)
          assert.deepStrictEqual([...names(events)].sort(), Array.from({ length: count }, (_, i) => `name-${i}`).sort())
          for (const result of results) {
            assert.strictEqual(events[result.version - 1]!.metadata.eventId, result.events[0]!.metadata.eventId)
          }
        })
    )
  }

  it.live(
    "given two processes renaming and blocking one user, when they race, then conflicts are retried and no rename follows the block",
    () =>
      withMetrics(
        Effect.gen(function* () {
          const store = yield* instance(connectionString())
          const owner = tenant()
          const user = { tenant: owner, id: "raced" }
          const run = <A, E>(effect: Effect.Effect<A, E, EventStore>) =>
            Effect.provideService(effect, EventStore, store)
          yield* run(UserCommands.create(user, new RegisterUser({ userName: "ada", email: "ada@example.com" })))
          // Warm this process's cache, so that the other process's writes make it stale.
          yield* run(UserCommands.update(user, new RenameUser({ name: "here-0" })))

          const other = yield* otherProcess({
            connection: connectionString(),
            tenant: owner,
            id: "raced",
            commands: Array.from({ length: 12 }, (_, i) => `rename:there-${i}`),
            sequential: true
          })
          // Start once the other process has written: this process's cached version is then stale, and its
          // commands race the other process's remaining ones.
          yield* untilTrue(Effect.sync(() => other.output().includes("\n")))
          const here = yield* Effect.forEach(
            Array.from({ length: 12 }, (_, i) => i + 1),
            (i) =>
              Effect.exit(
                run(UserCommands.update(user, i === 6 ? new BlockUser() : new RenameUser({ name: `here-${i}` })))
              ),
            { concurrency: "unbounded" }
          )
          const there = yield* other.outcomes

          const events = yield* readAll(store, owner, "raced")
          const blockedAt = events.findIndex((e) => e.type === "UserBlocked")
          assert.isAbove(blockedAt, 0, "the block went through")
          assert.isFalse(
            events.slice(blockedAt).some((e) => e.type === "UserNameChanged"),
            "no rename after the block"
          )
          for (const exit of here) {
            if (Exit.isFailure(exit))
              assert.strictEqual(Option.getOrThrow(Exit.findErrorOption(exit))._tag, "UserIsBlocked")
          }
          for (const outcome of there) {
            if (!outcome.ok) assert.strictEqual(outcome.error, "UserIsBlocked", JSON.stringify(outcome))
          }
          assert.isAbove(yield* conflictsSeen, 0, "this process met the other one's writes and retried")
          // Every successful rename wrote its event once, and nothing else was written.
          const succeeded =
            here.filter((exit) => Exit.isSuccess(exit)).length - 1 + there.filter((outcome) => outcome.ok).length
          assert.strictEqual(names(events).length, succeeded + 1)
          assert.strictEqual(new Set(names(events)).size, names(events).length)
        })
      )
  )

  it.live(
    "given a command whose answer is lost and whose store then gives up, when re-run with the same command id, then it commits once",
    () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const direct = yield* instance(connectionString())
        const flaky = yield* Layer.build(
          TableEventStore.layer({
            connection: TableStorageConfig.connectionString(FaultProxy.redacted(proxy)),
            table,
            retryBaseDelay: "1 millis",
            transientRetries: 1
          })
        ).pipe(Effect.map((context) => Context.get(context, EventStore)))
        const owner = tenant()
        const user = { tenant: owner, id: "lost" }
        yield* Effect.provideService(
          UserCommands.create(user, new RegisterUser({ userName: "ada", email: "ada@example.com" })),
          EventStore,
          direct
        )

        // The rename commits, its answer is lost, and every request after it fails until the store gives up.
        proxy.inject({ _tag: "LoseAnswer" })
        proxy.inject({ _tag: "Reject", status: 503 }, { times: 50, match: () => proxy.faulted() >= 1 })
        const first = yield* Effect.exit(
          Effect.provideService(
            UserCommands.update(user, new RenameUser({ name: "grace" }), { commandId: "rename-1" }),
            EventStore,
            flaky
          )
        )
        assert.isTrue(Exit.isFailure(first), "the caller does not know the outcome")
        assert.strictEqual(Option.getOrThrow(Exit.findErrorOption(first))._tag, "StoreUnavailable")
        assert.isAbove(proxy.faulted(), 1, "the answer was lost, then the read-back failed too")
        // Someone else blocks the user meanwhile: deciding again would now refuse.
        yield* Effect.provideService(UserCommands.update(user, new BlockUser()), EventStore, direct)

        const again = yield* Effect.provideService(
          UserCommands.update(user, new RenameUser({ name: "grace" }), { commandId: "rename-1" }),
          EventStore,
          direct
        )

        const events = yield* readAll(direct, owner, "lost")
        assert.deepStrictEqual(names(events), ["grace"], "committed once")
        assert.strictEqual(again.events[0]!.version, 2)
        assert.strictEqual(again.events[0]!.metadata.eventId, events[1]!.metadata.eventId)
      })
  )

  it.live(
    "given a process killed while its append is in flight, when the command is re-run with the same id, then it commits once",
    () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        const store = yield* instance(connectionString())
        const owner = tenant()
        const user = { tenant: owner, id: "killed" }
        yield* Effect.provideService(
          UserCommands.create(user, new RegisterUser({ userName: "ada", email: "ada@example.com" })),
          EventStore,
          store
        )
        // The other process's transaction reaches the table, and its answer is held back.
        proxy.inject({ _tag: "Delay", millis: 30_000 })
        const other = yield* otherProcess({
          connection: proxy.connectionString,
          tenant: owner,
          id: "killed",
          commands: ["rename:grace"],
          commandId: "rename-k"
        })
        yield* untilTrue(Effect.map(readAll(store, owner, "killed"), (events) => events.length === 2))
        kill(other.child)
        yield* Effect.promise(() => other.exited)

        const again = yield* Effect.provideService(
          UserCommands.update(user, new RenameUser({ name: "grace" }), { commandId: "rename-k" }),
          EventStore,
          store
        )

        const events = yield* readAll(store, owner, "killed")
        assert.deepStrictEqual(names(events), ["grace"], "committed once")
        assert.strictEqual(again.events[0]!.metadata.eventId, events[1]!.metadata.eventId)
      })
  )

  it.live(
    "given CJK-heavy events and snapshots every event, when the state outgrows what an append can carry, then every command still succeeds",
    () =>
      Effect.gen(function* () {
        class Noted extends Schema.TaggedClass<Noted>()("Noted", { text: Schema.String }) {}
        const notes = CommandHandler.make({
          category: "user",
          codec: EventCodec.make(Schema.Union([Noted])),
          decider: Decider.make<string, Noted, string>({
            initialState: "",
            evolve: (state, event) => state + event.text,
            decide: (text) => Effect.succeed([new Noted({ text })])
          }),
          snapshots: { schema: Schema.String, every: 1 }
        })
        const store = yield* instance(connectionString())
        const owner = tenant()
        const text = "字".repeat(200_000) // 400 KB in UTF-16, 600 KB in UTF-8
        const versions: Array<number> = []
        for (let n = 1; n <= 5; n++) {
          const result = yield* Effect.provideService(
            notes.execute({ tenant: owner, id: "cjk" }, text),
            EventStore,
            store
          )
          versions.push(result.version)
        }

        assert.deepStrictEqual(versions, [1, 2, 3, 4, 5])
        const streamId = yield* StreamId.make({ tenant: owner, category: "user", id: "cjk" })
        const snapshot = Option.getOrThrow(yield* store.readSnapshot(streamId))
        assert.strictEqual(
          snapshot.version,
          4,
          "the state at 5 is too large to go with an append: the last that fit stays"
        )
        const cold = yield* Effect.provideService(notes.load({ tenant: owner, id: "cjk" }), EventStore, store)
        assert.strictEqual(cold.version, 5)
        assert.strictEqual(cold.state.length, 5 * 200_000)
      })
  )

  it.live(
    "given a handler with snapshots, when a cold process loads the stream, then it reads the snapshot and only the events after it",
    () =>
      Effect.gen(function* () {
        const Registered = Schema.Struct({
          _tag: Schema.Literal("Registered"),
          name: Schema.String,
          email: Schema.String,
          blocked: Schema.Boolean
        })
        const UserState = Schema.Union([Schema.Struct({ _tag: Schema.Literal("Unregistered") }), Registered])
        const withSnapshots = () =>
          CommandHandler.make({
            category: "user",
            decider: users,
            codec: userCodec,
            snapshots: { schema: UserState, every: 3 }
          })
        const writer = yield* instance(connectionString())
        const owner = tenant()
        const user = { tenant: owner, id: "snap" }
        const handler = withSnapshots()
        yield* Effect.provideService(
          handler.create(user, new RegisterUser({ userName: "ada", email: "ada@example.com" })),
          EventStore,
          writer
        )
        for (let i = 1; i <= 6; i++) {
          yield* Effect.provideService(handler.update(user, new RenameUser({ name: `n-${i}` })), EventStore, writer)
        }
        const streamId = yield* StreamId.make({ tenant: owner, category: "user", id: "snap" })
        assert.strictEqual(Option.getOrThrow(yield* writer.readSnapshot(streamId)).version, 6)

        const cold = yield* instance(connectionString())
        const froms: Array<number> = []
        const watched = EventStore.of({
          ...cold,
          readStream: (id, options) => {
            froms.push(options?.from ?? 1)
            return cold.readStream(id, options)
          }
        })
        const result = yield* Effect.provideService(
          withSnapshots().update(user, new RenameUser({ name: "grace" })),
          EventStore,
          watched
        )

        assert.deepStrictEqual(froms, [7], "only the event after the snapshot at version 6")
        assert.strictEqual(result.version, 8)
        assert.deepStrictEqual(result.state, {
          _tag: "Registered",
          name: "grace",
          email: "ada@example.com",
          blocked: false
        })
      })
  )
})
