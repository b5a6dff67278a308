/**
 * Runs commands against event-sourced aggregates: fold the stream into state,
 * decide, and append the new events under the version the state was folded
 * from.
 *
 * - **Queueing.** Commands on one stream in one process never conflict with
 *   each other: they take turns, each deciding on the state the previous one
 *   left. A stream with no command in flight holds no memory.
 * - **Batching.** Commands that wait for the same stream are decided in turn
 *   on the evolving state and appended together in one atomic append (several
 *   when they exceed the store's limits). Each caller gets its own result; a
 *   command whose decide fails gets its domain error and the others go ahead.
 * - **Retries.** A conflict with another writer (another process) reads only
 *   the events after the known version, decides again and retries, under a
 *   `Schedule` ({@link defaultRetry}). When the schedule runs out the command
 *   fails with `RetriesExhausted` (attempts and versions).
 * - **State cache.** The folded state of recently used streams is kept in
 *   process (bounded, on by default), so a command on a warm stream is one
 *   round trip: the append under the cached version. Decisions that write
 *   nothing on a cached state (a domain error, a no-op) are confirmed with an
 *   empty append that only checks the version.
 * - **Idempotent commands.** With `commandId`, the new events' ids derive from
 *   it, and a re-run with the same id (after a lost answer, a timeout,
 *   `StoreUnavailable`, a crash) returns the events already written, without
 *   deciding or appending again. See `CommandId` for the window.
 * - **Snapshots.** Opt in with a state schema and a frequency: a cold load
 *   reads the latest snapshot and only the events after it; a snapshot is
 *   written with the append that crosses each multiple of `every`. A snapshot
 *   never makes a command fail: when the append has no room for it (too many
 *   events, too large, or the store refuses its rows), the events are appended
 *   without it and the next crossing writes one.
 *
 * `execute` works on new and existing streams alike, `create` requires that
 * the stream does not exist (`StreamAlreadyExists`), `update` that it does
 * (`StreamNotFound`). `expectedVersion` (e.g. from an HTTP `If-Match`) pins the
 * version the caller saw: if the stream has moved on, the command fails with a
 * `ConcurrencyConflict` and is not retried.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CommandHandler, EventCodec, InMemoryEventStore } from "@eventable/core"
 * import { UserEvent, RegisterUser, users } from "./users.ts"
 *
 * const handler = CommandHandler.make({ category: "user", decider: users, codec: EventCodec.make(UserEvent) })
 * const program = handler.create(
 *   { tenant: "acme", id: "u-1" },
 *   new RegisterUser({ userName: "ada", email: "ada@example.com" }),
 *   { correlationId: "req-1", commandId: "req-1" }
 * ).pipe(Effect.provide(InMemoryEventStore.layer()))
 * ```
 *
 * @since 0.1.0
 */
import { Cause, DateTime, Deferred, Effect, Exit, Metric, Option, Result, Schedule, Schema, Stream } from "effect"
import * as Arguments from "./Arguments.ts"
import * as CommandId from "./CommandId.ts"
import type { Decider } from "./Decider.ts"
import type { EventCodec } from "./EventCodec.ts"
import * as EventData from "./EventData.ts"
import type * as EventMetadata from "./EventMetadata.ts"
import { EventStore, type StoreLimits } from "./EventStore.ts"
import {
  type AppendError,
  ConcurrencyConflict,
  CorruptEvent,
  InvalidAppend,
  InvalidArgument,
  type ReadError,
  StreamAlreadyExists,
  StreamNotFound,
  TooManyEvents
} from "./EventStoreError.ts"
import * as ExpectedVersion from "./ExpectedVersion.ts"
import type { RecordedEvent } from "./RecordedEvent.ts"
import { RetriesExhausted } from "./RetriesExhausted.ts"
import type { Snapshot } from "./Snapshot.ts"
import * as StateCache from "./StateCache.ts"
import type { StoredEvent } from "./StoredEvent.ts"
import * as StreamId from "./StreamId.ts"

/**
 * Which stream of the handler's category a command targets.
 *
 * @since 0.1.0
 */
export interface Target {
  readonly tenant: string
  readonly id: string
}

/**
 * Per-command options: the caller's expected version, its command id, and the
 * metadata to stamp on the new events.
 *
 * @since 0.1.0
 */
