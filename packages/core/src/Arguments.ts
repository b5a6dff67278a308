/**
 * The argument checks every store runs before any request, so that every
 * store refuses a bad argument the same way: with an `InvalidArgument` that
 * names the operation, the argument and the value.
 *
 * - Counts (`from`, `after`, `limit`, `shard`, expected versions) must be
 *   non-negative safe integers: NaN, ±Infinity, negatives, fractions, values
 *   past 2^53 − 1 and non-numbers are refused.
 * - A partition must have a valid tenant and category (as in a `StreamId`)
 *   and a shard in `0 … Partition.maxShards − 1`.
 *
 * @example
 * ```ts
 * import { Arguments } from "@eventable/core"
 *
 * Arguments.countProblem(Number.NaN) // "must be a number, not NaN"
 * Arguments.countProblem(3) // undefined
 * ```
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { InvalidArgument } from "./EventStoreError.ts"
import type { ExpectedVersion } from "./ExpectedVersion.ts"
import * as Partition from "./Partition.ts"
import * as StreamId from "./StreamId.ts"

/**
 * Why `value` is not a count (a non-negative safe integer), or `undefined` when it is one.
 *
 * @since 0.1.0
 */
export const countProblem = (value: unknown): string | undefined => {
  if (typeof value !== "number") return `must be a number, got ${kindOf(value)}`
  if (Number.isNaN(value)) return "must be a number, not NaN"
  if (!Number.isFinite(value)) return "must be finite"
  if (!Number.isInteger(value)) return "must be a whole number"
  if (value < 0) return "must not be negative"
  if (!Number.isSafeInteger(value)) return `must be at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1)`
  return undefined
}

/** "null", "undefined", or the type with its article: "a string", "an object". */
const kindOf = (value: unknown): string =>
  value === null || value === undefined
    ? String(value)
    : /^[aeiou]/.test(typeof value)
      ? `an ${typeof value}`
      : `a ${typeof value}`

const show = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : String(value)

/**
 * An `InvalidArgument` when `value` is not a count, else `undefined`.
 *
 * @since 0.1.0
 */
export const count = (operation: string, argument: string, value: unknown): InvalidArgument | undefined => {
  const reason = countProblem(value)
  return reason === undefined ? undefined : new InvalidArgument({ operation, argument, value: show(value), reason })
}

/**
 * An `InvalidArgument` when an expected version is `exact(n)` with `n` not a
 * count, else `undefined`. The argument is named `expected`.
 *
 * @since 0.1.0
 */
export const expectedVersion = (operation: string, expected: ExpectedVersion): InvalidArgument | undefined => {
  if (expected._tag !== "Exact") return undefined
  const reason = countProblem(expected.version)
  return reason === undefined
    ? undefined
    : new InvalidArgument({
        operation,
        argument: "expected",
        value: `exact(${show(expected.version)})`,
        reason: `the version ${reason}`
      })
}

/**
 * An `InvalidArgument` when a tenant or category (of a partition, or of a
 * partition filter) is not a valid stream-id part, else `undefined`.
 *
 * @since 0.1.0
 */
export const part = (
  operation: string,
  argument: string,
  which: "tenant" | "category",
  value: unknown
): InvalidArgument | undefined => {
  const reason = typeof value !== "string" ? `must be a string, got ${kindOf(value)}` : StreamId.problem(which, value)
  return reason === undefined ? undefined : new InvalidArgument({ operation, argument, value: show(value), reason })
}

/**
 * An `InvalidArgument` when a partition filter's tenant or category is given
 * but is not a valid stream-id part, else `undefined`.
 *
 * @since 0.1.0
 */
export const partitionFilter = (
  operation: string,
  filter: { readonly tenant?: string | undefined; readonly category?: string | undefined }
): InvalidArgument | undefined =>
  (filter.tenant === undefined ? undefined : part(operation, "tenant", "tenant", filter.tenant)) ??
  (filter.category === undefined ? undefined : part(operation, "category", "category", filter.category))

/**
 * An `InvalidArgument` when a partition is malformed: an invalid tenant or
 * category, or a shard that is not an integer in `0 … Partition.maxShards − 1`.
 *
 * @since 0.1.0
 */
export const partition = (operation: string, value: Partition.Partition): InvalidArgument | undefined => {
  if (typeof value !== "object" || value === null) {
    return new InvalidArgument({ operation, argument: "partition", value: show(value), reason: "must be a partition" })
  }
  const invalid =
    part(operation, "partition.tenant", "tenant", value.tenant) ??
    part(operation, "partition.category", "category", value.category) ??
    count(operation, "partition.shard", value.shard)
  if (invalid !== undefined) return invalid
  return value.shard < Partition.maxShards
    ? undefined
    : new InvalidArgument({
        operation,
        argument: "partition.shard",
        value: show(value.shard),
        reason: `must be below ${Partition.maxShards}, the most shards a category may have`
      })
}

/**
 * Fails with the first `InvalidArgument` among the checks, else succeeds.
 *
 * @example
 * ```ts
 * import { Arguments } from "@eventable/core"
 *
 * const checked = Arguments.check(Arguments.count("read", "after", 0), Arguments.count("read", "limit", 100))
 * ```
 *
 * @since 0.1.0
 */
export const check = (...checks: ReadonlyArray<InvalidArgument | undefined>): Effect.Effect<void, InvalidArgument> => {
  for (const invalid of checks) if (invalid !== undefined) return Effect.fail(invalid)
  return Effect.void
}
