import { assert, describe, it } from "@effect/vitest"
import { TableStorageConfig } from "@eventable/table-storage"
import { ConfigProvider, Effect, Redacted } from "effect"

const connection = TableStorageConfig.connectionString("UseDevelopmentStorage=true")

describe("TableStorageConfig", () => {
  it.effect("given no table or shards, when resolved, then the defaults apply", () =>
    Effect.gen(function* () {
      const resolved = yield* TableStorageConfig.resolve({ connection })
      assert.strictEqual(resolved.table, "eventable")
      assert.strictEqual(resolved.groupCommit, true)
      assert.strictEqual(resolved.shards.size, 0)
    })
  )

  const invalid: ReadonlyArray<readonly [string, TableStorageConfig.TableStorageOptions, string]> = [
    ["a table name with a dash", { connection, table: "my-events" }, "table"],
    ["a two-letter table name", { connection, table: "ev" }, "table"],
    ["a table name starting with a digit", { connection, table: "1events" }, "table"],
    ["zero shards", { connection, shards: { user: 0 } }, "shards"],
    ["too many shards", { connection, shards: { user: 5000 } }, "shards"],
    ["fractional shards", { connection, shards: { user: 1.5 } }, "shards"],
    [
      "a URL that is not http",
      { connection: TableStorageConfig.sharedKey("ftp://x", "a", Redacted.make("k")) },
      "connection.url"
    ],
    ["negative retries", { connection, transientRetries: -1 }, "transientRetries"]
  ]
  for (const [label, options, setting] of invalid) {
    it.effect(`given ${label}, when resolved, then TableStorageConfigError names ${setting}`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(TableStorageConfig.resolve(options))
        assert.strictEqual(error._tag, "TableStorageConfigError")
        assert.strictEqual(error.setting, setting)
      })
    )
  }

  it.effect("given the environment, when read, then connection, table, shards and group commit come from it", () =>
    Effect.gen(function* () {
      const options = yield* TableStorageConfig.fromEnv.pipe(
        Effect.provide(
          ConfigProvider.layer(
            ConfigProvider.fromEnvRecord({
              EVENTABLE_TABLE_CONNECTION_STRING: "UseDevelopmentStorage=true",
              EVENTABLE_TABLE_NAME: "orders",
              EVENTABLE_TABLE_SHARDS: "user=4, order=2",
              EVENTABLE_TABLE_GROUP_COMMIT: "false"
            })
          )
        )
      )
      assert.strictEqual(options.table, "orders")
      assert.deepStrictEqual(options.shards, { user: 4, order: 2 })
      assert.strictEqual(options.groupCommit, false)
      assert.strictEqual(options.connection._tag, "ConnectionString")
      if (options.connection._tag === "ConnectionString") {
        assert.strictEqual(String(options.connection.connectionString), "<redacted>")
      }
    })
  )

  it.effect("given an account URL, name and key, when read, then the key stays redacted", () =>
    Effect.gen(function* () {
      const options = yield* TableStorageConfig.fromEnv.pipe(
        Effect.provide(
          ConfigProvider.layer(
            ConfigProvider.fromEnvRecord({
              EVENTABLE_TABLE_ACCOUNT_URL: "https://acct.table.core.windows.net",
              EVENTABLE_TABLE_ACCOUNT_NAME: "acct",
              EVENTABLE_TABLE_ACCOUNT_KEY: "c2VjcmV0"
            })
          )
        )
      )
      assert.strictEqual(options.connection._tag, "SharedKey")
      assert.notInclude(JSON.stringify(options), "c2VjcmV0")
    })
  )

  it.effect("given a malformed shard list, when read, then the error names the variable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        TableStorageConfig.fromEnv.pipe(
          Effect.provide(
            ConfigProvider.layer(
              ConfigProvider.fromEnvRecord({
                EVENTABLE_TABLE_CONNECTION_STRING: "UseDevelopmentStorage=true",
                EVENTABLE_TABLE_SHARDS: "user:4"
              })
            )
          )
        )
      )
      assert.include(error.message, "EVENTABLE_TABLE_SHARDS")
    })
  )
})
