import { assert, describe, it } from "@effect/vitest"
import { Consumer, LeaseStore } from "@eventable/core"
import { Effect, Exit, Layer, Scope } from "effect"
import { append, category, fast, makeWorld } from "./ConsumerFixtures.ts"

describe("Consumer shutdown", () => {
  it.live(
    "given slow lease writes, when the consumer's scope closes, then it returns only after every lease is released",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld(6)
        const inner = world.leases
        // Every lease write takes a while, as over a network.
        const slow = LeaseStore.of({
          ...inner,
          renew: (l) => Effect.andThen(Effect.sleep("30 millis"), inner.renew(l)),
          release: (l) => Effect.andThen(Effect.sleep("30 millis"), inner.release(l)),
          acquire: (l, o) => Effect.andThen(Effect.sleep("30 millis"), inner.acquire(l, o))
        })
        yield* Effect.gen(function* () {
          for (let i = 0; i < 24; i++) yield* append(`o-${i}`, 1)
          const scope = yield* Scope.make()
          const running = yield* Consumer.start({ group: "g", category, ...fast }, () => Effect.void).pipe(
            Scope.provide(scope)
          )
          yield* Effect.map(running.owned, (o) => o.length).pipe(
            Effect.repeat({ until: (n: number) => n === 6 }),
            Effect.timeout("10 seconds")
          )
          yield* Scope.close(scope, Exit.void)
          const leases = yield* inner.list("g")
          assert.deepStrictEqual(
            leases.map((l) => l.owner ?? "-"),
            leases.map(() => "-")
          )
        }).pipe(Effect.provide(Layer.mergeAll(world.layer, Layer.succeed(LeaseStore, slow))))
      })
  )
})
