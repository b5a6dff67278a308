import { assert, describe, it } from "@effect/vitest"
import { type EventStore, InMemoryEventStore } from "@eventable/core"
import { BlockUser, RegisterUser, RenameUser, UserCommands } from "@eventable/example-users"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Effect, type Layer } from "effect"
import { inject } from "vitest"

const lifecycle = Effect.gen(function* () {
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
})

const onAzurite = (): Layer.Layer<EventStore, unknown> =>
  TableEventStore.layer({
    connection: TableStorageConfig.connectionString(inject("azuriteConnectionString")),
    table: `users${Date.now().toString(36)}`
  })

describe("UserCommands", () => {
  it.effect("given the in-memory store, when a user is registered, renamed and blocked, then the state follows", () =>
    lifecycle.pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.live(
    "given Table Storage on Azurite, when a user is registered, renamed and blocked, then the state follows",
    () => lifecycle.pipe(Effect.provide(onAzurite()))
  )

  it.live("given Table Storage, when two requests rename one user at once, then both land, one after the other", () =>
    Effect.gen(function* () {
      const grace = { tenant: "acme", id: "grace" }
      yield* UserCommands.create(grace, new RegisterUser({ userName: "grace", email: "grace@example.com" }))

      const results = yield* Effect.all(
        [
          UserCommands.update(grace, new RenameUser({ name: "Grace Hopper" })),
          UserCommands.update(grace, new RenameUser({ name: "Admiral Hopper" }))
        ],
        { concurrency: "unbounded" }
      )

      assert.deepStrictEqual(results.map((r) => r.version).sort(), [2, 3])
      assert.strictEqual((yield* UserCommands.load(grace)).version, 3)
    }).pipe(Effect.provide(onAzurite()))
  )
})
