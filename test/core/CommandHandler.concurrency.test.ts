import { assert, describe, it } from "@effect/vitest"
import {
  CommandHandler,
  CommandId,
  Decider,
  EventCodec,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  InMemoryEventStore,
  StoreUnavailable,
  StreamId
} from "@eventable/core"
import { Deferred, Effect, Exit, Fiber, Option, Result, Schema, Stream } from "effect"

// A small account domain ------------------------------------------------------

class Opened extends Schema.TaggedClass<Opened>()("Opened", { owner: Schema.String }) {}
class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Number }) {}
class Closed extends Schema.TaggedClass<Closed>()("Closed", {}) {}
const AccountEvent = Schema.Union([Opened, Deposited, Closed])
type AccountEvent = typeof AccountEvent.Type

type AccountCommand =
  | { readonly _tag: "Open"; readonly owner: string }
  | { readonly _tag: "Deposit"; readonly amount: number }
  | { readonly _tag: "Spread"; readonly parts: number }
  | { readonly _tag: "Close" }

class NotOpen extends Schema.TaggedError<NotOpen>()("NotOpen", {}) {}
class AlreadyOpen extends Schema.TaggedError<AlreadyOpen>()("AlreadyOpen", {}) {}
class NonPositiveAmount extends Schema.TaggedError<NonPositiveAmount>()("NonPositiveAmount", {
  amount: Schema.Number
}) {}

const Account = Schema.Struct({ open: Schema.Boolean, closed: Schema.Boolean, balance: Schema.Number })
type Account = typeof Account.Type

const account = Decider.make<AccountCommand, AccountEvent, Account, NotOpen | AlreadyOpen | NonPositiveAmount>({
  initialState: { open: false, closed: false, balance: 0 },
  evolve: (state, event) => {
    switch (event._tag) {
      case "Opened":
        return { ...state, open: true }
      case "Deposited":
        return { ...state, balance: state.balance + event.amount }
      case "Closed":
        return { ...state, closed: true }
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "Open":
        return state.open ? Effect.fail(new AlreadyOpen()) : Effect.succeed([new Opened({ owner: command.owner })])
      case "Deposit":
        if (!state.open || state.closed) return Effect.fail(new NotOpen())
        if (command.amount <= 0) return Effect.fail(new NonPositiveAmount({ amount: command.amount }))
        return Effect.succeed([new Deposited({ amount: command.amount })])
      case "Spread":
        if (!state.open || state.closed) return Effect.fail(new NotOpen())
        return Effect.succeed(Array.from({ length: command.parts }, () => new Deposited({ amount: 1 })))
      case "Close":
        return Effect.succeed(state.closed ? [] : [new Closed()])
    }
  }
})
const codec = EventCodec.make(AccountEvent)
interface Extra {
  readonly cache?: false | { readonly capacity: number }
  readonly batch?: false | { readonly maxCommands: number }
  readonly snapshots?: CommandHandler.SnapshotOptions<Account>
  readonly commandIdWindow?: number
}
const handler = (extra: Extra = {}) => CommandHandler.make({ category: "account", decider: account, codec, ...extra })
const target = { tenant: "bank", id: "acc-1" }
const open = { _tag: "Open", owner: "ada" } as const
const deposit = (amount: number) => ({ _tag: "Deposit", amount }) as const
const streamId = StreamId.validate({ tenant: "bank", category: "account", id: "acc-1" }).pipe(Result.getOrThrow)

// Stores that count and steer what reaches them ----------------------------------

interface Calls {
  reads: number
  froms: Array<number>
  appends: number
  sizes: Array<number>
  snapshotReads: number
}

/** Wraps a store: counts reads (and where they start) and appends (and their sizes); `before` runs before each append. */
const instrument = (
  inner: EventStore["Service"],
  before: (events: number, expected: ExpectedVersion.ExpectedVersion) => Effect.Effect<void> = () => Effect.void
) => {
  const calls: Calls = { reads: 0, froms: [], appends: 0, sizes: [], snapshotReads: 0 }
  const store = EventStore.of({
    ...inner,
    readStream: (id, options) => {
      calls.reads++
      calls.froms.push(options?.from ?? 1)
      return inner.readStream(id, options)
    },
    readSnapshot: (id) => {
      calls.snapshotReads++
      return inner.readSnapshot(id)
    },
    append: (id, events, expected, options) => {
      calls.appends++
      calls.sizes.push(events.length)
      return Effect.andThen(before(events.length, expected), inner.append(id, events, expected, options))
    }
  })
  return { calls, store }
}

