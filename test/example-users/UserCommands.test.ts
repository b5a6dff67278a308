import { assert, describe, it } from "@effect/vitest"
import { InMemoryEventStore } from "@eventable/core"
import { BlockUser, RegisterUser, RenameUser, UserCommands } from "@eventable/example-users"
import { Effect } from "effect"

describe("UserCommands", () => {
  it.effect("given the in-memory store, when a user is registered, renamed and blocked, then the state follows", () =>
    Effect.gen(function* () {
      const ada = { tenant: "acme", id: "ada" }
      yield* UserCommands.create(ada, new RegisterUser({ userName: "ada", email: "ada@example.com" }))
      yield* UserCommands.update(ada, new RenameUser({ name: "Ada Lovelace" }))
      const result = yield* UserCommands.update(ada, new BlockUser())
      const rejected = yield* Effect.flip(UserCommands.update(ada, new RenameUser({ name: "Countess" })))

      assert.strictEqual(result.version, 3)
      assert.deepStrictEqual(result.state, {
        _tag: "Registered",
        name: "Ada Lovelace",
        email: "ada@example.com",
        blocked: true
      })
      assert.strictEqual(rejected._tag, "UserIsBlocked")
      assert.strictEqual((yield* UserCommands.load(ada)).version, 3)
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )
})
