import { CommandHandler, Decider, EventCodec, InMemoryEventStore } from "@eventable/core"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Effect, Redacted, Schema } from "effect"

class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Number }) {}
const account = Decider.make<{ readonly amount: number }, Deposited, number>({
  initialState: 0,
  evolve: (balance, event) => balance + event.amount,
  decide: (command) => Effect.succeed([new Deposited({ amount: command.amount })])
})
const accounts = CommandHandler.make({
  category: "account",
  decider: account,
  codec: EventCodec.make(Schema.Union([Deposited]))
})

const deposit = accounts.execute({ tenant: "acme", id: "acc-1" }, { amount: 100 })
Effect.runPromise(deposit.pipe(Effect.provide(InMemoryEventStore.layer()))) // in tests
const Store = TableEventStore.layer({
  connection: TableStorageConfig.connectionString(Redacted.make(process.env.STORAGE_CONNECTION ?? ""))
})
Effect.runPromise(deposit.pipe(Effect.provide(Store))) // in production