const memory = (options: InMemoryEventStore.Options = {}) =>
  Effect.map(InMemoryEventStore.make(options), ({ store }) => store)

const stored = (store: EventStore["Service"]) => Stream.runCollect(store.readStream(streamId))

/** Another process: its own handler (own cache and queue) on the same store. */
const rivalAppend = (store: EventStore["Service"], amount: number) =>
  Effect.gen(function* () {
    const version = (yield* Effect.orDie(stored(store))).length
    const metadata = yield* EventMetadata.make()
    const data = Result.getOrThrow(codec.encode(new Deposited({ amount })))
    yield* Effect.orDie(store.append(streamId, [{ ...data, metadata }], ExpectedVersion.exact(version)))
  })

describe("CommandHandler queueing", () => {
  for (const count of [20, 200]) {
    it.effect(
      `given ${count} concurrent commands on one stream in one process, then all succeed and each event is written once`,
      () =>
        Effect.gen(function* () {
          const store = yield* memory()
          const accounts = handler()
          yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, store))

          const results = yield* Effect.forEach(
            Array.from({ length: count }, (_, i) => i + 1),
            (amount) => accounts.update(target, deposit(amount)),
            { concurrency: "unbounded" }
          ).pipe(Effect.provideService(EventStore, store))

          const events = yield* stored(store)
          assert.strictEqual(events.length, count + 1)
          const amounts = events.slice(1).map((e) => JSON.parse(e.data).amount as number)
          assert.deepStrictEqual(
            [...amounts].sort((a, b) => a - b),
            Array.from({ length: count }, (_, i) => i + 1)
          )
          // Each caller sees its own event, at its own version.
          assert.deepStrictEqual(
            new Set(results.map((r) => r.version)),
            new Set(Array.from({ length: count }, (_, i) => i + 2))
          )
          for (const result of results) {
            assert.strictEqual(result.events.length, 1)
            assert.strictEqual(events[result.version - 1]!.metadata.eventId, result.events[0]!.metadata.eventId)
          }
        })
    )
  }

  it.effect("given commands with batching off, when they queue, then each decides on the state the previous left", () =>
    Effect.gen(function* () {
      const { calls, store } = instrument(yield* memory())
      const accounts = handler({ batch: false })
      yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, store))

      const results = yield* Effect.forEach([1, 2, 3, 4, 5], (amount) => accounts.update(target, deposit(amount)), {
        concurrency: "unbounded"
      }).pipe(Effect.provideService(EventStore, store))

      assert.deepStrictEqual(calls.sizes, [1, 1, 1, 1, 1, 1], "one append per command, none conflicted")
      assert.strictEqual(Math.max(...results.map((r) => r.state.balance)), 15)
    })
  )

  it.effect("given a stream with a gap in its versions, when a command loads it, then CorruptEvent names the gap", () =>
    Effect.gen(function* () {
      const inner = yield* memory()
      const accounts = handler()
      yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, inner))
      yield* accounts.update(target, deposit(1)).pipe(Effect.provideService(EventStore, inner))
      yield* accounts.update(target, deposit(2)).pipe(Effect.provideService(EventStore, inner))
      // A store that skips version 2, as a damaged partition would.
      const gapped = EventStore.of({
        ...inner,
        readStream: (id, options) => Stream.filter(inner.readStream(id, options), (e) => e.version !== 2)
      })

      const error = yield* Effect.flip(
        handler().update(target, deposit(3)).pipe(Effect.provideService(EventStore, gapped))
      )

      assert.strictEqual(error._tag, "CorruptEvent")
      if (error._tag === "CorruptEvent") {
        assert.strictEqual(error.version, 3)
        assert.include(error.reason, "expected version 2 next")
      }
    })
  )

  it.effect(
    "given a pinned expected version and a rival, when the append conflicts, then one append, one catch-up read, no retry",
    () =>
      Effect.gen(function* () {
        const inner = yield* memory()
        let rivals = 1
        const { calls, store } = instrument(inner, (events) =>
          events > 0 && rivals-- > 0 ? rivalAppend(inner, 1000) : Effect.void
        )
        const accounts = handler({ cache: false })
        yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, inner))

        const error = yield* Effect.flip(
          accounts.update(target, deposit(5), { expectedVersion: 1 }).pipe(Effect.provideService(EventStore, store))
        )

        assert.strictEqual(error._tag, "ConcurrencyConflict")
        assert.strictEqual(calls.appends, 1, "never appended again")
        assert.deepStrictEqual(calls.froms, [1, 2], "a cold load, then the events after version 1 only")
      })
  )
})

