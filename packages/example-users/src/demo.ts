/**
 * `npm run demo`: walks the users example through the command handler on the
 * in-memory store, and prints the events and states.
 */
import { EventCodec, EventStore, InMemoryEventStore, StreamId } from "@eventable/core"
import { Console, Effect, Stream } from "effect"
import { BlockUser, RegisterUser, RenameUser, UserEvent } from "./User.ts"
import { UserCommands, userCategory } from "./UserCommands.ts"

const tenant = "acme"
const ada = { tenant, id: "ada" }

const show = (label: string, value: unknown) => Console.log(`${label.padEnd(34)} ${JSON.stringify(value)}`)

const attempt = <A, E extends { readonly _tag: string; readonly message: string }, R>(
  label: string,
  effect: Effect.Effect<{ readonly version: number; readonly state: A }, E, R>
) =>
  effect.pipe(
    Effect.flatMap((result) => show(label, { version: result.version, state: result.state })),
    Effect.catch((error) => show(`${label} -> rejected`, { error: error._tag, message: error.message }))
  )

const program = Effect.gen(function* () {
  yield* Console.log("Eventable demo: the users example on the in-memory event store\n")

  yield* attempt(
    "register ada",
    UserCommands.create(ada, new RegisterUser({ userName: "ada", email: "ada@example.com" }), {
      correlationId: "signup-1"
    })
  )
  yield* attempt("rename to Ada Lovelace", UserCommands.update(ada, new RenameUser({ name: "Ada Lovelace" })))
  yield* attempt("rename to the same name (no-op)", UserCommands.update(ada, new RenameUser({ name: "Ada Lovelace" })))
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

  yield* Console.log("\nThe stream acme/user/ada as stored:")
  const store = yield* EventStore
  const codec = EventCodec.make(UserEvent)
  const streamId = yield* StreamId.make({ tenant, category: userCategory, id: "ada" })
  yield* store.readStream(streamId).pipe(
    Stream.mapEffect(codec.decodeStored),
    Stream.runForEach((recorded) =>
      show(`  v${recorded.version} @${recorded.position} ${recorded.type}`, {
        data: recorded.event,
        correlationId: recorded.metadata.correlationId
      })
    )
  )
  const loaded = yield* UserCommands.load(ada)
  yield* show("\nFinal state of ada", loaded)
})

Effect.runPromise(program.pipe(Effect.provide(InMemoryEventStore.layer()))).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
