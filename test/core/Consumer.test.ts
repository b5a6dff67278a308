import { assert, describe, it } from "@effect/vitest"
import {
  Consumer,
  CorruptEvent,
  DeadLetterStore,
  EventCodec,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  LeaseStore,
  Partition,
  StoreUnavailable,
  StreamId
} from "@eventable/core"
import { Deferred, Effect, Exit, Metric, Option, Schedule, Schema, Scope, Stream } from "effect"
import {
  append,
  category,
  crashable,
  fast,
  faultyFeed,
  makeWorld,
  partition0,
  recorder,
  tenant
} from "./ConsumerFixtures.ts"

const quickRetry = Schedule.spaced("1 millis").pipe(Schedule.upTo({ times: 2 }))

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
        const stored = Option.getOrUndefined(yield* world.leases.get("g", partition0))
        assert.strictEqual(stored?.checkpoint, 125)
        assert.strictEqual(stored?.owner, undefined, "released on scope close")
      })
  )

  it.live(
    "given stream concurrency 4, when a batch spans several streams, then streams run in parallel, each in order, and the checkpoint waits for the whole batch",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          for (let round = 0; round < 10; round++)
            for (const id of ["s-1", "s-2", "s-3", "s-4", "s-5"]) yield* append(id, 1)
          let inFlight = 0
          let maxInFlight = 0
          const versions = new Map<string, Array<number>>()
          const leases = yield* LeaseStore
          const running = yield* Consumer.start(
            { group: "g", category, batchSize: 25, streamConcurrency: 4, ...fast },
            (batch) =>
              Effect.gen(function* () {
                inFlight++
                maxInFlight = Math.max(maxInFlight, inFlight)
                const lease = Option.getOrThrow(yield* leases.get("g", batch.partition))
                // Events of one page are split per stream: the checkpoint is still before the page.
                assert.isBelow(lease.checkpoint, batch.first)
                const stream = batch.events[0]?.streamId.id ?? ""
                assert.isTrue(batch.events.every((e) => e.streamId.id === stream))
                yield* Effect.sleep("5 millis")
                versions.set(stream, [...(versions.get(stream) ?? []), ...batch.events.map((e) => e.version)])
                inFlight--
              })
          )
          yield* running.awaitPosition(partition0, 50)
          assert.isAbove(maxInFlight, 1)
          assert.isAtMost(maxInFlight, 4)
          for (const id of ["s-1", "s-2", "s-3", "s-4", "s-5"]) {
            assert.deepStrictEqual(
              versions.get(id),
              Array.from({ length: 10 }, (_, i) => i + 1)
            )
          }
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )

  it.live("given a handler that fails twice on one event, when retried, then nothing is lost", () =>
    Effect.gen(function* () {
      const world = yield* makeWorld()
      yield* Effect.gen(function* () {
        yield* append("o-1", 20)
        const { seen, handler } = recorder()
        let failures = 0
        const running = yield* Consumer.start(
          { group: "g", category, batchSize: 5, retry: quickRetry, ...fast },
          (batch) =>
            batch.events.some((e) => e.position === 7) && failures++ < 2 ? Effect.fail("flaky") : handler(batch)
        )
        yield* running.awaitPosition(partition0, 20)
        assert.strictEqual(failures, 3)
        assert.deepStrictEqual(
          seen.map((e) => e.position),
          Array.from({ length: 20 }, (_, i) => i + 1)
        )
        assert.deepStrictEqual(yield* running.halted, [])
      }).pipe(Effect.scoped, Effect.provide(world.layer))
    })
  )

  it.live(
    "given a poison event and the stop policy, when its retries run out, then the partition halts before it with a typed error and the checkpoint stays",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          yield* append("o-1", 10)
          const { seen, handler } = recorder()
          const running = yield* Consumer.start(
            { group: "g", category, batchSize: 3, retry: quickRetry, poison: "stop", ...fast },
            (batch) => (batch.events.some((e) => e.position === 5) ? Effect.fail("cannot handle 5") : handler(batch))
          )
          const error = yield* Effect.flip(running.awaitPosition(partition0, 10))
          assert.strictEqual(error._tag, "PartitionHalted")
          if (error._tag !== "PartitionHalted") return
          assert.strictEqual(error.position, 5)
          assert.include(error.reason, "cannot handle 5")
          assert.deepStrictEqual(
            seen.map((e) => e.position),
            [1, 2, 3, 4]
          )
          const lease = Option.getOrThrow(yield* (yield* LeaseStore).get("g", partition0))
          assert.strictEqual(lease.checkpoint, 4)
          assert.strictEqual(lease.owner, running.owner, "the halted partition stays held: nobody else loops on it")
          assert.lengthOf(yield* running.halted, 1)
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )

  it.live(
    "given a poison event and the park policy, when its retries run out, then it is parked, the rest goes on, and a replay delivers it",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          yield* append("o-1", 10)
          const { seen, handler } = recorder()
          const running = yield* Consumer.start(
            { group: "g", category, batchSize: 3, retry: quickRetry, poison: "park", ...fast },
            (batch) => (batch.events.some((e) => e.position === 5) ? Effect.fail("cannot handle 5") : handler(batch))
          )
          yield* running.awaitPosition(partition0, 10)
          assert.deepStrictEqual(
            seen.map((e) => e.position),
            [1, 2, 3, 4, 6, 7, 8, 9, 10]
          )
          const letters = yield* (yield* DeadLetterStore).list("g")
          assert.lengthOf(letters, 1)
          assert.strictEqual(letters[0]?.event.position, 5)
          assert.include(letters[0]?.error ?? "", "cannot handle 5")

          const stillFailing = yield* Consumer.replay("g", () => Effect.fail("still broken"))
          assert.strictEqual(stillFailing.replayed, 0)
          assert.lengthOf(stillFailing.failed, 1)
          assert.lengthOf(yield* (yield* DeadLetterStore).list("g"), 1)

          const replayed: Array<number> = []
          const fixed = yield* Consumer.replay("g", (batch) =>
            Effect.sync(() => replayed.push(...batch.events.map((e) => e.position)))
          )
          assert.strictEqual(fixed.replayed, 1)
          assert.deepStrictEqual(replayed, [5])
          assert.lengthOf(yield* (yield* DeadLetterStore).list("g"), 0)
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )

  it.live(
    "given an event that stops the process during every delivery, when restarted again and again, then after maxAttempts deliveries the poison policy parks it",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          yield* append("o-1", 6)
          const delivered: Array<number> = []
          let stopsAt3 = 0
          const process = crashable(world.leases)
          for (let run = 0; run < 10; run++) {
            const scope = yield* Scope.make()
            const stuck = yield* Deferred.make<void>()
            const running = yield* Consumer.start(
              { group: "g", category, batchSize: 5, maxAttempts: 3, poison: "park", ...fast },
              (batch) =>
                Effect.gen(function* () {
                  if (batch.events.some((e) => e.position === 3)) {
                    // Stand-in for a crash: the delivery never finishes, and the instance goes away.
                    yield* Deferred.succeed(stuck, undefined)
                    return yield* Effect.never
                  }
                  delivered.push(...batch.events.map((e) => e.position))
                })
            ).pipe(Scope.provide(scope), Effect.provideService(LeaseStore, process.store))
            const finished = yield* Effect.raceFirst(
              Effect.as(running.awaitPosition(partition0, 6), true),
              Effect.as(Deferred.await(stuck), false)
            )
            if (!finished) process.crash()
            yield* Scope.close(scope, Exit.void)
            process.revive()
            if (finished) break
            stopsAt3++
          }
          // Exactly maxAttempts deliveries of position 3: one in the first (whole) batch, then single
          // ones (the count carried over the events before it) until the count reaches maxAttempts.
          assert.strictEqual(stopsAt3, 3)
          const letters = yield* (yield* DeadLetterStore).list("g")
          assert.deepStrictEqual(
            letters.map((l) => [l.event.position, l.attempts]),
            [[3, 3]]
          )
          assert.include(letters[0]?.error ?? "", "without completing")
          assert.deepStrictEqual(delivered.slice(-3), [4, 5, 6])
          assert.notInclude(delivered, 3)
          const lease = Option.getOrThrow(yield* (yield* LeaseStore).get("g", partition0))
          assert.strictEqual(lease.checkpoint, 6)
          assert.strictEqual(lease.attempts, 0)
        }).pipe(Effect.provide(world.layer))
      })
  )

  it.live(
    "given graceful stops in the middle of a batch, when a new instance starts, then they were not counted as attempts and it delivers whole batches, parking nothing",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          yield* append("o-1", 6)
          for (let run = 0; run < 3; run++) {
            const scope = yield* Scope.make()
            const busy = yield* Deferred.make<void>()
            yield* Consumer.start(
              { group: "g", category, batchSize: 10, maxAttempts: 2, poison: "park", ...fast },
              () => Effect.andThen(Deferred.succeed(busy, undefined), Effect.never)
            ).pipe(Scope.provide(scope))
            yield* Deferred.await(busy)
            yield* Scope.close(scope, Exit.void)
            const lease = Option.getOrThrow(yield* world.leases.get("g", partition0))
            assert.strictEqual(lease.attempts, 0, "a graceful stop takes its count back")
          }
          const { batches, handler } = recorder()
          const running = yield* Consumer.start(
            { group: "g", category, batchSize: 10, maxAttempts: 2, poison: "park", ...fast },
            handler
          )
          yield* running.awaitPosition(partition0, 6)
          assert.deepStrictEqual(
            batches.map((b) => [b.first, b.last]),
            [[1, 6]],
            "one whole batch: no one-at-a-time recovery"
          )
          assert.deepStrictEqual(yield* world.deadLetters.list("g"), [])
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )

  it.live(
    "given a consumer interrupted in the middle of a batch, when a new instance starts, then it resumes from the checkpoint and only the batch in flight comes again",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          yield* append("o-1", 8)
          yield* append("o-2", 8)
          const first: Array<number> = []
          const inBatch = yield* Deferred.make<void>()
          const scope = yield* Scope.make()
          yield* Consumer.start({ group: "g", category, batchSize: 5, ...fast }, (batch) =>
            Effect.gen(function* () {
              first.push(...batch.events.map((e) => e.position))
              if (batch.first === 11) {
                yield* Deferred.succeed(inBatch, undefined)
                yield* Effect.never
              }
            })
          ).pipe(Scope.provide(scope))
          yield* Deferred.await(inBatch)
          yield* Scope.close(scope, Exit.void)
          const afterStop = Option.getOrThrow(yield* (yield* LeaseStore).get("g", partition0))
          assert.strictEqual(afterStop.checkpoint, 10)
          assert.strictEqual(afterStop.owner, undefined)

          const { seen, handler } = recorder()
          const running = yield* Consumer.start({ group: "g", category, batchSize: 5, ...fast }, handler)
          yield* running.awaitPosition(partition0, 16)
          assert.deepStrictEqual(
            seen.map((e) => e.position),
            [11, 12, 13, 14, 15, 16]
          )
          assert.deepStrictEqual(
            first,
            Array.from({ length: 15 }, (_, i) => i + 1)
          )
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )
})

