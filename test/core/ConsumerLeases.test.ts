import { assert, describe, it } from "@effect/vitest"
import { Consumer, EventFeed, LeaseStore, Partition, StoreUnavailable } from "@eventable/core"
import { Clock, Deferred, Duration, Effect, Exit, Layer, Option, Schedule, Scope } from "effect"
import { append, category, fast, makeWorld, partition0, recorder, tenant } from "./ConsumerFixtures.ts"

/** A clock `offset` ms ahead of the real one, running `rate` times as fast; its sleeps are as long on its own face. */
const skewedClock = (base: Clock.Clock, offset: number, rate: number): Clock.Clock => {
  const origin = base.currentTimeMillisUnsafe()
  const millis = () => origin + offset + (base.currentTimeMillisUnsafe() - origin) * rate
  return {
    currentTimeMillisUnsafe: millis,
    currentTimeMillis: Effect.sync(millis),
    currentTimeNanosUnsafe: () => BigInt(Math.round(millis() * 1e6)),
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(millis() * 1e6))),
    monotonicTimeNanosUnsafe: () => base.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: base.monotonicTimeNanos,
    sleep: (duration) => base.sleep(Duration.millis(Duration.toMillis(duration) / rate))
  }
}

const until = <E, R>(condition: Effect.Effect<boolean, E, R>) =>
  condition.pipe(
    Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (ok: boolean) => ok }),
    Effect.timeout("15 seconds")
  )

