/**
 * Metadata stored with every event: a unique event id, when it occurred, and
 * the ids that tie it to the request and the message that caused it.
 *
 * - `correlationId` groups everything done for one request or workflow.
 * - `causationId` is the id of the command or event that directly caused this one.
 * - `custom` carries extra string fields of your own (user id, client ip, …).
 *
 * @since 0.1.0
 */
import { DateTime, Effect, Schema } from "effect"
import * as JsonText from "./JsonText.ts"

/**
 * Schema of event metadata. `occurredAt` is an ISO-8601 string when encoded.
 *
 * @since 0.1.0
 */
export const EventMetadata = Schema.Struct({
  eventId: Schema.String,
  occurredAt: Schema.DateTimeUtcFromString,
  correlationId: Schema.optionalKey(Schema.String),
  causationId: Schema.optionalKey(Schema.String),
  custom: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
})

/**
 * Metadata stored with every event.
 *
 * @since 0.1.0
 */
export type EventMetadata = typeof EventMetadata.Type

/**
 * What a caller may add to the metadata of the events it causes.
 *
 * @since 0.1.0
 */
export interface MetadataOptions {
  readonly correlationId?: string
  readonly causationId?: string
  readonly custom?: { readonly [key: string]: string }
}

/**
 * Fresh metadata: a random UUID as event id, the current time from Effect's `Clock`
 * (so `TestClock` controls it), and the caller's correlation, causation and custom fields.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventMetadata } from "@eventable/core"
 *
 * const metadata = EventMetadata.make({ correlationId: "req-1" })
 * ```
 *
 * @since 0.1.0
 */
export const make = (options: MetadataOptions = {}): Effect.Effect<EventMetadata> =>
  Effect.map(DateTime.now, (occurredAt) => ({
    eventId: crypto.randomUUID(),
    occurredAt,
    ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
    ...(options.causationId === undefined ? {} : { causationId: options.causationId }),
    ...(options.custom === undefined ? {} : { custom: options.custom })
  }))

/**
 * The longest event id, correlation id or causation id, in UTF-16 code units.
 *
 * @since 0.1.0
 */
export const maxIdLength = 256

/**
 * The longest custom metadata, measured as its stored JSON text
 * ({@link customText}), in UTF-16 code units: what one Azure Table Storage
 * string property holds. Longer custom metadata fails the append with
 * `EventTooLarge` (field `metadata.custom`) in every store.
 *
 * @since 0.1.0
 */
export const maxCustomLength = 32_768

// C0 controls, DEL, C1 controls, and the line and paragraph separators: never meant in an
// identifier, and the separators break Table Storage transactions when sent raw.
const forbidden = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u

/**
 * Why an identifier-like text (event type, event id, correlation or causation
 * id) cannot be stored, or `undefined`: it must be well-formed Unicode without
 * control characters (U+0000-U+001F, U+007F-U+009F) or the line and paragraph
 * separators (U+2028, U+2029). The reason names the character and its index.
 *
 * @since 0.1.0
 */
export const textProblem = (value: string): string | undefined => {
  if (!value.isWellFormed()) return "must be well-formed Unicode (it contains a lone surrogate)"
  const found = forbidden.exec(value)
  if (found === null) return undefined
  const code = (found[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")
  return `must not contain control characters or line/paragraph separators (found U+${code} at index ${found.index})`
}

/**
 * Custom metadata as stores keep it: JSON text with U+2028/U+2029 escaped
 * (see `JsonText.stringify`). Any key and value round-trips, lone surrogates
 * and control characters included.
 *
 * @since 0.1.0
 */
export const customText = (custom: { readonly [key: string]: string }): string => JsonText.stringify(custom)

/**
 * Why the metadata cannot be stored, or `undefined` when it can. Every reason
 * starts with the field it is about. Custom keys and values may be any string;
 * their size is checked by `AppendRequest.validate` (see {@link maxCustomLength}).
 *
 * @since 0.1.0
 */
export const problem = (metadata: EventMetadata): string | undefined => {
  for (const [field, value] of [
    ["eventId", metadata.eventId],
    ["correlationId", metadata.correlationId],
    ["causationId", metadata.causationId]
  ] as const) {
    if (value === undefined) continue
    if (typeof value !== "string") return `${field} must be a string`
    if (field === "eventId" && value.length === 0) return "eventId must not be empty"
    if (value.length > maxIdLength) return `${field} must be at most ${maxIdLength} characters`
    const text = textProblem(value)
    if (text !== undefined) return `${field} ${text}`
  }
  if (!DateTime.isDateTime(metadata.occurredAt)) return "occurredAt must be a DateTime"
  if (metadata.custom !== undefined) {
    if (typeof metadata.custom !== "object" || metadata.custom === null) return "custom must be an object of strings"
    for (const [key, value] of Object.entries(metadata.custom)) {
      if (typeof value !== "string") return `custom field ${JSON.stringify(key)} must be a string`
    }
  }
  return undefined
}
