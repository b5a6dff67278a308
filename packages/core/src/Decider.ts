/**
 * An aggregate as pure functions: `decide` turns a command and the current
 * state into new events (or a domain error), `evolve` folds one event into the
 * state, and `initialState` is where every stream starts. No I/O: decide has
 * no requirements, so it is trivially testable.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Decider } from "@eventable/core"
 *
 * class Incremented extends Schema.TaggedClass<Incremented>()("Incremented", { by: Schema.Number }) {}
 * class TooBig extends Schema.TaggedError<TooBig>()("TooBig", { max: Schema.Number }) {}
 *
 * const counter = Decider.make({
 *   initialState: 0,
 *   evolve: (total: number, event: Incremented) => total + event.by,
 *   decide: (command: { readonly by: number }, total: number) =>
 *     total + command.by > 10 ? Effect.fail(new TooBig({ max: 10 })) : Effect.succeed([new Incremented({ by: command.by })])
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"

/**
 * An aggregate as pure functions.
 *
 * @since 0.1.0
 */
export interface Decider<Command, Event, State, DomainError> {
  readonly initialState: State
  /** Must be pure: the same state and event always give the same state. */
  readonly evolve: (state: State, event: Event) => State
  /** May return no events: the command is then a no-op. */
  readonly decide: (command: Command, state: State) => Effect.Effect<ReadonlyArray<Event>, DomainError>
}

/**
 * Builds a decider, inferring its types from the functions.
 *
 * @since 0.1.0
 */
export const make = <Command, Event, State, DomainError = never>(
  decider: Decider<Command, Event, State, DomainError>
): Decider<Command, Event, State, DomainError> => decider

/**
 * Folds events into a state, starting from `state` (the initial state by default).
 *
 * @since 0.1.0
 */
export const fold = <Command, Event, State, DomainError>(
  decider: Decider<Command, Event, State, DomainError>,
  events: Iterable<Event>,
  state: State = decider.initialState
): State => {
  let current = state
  for (const event of events) current = decider.evolve(current, event)
  return current
}
