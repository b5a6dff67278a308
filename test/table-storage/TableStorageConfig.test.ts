import { TableClient } from "@azure/data-tables"
import { assert, describe, it } from "@effect/vitest"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { ConfigProvider, Duration, Effect, Layer, Redacted } from "effect"
import { connectionString as azurite } from "./fixtures.ts"

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
    ["negative retries", { connection, transientRetries: -1 }, "transientRetries"],
    ["the reserved table name tables", { connection, table: "Tables" }, "table"],
    ["a zero request timeout", { connection, requestTimeout: "0 millis" }, "requestTimeout"],
    ["an infinite request timeout", { connection, requestTimeout: Duration.infinity }, "requestTimeout"]
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

  const badEnv: ReadonlyArray<readonly [string, string, string]> = [
    ["EVENTABLE_TABLE_GROUP_COMMIT", "yes", "true or false"],
    ["EVENTABLE_TABLE_GROUP_COMMIT", "1", "true or false"],
    ["EVENTABLE_TABLE_SHARDS", "user=4,user=5", "listed twice"],
    ["EVENTABLE_TABLE_SHARDS", "user=4,", "category=count"],
    ["EVENTABLE_TABLE_NAME", "my-events", "table name"]
  ]
  for (const [variable, value, reason] of badEnv) {
    it.effect(`given ${variable}=${value}, when read, then TableStorageConfigError names the variable`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          TableStorageConfig.fromEnv.pipe(
            Effect.provide(
              ConfigProvider.layer(
                ConfigProvider.fromEnvRecord({
                  EVENTABLE_TABLE_CONNECTION_STRING: "UseDevelopmentStorage=true",
                  [variable]: value
                })
              )
            )
          )
        )
        assert.strictEqual(error._tag, "TableStorageConfigError")
        if (error._tag === "TableStorageConfigError") assert.strictEqual(error.setting, variable)
        assert.include(error.message, reason)
      })
    )
  }

  it.effect("given EVENTABLE_TABLE_GROUP_COMMIT in any case, when read, then it is understood", () =>
    Effect.gen(function* () {
      const read = (value: string) =>
        TableStorageConfig.fromEnv.pipe(
          Effect.provide(
            ConfigProvider.layer(
              ConfigProvider.fromEnvRecord({
                EVENTABLE_TABLE_CONNECTION_STRING: "UseDevelopmentStorage=true",
                EVENTABLE_TABLE_GROUP_COMMIT: value
              })
            )
          )
        )
      assert.strictEqual((yield* read("FALSE")).groupCommit, false)
      assert.strictEqual((yield* read("True")).groupCommit, true)
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

  describe("connection errors a user can act on", () => {
    // Secrets that must never appear in a message.
    const key = "c2VjcmV0S2V5Rm9yVGVzdHNPbmx5MDEyMzQ1Njc4OQ=="
    const sas = "sv=2024-05-04&ss=t&sig=U0VDUkVUU0lHTkFUVVJF"
    const account = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};EndpointSuffix=core.windows.net`
    const fixes = ["AccountKey=<key>", "SharedAccessSignature=<token>", "UseDevelopmentStorage=true"]

    const assertNoSecret = (message: string, value: string) => {
      assert.notInclude(message, key)
      assert.notInclude(message, "U0VDUkVUU0lHTkFUVVJF")
      if (value.trim() !== "") assert.notInclude(message, value)
    }

    const refused: ReadonlyArray<readonly [string, string, string]> = [
      ["an empty string (an unset variable)", "", "is empty"],
      ["blanks", "   ", "is empty"],
      ["words", "not a connection string", 'Name=value settings separated by ";"'],
      ["a key pasted on its own", key, "Name=value"],
      ["a URL", "https://acct.table.core.windows.net", "Name=value"],
      [
        "an account string without protocol or endpoint",
        `AccountName=acct;AccountKey=${key}`,
        "DefaultEndpointsProtocol"
      ],
      [
        "an account string without an account name",
        `DefaultEndpointsProtocol=https;AccountKey=${key};EndpointSuffix=core.windows.net`,
        "no AccountName"
      ],
      [
        "an account string without an endpoint",
        `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key}`,
        "EndpointSuffix (or TableEndpoint)"
      ],
      ["a protocol other than http(s)", account.replace("=https;", "=ftp;"), "must be https or http"],
      ["an empty account key", account.replace(key, ""), "the account key is empty"],
      ["an account key that is not base64", account.replace(key, `${key}!`), "not base64"],
      ["a SAS without an endpoint", `SharedAccessSignature=${sas}`, "no TableEndpoint"],
      [
        "a SAS without a token",
        "TableEndpoint=https://acct.table.core.windows.net;SharedAccessSignature=",
        "no a SharedAccessSignature value"
      ],
      ["an endpoint that is not a URL", `TableEndpoint=acct.table;SharedAccessSignature=${sas}`, "not an http(s) URL"],
      [
        "a misspelt AccountKey",
        `DefaultEndpointsProtocol=https;AccountName=acct;AcountKey=${key};EndpointSuffix=core.windows.net`,
        "it has DefaultEndpointsProtocol, AccountName, AcountKey, EndpointSuffix"
      ],
      [
        "UseDevelopmentStorage=false",
        "UseDevelopmentStorage=false",
        "neither an AccountKey nor a SharedAccessSignature"
      ]
    ]
    for (const [label, value, says] of refused) {
      it.effect(
        `given ${label}, when resolved, then the error says what is wrong and how to fix it, without the key`,
        () =>
          Effect.gen(function* () {
            const error = yield* Effect.flip(
              TableStorageConfig.resolve({ connection: TableStorageConfig.connectionString(value) })
            )

            assert.strictEqual(error._tag, "TableStorageConfigError")
            assert.strictEqual(error.setting, "connection")
            assert.include(error.message, says)
            for (const fix of fixes) assert.include(error.message, fix)
            assertNoSecret(error.message, value)
          })
      )
    }

    const accepted: ReadonlyArray<readonly [string, () => string]> = [
      ["the test Azurite's connection string", azurite],
      ["UseDevelopmentStorage=true", () => "UseDevelopmentStorage=true"],
      ["an account string from the portal", () => account],
      [
        "an account string with a table endpoint (Cosmos DB's Table API)",
        () =>
          `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};TableEndpoint=https://acct.table.cosmos.azure.com:443/;`
      ],
      [
        "a SAS string from the portal",
        () =>
          `BlobEndpoint=https://acct.blob.core.windows.net/;TableEndpoint=https://acct.table.core.windows.net/;SharedAccessSignature=${sas}`
      ],
      [
        "settings in another case, with blanks",
        () =>
          ` defaultendpointsprotocol=https ; accountname=acct ; accountkey=${key} ; endpointsuffix=core.windows.net ;`
      ]
    ]
    for (const [label, value] of accepted) {
      it.effect(`given ${label}, when resolved, then it is accepted, and the Azure SDK accepts it too`, () =>
        Effect.gen(function* () {
          yield* TableStorageConfig.resolve({ connection: TableStorageConfig.connectionString(value()) })
          assert.doesNotThrow(() => TableClient.fromConnectionString(value(), "events"))
        })
      )
    }

    it.effect(
      "given a garbage connection string, when the store Layer is built, then it fails with the config error before any request",
      () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(
            Layer.build(TableEventStore.layer({ connection: TableStorageConfig.connectionString(`garbage${key}`) }))
          )
          assert.strictEqual(error._tag, "TableStorageConfigError")
          assert.notInclude(error.message, "toLowerCase")
          assert.include(error.message, "Name=value")
          assertNoSecret(error.message, `garbage${key}`)
        })
    )

    const badAccounts: ReadonlyArray<readonly [string, TableStorageConfig.TableConnection, string]> = [
      [
        "an empty account name",
        TableStorageConfig.sharedKey("https://acct.table.core.windows.net", " ", Redacted.make(key)),
        "account name is empty"
      ],
      [
        "an empty key",
        TableStorageConfig.sharedKey("https://acct.table.core.windows.net", "acct", Redacted.make("")),
        "account key is empty"
      ],
      [
        "a key that is not base64",
        TableStorageConfig.sharedKey("https://acct.table.core.windows.net", "acct", Redacted.make(`${key}?`)),
        "not base64"
      ]
    ]
    for (const [label, connection, says] of badAccounts) {
      it.effect(`given a shared key with ${label}, when resolved, then the error says so without the key`, () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(TableStorageConfig.resolve({ connection }))
          assert.strictEqual(error.setting, "connection")
          assert.include(error.message, says)
          assertNoSecret(error.message, "")
        })
      )
    }

    const fromEnvRecord = (env: Record<string, string>) =>
      Effect.flip(
        TableStorageConfig.fromEnv.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))))
      )
    const allVariables = [
      "EVENTABLE_TABLE_CONNECTION_STRING",
      "EVENTABLE_TABLE_ACCOUNT_URL",
      "EVENTABLE_TABLE_ACCOUNT_NAME",
      "EVENTABLE_TABLE_ACCOUNT_KEY"
    ]

    it.effect(
      "given nothing in the environment, when the store Layer is configured, then the error names every setting that would fix it",
      () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(
            Layer.build(TableEventStore.layerConfig).pipe(
              Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({})))
            )
          )

          assert.strictEqual(error._tag, "TableStorageConfigError")
          if (error._tag === "TableStorageConfigError")
            assert.strictEqual(error.setting, "EVENTABLE_TABLE_CONNECTION_STRING")
          assert.include(error.message, "no connection is configured")
          for (const variable of allVariables) assert.include(error.message, variable)
          assert.include(error.message, "UseDevelopmentStorage=true")
        })
    )

    const envCases: ReadonlyArray<readonly [string, Record<string, string>, string, string]> = [
      [
        "an empty connection string",
        { EVENTABLE_TABLE_CONNECTION_STRING: "" },
        "EVENTABLE_TABLE_CONNECTION_STRING",
        "no connection is configured (EVENTABLE_TABLE_CONNECTION_STRING and EVENTABLE_TABLE_ACCOUNT_URL, EVENTABLE_TABLE_ACCOUNT_NAME, EVENTABLE_TABLE_ACCOUNT_KEY are all unset or empty)"
      ],
      [
        "a garbage connection string",
        { EVENTABLE_TABLE_CONNECTION_STRING: `${key};x` },
        "EVENTABLE_TABLE_CONNECTION_STRING",
        "Name=value"
      ],
      [
        "a connection string and an account",
        { EVENTABLE_TABLE_CONNECTION_STRING: account, EVENTABLE_TABLE_ACCOUNT_KEY: key },
        "EVENTABLE_TABLE_CONNECTION_STRING",
        "set only one way to connect"
      ],
      [
        "an account URL and name without a key",
        { EVENTABLE_TABLE_ACCOUNT_URL: "https://acct.table.core.windows.net", EVENTABLE_TABLE_ACCOUNT_NAME: "acct" },
        "EVENTABLE_TABLE_ACCOUNT_KEY",
        "EVENTABLE_TABLE_ACCOUNT_URL and EVENTABLE_TABLE_ACCOUNT_NAME are set, but not EVENTABLE_TABLE_ACCOUNT_KEY"
      ],
      [
        "only a key",
        { EVENTABLE_TABLE_ACCOUNT_KEY: key },
        "EVENTABLE_TABLE_ACCOUNT_URL, EVENTABLE_TABLE_ACCOUNT_NAME",
        "EVENTABLE_TABLE_ACCOUNT_KEY is set, but not"
      ],
      [
        "an account URL that is not a URL",
        { EVENTABLE_TABLE_ACCOUNT_URL: "acct", EVENTABLE_TABLE_ACCOUNT_NAME: "acct", EVENTABLE_TABLE_ACCOUNT_KEY: key },
        "EVENTABLE_TABLE_ACCOUNT_URL",
        "not an http(s) URL"
      ],
      [
        "an account key that is not base64",
        {
          EVENTABLE_TABLE_ACCOUNT_URL: "https://acct.table.core.windows.net",
          EVENTABLE_TABLE_ACCOUNT_NAME: "acct",
          EVENTABLE_TABLE_ACCOUNT_KEY: `${key} `.repeat(2)
        },
        "EVENTABLE_TABLE_ACCOUNT_KEY",
        "not base64"
      ]
    ]
    for (const [label, env, setting, says] of envCases) {
      it.effect(
        `given ${label} in the environment, when read, then the error names ${setting} and says what is wrong`,
        () =>
          Effect.gen(function* () {
            const error = yield* fromEnvRecord(env)

            assert.strictEqual(error._tag, "TableStorageConfigError")
            if (error._tag === "TableStorageConfigError") assert.strictEqual(error.setting, setting)
            assert.include(error.message, says)
            assertNoSecret(error.message, Object.values(env).join(";"))
          })
      )
    }
  })
})
