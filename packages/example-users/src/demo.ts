/**
 * `npm run demo`: the users example, end to end. First on the in-memory store,
 * then on Azure Table Storage (a local Azurite started for the demo): it
 * registers, renames and blocks users, breaks the rules on purpose, and prints
 * the events, the feed and the states.
 */
import { EventCodec, EventFeed, EventStore, InMemoryEventStore, Partition, StreamId } from "@eventable/core"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Azurite } from "@eventable/testing"
import { Console, Effect, Layer, Stream } from "effect"
import { BlockUser, RegisterUser, RenameUser, UserEvent } from "./User.ts"
import { UserCommands, userCategory } from "./UserCommands.ts"

const tenant = "acme"
const ada = { tenant, id: "ada" }
const codec = EventCodec.make(UserEvent)

const show = (label: string, value: unknown) => Console.log(`  ${label.padEnd(44)} ${JSON.stringify(value)}`)

const attempt = <A, E extends { readonly _tag: string; readonly message: string }, R>(
  label: string,
  effect: Effect.Effect<{ readonly version: number; readonly state: A }, E, R>
) =>
  effect.pipe(
    Effect.flatMap((result) => show(label, { version: result.version, state: result.state })),
    Effect.catch((error) => show(`${label} -> rejected`, { error: error._tag, message: error.message }))
  )

const walkthrough = Effect.gen(function* () {
  yield* attempt(
    "register ada",
    UserCommands.create(ada, new RegisterUser({ userName: "ada", email: "ada@example.com" }), {
      correlationId: "signup-1"
    })
  )
  yield* attempt("rename to Ada Lovelace", UserCommands.update(ada, new RenameUser({ name: "Ada Lovelace" })))
  yield* attempt("rename to the same name (no-op)", UserCommands.update(ada, new RenameUser({ name: "Ada Lovelace" })))
  yield* attempt(
    "register grace",
    UserCommands.create({ tenant, id: "grace" }, new RegisterUser({ userName: "grace", email: "grace@example.com" }))
  )
  yield* attempt("block ada", UserCommands.update(ada, new BlockUser()))
  yield* attempt("rename a blocked user", UserCommands.update(ada, new RenameUser({ name: "Countess" })))
  yield* attempt(
    "register ada again",
    UserCommands.execute(ada, new RegisterUser({ userName: "ada", email: "ada@example.com" }))
  )
  yield* attempt(
    "register with a bad email",
    UserCommands.create({ tenant, id: "bob" }, new RegisterUser({ userName: "bob", email: "bob@" }))
  )
  yield* attempt(
    "register with an empty name",
    UserCommands.create({ tenant, id: "eve" }, new RegisterUser({ userName: "  ", email: "eve@example.com" }))
  )
  yield* attempt(
    "rename a stale version (If-Match: 1)",
    UserCommands.update(ada, new RenameUser({ name: "Late" }), { expectedVersion: 1 })
  )
  yield* attempt(
    "rename with an invalid id",
    UserCommands.update({ tenant, id: "bad\u0000id" }, new RenameUser({ name: "x" }))
  )

  yield* Console.log("\n  The stream acme/user/ada:")
  const store = yield* EventStore
  const streamId = yield* StreamId.make({ tenant, category: userCategory, id: "ada" })
  yield* store.readStream(streamId).pipe(
    Stream.mapEffect(codec.decodeStored),
    Stream.runForEach((recorded) =>
      show(`v${recorded.version} ${recorded.type}`, {
        data: recorded.event,
        correlationId: recorded.metadata.correlationId
      })
    )
  )
  yield* Console.log("\n  The feed of acme/user, in commit order:")
  const feed = yield* EventFeed
  for (const event of yield* feed.read(Partition.make(tenant, userCategory, 0), 0, 100)) {
    yield* show(`position ${event.position}`, { stream: event.streamId.id, version: event.version, type: event.type })
  }
  yield* Console.log("")
  yield* show("final state of ada", (yield* UserCommands.load(ada)).state)
})

const onTableStorage = Layer.unwrap(
  Effect.gen(function* () {
    const azurite = yield* Azurite
    yield* Console.log(`(Azurite started at ${azurite.tableEndpoint})\n`)
    return TableEventStore.layer({
      connection: TableStorageConfig.connectionString(azurite.connectionString),
      table: "demo"
    })
  })
).pipe(Layer.provide(Azurite.layer))

const program = Effect.gen(function* () {
  yield* Console.log("Eventable demo: the users example\n\n1. On the in-memory event store\n")
  yield* walkthrough.pipe(Effect.provide(InMemoryEventStore.layer()))
  yield* Console.log("\n2. On Azure Table Storage (a local Azurite, no cloud account)\n")
  yield* walkthrough.pipe(Effect.provide(onTableStorage))
})

Effect.runPromise(program).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