describe("CommandHandler command ids", () => {
  it("given a command id, when event ids are derived, then they are stable, distinct per index and stream, version 5", () => {
    const other = StreamId.validate({ tenant: "bank", category: "account", id: "acc-2" }).pipe(Result.getOrThrow)
    const first = CommandId.eventId(streamId, "cmd-1", 0)
    assert.strictEqual(first, CommandId.eventId(streamId, "cmd-1", 0))
    assert.notStrictEqual(first, CommandId.eventId(streamId, "cmd-1", 1))
    assert.notStrictEqual(first, CommandId.eventId(other, "cmd-1", 0))
    assert.notStrictEqual(first, CommandId.eventId(streamId, "cmd-2", 0))
    assert.match(first, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.isTrue(CommandId.isDerived(first))
    assert.isFalse(CommandId.isDerived(crypto.randomUUID()))
  })

  it("given a window, when more ids are added, then only the last ones are kept", () => {
    const ids = Array.from({ length: 5 }, (_, i) => CommandId.eventId(streamId, `c${i}`, 0))
    const recent = CommandId.add(CommandId.empty, ids, [1, 2, 3, 4, 5], 3)
    assert.deepStrictEqual(recent.versions, [3, 4, 5])
    assert.isUndefined(CommandId.find(recent, streamId, "c1"))
    assert.deepStrictEqual(CommandId.find(recent, streamId, "c3"), { from: 4, count: 1 })
  })

  /** A store whose next `times` non-empty appends commit and then report StoreUnavailable, as after a lost answer. */
  const losingAnswers = (inner: EventStore["Service"], times: number) => {
    let remaining = times
    return EventStore.of({
      ...inner,
      append: (id, events, expected, options) =>
        Effect.flatMap(inner.append(id, events, expected, options), (result) =>
          events.length > 0 && remaining-- > 0
            ? Effect.fail(new StoreUnavailable({ operation: "append", reason: "the answer was lost" }))
            : Effect.succeed(result)
        )
    })
  }

  it.effect(
    "given a lost answer, when the same command id is re-run, then the earlier events come back, even if the decider would now refuse",
    () =>
      Effect.gen(function* () {
        const inner = yield* memory()
        const accounts = handler()
        const lost = yield* Effect.flip(
          accounts
            .create(target, open, { commandId: "open-1" })
            .pipe(Effect.provideService(EventStore, losingAnswers(inner, 1)))
        )
        assert.strictEqual(lost._tag, "StoreUnavailable")

        // Re-run: a create on an existing stream would now fail, but the command already happened.
        const again = yield* accounts
          .create(target, open, { commandId: "open-1" })
          .pipe(Effect.provideService(EventStore, inner))

        const events = yield* stored(inner)
        assert.strictEqual(events.length, 1, "committed once")
        assert.strictEqual(again.version, 1)
        assert.deepStrictEqual(
          again.events.map((e) => [e.version, e.metadata.eventId]),
          [[1, CommandId.eventId(streamId, "open-1", 0)]]
        )
        assert.deepStrictEqual(again.events[0]!.event, new Opened({ owner: "ada" }))
      })
  )

  it.effect(
    "given a command id, when re-run by another process (cold, no cache), then it is recognised from the stream",
    () =>
      Effect.gen(function* () {
        const store = yield* memory()
        yield* handler().create(target, open).pipe(Effect.provideService(EventStore, store))
        yield* handler()
          .update(target, { _tag: "Spread", parts: 3 }, { commandId: "spread-1" })
          .pipe(Effect.provideService(EventStore, store))
        yield* handler().update(target, deposit(5)).pipe(Effect.provideService(EventStore, store))

        const again = yield* handler({ cache: false })
          .update(target, { _tag: "Spread", parts: 3 }, { commandId: "spread-1" })
          .pipe(Effect.provideService(EventStore, store))

        assert.strictEqual((yield* stored(store)).length, 5)
        assert.deepStrictEqual(
          again.events.map((e) => e.version),
          [2, 3, 4]
        )
        assert.strictEqual(again.version, 5, "the stream's current version")
        assert.strictEqual(again.state.balance, 8)
      })
  )

  it.effect("given a command id older than the window, when re-run, then it is decided again", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const accounts = handler({ commandIdWindow: 2 })
      const run = (command: AccountCommand, commandId: string) =>
        accounts.execute(target, command, { commandId }).pipe(Effect.provideService(EventStore, store))
      yield* run(open, "a")
      yield* run(deposit(1), "b")
      yield* run(deposit(2), "c")

      const inWindow = yield* run(deposit(2), "c")
      const outside = yield* Effect.flip(run(open, "a"))

      assert.strictEqual(inWindow.version, 3, "c is remembered: nothing appended")
      assert.strictEqual(outside._tag, "AlreadyOpen", "a fell out of the window: decided again")
      assert.strictEqual((yield* stored(store)).length, 3)
    })
  )

  it.effect("given an empty command id, then InvalidAppend and nothing is written", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const error = yield* Effect.flip(
        handler().execute(target, open, { commandId: "" }).pipe(Effect.provideService(EventStore, store))
      )
      assert.strictEqual(error._tag, "InvalidAppend")
      assert.strictEqual((yield* stored(store)).length, 0)
    })
  )
})

