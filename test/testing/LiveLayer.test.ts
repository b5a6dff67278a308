import { assert, it } from "@effect/vitest"
import { CommandHandler, EventStore, InMemoryEventStore } from "@eventable/core"
import { RegisterUser, RenameUser, UserCommands, userCodec, users } from "@eventable/example-users"
import { LiveLayer } from "@eventable/testing"
import { Effect } from "effect"

const user = { tenant: "docs", id: "u-1" }
const names = Array.from({ length: 20 }, (_, i) => `name-${i}`)

// The testing guide's first pattern: plain it.effect, on TestClock.
it.effect("given the guide's pattern, when twenty renames run in parallel under TestClock, then all go through", () =>
  Effect.gen(function* () {
    yield* UserCommands.create(user, new RegisterUser({ userName: "ada", email: "ada@example.com" }))
    const results = yield* Effect.forEach(names, (name) => UserCommands.update(user, new RenameUser({ name })), {
      concurrency: "unbounded"
    })
    assert.strictEqual(results.length, 20)
    assert.strictEqual(Math.max(...results.map((r) => r.version)), 21)
  }).pipe(Effect.provide(InMemoryEventStore.layer()))
)

// The guide's second pattern: two "processes" on one stream, so the handler backs off (sleeps) before retrying.
LiveLayer.layer(InMemoryEventStore.layer())("given LiveLayer.layer", (it) => {
  it.effect("when two handlers race on one stream, then the loser backs off on the live clock and succeeds", () =>
    Effect.gen(function* () {
      const here = CommandHandler.make({ category: "user", decider: users, codec: userCodec })
      const there = CommandHandler.make({ category: "user", decider: users, codec: userCodec })
      yield* here.create(user, new RegisterUser({ userName: "ada", email: "ada@example.com" }))
      yield* there.update(user, new RenameUser({ name: "grace" }))

      // `here` still has version 1 cached: its append conflicts, it sleeps, catches up and appends.
      const result = yield* here.update(user, new RenameUser({ name: "hopper" }))

      assert.strictEqual(result.version, 3)
      assert.deepStrictEqual(result.state, {
        _tag: "Registered",
        name: "hopper",
        email: "ada@example.com",
        blocked: false
      })
      assert.isDefined(yield* EventStore)
    })
  )
})
