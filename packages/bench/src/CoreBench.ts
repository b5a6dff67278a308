/**
 * The core command handler benchmarks: the in-memory core against Emmett's
 * in-memory event store and command handler (same domain, same workload, each
 * library with its defaults, same final states checked), and batching on one
 * hot stream against the same commands appended one at a time.
 *
 * @since 0.1.0
 */
import {
  type Event as EmmettEvent,
  CommandHandler as EmmettHandler,
  getInMemoryEventStore
} from "@event-driven-io/emmett"
import { CommandHandler, Decider, EventCodec, EventStore, InMemoryEventStore } from "@eventable/core"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Context, Effect, Layer, Schema } from "effect"
import * as Measure from "./Measure.ts"
import type { Goal } from "./Report.ts"

/**
 * How much work each benchmark does.
 *
 * @since 0.1.0
 */
export interface Settings {
  readonly streams: number
  readonly commandsPerStream: number
  readonly callers: number
  readonly rounds: number
  readonly hotFibers: number
  readonly hotCommandsPerFiber: number
  readonly hotRounds: number
  readonly azuriteHotCommandsPerFiber: number
}

/**
 * The full run.
 *
 * @since 0.1.0
 */
export const full: Settings = {
  streams: 1_000,
  commandsPerStream: 10,
  callers: 64,
  rounds: 11,
  hotFibers: 64,
  hotCommandsPerFiber: 20,
  hotRounds: 11,
  azuriteHotCommandsPerFiber: 2
}

/**
 * `--quick`: the same measurements with fewer repetitions.
 *
 * @since 0.1.0
 */
export const quick: Settings = { ...full, rounds: 3, hotRounds: 3, azuriteHotCommandsPerFiber: 1 }

/**
 * The figures this module reports, with their goals.
 *
 * @since 0.1.0
 */
export const goals: ReadonlyArray<Goal> = [
  {
    name: "core.inmemory.ratio_vs_emmett",
    goal: "≥ 1.0",
    met: (v) => v >= 1,
    what: "commands/s on the in-memory store, 1,000 streams × 10 commands (every stream opened, then the deposits), 64 callers: Eventable / Emmett, defaults"
  },
  {
    name: "core.inmemory.nocache.ratio_vs_emmett",
    goal: "≥ 0.5",
    met: (v) => v >= 0.5,
    what: "the same with Eventable's state cache off"
  },
  {
    name: "command.hotstream64.speedup_vs_serial",
    goal: "≥ 5",
    met: (v) => v >= 5,
    what: "commands/s of 64 fibers on ONE stream on Azurite: batching on / batching off"
  }
]

// The same account domain in both libraries --------------------------------------

class Opened extends Schema.TaggedClass<Opened>()("Opened", { owner: Schema.String }) {}
class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Number }) {}
class NotOpen extends Schema.TaggedError<NotOpen>()("NotOpen", {}) {}
const AccountEvent = Schema.Union([Opened, Deposited])
type AccountEvent = typeof AccountEvent.Type

type Command = { readonly _tag: "Open"; readonly owner: string } | { readonly _tag: "Deposit"; readonly amount: number }
interface Account {
  readonly open: boolean
  readonly balance: number
}

const account = Decider.make<Command, AccountEvent, Account, NotOpen>({
  initialState: { open: false, balance: 0 },
  evolve: (state, event) =>
    event._tag === "Opened" ? { ...state, open: true } : { ...state, balance: state.balance + event.amount },
  decide: (command, state) =>
    command._tag === "Open"
      ? Effect.succeed([new Opened({ owner: command.owner })])
      : state.open
        ? Effect.succeed([new Deposited({ amount: command.amount })])
        : Effect.fail(new NotOpen())
})
const codec = EventCodec.make(AccountEvent)

type EmmettAccountEvent =
  | EmmettEvent<"Opened", { readonly owner: string }>
  | EmmettEvent<"Deposited", { readonly amount: number }>
const emmettEvolve = (state: Account, event: EmmettAccountEvent): Account =>
  event.type === "Opened" ? { ...state, open: true } : { ...state, balance: state.balance + event.data.amount }
const emmettDecide =
  (command: Command) =>
  (state: Account): EmmettAccountEvent => {
    if (command._tag === "Open") return { type: "Opened", data: { owner: command.owner } }
    if (!state.open) throw new Error("NotOpen")
    return { type: "Deposited", data: { amount: command.amount } }
  }
