import { CommandHandler, Decider, EventCodec, InMemoryEventStore } from "@eventable/core"
import { Effect, Schema } from "effect"

// Events are Schema classes; their tag is the stored type name.
class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Number }) {}
class Withdrawn extends Schema.TaggedClass<Withdrawn>()("Withdrawn", { amount: Schema.Number }) {}
const AccountEvent = Schema.Union([Deposited, Withdrawn])
type AccountEvent = typeof AccountEvent.Type

type AccountCommand = { readonly _tag: "Deposit" | "Withdraw"; readonly amount: number }
class InsufficientFunds extends Schema.TaggedError<InsufficientFunds>()("InsufficientFunds", {
  balance: Schema.Number
}) {}

// The aggregate: pure functions, no I/O.
const account = Decider.make<AccountCommand, AccountEvent, number, InsufficientFunds>({
  initialState: 0,
  evolve: (balance, event) => (event._tag === "Deposited" ? balance + event.amount : balance - event.amount),
  decide: (command, balance) =>
    command._tag === "Deposit"
      ? Effect.succeed([new Deposited({ amount: command.amount })])
      : command.amount > balance
        ? Effect.fail(new InsufficientFunds({ balance }))
        : Effect.succeed([new Withdrawn({ amount: command.amount })])
})

// Load, fold, decide, append with optimistic concurrency, retry on conflict.
const accounts = CommandHandler.make({ category: "account", decider: account, codec: EventCodec.make(AccountEvent) })

export const program = Effect.gen(function* () {
  const acc = { tenant: "acme", id: "acc-1" }
  yield* accounts.execute(acc, { _tag: "Deposit", amount: 100 })
  const { state, version } = yield* accounts.execute(acc, { _tag: "Withdraw", amount: 30 })
  return { balance: state, version } // { balance: 70, version: 2 }
}).pipe(Effect.provide(InMemoryEventStore.layer()))
