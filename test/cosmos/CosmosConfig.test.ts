import { assert, describe, it } from "@effect/vitest"
import { CosmosConfig } from "@eventable/cosmos"
import { Cause, ConfigProvider, Duration, Effect, Exit, Redacted } from "effect"

const secret = "c2VjcmV0LWtleS1uZXZlci10by1iZS1wcmludGVk"
const endpoint = "https://account.documents.azure.com:443/"
const connection = CosmosConfig.endpointKey(endpoint, Redacted.make(secret))

const fromEnv = (env: Record<string, string>) =>
  CosmosConfig.fromEnv.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))))

describe("CosmosConfig", () => {
  it.effect("given only a connection, when resolved, then the defaults apply", () =>
    Effect.gen(function* () {
      const resolved = yield* CosmosConfig.resolve({ connection })
      assert.strictEqual(resolved.endpoint, endpoint)
      assert.strictEqual(Redacted.value(resolved.key), secret)
      assert.strictEqual(resolved.database, "eventable")
      assert.strictEqual(resolved.containers.size, 0)
      assert.strictEqual(resolved.transientRetries, 5)
      assert.strictEqual(Duration.toMillis(resolved.requestTimeout), 10_000)
      assert.strictEqual(resolved.endpointDiscovery, true)
    })
  )

  it.effect("given a connection string, when resolved, then its endpoint and key are used", () =>
    Effect.gen(function* () {
      const resolved = yield* CosmosConfig.resolve({
        connection: CosmosConfig.connectionString(`AccountEndpoint=${endpoint};AccountKey=${secret};`)
      })
      assert.strictEqual(resolved.endpoint, endpoint)
      assert.strictEqual(Redacted.value(resolved.key), secret)
    })
  )

  const invalid: ReadonlyArray<readonly [string, CosmosConfig.CosmosOptions, string]> = [
    [
      "a connection string without a key",
      { connection: CosmosConfig.connectionString(`AccountEndpoint=${endpoint};`) },
      "connection"
    ],
    [
      "a connection string with a key but no endpoint",
      { connection: CosmosConfig.connectionString(`AccountKey=${secret};`) },
      "connection"
    ],
    [
      "an endpoint that is not a URL",
      { connection: CosmosConfig.endpointKey("account", Redacted.make(secret)) },
      "endpoint"
    ],
    ["an empty key", { connection: CosmosConfig.endpointKey(endpoint, Redacted.make("")) }, "key"],
    ["a database name with a slash", { connection, database: "a/b" }, "database"],
    ["a container name with a #", { connection, containers: { users: "users#2" } }, "containers"],
    ["negative retries", { connection, transientRetries: -1 }, "transientRetries"],
    ["a zero request timeout", { connection, requestTimeout: 0 }, "requestTimeout"]
  ]
  for (const [label, options, setting] of invalid) {
    it.effect(`given ${label}, when resolved, then CosmosConfigError names ${setting} and never shows the key`, () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(CosmosConfig.resolve(options))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = Cause.findErrorOption(exit.cause)
          assert.strictEqual(error._tag === "Some" ? error.value.setting : undefined, setting)
          assert.notInclude(Cause.pretty(exit.cause), secret)
        }
      })
    )
  }

  it.effect("given the environment, when read, then endpoint, key, database and containers come from it", () =>
    Effect.gen(function* () {
      const options = yield* fromEnv({
        EVENTABLE_COSMOS_ENDPOINT: endpoint,
        EVENTABLE_COSMOS_KEY: secret,
        EVENTABLE_COSMOS_DATABASE: "users-service",
        EVENTABLE_COSMOS_CONTAINERS: "users=users-v2, stats=stats"
      })
      const resolved = yield* CosmosConfig.resolve(options)
      assert.strictEqual(resolved.database, "users-service")
      assert.deepStrictEqual(
        [...resolved.containers],
        [
          ["users", "users-v2"],
          ["stats", "stats"]
        ]
      )
      // The key stays redacted in anything printed.
      assert.notInclude(String(options.connection._tag === "EndpointKey" ? options.connection.key : ""), secret)
      assert.notInclude(JSON.stringify(options), secret)
    })
  )

  it.effect("given a connection string in the environment, then it wins over endpoint and key", () =>
    Effect.gen(function* () {
      const options = yield* fromEnv({
        EVENTABLE_COSMOS_CONNECTION_STRING: `AccountEndpoint=${endpoint};AccountKey=${secret};`
      })
      assert.strictEqual(options.connection._tag, "ConnectionString")
      assert.strictEqual((yield* CosmosConfig.resolve(options)).endpoint, endpoint)
    })
  )

  it.effect("given no connection at all, then a ConfigError names the missing variable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(fromEnv({}))
      assert.include(String(error), "EVENTABLE_COSMOS_ENDPOINT")
    })
  )

  it.effect("given a malformed container list, then CosmosConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        fromEnv({
          EVENTABLE_COSMOS_ENDPOINT: endpoint,
          EVENTABLE_COSMOS_KEY: secret,
          EVENTABLE_COSMOS_CONTAINERS: "users"
        })
      )
      assert.strictEqual(error._tag, "CosmosConfigError")
    })
  )
})