export interface ExecuteOptions extends EventMetadata.MetadataOptions {
  /**
   * The version the caller saw. When the stream has moved on, fails with `ConcurrencyConflict`, without retrying.
   * Must be a non-negative safe integer, else the command fails with `InvalidArgument` before anything runs.
   */
  readonly expectedVersion?: number
  /**
   * Makes the command idempotent (e.g. an HTTP `Idempotency-Key`). The new
   * events' ids derive from it; a re-run with the same id on the same stream
   * returns the events the first run wrote (with the stream's current state
   * and version) and appends nothing. Must not be empty (`InvalidAppend`).
   */
  readonly commandId?: string
}

/**
 * A loaded aggregate: its state and the version it was folded from (0 for a new stream).
 *
 * @since 0.1.0
 */
export interface Loaded<State> {
  readonly streamId: StreamId.StreamId
  readonly state: State
  readonly version: number
}

/**
 * The outcome of a command: the events it recorded (none for a no-op), and the
 * state and version after them.
 *
 * @since 0.1.0
 */
export interface CommandResult<Event, State> extends Loaded<State> {
  readonly events: ReadonlyArray<RecordedEvent<Event>>
}

/**
 * Everything a command can fail with, besides the decider's own domain errors.
 *
 * @since 0.1.0
 */
export type CommandError =
  | StreamId.InvalidStreamId
  | StreamNotFound
  | StreamAlreadyExists
  | RetriesExhausted
  | AppendError
  | ReadError

/**
 * A command handler for one category.
 *
 * @since 0.1.0
 */
export interface CommandHandler<Command, Event, State, DomainError> {
  readonly category: string
  /** Runs a command on a new or existing stream. */
  readonly execute: (
    target: Target,
    command: Command,
    options?: ExecuteOptions
  ) => Effect.Effect<CommandResult<Event, State>, DomainError | CommandError, EventStore>
  /** Runs a command that starts a stream; fails with `StreamAlreadyExists` if it exists. */
  readonly create: (
    target: Target,
    command: Command,
    options?: ExecuteOptions
  ) => Effect.Effect<CommandResult<Event, State>, DomainError | CommandError, EventStore>
  /** Runs a command on an existing stream; fails with `StreamNotFound` if there is none. */
  readonly update: (
    target: Target,
    command: Command,
    options?: ExecuteOptions
  ) => Effect.Effect<CommandResult<Event, State>, DomainError | CommandError, EventStore>
  /** Loads and folds a stream from the store (snapshot, then events), without deciding anything. */
  readonly load: (target: Target) => Effect.Effect<Loaded<State>, StreamId.InvalidStreamId | ReadError, EventStore>
}

/**
 * Snapshot settings: the schema of the state (encoded as JSON) and how often
 * to write one, every `every` events (a positive integer).
 *
 * @since 0.1.0
 */
export interface SnapshotOptions<State> {
  readonly schema: Schema.Codec<State, unknown>
  readonly every: number
}

/**
 * The default retry policy on conflicts with another writer: up to 4 retries,
 * exponential from 5 ms, jittered.
 *
 * @since 0.1.0
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.exponential("5 millis").pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 4 })
)

/**
 * The most commands decided together and appended in one batch by default.
 *
 * @since 0.1.0
 */
export const defaultMaxBatch = 256

const commands = Metric.counter("eventable_commands_total", { description: "Commands executed by command handlers" })
const conflicts = Metric.counter("eventable_command_conflicts_total", {
  description: "Concurrency conflicts with other writers seen by command handlers (each one is retried or returned)"
})

type Mode = "execute" | "create" | "update"
const traceOptions = { captureStackTrace: false } as const

/**
 * Builds a command handler from a decider, a codec and a category.
 *
 * Options:
 * - `retry`: the policy on conflicts with other writers ({@link defaultRetry});
 * - `cache`: `false` turns the state cache off; `{ capacity }` sets how many
 *   streams it keeps (default 10,000, least recently used evicted);
 * - `batch`: `false` appends each queued command on its own; `{ maxCommands }`
 *   bounds a batch (default {@link defaultMaxBatch});
 * - `snapshots`: `{ schema, every }` opts in to snapshots;
 * - `commandIdWindow`: how many recent events with derived ids a stream
 *   remembers (default 256, see `CommandId`).
 *
 * The cache and the queues are kept per `EventStore` instance, so one handler
 * can serve several stores (e.g. one per test).
 *
 * `make` never throws: a count option that is not a positive integer (e.g.
 * `batch: { maxCommands: 0 }`, `snapshots.every: 0`) makes every operation of
 * the handler fail with an `InvalidArgument` naming it (`operation`
 * `"CommandHandler.make"`), before reading or writing anything. `make` stays a
 * plain function so a handler can be a module-level constant, like a decider.
 *
 * @since 0.1.0
 */