describe("Consumer and a damaged feed", () => {
  it.live(
    "given a feed with a hole, when the consumer reaches it, then the partition halts with FeedGap and never waits",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld(
          1,
          faultyFeed((_, partition, after, limit, inner) =>
            Effect.map(inner.read(partition, after, limit), (events) => events.filter((e) => e.position !== 4))
          )
        )
        yield* Effect.gen(function* () {
          yield* append("o-1", 8)
          const { seen, handler } = recorder()
          const running = yield* Consumer.start({ group: "g", category, batchSize: 3, ...fast }, handler)
          const error = yield* Effect.flip(running.awaitPosition(partition0, 8))
          assert.strictEqual(error._tag, "PartitionHalted")
          if (error._tag !== "PartitionHalted") return
          assert.strictEqual(error.position, 4)
          assert.strictEqual((error.cause as { readonly _tag: string })._tag, "FeedGap")
          assert.deepStrictEqual(
            seen.map((e) => e.position),
            [1, 2, 3]
          )
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )

  for (const poison of ["stop", "park"] as const) {
    it.live(
      `given a corrupt row and the ${poison} policy, when the consumer reaches it, then the events before it are handled and the partition halts on it`,
      () =>
        Effect.gen(function* () {
          const world = yield* makeWorld(
            1,
            faultyFeed((_, partition, after, limit, inner) =>
              after < 5 && after + limit >= 5
                ? Effect.fail(
                    new CorruptEvent({
                      stream: `${tenant}/${category}/o-1`,
                      version: 5,
                      type: "Placed",
                      reason: "bad JSON"
                    })
                  )
                : inner.read(partition, after, limit)
            )
          )
          yield* Effect.gen(function* () {
            yield* append("o-1", 8)
            const { seen, handler } = recorder()
            const running = yield* Consumer.start({ group: "g", category, batchSize: 3, poison, ...fast }, handler)
            const error = yield* Effect.flip(running.awaitPosition(partition0, 8))
            assert.strictEqual(error._tag, "PartitionHalted")
            if (error._tag !== "PartitionHalted") return
            assert.strictEqual(error.position, 5)
            assert.strictEqual((error.cause as { readonly _tag: string })._tag, "CorruptEvent")
            assert.deepStrictEqual(
              seen.map((e) => e.position),
              [1, 2, 3, 4]
            )
            assert.lengthOf(yield* (yield* DeadLetterStore).list("g"), 0, "an unreadable row cannot be parked")
          }).pipe(Effect.scoped, Effect.provide(world.layer))
        })
    )
  }

  it.live(
    "given a feed that is unavailable every other read, when consuming, then reads are retried and nothing is lost",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld(
          1,
          faultyFeed((call) =>
            call % 2 === 0 ? Effect.fail(new StoreUnavailable({ operation: "read", reason: "503" })) : undefined
          )
        )
        yield* Effect.gen(function* () {
          yield* append("o-1", 30)
          const { seen, handler } = recorder()
          const running = yield* Consumer.start({ group: "g", category, batchSize: 4, ...fast }, handler)
          yield* running.awaitPosition(partition0, 30)
          assert.deepStrictEqual(
            seen.map((e) => e.position),
            Array.from({ length: 30 }, (_, i) => i + 1)
          )
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )
})

describe("Consumer discovery and streams", () => {
  it.live("given a tenant registered while the consumer runs, when it appends, then its partition is picked up", () =>
    Effect.gen(function* () {
      const world = yield* makeWorld()
      yield* Effect.gen(function* () {
        yield* append("o-1", 2)
        const { seen, handler } = recorder()
        const running = yield* Consumer.start({ group: "g", category, ...fast }, handler)
        yield* running.awaitPosition(partition0, 2)
        yield* append("o-9", 3, "newcomer")
        yield* running.awaitPosition(Partition.make("newcomer", category, 0), 3)
        assert.deepStrictEqual(
          seen.filter((e) => e.stream === "o-9").map((e) => e.version),
          [1, 2, 3]
        )
      }).pipe(Effect.scoped, Effect.provide(world.layer))
    })
  )

  it.live("given a tenant filter, when another tenant appends, then only the chosen tenant is consumed", () =>
    Effect.gen(function* () {
      const world = yield* makeWorld()
      yield* Effect.gen(function* () {
        yield* append("o-1", 2)
        yield* append("o-2", 2, "other")
        const { seen, handler } = recorder()
        const running = yield* Consumer.start({ group: "g", category, tenants: ["other"], ...fast }, handler)
        yield* running.awaitPosition(Partition.make("other", category, 0), 2)
        assert.deepStrictEqual(
          seen.map((e) => e.stream),
          ["o-2", "o-2"]
        )
        assert.isTrue(Option.isNone(yield* (yield* LeaseStore).get("g", partition0)))
      }).pipe(Effect.scoped, Effect.provide(world.layer))
    })
  )

  it.live(
    "given Consumer.stream, when the caller acknowledges each batch, then the checkpoint follows the acknowledgements",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          yield* append("o-1", 9)
          const leases = yield* LeaseStore
          const checkpointsSeen: Array<number> = []
          const deliveries = yield* Consumer.stream({ group: "g", category, batchSize: 4, ...fast }).pipe(
            Stream.tap((delivery) =>
              Effect.gen(function* () {
                checkpointsSeen.push(Option.getOrThrow(yield* leases.get("g", delivery.partition)).checkpoint)
                yield* delivery.ack
              })
            ),
            Stream.take(3),
            Stream.runCollect
          )
          assert.deepStrictEqual(
            deliveries.map((d) => [d.first, d.last]),
            [
              [1, 4],
              [5, 8],
              [9, 9]
            ]
          )
          assert.deepStrictEqual(checkpointsSeen, [0, 4, 8])
          yield* Consumer.awaitCheckpoint("g", partition0, 9)
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )
})

describe("Consumer.decoded", () => {
  class Placed extends Schema.TaggedClass<Placed>()("Placed", { n: Schema.Number }) {}
  for (const unknownTypes of ["skip", "fail"] as const) {
    it.live(
      `given an event type the codec does not know and the ${unknownTypes} policy, when decoding a batch, then the codec's policy applies`,
      () =>
        Effect.gen(function* () {
          const world = yield* makeWorld()
          yield* Effect.gen(function* () {
            yield* append("o-1", 2)
            const store = yield* EventStore
            const streamId = yield* Effect.orDie(StreamId.make({ tenant, category, id: "o-1" }))
            const metadata = yield* EventMetadata.make()
            yield* Effect.orDie(
              store.append(streamId, [{ type: "Shipped", data: "{}", metadata }], ExpectedVersion.any)
            )
            yield* append("o-1", 1)
            const codec = EventCodec.make(Schema.Union([Placed]), { unknownTypes })
            const decodedNs: Array<number> = []
            const running = yield* Consumer.start(
              { group: "g", category, retry: quickRetry, ...fast },
              Consumer.decoded(codec, (events) => Effect.sync(() => decodedNs.push(...events.map((e) => e.version))))
            )
            if (unknownTypes === "skip") {
              yield* running.awaitPosition(partition0, 4)
              assert.deepStrictEqual(decodedNs, [1, 2, 4])
            } else {
              const error = yield* Effect.flip(running.awaitPosition(partition0, 4))
              assert.strictEqual(error._tag, "PartitionHalted")
              if (error._tag === "PartitionHalted") assert.strictEqual(error.position, 3)
              assert.notInclude(decodedNs, 3)
            }
          }).pipe(Effect.scoped, Effect.provide(world.layer))
        })
    )
  }
})

describe("Consumer observability", () => {
  it.live(
    "given a consumer that handled a backlog, when reading the metrics, then lag, events handled and leases owned are there per group and partition",
    () =>
      Effect.gen(function* () {
        const world = yield* makeWorld()
        yield* Effect.gen(function* () {
          yield* append("o-1", 10)
          const running = yield* Consumer.start(
            { group: "metrics-g", category, batchSize: 4, ...fast },
            () => Effect.void
          )
          yield* running.awaitPosition(partition0, 10)
          const snapshots = yield* Metric.snapshot
          const find = (id: string) => {
            const found = snapshots.find(
              (m) =>
                m.id === id &&
                (m.attributes as Record<string, unknown> | undefined)?.["eventable.consumer.group"] === "metrics-g"
            )
            return found === undefined
              ? assert.fail(`no metric ${id}`)
              : {
                  state: found.state as unknown as { readonly count?: number; readonly value?: number },
                  attributes: found.attributes as Record<string, unknown>
                }
          }
          const handled = find("eventable_consumer_events_total")
          assert.strictEqual(handled.state.count, 10)
          assert.strictEqual(handled.attributes["eventable.consumer.partition"], "acme/order#0")
          assert.strictEqual(find("eventable_consumer_lag").state.value, 0)
          assert.strictEqual(find("eventable_consumer_leases_owned").state.value, 1)
          assert.isDefined(find("eventable_consumer_handler_ms"))
        }).pipe(Effect.scoped, Effect.provide(world.layer))
      })
  )
})
