import { assert, describe, it } from "@effect/vitest"
import {
  CommandHandler,
  Decider,
  EventCodec,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  InMemoryEventStore,
  InvalidAppend,
  StreamId
} from "@eventable/core"
import { Effect, Layer, Option, Result, Schedule, Schema, Stream } from "effect"

// A small account domain ------------------------------------------------------

class Opened extends Schema.TaggedClass<Opened>()("Opened", { owner: Schema.String }) {}
class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Number }) {}
const AccountEvent = Schema.Union([Opened, Deposited])
type AccountEvent = typeof AccountEvent.Type

type AccountCommand =
  | { readonly _tag: "Open"; readonly owner: string }
  | { readonly _tag: "Deposit"; readonly amount: number }
  | { readonly _tag: "Touch" }

class NotOpen extends Schema.TaggedError<NotOpen>()("NotOpen", {}) {}
class NonPositiveAmount extends Schema.TaggedError<NonPositiveAmount>()("NonPositiveAmount", {
  amount: Schema.Number
}) {}

let decisions = 0
const account = Decider.make<
  AccountCommand,
  AccountEvent,
  { readonly open: boolean; readonly balance: number },
  NotOpen | NonPositiveAmount
>({
  initialState: { open: false, balance: 0 },
  evolve: (state, event) =>
    event._tag === "Opened" ? { ...state, open: true } : { ...state, balance: state.balance + event.amount },
  decide: (command, state) =>
    Effect.suspend((): Effect.Effect<ReadonlyArray<AccountEvent>, NotOpen | NonPositiveAmount> => {
      decisions++
      switch (command._tag) {
        case "Open":
          return Effect.succeed([new Opened({ owner: command.owner })])
        case "Deposit":
          if (!state.open) return Effect.fail(new NotOpen())
          if (command.amount <= 0) return Effect.fail(new NonPositiveAmount({ amount: command.amount }))
          return Effect.succeed([new Deposited({ amount: command.amount })])
        case "Touch":
          return Effect.succeed([])
      }
    })
})
const codec = EventCodec.make(AccountEvent)
const accounts = CommandHandler.make({ category: "account", decider: account, codec, retry: Schedule.recurs(3) })
const target = { tenant: "bank", id: "acc-1" }
const open = { _tag: "Open", owner: "ada" } as const
const deposit = (amount: number) => ({ _tag: "Deposit", amount }) as const

/** An in-memory store where another writer appends to an existing stream just before our first `rivals` appends to it. */
const withRival = (rivals: number) =>
  Layer.effect(
    EventStore,
    Effect.gen(function* () {
      const { store } = yield* InMemoryEventStore.make()
      let remaining = rivals
      const rival = Result.getOrThrow(codec.encode(new Deposited({ amount: 1000 })))
      return EventStore.of({
        ...store,
        append: (streamId, events, expected) =>
          Effect.gen(function* () {
            if (events.length > 0 && expected._tag === "Exact" && expected.version > 0 && remaining-- > 0) {
              const metadata = yield* EventMetadata.make()
              yield* Effect.orDie(store.append(streamId, [{ ...rival, metadata }], ExpectedVersion.any))
            }
            return yield* store.append(streamId, events, expected)
          })
      })
    })
  )

const storedEvents = (tenant: string, id: string) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const streamId = yield* StreamId.make({ tenant, category: "account", id })
    return yield* Stream.runCollect(store.readStream(streamId))
  })

