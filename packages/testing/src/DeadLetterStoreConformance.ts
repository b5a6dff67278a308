/**
 * The contract every `DeadLetterStore` backend must keep, as a suite of
 * @effect/vitest tests. Call {@link run} from a test file with your store's
 * Layer; it registers the tests. Each test works in a fresh consumer group.
 *
 * Covered: a parked event reads back exactly (type, data, metadata, stream,
 * version, partition, position) with its error, attempts and time; parking
 * the same event again keeps one entry; listing is by partition then
 * position, one group only, and narrows to a partition; removal, and removal
 * of an absent entry; large events; long errors cut to `maxErrorLength`;
 * group names with characters that keys cannot hold; malformed input
 * refused with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { InMemoryDeadLetterStore } from "@eventable/core"
 * import { DeadLetterStoreConformance } from "@eventable/testing"
 *
 * DeadLetterStoreConformance.run("in-memory", InMemoryDeadLetterStore.layer)
 * ```
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import {
  type DeadLetter,
  DeadLetterStore,
  EventMetadata,
  maxErrorLength,
  Partition,
  type StoredEvent,
  StreamId
} from "@eventable/core"
import { DateTime, Effect, Exit, type Layer, Option } from "effect"

/**
 * Options of the suite.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Timeout of each test in milliseconds (default 60,000). */
  readonly timeout?: number
}

let groupCounter = 0
const freshGroup = (): string =>
  `dl${Date.now().toString(36)}${(groupCounter++).toString(36)}${crypto.randomUUID().slice(0, 6)}`

const storedEvent = (
  partition: Partition.Partition,
  position: number,
  options: { readonly id?: string; readonly data?: string; readonly metadata?: EventMetadata.MetadataOptions } = {}
): Effect.Effect<StoredEvent> =>
  Effect.gen(function* () {
    const streamId = yield* StreamId.make({
      tenant: partition.tenant,
      category: partition.category,
      id: options.id ?? `s-${position}`
    }).pipe(Effect.orDie)
    return {
      type: "Failed",
      data: options.data ?? JSON.stringify({ position }),
      metadata: yield* EventMetadata.make(options.metadata ?? {}),
      streamId,
      version: position + 1,
      partition,
      position
    }
  })

const letter = (group: string, event: StoredEvent, error = "boom", attempts = 3): DeadLetter => ({
  group,
  event,
  error,
  attempts,
  parkedAt: 1_700_000_000_123
})

/** A dead letter as the suite compares it: the event time as epoch milliseconds. */
const comparable = (dead: DeadLetter) => ({
  ...dead,
  event: {
    ...dead.event,
    metadata: { ...dead.event.metadata, occurredAt: DateTime.toEpochMillis(dead.event.metadata.occurredAt) }
  }
})

const tagOf = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) =>
    Exit.isSuccess(exit)
      ? "Success"
      : Option.match(Exit.findErrorOption(exit), { onNone: () => "Defect", onSome: (e) => e._tag })
  )

/**
 * Registers the conformance tests for a dead-letter store Layer.
 *
 * @since 0.1.0
 */
