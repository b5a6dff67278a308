/**
 * An in-memory `DeadLetterStore` with the same semantics as the real
 * backends: one entry per (group, partition, position), parking overwrites,
 * listing by partition then position, the error text cut to
 * `maxErrorLength`. State lives as long as the Layer.
 *
 * @example
 * ```ts
 * import { InMemoryDeadLetterStore } from "@eventable/core"
 *
 * const TestDeadLetters = InMemoryDeadLetterStore.layer
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { type DeadLetter, DeadLetterStore, truncateError, validateDeadLetter } from "./DeadLetterStore.ts"
import * as Lease from "./Lease.ts"
import * as Partition from "./Partition.ts"

const entryKey = (partition: Partition.Partition, position: number): string =>
  `${Partition.key(partition)}\u0000${position}`

/**
 * Builds an empty in-memory dead-letter store.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<DeadLetterStore["Service"]> = Effect.sync(() => {
  const groups = new Map<string, Map<string, DeadLetter>>()
  return DeadLetterStore.of({
    park: (letter) =>
      Effect.andThen(
        validateDeadLetter(letter),
        Effect.sync(() => {
          let letters = groups.get(letter.group)
          if (letters === undefined) {
            letters = new Map()
            groups.set(letter.group, letters)
          }
          letters.set(entryKey(letter.event.partition, letter.event.position), {
            ...letter,
            error: truncateError(letter.error)
          })
        })
      ),
    list: (group, filter = {}) =>
      Effect.gen(function* () {
        yield* Lease.validateGroup("list", group)
        const only = filter.partition
        if (only !== undefined) yield* Lease.validatePartition("list", only)
        return Array.from(groups.get(group)?.values() ?? [])
          .filter((letter) => only === undefined || Partition.key(letter.event.partition) === Partition.key(only))
          .sort(
            (a, b) => Partition.compare(a.event.partition, b.event.partition) || a.event.position - b.event.position
          )
      }),
    remove: (group, partition, position) =>
      Effect.gen(function* () {
        yield* Lease.validateGroup("remove", group)
        yield* Lease.validatePartition("remove", partition)
        yield* Lease.validateCount("remove", "position", position, 1)
        groups.get(group)?.delete(entryKey(partition, position))
      })
  })
})

/**
 * A Layer with a fresh, empty in-memory dead-letter store.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<DeadLetterStore> = Layer.effect(DeadLetterStore, make)
