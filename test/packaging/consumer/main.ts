// A user's program, compiled and run in a fresh project that installs Eventable's packed
// tarballs (see ../packed.test.ts). It imports only what a user can: the packages' public entry
// points. It prints one JSON line that the test checks.

import { CommandHandler, Decider, EventCodec, InMemoryEventStore, InvalidStreamId } from "@eventable/core"
import * as Cosmos from "@eventable/cosmos"
import { TableEventStore, TableStorageConfig, TableStorageConfigError } from "@eventable/table-storage"
import { Azurite } from "@eventable/testing/Azurite"
import { Effect, Layer, Schema } from "effect"

class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Number }) {}
const AccountEvent = Schema.Union([Deposited])

const account = Decider.make<{ readonly amount: number }, Deposited, number>({
  initialState: 0,
  evolve: (balance, event) => balance + event.amount,
  decide: (command) => Effect.succeed([new Deposited({ amount: command.amount })])
})
const accounts = CommandHandler.make({ category: "account", decider: account, codec: EventCodec.make(AccountEvent) })

/** Two commands and a bad id, on whatever store is provided. */
const scenario = Effect.gen(function* () {
  const target = { tenant: "acme", id: "acc-1" }
  yield* accounts.execute(target, { amount: 100 })
  const result = yield* accounts.execute(target, { amount: -30 })
  const invalid = yield* Effect.flip(accounts.execute({ tenant: "acme", id: "" }, { amount: 1 }))
  return { balance: result.state, version: result.version, invalidId: invalid instanceof InvalidStreamId }
})

const onAzurite = Layer.unwrap(
  Effect.gen(function* () {
    const azurite = yield* Azurite
    return TableEventStore.layer({
      connection: TableStorageConfig.connectionString(azurite.connectionString),
      table: "consumer"
    })
  })
).pipe(Layer.provide(Azurite.layer))

export const main = Effect.gen(function* () {
  const inMemory = yield* scenario.pipe(Effect.provide(InMemoryEventStore.layer()))
  const onTableStorage = yield* scenario.pipe(Effect.provide(onAzurite))
  const configError = yield* Effect.flip(
    Layer.build(TableEventStore.layer({ connection: TableStorageConfig.connectionString("") }))
  ).pipe(Effect.scoped)
  return {
    inMemory,
    onTableStorage,
    emptyConnectionString: configError instanceof TableStorageConfigError ? configError.message : "not a config error",
    cosmosConfigError: yield* Cosmos.CosmosConfig.resolve({
      connection: Cosmos.CosmosConfig.connectionString(""),
      database: "views"
    }).pipe(
      Effect.flip,
      Effect.map((error) => error._tag)
    )
  }
})

// Fails to compile if the published types of any package degrade to `any`.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
export const typed: ReadonlyArray<true> = [
  true satisfies Equals<Effect.Success<typeof main>["inMemory"]["version"], number>,
  true satisfies Equals<InvalidStreamId["_tag"], "InvalidStreamId">,
  true satisfies Equals<TableStorageConfigError["setting"], string>,
  true satisfies Equals<Azurite["Service"]["port"], number>,
  true satisfies Equals<
    Layer.Error<typeof onAzurite>["_tag"],
    "AzuriteError" | "TableStorageConfigError" | "StoreUnavailable" | "StoreFailure"
  >
]

if (process.argv[1]?.endsWith("main.js")) {
  Effect.runPromise(main).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`)
      process.exitCode = 1
    }
  )
}