const emmettHandle = EmmettHandler<Account, EmmettAccountEvent>({
  evolve: emmettEvolve,
  initialState: () => ({ open: false, balance: 0 })
})

/** The workload: each stream opened, then deposited into, streams interleaved so that callers rarely meet. */
const workload = (settings: Settings) => {
  const commands: Array<{ readonly id: string; readonly command: Command }> = []
  for (let k = 0; k < settings.commandsPerStream; k++) {
    for (let s = 0; s < settings.streams; s++) {
      commands.push({
        id: `acc-${s}`,
        command: k === 0 ? { _tag: "Open", owner: `o${s}` } : { _tag: "Deposit", amount: k }
      })
    }
  }
  return commands
}
/**
 * The workload in two phases, run one after the other: every stream opened, then the deposits.
 * Callers are concurrent fibers (or promise loops), so a command taken earlier may still run later
 * than one taken after it; a deposit must never depend on an "open" that another caller holds.
 */
const phases = (settings: Settings) => {
  const commands = workload(settings)
  return [commands.slice(0, settings.streams), commands.slice(settings.streams)] as const
}
const expectedBalance = (settings: Settings) => (settings.commandsPerStream * (settings.commandsPerStream - 1)) / 2

/** Runs `work` on `callers` concurrent promise loops pulling from one list. */
const callers = async <A>(count: number, items: ReadonlyArray<A>, work: (item: A) => Promise<unknown>) => {
  let next = 0
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (next < items.length) await work(items[next++]!)
    })
  )
}

const eventableRound = (settings: Settings, cache: boolean) =>
  Effect.gen(function* () {
    const { store } = yield* InMemoryEventStore.make()
    const handler = CommandHandler.make({
      category: "account",
      decider: account,
      codec,
      ...(cache ? {} : { cache: false as const })
    })
    const started = performance.now()
    for (const commands of phases(settings)) {
      // 64 callers, each taking the next command when its previous one is done, as the Emmett side does.
      let next = 0
      const caller: Effect.Effect<void, NotOpen | CommandHandler.CommandError, EventStore> = Effect.suspend(() => {
        const item = commands[next++]
        return item === undefined
          ? Effect.void
          : Effect.andThen(handler.execute({ tenant: "bench", id: item.id }, item.command), caller)
      })
      yield* Effect.forEach(
        Array.from({ length: settings.callers }, () => caller),
        (self) => self,
        { concurrency: "unbounded", discard: true }
      ).pipe(Effect.provideService(EventStore, store))
    }
    const elapsed = performance.now() - started
    for (let s = 0; s < settings.streams; s++) {
      const loaded = yield* handler
        .load({ tenant: "bench", id: `acc-${s}` })
        .pipe(Effect.provideService(EventStore, store))
      if (loaded.state.balance !== expectedBalance(settings) || loaded.version !== settings.commandsPerStream) {
        return yield* Effect.die(new Error(`Eventable: wrong final state for acc-${s}`))
      }
    }
    return elapsed
  })

const emmettRound = (settings: Settings) =>
  Effect.promise(async () => {
    const store = getInMemoryEventStore()
    const started = performance.now()
    for (const commands of phases(settings)) {
      await callers(settings.callers, commands, ({ command, id }) => emmettHandle(store, id, emmettDecide(command)))
    }
    const elapsed = performance.now() - started
    for (let s = 0; s < settings.streams; s++) {
      const { state, currentStreamVersion } = await store.aggregateStream<Account, EmmettAccountEvent>(`acc-${s}`, {
        evolve: emmettEvolve,
        initialState: () => ({ open: false, balance: 0 })
      })
      if (state.balance !== expectedBalance(settings) || Number(currentStreamVersion) !== settings.commandsPerStream) {
        throw new Error(`Emmett: wrong final state for acc-${s}`)
      }
    }
    return elapsed
  })

