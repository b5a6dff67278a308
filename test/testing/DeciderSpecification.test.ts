import { assert, describe, it } from "@effect/vitest"
import { Decider } from "@eventable/core"
import { DeciderSpecification } from "@eventable/testing"
import { Cause, Effect, Exit } from "effect"

type Event = { readonly _tag: "Added"; readonly n: number }
const adder = Decider.make<number, Event, number, string>({
  initialState: 0,
  evolve: (total, event) => total + event.n,
  decide: (n, total) =>
    n === 0
      ? Effect.succeed([])
      : total + n > 10
        ? Effect.fail(`too big: ${total + n}`)
        : Effect.succeed([{ _tag: "Added", n }])
})
const spec = DeciderSpecification.for(adder)
const added = (n: number): Event => ({ _tag: "Added", n })

/** The specification's verdict: undefined when it passed, the assertion message when it failed. */
const verdict = <A, E>(check: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(check), (exit) => (Exit.isSuccess(exit) ? undefined : Cause.pretty(exit.cause)))

describe("DeciderSpecification", () => {
  it.effect("given past events, when the decided events match, then it passes", () =>
    Effect.gen(function* () {
      assert.isUndefined(
        yield* verdict(
          spec
            .given([added(2)])
            .when(3)
            .then([added(3)])
        )
      )
    })
  )

  it.effect("given past events, when the decided events differ, then it fails with a diff", () =>
    Effect.gen(function* () {
      assert.include(
        yield* verdict(
          spec
            .given([added(2)])
            .when(3)
            .then([added(4)])
        ),
        "AssertionError"
      )
    })
  )

  it.effect("given a command that breaks a rule, when then() expects events, then it fails naming the error", () =>
    Effect.gen(function* () {
      assert.include(
        yield* verdict(
          spec
            .given([added(9)])
            .when(3)
            .then([added(3)])
        ),
        "too big: 12"
      )
    })
  )

  it.effect("given a broken rule, when thenFails() accepts the error, then it passes and returns the error", () =>
    Effect.gen(function* () {
      const error = yield* spec
        .given([added(9)])
        .when(3)
        .thenFails((e) => e.startsWith("too big"))
      assert.strictEqual(error, "too big: 12")
    })
  )

  it.effect("given a broken rule, when thenFails() rejects the error, then it fails", () =>
    Effect.gen(function* () {
      assert.include(
        yield* verdict(
          spec
            .given([added(9)])
            .when(3)
            .thenFails((e) => e === "other")
        ),
        "unexpected error"
      )
    })
  )

  it.effect("given a valid command, when thenFails() is expected, then it fails", () =>
    Effect.gen(function* () {
      assert.include(yield* verdict(spec.given([]).when(3).thenFails()), "expected a domain error")
    })
  )

  it.effect("given a no-op command, when thenNothingHappens(), then it passes; with events it fails", () =>
    Effect.gen(function* () {
      assert.isUndefined(
        yield* verdict(
          spec
            .given([added(1)])
            .when(0)
            .thenNothingHappens()
        )
      )
      assert.include(
        yield* verdict(
          spec
            .given([added(1)])
            .when(2)
            .thenNothingHappens()
        ),
        "expected no events"
      )
    })
  )
})