describe("CommandHandler state cache", () => {
  it.effect(
    "given a warm stream, when a command runs, then it is one round trip: the append under the cached version",
    () =>
      Effect.gen(function* () {
        const { calls, store } = instrument(yield* memory())
        const accounts = handler()
        yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, store))
        const reads = calls.reads

        const result = yield* accounts.update(target, deposit(3)).pipe(Effect.provideService(EventStore, store))

        assert.strictEqual(calls.reads, reads, "no read")
        assert.strictEqual(calls.appends, 2)
        assert.strictEqual(result.state.balance, 3)
      })
  )

  it.effect("given the cache off, when commands run, then each one loads the stream", () =>
    Effect.gen(function* () {
      const { calls, store } = instrument(yield* memory())
      const accounts = handler({ cache: false })
      yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, store))
      yield* accounts.update(target, deposit(3)).pipe(Effect.provideService(EventStore, store))
      assert.strictEqual(calls.reads, 2)
    })
  )

  it.live(
    "given another process wrote since the state was cached, when a command runs, then it reads only the new events and decides on them",
    () =>
      Effect.gen(function* () {
        const { calls, store } = instrument(yield* memory())
        const a = handler()
        const b = handler()
        yield* a.create(target, open).pipe(Effect.provideService(EventStore, store))
        yield* a.update(target, deposit(1)).pipe(Effect.provideService(EventStore, store))
        yield* b.update(target, { _tag: "Close" }).pipe(Effect.provideService(EventStore, store))
        calls.froms.length = 0

        const error = yield* Effect.flip(a.update(target, deposit(5)).pipe(Effect.provideService(EventStore, store)))

        assert.strictEqual(error._tag, "NotOpen", "the close by the other process is seen")
        assert.deepStrictEqual(calls.froms, [3], "only the events after the cached version 2")
        assert.strictEqual((yield* stored(store)).length, 3)
      })
  )

  it.live(
    "given a cached state that is stale, when the decider refuses on it, then the refusal is checked and the command decided again",
    () =>
      Effect.gen(function* () {
        const store = yield* memory()
        const a = handler()
        const b = handler()
        const refused = yield* Effect.flip(a.update(target, deposit(1)).pipe(Effect.provideService(EventStore, store)))
        assert.strictEqual(refused._tag, "StreamNotFound")
        yield* b.create(target, open).pipe(Effect.provideService(EventStore, store))

        // a's cache says "no stream", which is now wrong.
        const result = yield* a.update(target, deposit(7)).pipe(Effect.provideService(EventStore, store))

        assert.strictEqual(result.version, 2)
        assert.strictEqual(result.state.balance, 7)
      })
  )

  it.effect("given one handler on two stores, then each store has its own cache", () =>
    Effect.gen(function* () {
      const one = yield* memory()
      const two = yield* memory()
      const accounts = handler()
      yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, one))
      const result = yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, two))
      assert.strictEqual(result.version, 1)
    })
  )
})