describe("CommandHandler", () => {
  it.effect("given a new stream, when a command is executed, then its events are appended and the state returned", () =>
    Effect.gen(function* () {
      const result = yield* accounts.execute(target, open)

      assert.strictEqual(result.version, 1)
      assert.deepStrictEqual(result.state, { open: true, balance: 0 })
      assert.strictEqual(result.events.length, 1)
      assert.deepStrictEqual(result.events[0]!.event, new Opened({ owner: "ada" }))
      assert.strictEqual(result.events[0]!.version, 1)
      assert.strictEqual(result.events[0]!.position, 1)
      assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 1)
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect("given an existing stream, when commands are executed, then the state folds every event", () =>
    Effect.gen(function* () {
      yield* accounts.create(target, open)
      yield* accounts.update(target, deposit(10))
      const result = yield* accounts.update(target, deposit(5))
      const loaded = yield* accounts.load(target)

      assert.strictEqual(result.version, 3)
      assert.deepStrictEqual(result.state, { open: true, balance: 15 })
      assert.deepStrictEqual(loaded, { streamId: result.streamId, state: result.state, version: 3 })
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect("given an existing stream, when create runs, then StreamAlreadyExists and nothing is written", () =>
    Effect.gen(function* () {
      yield* accounts.create(target, open)
      const error = yield* Effect.flip(accounts.create(target, open))

      assert.strictEqual(error._tag, "StreamAlreadyExists")
      assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 1)
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect("given no stream, when update runs, then StreamNotFound and the decider is not consulted", () =>
    Effect.gen(function* () {
      const before = decisions
      const error = yield* Effect.flip(accounts.update(target, deposit(1)))

      assert.strictEqual(error._tag, "StreamNotFound")
      assert.strictEqual(decisions, before)
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect(
    "given a domain rule, when it is broken, then the domain error reaches the caller and nothing is written",
    () =>
      Effect.gen(function* () {
        yield* accounts.create(target, open)
        const error = yield* Effect.flip(accounts.update(target, deposit(-5)))

        assert.deepStrictEqual(error, new NonPositiveAmount({ amount: -5 }))
        assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 1)
      }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect("given a command that decides nothing, when executed, then nothing is written and the version stays", () =>
    Effect.gen(function* () {
      yield* accounts.create(target, open)
      const result = yield* accounts.update(target, { _tag: "Touch" })

      assert.deepStrictEqual(result.events, [])
      assert.strictEqual(result.version, 1)
      assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 1)
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect("given correlation, causation and custom metadata, when executed, then every new event carries them", () =>
    Effect.gen(function* () {
      yield* accounts.create(target, open, { correlationId: "req-9", causationId: "cmd-9", custom: { user: "ada" } })
      const [stored] = yield* storedEvents("bank", "acc-1")

      assert.strictEqual(stored!.metadata.correlationId, "req-9")
      assert.strictEqual(stored!.metadata.causationId, "cmd-9")
      assert.deepStrictEqual(stored!.metadata.custom, { user: "ada" })
      assert.match(stored!.metadata.eventId, /^[0-9a-f-]{36}$/)
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect(
    "given a rival writer, when the append conflicts, then the handler reloads, decides again and succeeds",
    () =>
      Effect.gen(function* () {
        yield* accounts.create(target, open)
        const before = decisions

        const result = yield* accounts.update(target, deposit(5))

        assert.strictEqual(decisions - before, 2, "decided once, conflicted, decided again")
        assert.strictEqual(result.version, 3)
        assert.deepStrictEqual(result.state, { open: true, balance: 1005 })
      }).pipe(Effect.provide(withRival(1)))
  )

  it.effect(
    "given rivals that always win, when retries run out, then RetriesExhausted gives the attempts and versions",
    () =>
      Effect.gen(function* () {
        yield* accounts.create(target, open)
        const before = decisions

        const error = yield* Effect.flip(accounts.update(target, deposit(5)))

        assert.strictEqual(error._tag, "RetriesExhausted")
        if (error._tag === "RetriesExhausted") {
          assert.strictEqual(error.attempts, 4, "one attempt and three retries")
          assert.strictEqual(error.expected, 4, "the last attempt appended under the version it caught up to")
          assert.strictEqual(error.actual, 5, "where the rival had moved the stream")
          assert.include(error.message, "after 4 attempts")
        }
        assert.strictEqual(decisions - before, 4, "decided again on each attempt")
      }).pipe(Effect.provide(withRival(100)))
  )

  it.effect(
    "given a caller's expected version that is stale, when executed, then ConcurrencyConflict without retrying",
    () =>
      Effect.gen(function* () {
        yield* accounts.create(target, open)
        yield* accounts.update(target, deposit(1))
        const before = decisions

        const error = yield* Effect.flip(accounts.update(target, deposit(5), { expectedVersion: 1 }))

        assert.strictEqual(error._tag, "ConcurrencyConflict")
        if (error._tag === "ConcurrencyConflict") {
          assert.deepStrictEqual(error.expected, ExpectedVersion.exact(1))
          assert.strictEqual(error.actual, 2)
        }
        assert.strictEqual(decisions, before, "the decider never ran")
      }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect("given a caller's expected version and a rival, when the append conflicts, then it is not retried", () =>
    Effect.gen(function* () {
      yield* accounts.create(target, open)
      const before = decisions
      const error = yield* Effect.flip(accounts.update(target, deposit(5), { expectedVersion: 1 }))

      assert.strictEqual(error._tag, "ConcurrencyConflict")
      assert.strictEqual(decisions - before, 1)
    }).pipe(Effect.provide(withRival(1)))
  )

  it.effect("given a matching expected version, when executed, then it succeeds", () =>
    Effect.gen(function* () {
      yield* accounts.create(target, open)
      const result = yield* accounts.update(target, deposit(2), { expectedVersion: 1 })
      assert.strictEqual(result.version, 2)
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect("given an invalid id, when executed, then InvalidStreamId", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(accounts.execute({ tenant: "bank", id: "" }, open))
      assert.strictEqual(error._tag, "InvalidStreamId")
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect("given a stored event the schema no longer accepts, when loaded, then CorruptEvent names it", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const streamId = yield* StreamId.make({ tenant: "bank", category: "account", id: "acc-1" })
      const metadata = yield* EventMetadata.make()
      yield* store.append(
        streamId,
        [
          { type: "Opened", data: JSON.stringify({ owner: "ada" }), metadata },
          { type: "Deposited", data: JSON.stringify({ amount: "ten" }), metadata: yield* EventMetadata.make() }
        ],
        ExpectedVersion.noStream
      )

      const error = yield* Effect.flip(accounts.update(target, deposit(1)))

      assert.strictEqual(error._tag, "CorruptEvent")
      if (error._tag === "CorruptEvent") {
        assert.strictEqual(error.stream, "bank/account/acc-1")
        assert.strictEqual(error.version, 2)
        assert.strictEqual(error.type, "Deposited")
        assert.include(error.reason, "amount")
      }
    }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect(
    "given an event its schema cannot encode, when executed, then InvalidAppend names it and nothing is written",
    () =>
      Effect.gen(function* () {
        class Rated extends Schema.TaggedClass<Rated>()("Rated", {
          stars: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 }))
        }) {}
        const rater = CommandHandler.make({
          category: "account",
          codec: EventCodec.make(Schema.Union([Rated])),
          decider: Decider.make<number, Rated, number>({
            initialState: 0,
            evolve: (n) => n + 1,
            // A decider bug: the event skips its own checks at construction.
            decide: (stars) => Effect.succeed([new Rated({ stars }, { disableChecks: true })])
          })
        })

        const error = yield* Effect.flip(rater.execute(target, 9))

        assert.strictEqual(error._tag, "InvalidAppend")
        if (error._tag === "InvalidAppend") assert.include(error.reason, "the event schema rejects it")
        assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 0)
      }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  it.effect(
    "given more new events than one append holds, when executed, then TooManyEvents and nothing is written",
    () =>
      Effect.gen(function* () {
        const many = CommandHandler.make({
          category: "account",
          codec,
          decider: Decider.make<number, AccountEvent, number>({
            initialState: 0,
            evolve: (n) => n + 1,
            decide: (count) => Effect.succeed(Array.from({ length: count }, () => new Deposited({ amount: 1 })))
          })
        })
        const error = yield* Effect.flip(many.execute(target, 50))
        assert.strictEqual(error._tag, "TooManyEvents")
        assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 0)
      }).pipe(Effect.provide(InMemoryEventStore.layer()))
  )

  describe("given a stream holding an event written by newer code", () => {
    // A rolling deploy: a newer instance appended `Frozen`, which this code has never heard of.
    const writtenByNewerCode = Effect.gen(function* () {
      const store = yield* EventStore
      const streamId = yield* StreamId.make({ tenant: "bank", category: "account", id: "acc-1" })
      // Each event has its own id: a store refuses an append that repeats one.
      yield* store.append(
        streamId,
        [
          { type: "Opened", data: JSON.stringify({ owner: "ada" }), metadata: yield* EventMetadata.make() },
          {
            type: "Frozen",
            data: JSON.stringify({ reason: "audit", until: "2030-01-01" }),
            metadata: yield* EventMetadata.make()
          },
          { type: "Deposited", data: JSON.stringify({ amount: 7 }), metadata: yield* EventMetadata.make() }
        ],
        ExpectedVersion.noStream
      )
    })

    it.effect(
      "when the codec fails on unknown types, then the command fails with CorruptEvent and writes nothing",
      () =>
        Effect.gen(function* () {
          yield* writtenByNewerCode
          const before = decisions

          const error = yield* Effect.flip(accounts.update(target, deposit(1)))

          assert.strictEqual(error._tag, "CorruptEvent")
          if (error._tag === "CorruptEvent") {
            assert.strictEqual(error.version, 2)
            assert.strictEqual(error.type, "Frozen")
            assert.include(error.reason, "unknown event type")
          }
          assert.strictEqual(decisions, before, "the decider never ran")
          assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 3)
        }).pipe(Effect.provide(InMemoryEventStore.layer()))
    )

    it.effect(
      "when the codec skips unknown types, then the fold ignores it, counts its version, and the command appends",
      () =>
        Effect.gen(function* () {
          yield* writtenByNewerCode
          const tolerant = CommandHandler.make({
            category: "account",
            decider: account,
            codec: EventCodec.make(AccountEvent, { unknownTypes: "skip" }),
            retry: Schedule.recurs(3)
          })

          const loaded = yield* tolerant.load(target)
          const before = decisions
          const result = yield* tolerant.update(target, deposit(1))

          assert.deepStrictEqual(loaded.state, { open: true, balance: 7 })
          assert.strictEqual(loaded.version, 3)
          assert.strictEqual(decisions - before, 1, "appended at version 3 at the first attempt, no conflict")
          assert.strictEqual(result.version, 4)
          assert.deepStrictEqual(result.state, { open: true, balance: 8 })
          const stored = yield* storedEvents("bank", "acc-1")
          assert.deepStrictEqual(
            stored.map((event) => [event.version, event.type]),
            [
              [1, "Opened"],
              [2, "Frozen"],
              [3, "Deposited"],
              [4, "Deposited"]
            ]
          )
        }).pipe(Effect.provide(InMemoryEventStore.layer()))
    )

    it.effect("when the codec skips unknown types, then a known event that fails to decode still fails the load", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const streamId = yield* StreamId.make({ tenant: "bank", category: "account", id: "acc-1" })
        yield* store.append(
          streamId,
          [
            { type: "Opened", data: JSON.stringify({ owner: "ada" }), metadata: yield* EventMetadata.make() },
            { type: "Frozen", data: "{}", metadata: yield* EventMetadata.make() },
            { type: "Deposited", data: JSON.stringify({ amount: "seven" }), metadata: yield* EventMetadata.make() }
          ],
          ExpectedVersion.noStream
        )
        const tolerant = CommandHandler.make({
          category: "account",
          decider: account,
          codec: EventCodec.make(AccountEvent, { unknownTypes: "skip" })
        })

        const error = yield* Effect.flip(tolerant.load(target))

        assert.strictEqual(error._tag, "CorruptEvent")
        if (error._tag === "CorruptEvent") {
          assert.strictEqual(error.version, 3)
          assert.strictEqual(error.type, "Deposited")
        }
      }).pipe(Effect.provide(InMemoryEventStore.layer()))
    )
  })

  describe("given the write side's review", () => {
    it.effect(
      "given an expected version that is not a count, when executed, then InvalidArgument and nothing runs",
      () =>
        Effect.gen(function* () {
          yield* accounts.create(target, open)
          const before = decisions
          for (const bad of [-1, Number.NaN, 1.5, Number.POSITIVE_INFINITY, "0" as unknown as number]) {
            const error = yield* Effect.flip(accounts.execute(target, deposit(1), { expectedVersion: bad }))
            assert.strictEqual(error._tag, "InvalidArgument", String(bad))
            if (error._tag === "InvalidArgument") assert.strictEqual(error.argument, "expectedVersion")
          }
          assert.strictEqual(decisions, before, "no decider ran")
          assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 1)
        }).pipe(Effect.provide(InMemoryEventStore.layer()))
    )

    it.effect(
      "given an out-of-range handler option, when make runs, then it does not throw and every operation fails typed",
      () =>
        Effect.gen(function* () {
          const bad: ReadonlyArray<
            readonly [
              string,
              () => ReturnType<
                typeof CommandHandler.make<
                  AccountCommand,
                  AccountEvent,
                  { readonly open: boolean; readonly balance: number },
                  NotOpen | NonPositiveAmount
                >
              >
            ]
          > = [
            [
              "batch.maxCommands",
              () => CommandHandler.make({ category: "account", decider: account, codec, batch: { maxCommands: 0 } })
            ],
            [
              "cache.capacity",
              () => CommandHandler.make({ category: "account", decider: account, codec, cache: { capacity: -1 } })
            ],
            [
              "commandIdWindow",
              () => CommandHandler.make({ category: "account", decider: account, codec, commandIdWindow: -5 })
            ],
            [
              "snapshots.every",
              () =>
                CommandHandler.make({
                  category: "account",
                  decider: account,
                  codec,
                  snapshots: { schema: Schema.Struct({ open: Schema.Boolean, balance: Schema.Number }), every: 0 }
                })
            ]
          ]
          for (const [argument, build] of bad) {
            const handler = build()
            const run = yield* Effect.flip(handler.execute(target, open))
            const load = yield* Effect.flip(handler.load(target))
            for (const error of [run, load]) {
              assert.strictEqual(error._tag, "InvalidArgument", argument)
              if (error._tag === "InvalidArgument") assert.strictEqual(error.argument, argument)
            }
          }
          assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 0)
        }).pipe(Effect.provide(InMemoryEventStore.layer()))
    )

    it.effect(
      "given a command id served from a stale cache, when re-run, then it returns the stream's current state and version",
      () =>
        Effect.gen(function* () {
          const a = CommandHandler.make({ category: "account", decider: account, codec })
          const b = CommandHandler.make({ category: "account", decider: account, codec })
          yield* a.create(target, open)
          const first = yield* a.execute(target, deposit(2), { commandId: "K" })
          yield* b.execute(target, deposit(5))

          const again = yield* a.execute(target, deposit(2), { commandId: "K" })

          assert.strictEqual(first.version, 2)
          assert.deepStrictEqual(
            again.events.map((e) => e.version),
            [2],
            "the events the first run wrote"
          )
          assert.strictEqual(again.version, 3, "the stream's current version, not the cached one")
          assert.strictEqual(again.state.balance, 7)
          assert.strictEqual((yield* storedEvents("bank", "acc-1")).length, 3, "nothing appended again")
        }).pipe(Effect.provide(InMemoryEventStore.layer()))
    )

    describe("snapshots never make a valid command fail", () => {
      const Text = Schema.Struct({ text: Schema.String, count: Schema.Number })
      type Text = typeof Text.Type
      /** A decider whose state grows to `size` characters from a small event, and that can decide many events. */
      const texts = Decider.make<{ readonly events: number; readonly size: number }, AccountEvent, Text>({
        initialState: { text: "", count: 0 },
        evolve: (state, event) =>
          event._tag === "Deposited" ? { text: "字".repeat(event.amount), count: state.count + 1 } : state,
        decide: (command) =>
          Effect.succeed(Array.from({ length: command.events }, () => new Deposited({ amount: command.size })))
      })
      const handlerWith = (every: number) =>
        CommandHandler.make({ category: "account", decider: texts, codec, snapshots: { schema: Text, every } })
      const snapshotOf = Effect.gen(function* () {
        const store = yield* EventStore
        return yield* store.readSnapshot(yield* StreamId.make({ tenant: "bank", category: "account", id: "acc-1" }))
      })

      it.effect(
        "given a command deciding as many events as an append holds, when it crosses a snapshot, then it succeeds without one",
        () =>
          Effect.gen(function* () {
            const result = yield* handlerWith(10).execute(target, { events: 49, size: 1 })
            assert.strictEqual(result.version, 49)
            assert.isTrue(Option.isNone(yield* snapshotOf))
            const next = yield* handlerWith(10).execute(target, { events: 1, size: 1 })
            assert.strictEqual(next.version, 50)
            assert.deepStrictEqual(
              Option.map(yield* snapshotOf, (s) => s.version),
              Option.some(50),
              "the next crossing writes one"
            )
          }).pipe(Effect.provide(InMemoryEventStore.layer()))
      )

      it.effect(
        "given a state whose snapshot alone is larger than an append, when commands cross snapshots, then they succeed",
        () =>
          Effect.gen(function* () {
            const handler = handlerWith(1)
            for (let n = 1; n <= 3; n++) {
              const result = yield* handler.execute(target, { events: 1, size: 2_200_000 })
              assert.strictEqual(result.version, n)
            }
            assert.isTrue(Option.isNone(yield* snapshotOf))
          }).pipe(Effect.provide(InMemoryEventStore.layer()))
      )

      it.effect(
        "given a store that refuses the snapshot row, when a command crosses a snapshot, then it is appended without it",
        () =>
          Effect.gen(function* () {
            let refused = 0
            const refusing = Layer.effect(
              EventStore,
              Effect.map(InMemoryEventStore.make(), ({ store }) =>
                EventStore.of({
                  ...store,
                  append: (streamId, events, expected, options) =>
                    options?.snapshot === undefined
                      ? store.append(streamId, events, expected)
                      : Effect.suspend(() => {
                          refused++
                          return Effect.fail(
                            new InvalidAppend({ streamId, reason: "the store rejected it: entity too large" })
                          )
                        })
                })
              )
            )
            const result = yield* handlerWith(1).execute(target, { events: 1, size: 10 }).pipe(Effect.provide(refusing))
            assert.strictEqual(result.version, 1)
            assert.strictEqual(refused, 1)
          })
      )
    })
  })
})
