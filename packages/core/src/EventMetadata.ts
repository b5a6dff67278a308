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

const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/u

/**
 * The longest event id, correlation id or causation id, in UTF-16 code units.
 *
 * @since 0.1.0
 */
export const maxIdLength = 256

/**
 * Why the metadata cannot be stored, or `undefined` when it can.
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
    if (field === "eventId" && value.length === 0) return "eventId must not be empty"
    if (value.length > maxIdLength) return `${field} must be at most ${maxIdLength} characters`
    if (controlCharacter.test(value) || !value.isWellFormed()) {
      return `${field} must not contain control characters or lone surrogates`
    }
  }
  if (!DateTime.isDateTime(metadata.occurredAt)) return "occurredAt must be a DateTime"
  if (metadata.custom !== undefined) {
    for (const [key, value] of Object.entries(metadata.custom)) {
      if (typeof value !== "string") return `custom field ${JSON.stringify(key)} must be a string`
      if (!key.isWellFormed() || !value.isWellFormed())
        return `custom field ${JSON.stringify(key)} has a lone surrogate`
    }
  }
  return undefined
}
