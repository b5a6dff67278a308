/**
 * Identity of an event stream: a tenant, a category (the kind of aggregate,
 * e.g. `user`) and the aggregate id.
 *
 * Every part is validated once, here: it must be non-empty, within its length
 * limit (in UTF-16 code units), free of control characters (U+0000–U+001F,
 * U+007F–U+009F) and of line and paragraph separators (U+2028, U+2029), and
 * well-formed Unicode (no lone surrogates). Backends may
 * encode the parts further (Table Storage escapes the characters its keys
 * forbid); the core only guarantees that they are well formed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StreamId } from "@eventable/core"
 *
 * const program = Effect.gen(function*() {
 *   const id = yield* StreamId.make({ tenant: "acme", category: "user", id: "u-42" })
 *   return StreamId.format(id) // "acme/user/u-42"
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"

/**
 * The longest tenant, in UTF-16 code units.
 *
 * @since 0.1.0
 */
export const maxTenantLength = 64

/**
 * The longest category, in UTF-16 code units.
 *
 * @since 0.1.0
 */
export const maxCategoryLength = 64

/**
 * The longest aggregate id, in UTF-16 code units.
 *
 * @since 0.1.0
 */
export const maxIdLength = 128

/**
 * Which part of a stream id is meant.
 *
 * @since 0.1.0
 */
export type Part = "tenant" | "category" | "id"

const maxLengths: Record<Part, number> = { tenant: maxTenantLength, category: maxCategoryLength, id: maxIdLength }

// C0 controls, DEL, C1 controls, and the line and paragraph separators (which break
// Table Storage transactions in Azurite and are never meant to be in an identifier).
const controlCharacter = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u

/**
 * Why `value` is not a valid `part`, or `undefined` when it is valid.
 *
 * @since 0.1.0
 */
export const problem = (part: Part, value: string): string | undefined => {
  if (value.length === 0) return "must not be empty"
  if (value.length > maxLengths[part]) return `must be at most ${maxLengths[part]} characters (got ${value.length})`
  if (!value.isWellFormed()) return "must be well-formed Unicode (it contains a lone surrogate)"
  const control = controlCharacter.exec(value)
  if (control !== null) {
    const code = control[0].codePointAt(0) ?? 0
    return `must not contain control characters (found U+${code.toString(16).toUpperCase().padStart(4, "0")} at index ${control.index})`
  }
  return undefined
}

const partSchema = (part: Part) => Schema.String.check(Schema.makeFilter((value: string) => problem(part, value)))

/**
 * A validated tenant name.
 *
 * @since 0.1.0
 */
export const Tenant = partSchema("tenant")

/**
 * A validated category name.
 *
 * @since 0.1.0
 */
export const Category = partSchema("category")

/**
 * A validated aggregate id.
 *
 * @since 0.1.0
 */
export const AggregateId = partSchema("id")

/**
 * Schema of a stream id, for boundaries (HTTP, queues, stored rows). Decoding
 * validates every part.
 *
 * @since 0.1.0
 */
export const StreamId = Schema.Struct({ tenant: Tenant, category: Category, id: AggregateId }).pipe(
  Schema.brand("@eventable/StreamId")
)

/**
 * A validated stream id. Build one with {@link make} or by decoding {@link StreamId}.
 *
 * @since 0.1.0
 */
export type StreamId = typeof StreamId.Type

/**
 * A stream id is invalid: names the part, the offending value (shortened) and why.
 *
 * @since 0.1.0
 */
export class InvalidStreamId extends Schema.TaggedError<InvalidStreamId>()("InvalidStreamId", {
  part: Schema.Literals(["tenant", "category", "id"]),
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid stream ${this.part} ${JSON.stringify(shorten(this.value))}: ${this.reason}`
  }
}

const shorten = (value: string): string => (value.length > 80 ? `${value.slice(0, 80)}…` : value)

/**
 * Validates the parts and builds a stream id, synchronously.
 *
 * @since 0.1.0
 */
export const validate = (parts: {
  readonly tenant: string
  readonly category: string
  readonly id: string
}): Result.Result<StreamId, InvalidStreamId> => {
  for (const part of ["tenant", "category", "id"] as const) {
    const reason = problem(part, parts[part])
    if (reason !== undefined) return Result.fail(new InvalidStreamId({ part, value: shorten(parts[part]), reason }))
  }
  return Result.succeed(unsafeBrand(parts.tenant, parts.category, parts.id))
}

/**
 * Validates the parts and builds a stream id.
 *
 * @since 0.1.0
 */
export const make = (parts: {
  readonly tenant: string
  readonly category: string
  readonly id: string
}): Effect.Effect<StreamId, InvalidStreamId> => Effect.fromResult(validate(parts))

// The only place a StreamId is minted without decoding: every caller has validated the parts.
const unsafeBrand = (tenant: string, category: string, id: string): StreamId => ({ tenant, category, id }) as StreamId

/**
 * `tenant/category/id`, for logs and messages (not a storage key: parts may contain `/`).
 *
 * @since 0.1.0
 */
export const format = (streamId: { readonly tenant: string; readonly category: string; readonly id: string }): string =>
  `${streamId.tenant}/${streamId.category}/${streamId.id}`

/**
 * Whether two stream ids name the same stream.
 *
 * @since 0.1.0
 */
export const equals = (a: StreamId, b: StreamId): boolean =>
  a.tenant === b.tenant && a.category === b.category && a.id === b.id
