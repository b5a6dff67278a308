/**
 * Runs commands against event-sourced aggregates: load the stream, fold it
 * into state, decide, and append the new events under the version that was
 * loaded. If another writer got there first (`ConcurrencyConflict`), it reloads
 * and decides again, under a `Schedule` (by default a few jittered retries).
 *
 * - `execute` works on new and existing streams alike.
 * - `create` requires that the stream does not exist (`StreamAlreadyExists`).
 * - `update` requires that it does (`StreamNotFound`).
 * - `expectedVersion` (e.g. from an HTTP `If-Match`) pins the version the
 *   caller saw: if the stream has moved on, the command fails with a
 *   `ConcurrencyConflict` and is not retried.
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
 *   { correlationId: "req-1" }
 * ).pipe(Effect.provide(InMemoryEventStore.layer()))
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Metric, Option, Result, Schedule, Stream } from "effect"
import type { Decider } from "./Decider.ts"
import type { EventCodec } from "./EventCodec.ts"
import type { EventData } from "./EventData.ts"
import * as EventMetadata from "./EventMetadata.ts"
import { EventStore } from "./EventStore.ts"
import {
  type AppendError,
  ConcurrencyConflict,
  CorruptEvent,
  InvalidAppend,
  type ReadError,
  StreamAlreadyExists,
  StreamNotFound
} from "./EventStoreError.ts"
import * as ExpectedVersion from "./ExpectedVersion.ts"
import type { RecordedEvent } from "./RecordedEvent.ts"
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
 * Per-command options: the caller's expected version and the metadata to stamp
 * on the new events.
 *
 * @since 0.1.0
 */
export interface ExecuteOptions extends EventMetadata.MetadataOptions {
  /** The version the caller saw. When the stream has moved on, fails with `ConcurrencyConflict`, without retrying. */
  readonly expectedVersion?: number
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
export type CommandError = StreamId.InvalidStreamId | StreamNotFound | StreamAlreadyExists | AppendError | ReadError

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
  /** Loads and folds a stream without deciding anything. */
  readonly load: (target: Target) => Effect.Effect<Loaded<State>, StreamId.InvalidStreamId | ReadError, EventStore>
}

/**
 * The default retry policy on `ConcurrencyConflict`: up to 4 retries,
 * exponential from 5 ms, jittered.
 *
 * @since 0.1.0
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.exponential("5 millis").pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 4 })
)

const commands = Metric.counter("eventable_commands_total", { description: "Commands executed by command handlers" })
const conflicts = Metric.counter("eventable_command_conflicts_total", {
  description: "Concurrency conflicts seen by command handlers (each one is retried or returned)"
})

type Mode = "execute" | "create" | "update"

/**
 * Builds a command handler from a decider, a codec and a category.
 *
 * @since 0.1.0
 */
export const make = <Command, Event, State, DomainError>(options: {
  readonly category: string
  readonly decider: Decider<Command, Event, State, DomainError>
  readonly codec: EventCodec<Event>
  /** Retry policy on `ConcurrencyConflict`; {@link defaultRetry} when omitted. */
  readonly retry?: Schedule.Schedule<unknown, unknown>
}): CommandHandler<Command, Event, State, DomainError> => {
  const { category, codec, decider } = options
  const retry = options.retry ?? defaultRetry

  const streamIdOf = (target: Target) => StreamId.make({ tenant: target.tenant, category, id: target.id })

  const loadStream = Effect.fn("CommandHandler.load")(function* (streamId: StreamId.StreamId) {
    const store = yield* EventStore
    yield* Effect.annotateCurrentSpan({ "eventable.stream": StreamId.format(streamId) })
    return yield* Stream.runFoldEffect(
      store.readStream(streamId),
      (): Loaded<State> => ({ streamId, state: decider.initialState, version: 0 }),
      (loaded, stored) => {
        if (stored.version !== loaded.version + 1) {
          return Effect.fail(
            new CorruptEvent({
              stream: StreamId.format(streamId),
              version: stored.version,
              type: stored.type,
              reason: `expected version ${loaded.version + 1} next, the store returned ${stored.version}`
            })
          )
        }
        // An event of a type the codec skips (see `EventCodec`'s `unknownTypes`) still counts as a version.
        return Effect.map(codec.decodeKnown(stored), (recorded) => ({
          streamId,
          state: Option.isSome(recorded) ? decider.evolve(loaded.state, recorded.value.event) : loaded.state,
          version: stored.version
        }))
      }
    )
  })

  const encode = (
    streamId: StreamId.StreamId,
    events: ReadonlyArray<Event>,
    options: ExecuteOptions
  ): Effect.Effect<ReadonlyArray<EventData>, InvalidAppend> =>
    Effect.forEach(events, (event, index) =>
      Effect.flatMap(EventMetadata.make(options), (metadata) => {
        const encoded = codec.encode(event)
        return Result.isSuccess(encoded)
          ? Effect.succeed({ type: encoded.success.type, data: encoded.success.data, metadata })
          : Effect.fail(
              new InvalidAppend({ streamId, index, reason: `the event schema rejects it: ${encoded.failure.message}` })
            )
      })
    )

  const attempt = (mode: Mode, streamId: StreamId.StreamId, command: Command, options: ExecuteOptions) =>
    Effect.gen(function* () {
      const loaded = yield* loadStream(streamId)
      if (mode === "create" && loaded.version > 0) {
        return yield* new StreamAlreadyExists({ streamId, version: loaded.version })
      }
      if (mode === "update" && loaded.version === 0) return yield* new StreamNotFound({ streamId })
      if (options.expectedVersion !== undefined && options.expectedVersion !== loaded.version) {
        return yield* new ConcurrencyConflict({
          streamId,
          expected: ExpectedVersion.exact(options.expectedVersion),
          actual: loaded.version
        })
      }
      const events = yield* decider.decide(command, loaded.state)
      if (events.length === 0) return { ...loaded, events: [] }
      const data = yield* encode(streamId, events, options)
      const store = yield* EventStore
      const expected = loaded.version === 0 ? ExpectedVersion.noStream : ExpectedVersion.exact(loaded.version)
      const appended = yield* store.append(streamId, data, expected)
      let state = loaded.state
      const recorded = events.map((event, index): RecordedEvent<Event> => {
        state = decider.evolve(state, event)
        const stored = data[index]!
        return {
          event,
          type: stored.type,
          streamId,
          version: loaded.version + index + 1,
          partition: appended.partition,
          position: appended.positions[index]!,
          metadata: stored.metadata
        }
      })
      return { streamId, state, version: appended.version, events: recorded }
    })

  const run = (mode: Mode) =>
    Effect.fn(`CommandHandler.${mode}`)(function* (target: Target, command: Command, options: ExecuteOptions = {}) {
      const streamId = yield* streamIdOf(target)
      yield* Effect.annotateCurrentSpan({ "eventable.stream": StreamId.format(streamId), "eventable.mode": mode })
      yield* Metric.update(commands, 1)
      const pinned = options.expectedVersion !== undefined
      return yield* attempt(mode, streamId, command, options).pipe(
        Effect.tapError((error) => (isConflict(error) ? Metric.update(conflicts, 1) : Effect.void)),
        Effect.retry({ schedule: retry, while: (error: unknown) => !pinned && isConflict(error) })
      )
    })

  return {
    category,
    execute: run("execute"),
    create: run("create"),
    update: run("update"),
    load: (target) => Effect.flatMap(streamIdOf(target), loadStream)
  }
}

const isConflict = (error: unknown): error is ConcurrencyConflict =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "ConcurrencyConflict"
