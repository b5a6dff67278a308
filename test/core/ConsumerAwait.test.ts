import { assert, describe, it } from "@effect/vitest"
import { Consumer, LeaseStore, Partition, StoreUnavailable } from "@eventable/core"
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

describe("Consumer owned", () => {
  it.live(
    "given the lease store hangs longer than the lease TTL, when the owner gives its lease up, then owned stops listing the partition at once, even while the hung write is still in flight",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        let outage = false
        const hanging = LeaseStore.of({
          ...world.leases,
          renew: (lease) =>
            outage
              ? Effect.andThen(
                  Effect.sleep("3 seconds"),
                  Effect.fail(new StoreUnavailable({ operation: "renew", reason: "outage" }))
                )
              : world.leases.renew(lease)
        })
        yield* Effect.gen(function* () {
          yield* append("o-1", 1)
          const running = yield* Consumer.start({ group: "g", category, ...fast }, () => Effect.void)
          yield* running.awaitPosition(partition0, 1)
          assert.strictEqual((yield* running.owned).length, 1)
          outage = true
          // TTL 600 ms minus the 150 ms margin: the owner must have given up well within 1.5 s.
          yield* Effect.sleep("1500 millis")
          assert.deepStrictEqual(yield* running.owned, [])
        }).pipe(Effect.scoped, Effect.provideService(LeaseStore, hanging), Effect.provide(world.layer))
      }),
    15_000
  )
})

describe("Consumer halted", () => {
  it.live(
    "given an instance that halted every partition, when another instance takes one of them over, then the first no longer lists it as halted",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld(2)
        yield* Effect.gen(function* () {
          for (const id of ["o-1", "o-2", "o-3", "o-4", "o-5", "o-6"]) yield* append(id, 1)
          const options = { group: "g", category, retry: Schedule.recurs(0), ...fast }
          const failing = () => Effect.fail("boom")
          const a = yield* Consumer.start({ ...options, owner: "a" }, failing)
          yield* Effect.flatMap(a.halted, (h) => Effect.succeed(h.length)).pipe(
            Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (n) => n === 2 })
          )
          const b = yield* Consumer.start({ ...options, owner: "b" }, failing)
          yield* b.owned.pipe(Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (o) => o.length === 1 }))
          // A gives the partition up on its next lease write, within the lease TTL.
          yield* Effect.sleep("1 second")
          const ownedByA = (yield* a.owned).map(Partition.key)
          const haltedByA = (yield* a.halted).map((h) => Partition.key(h.partition))
          assert.strictEqual(haltedByA.length, 1)
          assert.deepStrictEqual(haltedByA, ownedByA)
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      }),
    15_000
  )
})
