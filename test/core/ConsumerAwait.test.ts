import { assert, describe, it } from "@effect/vitest"
import { Consumer, Partition } from "@eventable/core"
import { Effect, Schedule } from "effect"
import { append, category, fast, makeWorld, partition0, tenant } from "./ConsumerFixtures.ts"

describe("Consumer awaits", () => {
  it.live(
    "given a running consumer, when awaitPosition gets a bad position or a partition it does not read, then it fails at once with InvalidArgument instead of waiting",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          yield* append("o-1", 2)
          const running = yield* Consumer.start({ group: "g", category, tenants: [tenant], ...fast }, () => Effect.void)
          yield* running.awaitPosition(partition0, 2)
          const cases: ReadonlyArray<readonly [Partition.Partition, number, string]> = [
            [partition0, Number.NaN, "position"],
            [partition0, -1, "position"],
            [partition0, 1.5, "position"],
            [Partition.make("other", category, 0), 1, "partition"],
            [Partition.make(tenant, "invoice", 0), 1, "partition"],
            [Partition.make(tenant, category, 99), 1, "partition"]
          ]
          for (const [partition, position, argument] of cases) {
            const error = yield* Effect.flip(
              running.awaitPosition(partition, position).pipe(Effect.timeout("2 seconds"))
            )
            assert.strictEqual(error._tag, "InvalidArgument", `${Partition.format(partition)} ${position}`)
            assert.strictEqual(error._tag === "InvalidArgument" ? error.argument : "", argument)
          }
          for (const position of [Number.NaN, -1]) {
            const error = yield* Effect.flip(
              Consumer.awaitCheckpoint("g", partition0, position, Schedule.spaced("5 millis")).pipe(
                Effect.timeout("2 seconds")
              )
            )
            assert.strictEqual(error._tag, "InvalidArgument")
          }
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )
})
