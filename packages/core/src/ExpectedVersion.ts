/**
 * What an append expects of the stream's current version. The store checks it
 * atomically with the write: if the stream moved on, the append fails with a
 * `ConcurrencyConflict` and nothing is written.
 *
 * - `any`: no expectation.
 * - `noStream`: the stream must not exist yet (version 0).
 * - `streamExists`: the stream must exist (version ≥ 1).
 * - `exact(n)`: the stream must be at version `n` exactly (`exact(0)` is `noStream`).
 *
 * @example
 * ```ts
 * import { ExpectedVersion } from "@eventable/core"
 *
 * const fromIfMatch = ExpectedVersion.exact(7)
 * ExpectedVersion.matches(fromIfMatch, 7) // true
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Schema of an expected version, for boundaries and error payloads.
 *
 * @since 0.1.0
 */
export const ExpectedVersion = Schema.Union([
  Schema.TaggedStruct("Any", {}),
  Schema.TaggedStruct("NoStream", {}),
  Schema.TaggedStruct("StreamExists", {}),
  Schema.TaggedStruct("Exact", { version: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) })
])

/**
 * What an append expects of the stream's current version.
 *
 * @since 0.1.0
 */
export type ExpectedVersion = typeof ExpectedVersion.Type

/**
 * No expectation: the append succeeds whatever the stream's version.
 *
 * @since 0.1.0
 */
export const any: ExpectedVersion = { _tag: "Any" }

/**
 * The stream must not exist yet.
 *
 * @since 0.1.0
 */
export const noStream: ExpectedVersion = { _tag: "NoStream" }

/**
 * The stream must already exist.
 *
 * @since 0.1.0
 */
export const streamExists: ExpectedVersion = { _tag: "StreamExists" }

/**
 * The stream must be at exactly this version. A version that is not a
 * non-negative safe integer (NaN, ±Infinity, negative, fractional, past 2^53)
 * never matches: stores refuse it with `InvalidArgument` before any request.
 *
 * @since 0.1.0
 */
export const exact = (version: number): ExpectedVersion => ({ _tag: "Exact", version })

/**
 * Whether a version is a valid stream version: a non-negative safe integer.
 *
 * @since 0.1.0
 */
export const isValidVersion = (version: number): boolean => Number.isSafeInteger(version) && version >= 0

/**
 * Why an expected version is malformed, or `undefined` when it is well formed.
 * Stores check it through `Arguments.expectedVersion`, which applies the same rule.
 *
 * @since 0.1.0
 */
export const problem = (expected: ExpectedVersion): string | undefined =>
  expected._tag === "Exact" && !isValidVersion(expected.version)
    ? `expected version must be a non-negative integer (got ${expected.version})`
    : undefined

/**
 * Whether a stream currently at `actual` (0 when it does not exist) satisfies the expectation.
 *
 * @since 0.1.0
 */
export const matches = (expected: ExpectedVersion, actual: number): boolean => {
  switch (expected._tag) {
    case "Any":
      return true
    case "NoStream":
      return actual === 0
    case "StreamExists":
      return actual > 0
    case "Exact":
      return actual === expected.version
  }
}

/**
 * A short human description: `any`, `no stream`, `stream exists`, `version 7`.
 *
 * @since 0.1.0
 */
export const format = (expected: ExpectedVersion): string => {
  switch (expected._tag) {
    case "Any":
      return "any version"
    case "NoStream":
      return "no stream"
    case "StreamExists":
      return "an existing stream"
    case "Exact":
      return `version ${expected.version}`
  }
}
