import { assert, describe, it } from "@effect/vitest"
import { Consumer, ConsumerOptions, InMemoryEventStore, InMemoryLeaseStore } from "@eventable/core"
import { Effect, Layer, Stream } from "effect"
import { category, makeWorld } from "./ConsumerFixtures.ts"

const base = { group: "g", category }

describe("ConsumerOptions", () => {
  it.effect("given no options beyond group and category, when resolved, then the documented defaults apply", () =>
    Effect.gen(function* () {
      const resolved = yield* ConsumerOptions.resolve(base)
      assert.strictEqual(resolved.batchSize, 100)
      assert.strictEqual(resolved.leaseTtlMillis, 30_000)
      assert.strictEqual(resolved.renewIntervalMillis, 10_000)
      assert.strictEqual(resolved.balanceIntervalMillis, 10_000)
      assert.strictEqual(resolved.safetyMarginMillis, 5_000)
      assert.strictEqual(resolved.minIdlePollMillis, 50)
      assert.strictEqual(resolved.maxIdlePollMillis, 1_000)
      assert.strictEqual(resolved.poison, "stop")
      assert.isTrue(resolved.owner.length > 0)
    })
  )

  const invalid: ReadonlyArray<readonly [string, ConsumerOptions.ConsumerOptions, string]> = [
    ["zero batch size", { ...base, batchSize: 0 }, "batchSize"],
    ["negative batch size", { ...base, batchSize: -5 }, "batchSize"],
    ["fractional batch size", { ...base, batchSize: 1.5 }, "batchSize"],
    ["NaN batch size", { ...base, batchSize: Number.NaN }, "batchSize"],
    ["empty group", { ...base, group: "" }, "group"],
    ["empty category", { ...base, category: "" }, "category"],
    ["category with a control character", { ...base, category: "a\u0000" }, "category"],
    ["tenant with a control character", { ...base, tenants: ["a\u0000"] }, "tenants"],
    ["empty tenant", { ...base, tenants: [""] }, "tenants"],
    ["empty tenant list", { ...base, tenants: [] }, "tenants"],
    ["min poll above max", { ...base, minIdlePoll: "2 seconds", maxIdlePoll: "1 second" }, "minIdlePoll"],
    [
      "TTL shorter than the renew interval",
      { ...base, leaseTtl: "5 seconds", renewInterval: "10 seconds" },
      "leaseTtl"
    ],
    [
      "TTL not above renew + margin",
      { ...base, leaseTtl: "10 seconds", renewInterval: "6 seconds", safetyMargin: "4 seconds" },
      "leaseTtl"
    ],
    ["negative duration", { ...base, renewInterval: -1 }, "renewInterval"],
    ["infinite TTL", { ...base, leaseTtl: "Infinity" }, "leaseTtl"],
    ["zero stream concurrency", { ...base, streamConcurrency: 0 }, "streamConcurrency"],
    ["zero partition concurrency", { ...base, partitionConcurrency: 0 }, "partitionConcurrency"],
    ["zero max attempts", { ...base, maxAttempts: 0 }, "maxAttempts"],
    ["unknown poison policy", { ...base, poison: "ignore" as "stop" }, "poison"],
    ["empty tenant", { ...base, tenants: [""] }, "tenants"],
    ["group with a control character", { ...base, group: "a\u0000b" }, "group"],
    ["empty owner", { ...base, owner: "" }, "owner"]
  ]
  for (const [name, options, option] of invalid) {
    it.effect(`given ${name}, when resolved, then InvalidConsumerOptions names ${option}`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(ConsumerOptions.resolve(options))
        assert.strictEqual(error._tag, "InvalidConsumerOptions")
        assert.strictEqual(error.option, option)
        assert.include(error.message, option)
      })
    )
  }

  it.effect("given invalid options, when the consumer starts or streams, then it fails with the typed error", () =>
    Effect.gen(function* () {
      const world = yield* makeWorld()
      const started = yield* Effect.flip(
        Consumer.start({ ...base, batchSize: 0 }, () => Effect.void).pipe(Effect.scoped, Effect.provide(world.layer))
      )
      assert.strictEqual(started.option, "batchSize")
      const streamed = yield* Effect.flip(
        Consumer.stream({ ...base, minIdlePoll: 100, maxIdlePoll: 10 }).pipe(
          Stream.runDrain,
          Effect.provide(world.layer)
        )
      )
      assert.strictEqual(streamed.option, "minIdlePoll")
    })
  )

  it.effect("given the park policy and no DeadLetterStore, when the consumer starts, then it says so", () =>
    Effect.gen(function* () {
      const noDeadLetters = Layer.mergeAll(InMemoryEventStore.layer(), InMemoryLeaseStore.layer)
      const error = yield* Effect.flip(
        Consumer.start({ ...base, poison: "park" }, () => Effect.void).pipe(
          Effect.scoped,
          Effect.provide(noDeadLetters)
        )
      )
      assert.strictEqual(error.option, "poison")
    })
  )
})