/** A store whose first non-empty append waits until `open` runs, so that the commands behind it queue up. */
const gated = (inner: EventStore["Service"]) => {
  const gate = Deferred.makeUnsafe<void>()
  let first = true
  const { calls, store } = instrument(inner, (events) => {
    if (events === 0 || !first) return Effect.void
    first = false
    return Deferred.await(gate)
  })
  return { calls, store, open: Deferred.succeed(gate, undefined) }
}

/** Starts `first`, waits until it holds the stream, queues `rest` behind it, then lets everything run. */
const queued = <A, E>(
  open: Effect.Effect<boolean>,
  first: Effect.Effect<A, E>,
  rest: ReadonlyArray<Effect.Effect<A, E>>
) =>
  Effect.gen(function* () {
    const head = yield* Effect.forkChild(Effect.exit(first), { startImmediately: true })
    const tail = yield* Effect.forEach(rest, (command) =>
      Effect.forkChild(Effect.exit(command), { startImmediately: true })
    )
    yield* Effect.yieldNow
    yield* open
    return [yield* Fiber.join(head), ...(yield* Effect.forEach(tail, Fiber.join))]
  })

describe("CommandHandler batching", () => {
  it.effect(
    "given commands waiting for one stream, when one fails its rule, then it gets its error and the others share one append",
    () =>
      Effect.gen(function* () {
        const inner = yield* memory()
        const accounts = handler()
        yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, inner))
        const { calls, open: release, store } = gated(inner)
        const run = (amount: number) =>
          accounts.update(target, deposit(amount)).pipe(Effect.provideService(EventStore, store))

        const exits = yield* queued(release, run(1), [run(2), run(-3), run(4)])

        assert.deepStrictEqual(calls.sizes, [1, 2], "the first alone, then the two valid ones together")
        assert.isTrue(Exit.isSuccess(exits[0]!) && Exit.isSuccess(exits[1]!) && Exit.isSuccess(exits[3]!))
        assert.deepStrictEqual(Exit.findErrorOption(exits[2]!), Option.some(new NonPositiveAmount({ amount: -3 })))
        const versions = exits.flatMap((exit) => (Exit.isSuccess(exit) ? [exit.value.version] : []))
        assert.deepStrictEqual(versions, [2, 3, 4])
        const balances = exits.flatMap((exit) => (Exit.isSuccess(exit) ? [exit.value.state.balance] : []))
        assert.deepStrictEqual(balances, [1, 3, 7], "each caller gets the state after its own events")
        assert.strictEqual((yield* stored(inner)).length, 4)
      })
  )

  it.effect(
    "given a batch beyond the append limits, when appended, then it is split and one oversized command fails alone",
    () =>
      Effect.gen(function* () {
        const inner = yield* memory({ limits: { maxEventsPerAppend: 5 } })
        const accounts = handler()
        yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, inner))
        const { calls, open: release, store } = gated(inner)
        const run = (command: AccountCommand) =>
          accounts.update(target, command).pipe(Effect.provideService(EventStore, store))

        const exits = yield* queued(release, run(deposit(1)), [
          ...Array.from({ length: 6 }, () => run(deposit(1))),
          run({ _tag: "Spread", parts: 6 }),
          ...Array.from({ length: 3 }, () => run(deposit(1)))
        ])

        const failures = exits.filter(Exit.isFailure)
        assert.strictEqual(failures.length, 1)
        assert.strictEqual(exits[7]!._tag, "Failure")
        if (Exit.isFailure(exits[7]!)) {
          assert.strictEqual(Option.getOrThrow(Exit.findErrorOption(exits[7]!))._tag, "TooManyEvents")
        }
        assert.isTrue(
          calls.sizes.every((n) => n <= 5),
          `appends within the limit: ${calls.sizes}`
        )
        const events = yield* stored(inner)
        assert.strictEqual(events.length, 11, "the opening and ten single deposits, each once")
        assert.deepStrictEqual(
          events.map((e) => e.version),
          Array.from({ length: 11 }, (_, i) => i + 1)
        )
      })
  )

  it.live(
    "given another process writes in the middle of a batch, when the batch conflicts, then it is decided again and all succeed once",
    () =>
      Effect.gen(function* () {
        const inner = yield* memory()
        const accounts = handler()
        yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, inner))
        const gate = Deferred.makeUnsafe<void>()
        let appends = 0
        const { calls, store } = instrument(inner, (events) => {
          if (events === 0) return Effect.void
          appends++
          if (appends === 1) return Deferred.await(gate)
          // The batch's append: another process slips in first, and then closes the account.
          if (appends === 2) return rivalAppend(inner, 100)
          return Effect.void
        })
        const run = (amount: number) =>
          accounts.update(target, deposit(amount)).pipe(Effect.provideService(EventStore, store))

        const exits = yield* queued(Deferred.succeed(gate, undefined), run(1), [run(2), run(3), run(4)])

        assert.isTrue(exits.every(Exit.isSuccess))
        assert.deepStrictEqual(calls.sizes, [1, 3, 3], "the batch conflicted once and went again whole")
        const events = yield* stored(inner)
        assert.deepStrictEqual(
          events.map((e) => (e.type === "Deposited" ? JSON.parse(e.data).amount : e.type)),
          ["Opened", 1, 100, 2, 3, 4]
        )
        const last = exits[3]!
        assert.strictEqual(Exit.isSuccess(last) && last.value.state.balance, 110)
      })
  )
})

