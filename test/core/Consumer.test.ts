import { assert, describe, it } from "@effect/vitest"
import { Consumer, LeaseStore } from "@eventable/core"
import { Effect, Option } from "effect"
import { append, category, fast, makeWorld, partition0, recorder } from "./ConsumerFixtures.ts"

describe("Consumer delivery", () => {
  it.live(
    "given a backlog over several streams, when the consumer catches up, then every event comes once, in order, and the checkpoint follows only finished batches",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          for (const id of ["o-1", "o-2", "o-3"]) yield* append(id, 40)
          const { seen, handler } = recorder()
          const checkpointsAtCall: Array<{ readonly first: number; readonly checkpoint: number }> = []
          const running = yield* Consumer.start({ group: "g", category, batchSize: 25, ...fast }, (batch) =>
            Effect.gen(function* () {
              const lease = Option.getOrThrow(yield* (yield* LeaseStore).get("g", batch.partition))
              checkpointsAtCall.push({ first: batch.first, checkpoint: lease.checkpoint })
              yield* handler(batch)
            })
          )
          yield* running.awaitPosition(partition0, 120)
          // More events while it runs: picked up by the idle poll.
          const last = yield* append("o-4", 5)
          yield* running.awaitPosition(partition0, last)
          assert.deepStrictEqual(
            seen.map((e) => e.position),
            Array.from({ length: 125 }, (_, i) => i + 1)
          )
          for (const id of ["o-1", "o-2", "o-3"]) {
            const versions = seen.filter((e) => e.stream === id).map((e) => e.version)
            assert.deepStrictEqual(
              versions,
              Array.from({ length: 40 }, (_, i) => i + 1)
            )
          }
          // The checkpoint was exactly before each batch when it was delivered: never ahead of finished work.
          for (const call of checkpointsAtCall) assert.strictEqual(call.checkpoint, call.first - 1)
        }).pipe(Effect.scoped, Effect.provide(world.layer))
        const stored = [...world.leases.leases.values()][0]
        assert.strictEqual(stored?.checkpoint, 125)
        assert.strictEqual(stored?.owner, undefined, "released on scope close")
      })
  )
})
