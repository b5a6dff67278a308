import { type CommandHandler, InMemoryEventStore } from "@eventable/core"
import { BlockUser, RegisterUser, RenameUser, UserCommands, type UserError } from "@eventable/example-users"
import { Effect } from "effect"

// The write side without HTTP: each call loads the user's stream (or its cached state),
// runs the decider, and appends the new events under the version it decided on.
export const program: Effect.Effect<
  {
    readonly retriedVersion: number
    readonly renamedVersion: number
    readonly stale: string
    readonly blocked: string
  },
  UserError | CommandHandler.CommandError
> = Effect.gen(function* () {
  const ada = { tenant: "acme", id: "ada" }
  // A command id makes a command idempotent: re-running it (after a timeout, a lost answer,
  // a crash) returns the first run's events and appends nothing.
  yield* UserCommands.create(ada, new RegisterUser({ userName: "ada", email: "ada@example.com" }), {
    commandId: "signup-ada"
  })
  const retried = yield* UserCommands.create(ada, new RegisterUser({ userName: "ada", email: "ada@example.com" }), {
    commandId: "signup-ada"
  })
  // An expected version (an HTTP If-Match) pins the version the caller saw.
  const renamed = yield* UserCommands.update(ada, new RenameUser({ name: "Ada Lovelace" }), { expectedVersion: 1 })
  const stale = yield* UserCommands.update(ada, new RenameUser({ name: "Countess" }), { expectedVersion: 1 }).pipe(
    Effect.match({ onFailure: (error) => error._tag, onSuccess: () => "renamed" })
  )
  yield* UserCommands.update(ada, new BlockUser())
  const blocked = yield* UserCommands.update(ada, new RenameUser({ name: "Countess" })).pipe(
    Effect.match({ onFailure: (error) => error._tag, onSuccess: () => "renamed" })
  )
  return {
    retriedVersion: retried.version, // 1: the retry appended nothing
    renamedVersion: renamed.version, // 2
    stale, // "ConcurrencyConflict": answered 412 over HTTP
    blocked // "UserIsBlocked": a rule, answered 409 over HTTP
  }
}).pipe(Effect.provide(InMemoryEventStore.layer()))
