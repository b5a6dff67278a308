import { assert, describe, it } from "@effect/vitest"
import { Consumer, CorruptEvent, CorruptPartition, type EventFeed, Partition } from "@eventable/core"
import { Effect, Exit } from "effect"
import { append, category, fast, faultyFeed, makeWorld, partition0 } from "./ConsumerFixtures.ts"

/**
 * A feed that lost the row at `missing`, answering the way the Table store does today: a page
 * that runs past the hole fails with CorruptEvent, a page that ends before it (or a one-row page
 * of the missing row itself) comes back without it.
 */
const lostRow = (missing: number) =>
  faultyFeed((_call, partition, after, limit, inner) =>
    Effect.flatMap(inner.read(partition, after, limit), (page) => {
      const events = page.filter((e) => e.position !== missing)
      const last = events[events.length - 1]
      return after < missing && last !== undefined && last.position > missing
        ? Effect.fail(new CorruptEvent({ stream: "feed", version: missing, type: "feed", reason: "gap" }))
        : Effect.succeed(events)
    })
  ) as (inner: EventFeed["Service"]) => EventFeed["Service"]

describe("Consumer on a damaged feed", () => {
  for (const [name, missing] of [
    ["first", 1],
    ["middle", 3],
    ["last", 6]
  ] as const) {
    it.live(
      `given the ${name} feed row is missing, when the consumer reaches it, then it halts the partition there instead of waiting`,
      () =>
        Effect.gen(function* () {
          const world = yield* makeWorld(1, lostRow(missing))
          yield* Effect.gen(function* () {
            yield* append("o-1", 6)
            const running = yield* Consumer.start({ group: "g", category, batchSize: 10, ...fast }, () => Effect.void)
            const exit = yield* Effect.exit(running.awaitPosition(partition0, 6).pipe(Effect.timeout("5 seconds")))
            assert.isTrue(Exit.isFailure(exit))
            const halted = yield* running.halted
            assert.strictEqual(halted.length, 1)
            assert.strictEqual(halted[0]?.position, missing)
          }).pipe(Effect.scoped, Effect.provide(world.layer))
        })
    )
  }

  it.live(
    "given a store that reports the partition corrupt at position 3, when the consumer reads, then it handles 1 and 2 and halts at 3",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld(
          1,
          faultyFeed((_call, partition, after, limit) =>
            after < 3 && after + limit >= 3
              ? Effect.fail(
                  new CorruptPartition({ partition: Partition.format(partition), position: 3, reason: "row missing" })
                )
              : undefined
          )
        )
        yield* Effect.gen(function* () {
          yield* append("o-1", 6)
          const handled: Array<number> = []
          const running = yield* Consumer.start({ group: "g", category, batchSize: 10, ...fast }, (batch) =>
            Effect.sync(() => handled.push(...batch.events.map((e) => e.position)))
          )
          const failed = yield* Effect.flip(running.awaitPosition(partition0, 6).pipe(Effect.timeout("5 seconds")))
          assert.strictEqual(failed._tag, "PartitionHalted")
          assert.strictEqual(failed._tag === "PartitionHalted" ? failed.position : -1, 3)
          assert.deepStrictEqual(handled, [1, 2])
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )
})