/** `fibers` fibers each sending `perFiber` deposits to ONE stream; milliseconds. */
const hotStream = (store: EventStore["Service"], batch: boolean, fibers: number, perFiber: number, id: string) =>
  Effect.gen(function* () {
    const handler = CommandHandler.make({
      category: "account",
      decider: account,
      codec,
      ...(batch ? {} : { batch: false as const })
    })
    const run = <A, E>(effect: Effect.Effect<A, E, EventStore>) => Effect.provideService(effect, EventStore, store)
    yield* run(handler.execute({ tenant: "bench", id }, { _tag: "Open", owner: "hot" }))
    const started = performance.now()
    yield* Effect.forEach(
      Array.from({ length: fibers }, (_, i) => i),
      () =>
        Effect.forEach(
          Array.from({ length: perFiber }, (_, i) => i),
          () => run(handler.execute({ tenant: "bench", id }, { _tag: "Deposit", amount: 1 })),
          { discard: true }
        ),
      { concurrency: "unbounded", discard: true }
    )
    const elapsed = performance.now() - started
    const loaded = yield* run(handler.load({ tenant: "bench", id }))
    if (loaded.state.balance !== fibers * perFiber)
      return yield* Effect.die(new Error(`hot stream ${id}: wrong balance`))
    return elapsed
  })

/**
 * Runs the command benchmarks and returns their figures (ratios, and the
 * medians they come from, in milliseconds).
 *
 * @since 0.1.0
 */
export const run = (connectionString: string, settings: Settings) =>
  Effect.gen(function* () {
    yield* Measure.alternate(settings.rounds, {
      eventable: () => Effect.flatMap(eventableRound(settings, true), record("eventable")),
      eventableNoCache: () => Effect.flatMap(eventableRound(settings, false), record("eventableNoCache")),
      emmett: () => Effect.flatMap(emmettRound(settings), record("emmett"))
    })
    const commandsPerRound = settings.streams * settings.commandsPerStream
    const median = (name: string) => Measure.median(samples.get(name) ?? [])
    const results: Record<string, number> = {
      "core.inmemory.eventable.commands_per_s": (commandsPerRound / median("eventable")) * 1000,
      "core.inmemory.eventable_nocache.commands_per_s": (commandsPerRound / median("eventableNoCache")) * 1000,
      "core.inmemory.emmett.commands_per_s": (commandsPerRound / median("emmett")) * 1000,
      "core.inmemory.ratio_vs_emmett": median("emmett") / median("eventable"),
      "core.inmemory.nocache.ratio_vs_emmett": median("emmett") / median("eventableNoCache")
    }
    samples.clear()

    let round = 0
    const { store: memory } = yield* InMemoryEventStore.make()
    yield* Measure.alternate(settings.hotRounds, {
      batched: () =>
        Effect.flatMap(
          hotStream(memory, true, settings.hotFibers, settings.hotCommandsPerFiber, `hot-b-${round++}`),
          record("memBatched")
        ),
      serial: () =>
        Effect.flatMap(
          hotStream(memory, false, settings.hotFibers, settings.hotCommandsPerFiber, `hot-s-${round++}`),
          record("memSerial")
        )
    })
    results["command.hotstream64.inmemory.speedup_vs_serial"] = median("memSerial") / median("memBatched")

    const table = yield* Effect.map(
      Layer.build(
        TableEventStore.layer({
          connection: TableStorageConfig.connectionString(connectionString),
          table: `commandbench${Date.now().toString(36)}`
        })
      ),
      (context) => Context.get(context, EventStore)
    )
    yield* Measure.alternate(settings.hotRounds, {
      batched: () =>
        Effect.flatMap(
          hotStream(table, true, settings.hotFibers, settings.azuriteHotCommandsPerFiber, `hot-b-${round++}`),
          record("azBatched")
        ),
      serial: () =>
        Effect.flatMap(
          hotStream(table, false, settings.hotFibers, settings.azuriteHotCommandsPerFiber, `hot-s-${round++}`),
          record("azSerial")
        )
    })
    results["command.hotstream64.speedup_vs_serial"] = median("azSerial") / median("azBatched")
    results["command.hotstream64.batched.commands_per_s"] =
      ((settings.hotFibers * settings.azuriteHotCommandsPerFiber) / median("azBatched")) * 1000
    results["command.hotstream64.serial.commands_per_s"] =
      ((settings.hotFibers * settings.azuriteHotCommandsPerFiber) / median("azSerial")) * 1000
    return results
  }).pipe(Effect.scoped)

// Each round reports the time of its own measured section (setup and the final-state check excluded).
const samples = new Map<string, Array<number>>()
const record = (name: string) => (elapsed: number) =>
  Effect.sync(() => {
    const list = samples.get(name) ?? []
    list.push(elapsed)
    samples.set(name, list)
  })
