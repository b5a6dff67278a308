/**
 * Given/when/then tests for deciders, without any store: given past events,
 * when a command is decided, then expect new events, a domain error, or nothing.
 * Each assertion is an Effect, ready for `it.effect`; a failed expectation is
 * a defect carrying an `AssertionError` with a readable diff.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { DeciderSpecification } from "@eventable/testing"
 *
 * const spec = DeciderSpecification.for(users)
 *
 * it.effect("a registered user can be renamed", () =>
 *   spec.given([registered]).when(new RenameUser({ name: "Grace" })).then([new UserNameChanged({ name: "Grace" })]))
 *
 * it.effect("a blocked user cannot be renamed", () =>
 *   spec.given([registered, blocked]).when(new RenameUser({ name: "Grace" })).thenFails((e) => e._tag === "UserIsBlocked"))
 * ```
 *
 * @since 0.1.0
 */

import assert from "node:assert/strict"
import { Decider } from "@eventable/core"
import { Effect, Exit } from "effect"

/**
 * The `then` step of a specification.
 *
 * @since 0.1.0
 */
export interface Then<Event, DomainError> {
  /** Expects exactly these events, in order (deep equality). */
  readonly then: (expected: ReadonlyArray<Event>) => Effect.Effect<void>
  /** Expects a domain error; the predicate, when given, must accept it. Succeeds with the error. */
  readonly thenFails: (predicate?: (error: DomainError) => boolean) => Effect.Effect<DomainError>
  /** Expects the command to be a no-op: no events, no error. */
  readonly thenNothingHappens: () => Effect.Effect<void>
}

/**
 * The `when` step of a specification.
 *
 * @since 0.1.0
 */
export interface When<Command, Event, DomainError> {
  readonly when: (command: Command) => Then<Event, DomainError>
}

/**
 * A specification for one decider.
 *
 * @since 0.1.0
 */
export interface DeciderSpecification<Command, Event, DomainError> {
  /** The events that already happened (none for a new stream). */
  readonly given: (events: ReadonlyArray<Event>) => When<Command, Event, DomainError>
}

const describe = (value: unknown): string => {
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

/**
 * Starts a specification for a decider.
 *
 * @since 0.1.0
 */
const forDecider = <Command, Event, State, DomainError>(
  decider: Decider.Decider<Command, Event, State, DomainError>
): DeciderSpecification<Command, Event, DomainError> => ({
  given: (history) => ({
    when: (command) => {
      const decided = Effect.suspend(() => decider.decide(command, Decider.fold(decider, history)))
      return {
        // biome-ignore lint/suspicious/noThenProperty: given/when/then is the specification's vocabulary; `Then` is never awaited
        then: (expected) =>
          Effect.flatMap(Effect.exit(decided), (exit) =>
            Effect.sync(() => {
              if (Exit.isFailure(exit)) {
                assert.fail(`expected events ${describe(expected)}, but decide failed: ${describe(exit.cause)}`)
              }
              assert.deepStrictEqual(exit.value, expected)
            })
          ),
        thenFails: (predicate) =>
          Effect.flatMap(Effect.result(decided), (result) =>
            Effect.sync(() => {
              if (result._tag === "Success") {
                assert.fail(`expected a domain error, but decide produced ${describe(result.success)}`)
              }
              if (predicate !== undefined && !predicate(result.failure)) {
                assert.fail(`decide failed with an unexpected error: ${describe(result.failure)}`)
              }
              return result.failure
            })
          ),
        thenNothingHappens: () =>
          Effect.flatMap(Effect.exit(decided), (exit) =>
            Effect.sync(() => {
              if (Exit.isFailure(exit)) assert.fail(`expected no events, but decide failed: ${describe(exit.cause)}`)
              assert.deepStrictEqual(exit.value, [], `expected no events, but decide produced ${describe(exit.value)}`)
            })
          )
      }
    }
  })
})

export { forDecider as for }
