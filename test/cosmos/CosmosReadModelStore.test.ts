import { assert, describe, it } from "@effect/vitest"
import { CosmosConfig, CosmosReadModelStore } from "@eventable/cosmos"
import { CosmosEmulator } from "@eventable/testing"
import { Effect, Exit, Option, Scope } from "effect"
import { freshDatabase } from "./fixtures.ts"

describe("CosmosReadModelStore.classify", () => {
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ["a 412", Object.assign(new Error("precondition"), { code: 412 }), "Conflict"],
    ["a 409", Object.assign(new Error("conflict"), { code: 409 }), "Conflict"],
    ["a 404", Object.assign(new Error("not found"), { code: 404 }), "Conflict"],
    ["a 429", Object.assign(new Error("too many requests"), { code: 429 }), "Transient"],
    ["a 503", Object.assign(new Error("unavailable"), { code: 503 }), "Transient"],
    ["a 408", Object.assign(new Error("timeout"), { code: 408 }), "Transient"],
    ["a statusCode 500", Object.assign(new Error("internal"), { statusCode: 500 }), "Transient"],
    ["a 401", Object.assign(new Error("unauthorized"), { code: 401 }), "Permanent"],
    ["a 400", Object.assign(new Error("bad request"), { code: 400 }), "Permanent"],
    ["a connection reset", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "Transient"],
    ["a refused connection", Object.assign(new Error("refused"), { code: "ECONNREFUSED" }), "Transient"],
    ["a timeout", Object.assign(new Error("timed out"), { name: "TimeoutError" }), "Transient"],
    [
      "a wrapped reset",
      new Error("request failed", { cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }) }),
      "Transient"
    ],
    ["a plain error", new Error("boom"), "Permanent"],
    ["a string", "boom", "Permanent"]
  ]
  for (const [label, error, tag] of cases) {
    it(`given ${label}, then ${tag}`, () => {
      assert.strictEqual(CosmosReadModelStore.classify(error)._tag, tag)
    })
  }
})

describe("CosmosReadModelStore.sqlOf", () => {
  it("given values that look like SQL, then they travel only as parameters", () => {
    const hostile = `x" OR 1=1 --`
    const spec = CosmosReadModelStore.sqlOf({
      view: "users",
      partitionKey: hostile,
      where: [
        { path: ["value", "email"], value: hostile },
        { path: ["blocked"], value: true }
      ]
    })
    assert.notInclude(spec.query, hostile)
    assert.strictEqual(
      spec.query,
      'SELECT * FROM c WHERE c.pk = @pk AND c.data["value"]["email"] = @w0 AND c.data["blocked"] = @w1 ORDER BY c.id'
    )
    assert.deepStrictEqual(spec.parameters, [
      { name: "@pk", value: hostile },
      { name: "@w0", value: hostile },
      { name: "@w1", value: true }
    ])
  })
})

describe("CosmosReadModelStore on the stand-in", () => {
  it.live("given the stand-in goes away, when a document is read, then ReadModelUnavailable after retries", () =>
    Effect.gen(function* () {
      const emulatorScope = yield* Scope.make()
      const emulator = yield* CosmosEmulator.start.pipe(Scope.provide(emulatorScope))
      const options = yield* CosmosConfig.resolve({
        connection: CosmosConfig.endpointKey(emulator.endpoint, emulator.key),
        database: freshDatabase("gone"),
        ...emulator.clientOptions,
        transientRetries: 2,
        retryBaseDelay: "5 millis",
        requestTimeout: "2 seconds"
      })
      const store = yield* CosmosReadModelStore.make(options)
      const key = { view: "users", partitionKey: "acme", id: "u-1" }
      yield* store.create(key, { name: "Ada" })
      assert.isTrue(Option.isSome(yield* store.get(key)))
      yield* Scope.close(emulatorScope, Exit.void)
      const error = yield* Effect.flip(store.get(key))
      assert.strictEqual(error._tag, "ReadModelUnavailable", error.message)
    })
  )

  it.live("given a view mapped to another container, then its documents live there and nowhere else", () =>
    Effect.gen(function* () {
      const emulator = yield* CosmosEmulator.start
      const database = freshDatabase("mapped")
      const storeWith = (containers: Record<string, string>) =>
        Effect.flatMap(
          CosmosConfig.resolve({
            connection: CosmosConfig.endpointKey(emulator.endpoint, emulator.key),
            database,
            containers,
            ...emulator.clientOptions
          }),
          CosmosReadModelStore.make
        )
      const v1 = yield* storeWith({})
      const v2 = yield* storeWith({ users: "users-v2" })
      const key = { view: "users", partitionKey: "acme", id: "u-1" }
      yield* v2.create(key, { name: "rebuilt" })
      assert.isTrue(Option.isNone(yield* v1.get(key)))
      yield* v1.create(key, { name: "live" })
      assert.deepStrictEqual(Option.getOrThrow(yield* v2.get(key)).data, { name: "rebuilt" })
      assert.deepStrictEqual(Option.getOrThrow(yield* v1.get(key)).data, { name: "live" })
      const invalid = yield* Effect.flip(v1.get({ ...key, id: "a/b" }))
      assert.strictEqual(invalid._tag, "InvalidArgument")
    })
  )
})