export const make = <Command, Event, State, DomainError>(options: {
  readonly category: string
  readonly decider: Decider<Command, Event, State, DomainError>
  readonly codec: EventCodec<Event>
  readonly retry?: Schedule.Schedule<unknown, unknown>
  readonly cache?: false | { readonly capacity: number }
  readonly batch?: false | { readonly maxCommands: number }
  readonly snapshots?: SnapshotOptions<State>
  readonly commandIdWindow?: number
}): CommandHandler<Command, Event, State, DomainError> => {
  const { category, codec, decider } = options
  const retry = options.retry ?? defaultRetry
  // A bad option is reported as a typed InvalidArgument by every operation of the handler (see `make`'s doc).
  let invalidOption: InvalidArgument | undefined
  const positive = (argument: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback
    const reason = positiveProblem(value)
    if (reason === undefined) return value
    invalidOption ??= new InvalidArgument({ operation: "CommandHandler.make", argument, value: String(value), reason })
    return fallback
  }
  const capacity =
    options.cache === false ? 0 : positive("cache.capacity", options.cache?.capacity, StateCache.defaultCapacity)
  const maxBatch =
    options.batch === false ? 1 : positive("batch.maxCommands", options.batch?.maxCommands, defaultMaxBatch)
  const window = positive("commandIdWindow", options.commandIdWindow, CommandId.defaultWindow)
  const snapshots = options.snapshots === undefined ? undefined : makeSnapshotCodec(options.snapshots)

  type Result = CommandResult<Event, State>
  type Failure = DomainError | CommandError
  interface Entry {
    readonly state: State
    readonly version: number
    readonly recent: CommandId.Recent
  }
  interface Pending {
    readonly mode: Mode
    readonly command: Command
    readonly options: ExecuteOptions
    readonly deferred: Deferred.Deferred<Result, Failure>
  }
  interface Lane {
    readonly queue: Array<Pending>
  }
  interface Shared {
    readonly lanes: Map<string, Lane>
    readonly cache: StateCache.StateCache<Entry> | undefined
  }
  type Decision =
    | {
        readonly _tag: "Append"
        readonly pending: Pending
        readonly events: ReadonlyArray<Event>
        readonly data: ReadonlyArray<EventData.EventData>
        readonly after: Entry
      }
    | {
        /** Decided without writing: a domain error, a no-op, a failed precondition. Valid only if the state was current. */
        readonly _tag: "Settled"
        readonly pending: Pending
        readonly exit: Exit.Exit<Result, Failure>
      }
    | {
        readonly _tag: "Duplicate"
        readonly pending: Pending
        readonly from: number
        readonly count: number
        readonly at: Entry
      }
  interface Group {
    readonly before: Entry
    after: Entry
    readonly items: Array<Decision>
    readonly data: Array<EventData.EventData>
  }

  const initial: Entry = { state: decider.initialState, version: 0, recent: CommandId.empty }
  const stores = new WeakMap<object, Shared>()
  const sharedOf = (store: EventStore["Service"]): Shared => {
    let shared = stores.get(store)
    if (shared === undefined) {
      shared = { lanes: new Map(), cache: capacity > 0 ? StateCache.make(capacity) : undefined }
      stores.set(store, shared)
    }
    return shared
  }

  // Loading ------------------------------------------------------------------

  /** Folds stored events onto an entry with a plain loop, checking that versions are contiguous. */
  const fold = (
    streamId: StreamId.StreamId,
    entry: Entry,
    stored: ReadonlyArray<StoredEvent>
  ): Effect.Effect<Entry, CorruptEvent> => {
    let state = entry.state
    let version = entry.version
    const ids: Array<string> = []
    const versions: Array<number> = []
    for (const event of stored) {
      if (event.version !== version + 1) {
        return Effect.fail(
          new CorruptEvent({
            stream: StreamId.format(streamId),
            version: event.version,
            type: event.type,
            reason: `expected version ${version + 1} next, the store returned ${event.version}`
          })
        )
      }
      version = event.version
      if (CommandId.isDerived(event.metadata.eventId)) {
        ids.push(event.metadata.eventId)
        versions.push(version)
      }
      // An event of a type the codec skips (see `EventCodec`'s `unknownTypes`) still counts as a version.
      if (codec.unknownTypes === "skip" && !codec.knows(event.type)) continue
      const decoded = codec.decode(event.type, event.data)
      if (Result.isFailure(decoded)) {
        return Effect.fail(
          new CorruptEvent({
            stream: StreamId.format(streamId),
            version: event.version,
            type: event.type,
            reason: decoded.failure
          })
        )
      }
      state = decider.evolve(state, decoded.success)
    }
    if (stored.length === 0) return Effect.succeed(entry)
    const recent = CommandId.add(entry.recent, ids.slice(-window), versions.slice(-window), window)
    return Effect.succeed({ state, version, recent })
  }

  const readFrom = (store: EventStore["Service"], streamId: StreamId.StreamId, entry: Entry) =>
    Effect.flatMap(
      Stream.runCollect(store.readStream(streamId, entry.version === 0 ? undefined : { from: entry.version + 1 })),
      (stored) => fold(streamId, entry, stored)
    )

  const coldLoad = (store: EventStore["Service"], streamId: StreamId.StreamId): Effect.Effect<Entry, ReadError> =>
    snapshots === undefined
      ? readFrom(store, streamId, initial)
      : Effect.flatMap(store.readSnapshot(streamId), (snapshot) =>
          readFrom(store, streamId, Option.isSome(snapshot) ? (snapshots.decode(snapshot.value) ?? initial) : initial)
        )

  // Deciding -----------------------------------------------------------------

  const decideAll = (
    streamId: StreamId.StreamId,
    limits: EventStore["Service"]["limits"],
    entry: Entry,
    queue: ReadonlyArray<Pending>
  ) =>
    Effect.gen(function* () {
      const decisions: Array<Decision> = []
      let current = entry
      let now: DateTime.Utc | undefined
      const settle = (pending: Pending, exit: Exit.Exit<Result, Failure>) => {
        decisions.push({ _tag: "Settled", pending, exit })
      }
      for (const pending of queue) {
        const { commandId, expectedVersion } = pending.options
        if (commandId !== undefined) {
          if (commandId.length === 0) {
            settle(pending, Exit.fail(new InvalidAppend({ streamId, reason: "commandId must not be empty" })))
            continue
          }
          const found = CommandId.find(current.recent, streamId, commandId)
          if (found !== undefined) {
            decisions.push({ _tag: "Duplicate", pending, from: found.from, count: found.count, at: current })
            continue
          }
        }
        if (pending.mode === "create" && current.version > 0) {
          settle(pending, Exit.fail(new StreamAlreadyExists({ streamId, version: current.version })))
          continue
        }
        if (pending.mode === "update" && current.version === 0) {
          settle(pending, Exit.fail(new StreamNotFound({ streamId })))
          continue
        }
        if (expectedVersion !== undefined && expectedVersion !== current.version) {
          settle(
            pending,
            Exit.fail(
              new ConcurrencyConflict({
                streamId,
                expected: ExpectedVersion.exact(expectedVersion),
                actual: current.version
              })
            )
          )
          continue
        }
        const decided = yield* Effect.exit(decider.decide(pending.command, current.state))
        if (Exit.isFailure(decided)) {
          settle(pending, Exit.failCause(decided.cause))
          continue
        }
        const events = decided.value
        if (events.length === 0) {
          settle(pending, Exit.succeed({ streamId, state: current.state, version: current.version, events: [] }))
          continue
        }
        if (events.length > limits.maxEventsPerAppend) {
          settle(
            pending,
            Exit.fail(new TooManyEvents({ streamId, count: events.length, max: limits.maxEventsPerAppend }))
          )
          continue
        }
        if (now === undefined) now = yield* DateTime.now
        const metadata = metadataOf(pending.options, now)
        const data: Array<EventData.EventData> = []
        let state = current.state
        let invalid: InvalidAppend | undefined
        for (let index = 0; index < events.length; index++) {
          const event = events[index]!
          const encoded = codec.encode(event)
          if (Result.isFailure(encoded)) {
            invalid = new InvalidAppend({
              streamId,
              index,
              reason: `the event schema rejects it: ${encoded.failure.message}`
            })
            break
          }
          const eventId =
            commandId === undefined
              ? index === 0
                ? metadata.eventId
                : crypto.randomUUID()
              : CommandId.eventId(streamId, commandId, index)
          data.push({ type: encoded.success.type, data: encoded.success.data, metadata: { ...metadata, eventId } })
          state = decider.evolve(state, event)
        }
        if (invalid !== undefined) {
          settle(pending, Exit.fail(invalid))
          continue
        }
        const after: Entry = {
          state,
          version: current.version + events.length,
          recent:
            commandId === undefined
              ? current.recent
              : CommandId.add(
                  current.recent,
                  data.map((d) => d.metadata.eventId),
                  data.map((_, index) => current.version + index + 1),
                  window
                )
        }
        decisions.push({ _tag: "Append", pending, events, data, after })
        current = after
      }
      return decisions
    })

  /** Cuts the decisions into appends that fit the store's limits, at command boundaries. */
  const groupsOf = (
    entry: Entry,
    decisions: ReadonlyArray<Decision>,
    limits: EventStore["Service"]["limits"],
    singly: boolean
  ): Array<Group> => {
    const groups: Array<Group> = []
    // Sizes only matter when several commands share an append; one command's append is the store's to check.
    let appends = 0
    for (const decision of decisions) if (decision._tag === "Append") appends++
    const measure = appends > 1
    let group: Group = { before: entry, after: entry, items: [], data: [] }
    let size = 0
    for (const decision of decisions) {
      if (decision._tag === "Append") {
        const extra = measure ? decision.data.reduce((total, event) => total + approximateSize(event), 0) : 0
        const full =
          group.data.length > 0 &&
          (singly ||
            group.data.length + decision.data.length > limits.maxEventsPerAppend ||
            size + extra > limits.maxAppendSize)
        if (full) {
          groups.push(group)
          group = { before: group.after, after: group.after, items: [], data: [] }
          size = 0
        }
        group.data.push(...decision.data)
        group.after = decision.after
        size += extra
      }
      group.items.push(decision)
    }
    groups.push(group)
    return groups
  }

  // Running a batch ------------------------------------------------------------

  /** Completes each caller of a group; only callers of earlier commands (duplicates) need a read. */
  const resolveGroup = (
    store: EventStore["Service"],
    streamId: StreamId.StreamId,
    group: Group,
    partitionAndPositions:
      | { readonly partition: RecordedEvent<Event>["partition"]; readonly positions: ReadonlyArray<number> }
      | undefined
  ): Effect.Effect<void> => {
    let offset = 0
    let version = group.before.version
    let duplicates: Array<Extract<Decision, { readonly _tag: "Duplicate" }>> | undefined
    for (const item of group.items) {
      switch (item._tag) {
        case "Settled":
          Deferred.doneUnsafe(item.pending.deferred, item.exit)
          break
        case "Duplicate":
          duplicates ??= []
          duplicates.push(item)
          break
        case "Append": {
          const events = item.events.map((event, index): RecordedEvent<Event> => {
            const stored = item.data[index]!
            return {
              event,
              type: stored.type,
              streamId,
              version: version + index + 1,
              partition: partitionAndPositions!.partition,
              position: partitionAndPositions!.positions[offset + index]!,
              metadata: stored.metadata
            }
          })
          offset += item.events.length
          version += item.events.length
          Deferred.doneUnsafe(
            item.pending.deferred,
            Exit.succeed({ streamId, state: item.after.state, version: item.after.version, events })
          )
          break
        }
      }
    }
    if (duplicates === undefined) return Effect.void
    return Effect.forEach(
      duplicates,
      (item) =>
        Effect.map(Effect.exit(readEarlier(store, streamId, item.from, item.count)), (earlier) => {
          Deferred.doneUnsafe(
            item.pending.deferred,
            Exit.map(earlier, (events) => ({ streamId, state: item.at.state, version: item.at.version, events }))
          )
        }),
      { discard: true }
    )
  }

  const readEarlier = (store: EventStore["Service"], streamId: StreamId.StreamId, from: number, count: number) =>
    Effect.flatMap(Stream.runCollect(Stream.take(store.readStream(streamId, { from }), count)), (stored) =>
      Effect.forEach(stored, (event) => codec.decodeStored(event))
    )

  const failAll = (queue: ReadonlyArray<Pending>, cause: Cause.Cause<Failure>) => {
    for (const pending of queue) Deferred.doneUnsafe(pending.deferred, Exit.failCause(cause))
  }

  const processBatch = (
    store: EventStore["Service"],
    shared: Shared,
    key: string,
    streamId: StreamId.StreamId,
    batch: ReadonlyArray<Pending>
  ) =>
    Effect.gen(function* () {
      yield* Metric.update(commands, batch.length)
      let entry: Entry
      let fresh: boolean
      const cached = shared.cache?.get(key)
      if (cached !== undefined) {
        entry = cached
        fresh = false
      } else {
        const loaded = yield* Effect.exit(coldLoad(store, streamId))
        if (Exit.isFailure(loaded)) return failAll(batch, loaded.cause)
        entry = loaded.value
        fresh = true
      }
      let queue = batch
      let attempts = 1
      let singly = false
      let step: ((input: unknown) => Effect.Effect<unknown, unknown>) | undefined
      next: while (queue.length > 0) {
        const decisions = yield* decideAll(streamId, store.limits, entry, queue)
        for (const group of groupsOf(entry, decisions, store.limits, singly)) {
          // What was decided on a cached state without writing (a refusal, a no-op, a command id already run) is
          // only valid if that state is current: an empty append under its version confirms it cheaply.
          const mustCheck = !fresh && group.items.some((item) => item._tag === "Settled" || item._tag === "Duplicate")
          if (group.data.length === 0 && !mustCheck) {
            yield* resolveGroup(store, streamId, group, undefined)
            queue = queue.filter((pending) => !group.items.some((item) => item.pending === pending))
            continue
          }
          const expected =
            group.before.version === 0 ? ExpectedVersion.noStream : ExpectedVersion.exact(group.before.version)
          const snapshot =
            snapshots === undefined
              ? undefined
              : snapshots.forGroup(group.before.version, group.after, group.data.length, store.limits)
          const appended = yield* Effect.exit(
            snapshot === undefined
              ? store.append(streamId, group.data, expected)
              : store.append(streamId, group.data, expected, { snapshot }).pipe(
                  // A snapshot is an optimisation and never makes a valid command fail: a refusal leaves nothing
                  // written, so the same append without it is safe (and fails the same way if the events alone are the problem).
                  Effect.catchIf(refusesSnapshot, () => store.append(streamId, group.data, expected))
                )
          )
          if (Exit.isSuccess(appended)) {
            entry = group.after
            fresh = true
            shared.cache?.set(key, entry)
            yield* resolveGroup(store, streamId, group, appended.value)
            queue = queue.filter((pending) => !group.items.some((item) => item.pending === pending))
            continue
          }
          const error = Cause.findErrorOption(appended.cause)
          if (Option.isSome(error) && error.value._tag === "ConcurrencyConflict") {
            yield* Metric.update(conflicts, 1)
            const conflict = error.value
            shared.cache?.delete(key)
            // Commands pinned to a version are never retried: catching up decides their conflict. A stale cached
            // state found by an empty confirming append is no contention: catch up and decide again at once.
            if (group.data.length > 0 && !queue.every((pending) => pending.options.expectedVersion !== undefined)) {
              step ??= yield* Schedule.toStepWithSleep(retry)
              const more = yield* Effect.exit(step(conflict))
              if (Exit.isFailure(more)) {
                return failAll(
                  queue,
                  Cause.fail(
                    new RetriesExhausted({
                      streamId,
                      attempts,
                      expected: group.before.version,
                      actual: conflict.actual
                    })
                  )
                )
              }
              attempts++
            }
            const caught = yield* Effect.exit(readFrom(store, streamId, entry))
            if (Exit.isFailure(caught)) return failAll(queue, caught.cause)
            entry = caught.value
            fresh = true
            continue next
          }
          if (
            Option.isSome(error) &&
            (error.value._tag === "TooManyEvents" ||
              error.value._tag === "EventTooLarge" ||
              error.value._tag === "AppendTooLarge")
          ) {
            const appends = group.items.filter((item) => item._tag === "Append")
            if (appends.length > 1 && !singly) {
              singly = true
              continue next
            }
            // One command's events are too much for one append: it fails, the others are decided again without it.
            const culprit = appends[0]?.pending
            if (culprit === undefined) return failAll(queue, appended.cause)
            Deferred.doneUnsafe(culprit.deferred, Exit.failCause(appended.cause))
            queue = queue.filter((pending) => pending !== culprit)
            continue next
          }
          // Any other failure leaves the outcome unknown: forget the cached state, report it to every caller left.
          shared.cache?.delete(key)
          return failAll(queue, appended.cause)
        }
      }
      if (fresh) shared.cache?.set(key, entry)
    }).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          if (Exit.isFailure(exit)) {
            shared.cache?.delete(key)
            for (const pending of batch)
              Deferred.doneUnsafe(pending.deferred, Exit.failCause(exit.cause as Cause.Cause<never>))
          }
        })
      ),
      (self: Effect.Effect<void>): Effect.Effect<void> =>
        batch.length === 1
          ? self
          : self.pipe(
              Effect.withSpan(
                "CommandHandler.batch",
                { attributes: { "eventable.commands": batch.length } },
                traceOptions
              )
            )
    )

  /**
   * Frees the stream for the next command, if `lane` still holds it: once a lane is freed, a new
   * command may open another lane for the stream, which an old lane's late clean-up must never
   * delete (two lanes would then decide on one stream side by side).
   */
  const release = (shared: Shared, key: string, lane: Lane) => {
    if (shared.lanes.get(key) === lane) shared.lanes.delete(key)
  }

  const drain = (
    store: EventStore["Service"],
    shared: Shared,
    key: string,
    streamId: StreamId.StreamId,
    lane: Lane
  ): Effect.Effect<void> =>
    Effect.suspend(() => {
      const batch = lane.queue.splice(0, maxBatch)
      if (batch.length === 0) {
        release(shared, key, lane)
        return Effect.void
      }
      return Effect.andThen(
        processBatch(store, shared, key, streamId, batch),
        drain(store, shared, key, streamId, lane)
      )
    })

  const handOff = (
    store: EventStore["Service"],
    shared: Shared,
    key: string,
    streamId: StreamId.StreamId,
    lane: Lane
  ) =>
    Effect.suspend(() => {
      if (lane.queue.length === 0) {
        release(shared, key, lane)
        return Effect.void
      }
      return Effect.asVoid(
        Effect.forkDetach(
          drain(store, shared, key, streamId, lane).pipe(
            Effect.onExit(() =>
              Effect.sync(() => {
                release(shared, key, lane)
                for (const pending of lane.queue.splice(0)) Deferred.doneUnsafe(pending.deferred, Exit.interrupt())
              })
            )
          )
        )
      )
    })

  const submit = (mode: Mode, streamId: StreamId.StreamId, command: Command, options: ExecuteOptions) =>
    Effect.flatMap(Effect.service(EventStore), (store) => {
      const shared = sharedOf(store)
      const key = streamKey(streamId)
      const deferred = Deferred.makeUnsafe<Result, Failure>()
      const pending: Pending = { mode, command, options, deferred }
      const lane = shared.lanes.get(key)
      if (lane !== undefined) {
        // Another command holds the stream: wait for its turn (and maybe share its append).
        lane.queue.push(pending)
        return Deferred.await(deferred).pipe(
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              const at = lane.queue.indexOf(pending)
              if (at >= 0) lane.queue.splice(at, 1)
            })
          )
        )
      }
      // The stream is free: run this command here, then hand the queue that formed meanwhile to a worker.
      const own: Lane = { queue: [] }
      shared.lanes.set(key, own)
      return processBatch(store, shared, key, streamId, [pending]).pipe(
        Effect.ensuring(handOff(store, shared, key, streamId, own)),
        Effect.andThen(Deferred.await(deferred))
      )
    })

  const run = (mode: Mode) => {
    const name = `CommandHandler.${mode}`
    return (target: Target, command: Command, options: ExecuteOptions = {}) => {
      if (invalidOption !== undefined) return Effect.fail(invalidOption)
      const invalid = checkOptions(name, options)
      if (invalid !== undefined) return Effect.fail(invalid)
      const streamId = StreamId.validate({ tenant: target.tenant, category, id: target.id })
      if (Result.isFailure(streamId)) return Effect.fail(streamId.failure)
      return submit(mode, streamId.success, command, options).pipe(
        Effect.withSpan(
          name,
          { attributes: { "eventable.stream": StreamId.format(streamId.success), "eventable.mode": mode } },
          traceOptions
        )
      )
    }
  }

  return {
    category,
    execute: run("execute"),
    create: run("create"),
    update: run("update"),
    load: (target) =>
      Effect.gen(function* () {
        if (invalidOption !== undefined) return yield* invalidOption
        const streamId = yield* StreamId.make({ tenant: target.tenant, category, id: target.id })
        const store = yield* EventStore
        const entry = yield* coldLoad(store, streamId)
        return { streamId, state: entry.state, version: entry.version }
      }).pipe(Effect.withSpan("CommandHandler.load", undefined, traceOptions))
  }

  function makeSnapshotCodec(settings: SnapshotOptions<State>) {
    const every = positive("snapshots.every", settings.every, 1)
    const Body = Schema.Struct({
      state: settings.schema,
      ids: Schema.Array(Schema.String),
      versions: Schema.Array(Schema.Number)
    })
    const json = Schema.fromJsonString(Schema.toCodecJson(Body))
    const encode = Schema.encodeResult(json)
    const decode = Schema.decodeUnknownResult(json)
    return {
      /**
       * The snapshot to write with an append of `count` events from `before` to `after`, when it crosses a
       * multiple of `every` and the store's limits leave room for it (it takes at least one event's room, and
       * its data may cost up to 3 bytes per UTF-16 unit in a store that measures UTF-8).
       */
      forGroup: (before: number, after: Entry, count: number, limits: StoreLimits): Snapshot | undefined => {
        if (Math.floor(before / every) === Math.floor(after.version / every)) return undefined
        if (count >= limits.maxEventsPerAppend) return undefined
        const encoded = encode({ state: after.state, ids: after.recent.ids, versions: after.recent.versions })
        if (Result.isFailure(encoded) || encoded.success.length * 3 > limits.maxAppendSize) return undefined
        return { version: after.version, data: encoded.success }
      },
      /** The entry a snapshot holds, or undefined when it no longer decodes (then the stream is replayed in full). */
      decode: (snapshot: Snapshot): Entry | undefined => {
        const decoded = decode(snapshot.data)
        return Result.isSuccess(decoded)
          ? {
              state: decoded.success.state,
              version: snapshot.version,
              recent: { ids: decoded.success.ids, versions: decoded.success.versions }
            }
          : undefined
      }
    }
  }
}