describe("CommandHandler snapshots", () => {
  const snapshotting = (extra: Extra = {}) => handler({ snapshots: { schema: Account, every: 3 }, ...extra })

  it.effect("given snapshots every 3 events, then one is written with each append that crosses a multiple of 3", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const accounts = snapshotting()
      const versions: Array<number> = []
      yield* accounts.create(target, open).pipe(Effect.provideService(EventStore, store))
      for (const amount of [1, 2, 3, 4, 5, 6, 7]) {
        const result = yield* accounts.update(target, deposit(amount)).pipe(Effect.provideService(EventStore, store))
        const snapshot = yield* store.readSnapshot(streamId)
        if (Option.isSome(snapshot)) {
          assert.isAtMost(snapshot.value.version, result.version, "never ahead of the events")
          versions.push(snapshot.value.version)
        }
      }
      assert.deepStrictEqual([...new Set(versions)], [3, 6])
    })
  )

  it.effect("given a snapshot, when a cold command loads, then it reads only the events after the snapshot", () =>
    Effect.gen(function* () {
      const inner = yield* memory()
      yield* snapshotting().create(target, open).pipe(Effect.provideService(EventStore, inner))
      for (const amount of [1, 2, 3, 4]) {
        yield* snapshotting().update(target, deposit(amount)).pipe(Effect.provideService(EventStore, inner))
      }
      const { calls, store } = instrument(inner)

      const result = yield* snapshotting({ cache: false })
        .update(target, deposit(10))
        .pipe(Effect.provideService(EventStore, store))

      assert.strictEqual(calls.snapshotReads, 1)
      assert.deepStrictEqual(calls.froms, [4], "from the event after the snapshot at version 3")
      assert.strictEqual(result.state.balance, 20)
    })
  )

  it.effect("given a snapshot that no longer decodes, when a command loads, then the stream is replayed in full", () =>
    Effect.gen(function* () {
      const inner = yield* memory()
      yield* handler().create(target, open).pipe(Effect.provideService(EventStore, inner))
      const metadata = yield* EventMetadata.make()
      const data = Result.getOrThrow(codec.encode(new Deposited({ amount: 4 })))
      // A snapshot written by an older state schema.
      yield* inner.append(streamId, [{ ...data, metadata }], ExpectedVersion.exact(1), {
        snapshot: { version: 2, data: JSON.stringify({ state: { total: 4 }, ids: [], versions: [] }) }
      })
      const { calls, store } = instrument(inner)

      const result = yield* snapshotting().update(target, deposit(1)).pipe(Effect.provideService(EventStore, store))

      assert.deepStrictEqual(calls.froms, [1])
      assert.strictEqual(result.state.balance, 5)
    })
  )

  it.effect("given a command id hidden behind a snapshot, when re-run cold, then the snapshot remembers it", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      yield* snapshotting().create(target, open, { commandId: "open-1" }).pipe(Effect.provideService(EventStore, store))
      yield* snapshotting().update(target, deposit(1)).pipe(Effect.provideService(EventStore, store))
      yield* snapshotting().update(target, deposit(2)).pipe(Effect.provideService(EventStore, store))
      assert.strictEqual(Option.getOrThrow(yield* store.readSnapshot(streamId)).version, 3)

      const again = yield* snapshotting({ cache: false })
        .create(target, open, { commandId: "open-1" })
        .pipe(Effect.provideService(EventStore, store))

      assert.strictEqual(again.events[0]!.version, 1)
      assert.strictEqual((yield* stored(store)).length, 3)
    })
  )
})