export const run = <E>(name: string, storeLayer: Layer.Layer<DeadLetterStore, E>, options: Options = {}): void => {
  const timeout = options.timeout ?? 60_000
  const acme = Partition.make("acme", "order", 0)

  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(
    `DeadLetterStore conformance: ${name}`,
    (it) => {
      it.effect(
        "given a parked event, when listed, then it reads back exactly with its error, attempts and time",
        () =>
          Effect.gen(function* () {
            const letters = yield* DeadLetterStore
            const group = freshGroup()
            const event = yield* storedEvent(acme, 7, {
              data: JSON.stringify({ text: "ünïcødé ✓ 漢字 😀", quote: `'"\\` }),
              metadata: { correlationId: "c-1", causationId: "cmd-1", custom: { user: "ada" } }
            })
            const parked = letter(group, event, "handler failed: Error: boom\n  at handler", 4)

            yield* letters.park(parked)

            assert.deepStrictEqual((yield* letters.list(group)).map(comparable), [comparable(parked)])
            assert.deepStrictEqual(yield* letters.list(freshGroup()), [])
          }),
        timeout
      )

      it.effect(
        "given a parked event, when it is parked again, then one entry holds the latest error",
        () =>
          Effect.gen(function* () {
            const letters = yield* DeadLetterStore
            const group = freshGroup()
            const event = yield* storedEvent(acme, 2)

            yield* letters.park(letter(group, event, "first", 1))
            yield* letters.park(letter(group, event, "second", 2))

            const listed = yield* letters.list(group)
            assert.deepStrictEqual(
              listed.map((l) => [l.event.position, l.error, l.attempts]),
              [[2, "second", 2]]
            )
          }),
        timeout
      )

      it.effect(
        "given events of several partitions, when listed, then by partition then position, and a filter narrows to one partition",
        () =>
          Effect.gen(function* () {
            const letters = yield* DeadLetterStore
            const group = freshGroup()
            const parts = [Partition.make("zeta", "order", 0), Partition.make("acme", "order", 1), acme]
            const positions = [12, 3, 100, 1]
            yield* Effect.forEach(
              parts.flatMap((p) => positions.map((n) => [p, n] as const)),
              ([p, n]) => Effect.flatMap(storedEvent(p, n), (e) => letters.park(letter(group, e))),
              { concurrency: 4 }
            )

            const all = yield* letters.list(group)
            const one = yield* letters.list(group, { partition: Partition.make("acme", "order", 1) })

            const sorted = [...positions].sort((a, b) => a - b)
            assert.deepStrictEqual(
              all.map((l) => [Partition.format(l.event.partition), l.event.position]),
              [...parts].sort(Partition.compare).flatMap((p) => sorted.map((n) => [Partition.format(p), n]))
            )
            assert.deepStrictEqual(
              one.map((l) => [Partition.format(l.event.partition), l.event.position]),
              sorted.map((n) => ["acme/order#1", n])
            )
          }),
        timeout
      )

      it.effect(
        "given parked events, when one is removed (and an absent one), then only that one is gone",
        () =>
          Effect.gen(function* () {
            const letters = yield* DeadLetterStore
            const group = freshGroup()
            yield* Effect.forEach([1, 2, 3], (n) =>
              Effect.flatMap(storedEvent(acme, n), (e) => letters.park(letter(group, e)))
            )

            yield* letters.remove(group, acme, 2)
            yield* letters.remove(group, acme, 2)
            yield* letters.remove(group, acme, 99)
            yield* letters.remove(freshGroup(), acme, 1)

            assert.deepStrictEqual(
              (yield* letters.list(group)).map((l) => l.event.position),
              [1, 3]
            )
          }),
        timeout
      )

      it.effect(
        "given a large event and a long error, when parked, then the event reads back whole and the error is cut",
        () =>
          Effect.gen(function* () {
            const letters = yield* DeadLetterStore
            const group = freshGroup()
            const data = JSON.stringify({ blob: "😀x".repeat(60_000) })
            const event = yield* storedEvent(acme, 5, { data })
            const error = "e".repeat(maxErrorLength + 500)

            yield* letters.park(letter(group, event, error))

            const [back] = yield* letters.list(group)
            const got = back?.event.data ?? ""
            let at = 0
            while (at < got.length && got[at] === data[at]) at++
            assert.deepStrictEqual(
              [got.length, at],
              [data.length, data.length],
              "event data differs from this index on"
            )
            assert.strictEqual(back?.error.length, maxErrorLength)
            assert.isTrue(back?.error.endsWith("…"))
            assert.isTrue(error.startsWith(back?.error.slice(0, -1) ?? "-"))
          }),
        timeout
      )

      it.effect(
        "given group names with characters keys cannot hold, when parked and listed, then no two groups share an entry",
        () =>
          Effect.gen(function* () {
            const letters = yield* DeadLetterStore
            const base = freshGroup()
            const groups = [base, `${base}|`, `${base}|x`, `${base}~7C`, `${base}/#?\\%`, `${base}😀`]
            yield* Effect.forEach(groups, (group, g) =>
              Effect.flatMap(storedEvent(acme, g + 1), (e) => letters.park(letter(group, e)))
            )

            for (const [g, group] of groups.entries()) {
              const listed = yield* letters.list(group)
              assert.deepStrictEqual(
                listed.map((l) => [l.group, l.event.position]),
                [[group, g + 1]]
              )
            }
          }),
        timeout
      )

      it.effect(
        "given malformed groups, partitions, positions and attempts, when used, then each is InvalidArgument",
        () =>
          Effect.gen(function* () {
            const letters = yield* DeadLetterStore
            const group = freshGroup()
            const good = yield* storedEvent(acme, 1)
            const results = [
              yield* tagOf(letters.park(letter("", good))),
              yield* tagOf(letters.park(letter("a\u0000", good))),
              yield* tagOf(letters.park(letter(group, { ...good, position: 0 }))),
              yield* tagOf(letters.park(letter(group, { ...good, position: Number.NaN }))),
              yield* tagOf(letters.park(letter(group, good, "x", -1))),
              yield* tagOf(letters.park(letter(group, { ...good, partition: Partition.make("", "order", 0) }))),
              yield* tagOf(letters.list("")),
              yield* tagOf(letters.list(group, { partition: Partition.make("acme", "order", -1) })),
              yield* tagOf(letters.remove(group, acme, 1.5)),
              yield* tagOf(letters.remove("g".repeat(129), acme, 1))
            ]

            for (const result of results) assert.strictEqual(result, "InvalidArgument")
            assert.deepStrictEqual(yield* letters.list(group), [])
          }),
        timeout
      )
    }
  )
}