describe("Consumer leases", () => {
  it.live(
    "given a lease taken over while a batch is in flight, when the batch ends, then its checkpoint is rejected and no further batch of that partition is delivered",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        const rejected: Array<{ readonly position: number; readonly error: string }> = []
        const recording = LeaseStore.of({
          ...world.leases,
          checkpoint: (lease, position, attempts) =>
            world.leases
              .checkpoint(lease, position, attempts)
              .pipe(Effect.tapError((error) => Effect.sync(() => rejected.push({ position, error: error._tag }))))
        })
        yield* Effect.gen(function* () {
          yield* append("o-1", 12)
          const leases = yield* LeaseStore
          const { seen, handler } = recorder()
          const inSecond = yield* Deferred.make<void>()
          const proceed = yield* Deferred.make<void>()
          const running = yield* Consumer.start({ group: "g", category, batchSize: 4, ...fast }, (batch) =>
            Effect.gen(function* () {
              if (batch.first === 5) {
                yield* Deferred.succeed(inSecond, undefined)
                yield* Deferred.await(proceed)
              }
              yield* handler(batch)
            })
          )
          yield* Deferred.await(inSecond)
          // Another instance takes the lease over (as after an expiry it saw on its own clock).
          const current = Option.getOrThrow(yield* leases.get("g", partition0))
          const stolen = yield* leases.acquire(current, "thief")
          yield* Deferred.succeed(proceed, undefined)
          yield* until(Effect.map(running.owned, (owned) => owned.length === 0))
          const after = Option.getOrThrow(yield* leases.get("g", partition0))
          assert.strictEqual(after.owner, "thief")
          assert.strictEqual(after.etag, stolen.etag, "the deposed owner wrote nothing after the takeover")
          assert.strictEqual(after.checkpoint, 4)
          // The batch in flight finished its handler call (it was already running); nothing after it came.
          assert.deepStrictEqual(
            seen.map((e) => e.position),
            [1, 2, 3, 4, 5, 6, 7, 8]
          )
          // The balancer leaves a live owner's lease alone: still nothing more is delivered.
          yield* Effect.sleep("200 millis")
          assert.strictEqual(seen.length, 8)
          assert.deepStrictEqual(
            rejected.map((r) => r.position),
            [8],
            "the deposed owner's checkpoint of its batch in flight was refused"
          )
        }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(world.layer, Layer.succeed(LeaseStore, recording))))
      })
  )

  it.live(
    "given an owner that can no longer write its lease, when TTL minus the safety margin passes on its clock, then it stops the partition by itself",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        let outage = false
        let lastWriteStart = 0
        const inner = world.leases
        const flaky = LeaseStore.of({
          ...inner,
          renew: (lease) =>
            Effect.suspend(() =>
              outage ? Effect.fail(new StoreUnavailable({ operation: "renew", reason: "down" })) : inner.renew(lease)
            ),
          checkpoint: (lease, position, attempts) =>
            Effect.suspend(() =>
              outage
                ? Effect.fail(new StoreUnavailable({ operation: "checkpoint", reason: "down" }))
                : inner.checkpoint(lease, position, attempts)
            )
        })
        yield* Effect.gen(function* () {
          yield* append("o-1", 3)
          const calls: Array<number> = []
          const running = yield* Consumer.start({ group: "g", category, batchSize: 1, ...fast }, () =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => calls.push(now)))
          )
          yield* running.awaitPosition(partition0, 3)
          lastWriteStart = yield* Clock.currentTimeMillis
          outage = true
          // Keep events coming: the handler would be called for them if the owner did not stop.
          yield* append("o-1", 50)
          yield* until(Effect.map(running.owned, (owned) => owned.length === 0))
          const deadline = lastWriteStart + 600 - 150
          assert.isTrue(
            calls.every((t) => t < deadline),
            "no handler call after the owner's own deadline"
          )
        }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(world.layer, Layer.succeed(LeaseStore, flaky))))
      })
  )

  it.live(
    "given a contender whose clock is an hour ahead and runs fast, when the owner is alive, then it never takes the lease; when the owner stops, it takes over at once",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          yield* append("o-1", 5)
          const ownerScope = yield* Scope.make()
          const a = recorder()
          const owner = yield* Consumer.start({ group: "g", category, owner: "a", ...fast }, a.handler).pipe(
            Scope.provide(ownerScope)
          )
          yield* owner.awaitPosition(partition0, 5)
          const base = yield* Clock.Clock
          const b = recorder()
          const contender = yield* Consumer.start({ group: "g", category, owner: "b", ...fast }, b.handler).pipe(
            Effect.provideService(Clock.Clock, skewedClock(base, 3_600_000, 1.5))
          )
          // Three lease TTLs on the contender's clock pass while the owner keeps renewing.
          yield* Effect.sleep("1200 millis")
          yield* append("o-1", 5)
          yield* owner.awaitPosition(partition0, 10)
          assert.deepStrictEqual(yield* contender.owned, [])
          assert.strictEqual(b.seen.length, 0)
          assert.strictEqual(Option.getOrThrow(yield* (yield* LeaseStore).get("g", partition0)).owner, "a")

          yield* Scope.close(ownerScope, Exit.void)
          yield* append("o-1", 5)
          yield* contender.awaitPosition(partition0, 15)
          assert.deepStrictEqual(
            b.seen.map((e) => e.position),
            [11, 12, 13, 14, 15]
          )
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )

  it.live(
    "given three instances over 12 partitions, when they balance, then each owns its fair share; when one stops, the others take over at once; when one is cut off, the others take over after the TTL and finish",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld(12)
        const cutOff = new Set<string>()
        const inner = world.leases
        const down = (owner: string | undefined) => owner !== undefined && cutOff.has(owner)
        const unavailable = (operation: string) => Effect.fail(new StoreUnavailable({ operation, reason: "cut off" }))
        // A network partition for chosen owners: their lease writes never arrive.
        const partitioned = LeaseStore.of({
          ...inner,
          renew: (l) => Effect.suspend(() => (down(l.owner) ? unavailable("renew") : inner.renew(l))),
          checkpoint: (l, p, n) =>
            Effect.suspend(() => (down(l.owner) ? unavailable("checkpoint") : inner.checkpoint(l, p, n))),
          acquire: (l, o) => Effect.suspend(() => (down(o) ? unavailable("acquire") : inner.acquire(l, o))),
          release: (l) => Effect.suspend(() => (down(l.owner) ? unavailable("release") : inner.release(l)))
        })
        yield* Effect.gen(function* () {
          for (let i = 0; i < 60; i++) yield* append(`o-${i}`, 1)
          const handled = new Map<string, Set<number>>()
          const handler = (batch: Consumer.Batch) =>
            Effect.sync(() => {
              const key = Partition.key(batch.partition)
              const set = handled.get(key) ?? new Set<number>()
              for (const e of batch.events) set.add(e.position)
              handled.set(key, set)
            })
          const options = { group: "g", category, ...fast, leaseTtl: "1500 millis" as const }
          const scopes = [yield* Scope.make(), yield* Scope.make(), yield* Scope.make()] as const
          const instances = yield* Effect.forEach(["a", "b", "c"] as const, (owner, i) =>
            Consumer.start({ ...options, owner }, handler).pipe(Scope.provide(scopes[i]!))
          )
          const counts = Effect.forEach(instances, (instance) => Effect.map(instance.owned, (o) => o.length))
          yield* until(Effect.map(counts, (c) => c.join() === "4,4,4"))

          // Graceful stop of "c": released leases are picked up within a balance interval, long before the TTL.
          const stoppedAt = Date.now()
          yield* Scope.close(scopes[2], Exit.void)
          yield* until(Effect.map(counts, (c) => c[0]! + c[1]! === 12 && c[0] === 6))
          assert.isBelow(Date.now() - stoppedAt, 1500, "handed over without waiting for the lease TTL")

          // "b" is cut off from the lease store: it stops by itself, "a" takes over once the TTL has passed.
          cutOff.add("b")
          yield* until(Effect.map(counts, (c) => c[0] === 12 && c[1] === 0))
          const partitions = Array.from({ length: 12 }, (_, shard) => Partition.make(tenant, category, shard))
          for (let i = 60; i < 84; i++) yield* append(`o-${i}`, 1)
          const feed = yield* EventFeed
          for (const partition of partitions) {
            yield* instances[0]!.awaitPosition(partition, yield* feed.head(partition))
          }
          cutOff.clear()
          // Every event of every partition was handled at least once.
          const leases = yield* LeaseStore
          let total = 0
          for (const partition of partitions) {
            const lease = Option.getOrThrow(yield* leases.get("g", partition))
            assert.strictEqual(lease.owner, "a")
            const set = handled.get(Partition.key(partition)) ?? new Set()
            assert.strictEqual(set.size, lease.checkpoint)
            total += lease.checkpoint
          }
          assert.strictEqual(total, 84)
          yield* Scope.close(scopes[1], Exit.void)
          yield* Scope.close(scopes[0], Exit.void)
        }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(world.layer, Layer.succeed(LeaseStore, partitioned))))
      })
  )

  it.live(
    "given lease writes whose answers are lost after they landed, when the owner writes again, then it confirms owner and epoch and keeps its lease",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        const inner = world.leases
        let calls = 0
        // Every third write lands, but its answer is lost on the way back.
        const lossy = <A>(write: Effect.Effect<A, unknown>, operation: string) =>
          Effect.flatMap(write, (result) =>
            ++calls % 3 === 0
              ? Effect.fail(new StoreUnavailable({ operation, reason: "answer lost" }))
              : Effect.succeed(result)
          )
        const store = LeaseStore.of({
          ...inner,
          renew: (l) => lossy(inner.renew(l), "renew") as ReturnType<typeof inner.renew>,
          checkpoint: (l, p, n) => lossy(inner.checkpoint(l, p, n), "checkpoint") as ReturnType<typeof inner.checkpoint>
        })
        yield* Effect.gen(function* () {
          yield* append("o-1", 40)
          const { seen, handler } = recorder()
          const running = yield* Consumer.start({ group: "g", category, batchSize: 3, ...fast }, handler)
          yield* running.awaitPosition(partition0, 40)
          assert.isAbove(calls, 10)
          assert.deepStrictEqual(yield* running.halted, [])
          assert.strictEqual(Option.getOrThrow(yield* inner.get("g", partition0)).owner, running.owner)
          assert.strictEqual(Option.getOrThrow(yield* inner.get("g", partition0)).epoch, 1)
          assert.deepStrictEqual(
            [...new Set(seen.map((e) => e.position))],
            Array.from({ length: 40 }, (_, i) => i + 1)
          )
        }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(world.layer, Layer.succeed(LeaseStore, store))))
      })
  )
})