/** Why `value` is not a positive safe integer, or `undefined` when it is one. */
const positiveProblem = (value: unknown): string | undefined =>
  Arguments.countProblem(value) ?? (value === 0 ? "must be at least 1" : undefined)

/** Whether an append that carried a snapshot may have been refused because of it (then nothing was written). */
const refusesSnapshot = (error: AppendError): boolean =>
  error._tag === "TooManyEvents" ||
  error._tag === "EventTooLarge" ||
  error._tag === "AppendTooLarge" ||
  (error._tag === "InvalidAppend" && error.index === undefined)

/** The first problem of a command's options, before it is queued: an expected version must be a count. */
const checkOptions = (operation: string, options: ExecuteOptions): InvalidArgument | undefined =>
  options.expectedVersion === undefined
    ? undefined
    : Arguments.count(operation, "expectedVersion", options.expectedVersion)

/** An upper estimate of an event's size in UTF-16 bytes, to cut batches before the store would refuse them. */
const approximateSize = (event: EventData.EventData): number => EventData.utf16Bytes(event) + 1024

/** The metadata of one command's events (as `EventMetadata.make` builds it), stamped with a time read once per batch. */
const metadataOf = (options: EventMetadata.MetadataOptions, occurredAt: DateTime.Utc): EventMetadata.EventMetadata => ({
  eventId: crypto.randomUUID(),
  occurredAt,
  ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
  ...(options.causationId === undefined ? {} : { causationId: options.causationId }),
  ...(options.custom === undefined ? {} : { custom: options.custom })
})

const streamKey = (streamId: StreamId.StreamId): string =>
  `${streamId.tenant}\u0000${streamId.category}\u0000${streamId.id}`
