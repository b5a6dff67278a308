/**
 * Small timing helpers: run a task several times, keep the median, and
 * alternate the contenders so that drift in the machine's load hits both.
 *
 * @since 0.1.0
 */
import { Effect, Record } from "effect"

/**
 * The median of some numbers.
 *
 * @since 0.1.0
 */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * How long an effect takes, in milliseconds.
 *
 * @since 0.1.0
 */
export const time = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<number, E, R> =>
  Effect.gen(function* () {
    const start = performance.now()
    yield* effect
    return performance.now() - start
  })

/**
 * Runs each contender `times` times, interleaved one operation at a time (and
 * in swapped order every other turn), and returns each one's median time per
 * operation in milliseconds. Interleaving single operations keeps a noisy
 * neighbour from favouring either side.
 *
 * @since 0.1.0
 */
export const interleave = <K extends string, E, R>(
  times: number,
  contenders: Record<K, Effect.Effect<unknown, E, R>>
): Effect.Effect<Record<K, number>, E, R> =>
  alternate(
    times,
    Record.map(contenders, (op) => () => op)
  )

/**
 * Runs `rounds` rounds of each contender, in alternating order, and returns
 * each one's median time in milliseconds.
 *
 * @since 0.1.0
 */
export const alternate = <K extends string, E, R>(
  rounds: number,
  contenders: Record<K, (round: number) => Effect.Effect<unknown, E, R>>
): Effect.Effect<Record<K, number>, E, R> =>
  Effect.gen(function* () {
    const names = Object.keys(contenders) as Array<K>
    const times = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<K, Array<number>>
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? names : [...names].reverse()
      for (const name of order) times[name].push(yield* time(contenders[name](round)))
    }
    return Object.fromEntries(names.map((name) => [name, median(times[name])])) as Record<K, number>
  })
