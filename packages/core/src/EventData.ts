/**
 * An event ready to append: its stable type name, its data as a JSON string,
 * and its metadata. An `EventCodec` turns your Schema events into this form;
 * stores only ever see this form.
 *
 * @since 0.1.0
 */
import type { EventMetadata } from "./EventMetadata.ts"
import * as Metadata from "./EventMetadata.ts"
import * as JsonText from "./JsonText.ts"

/**
 * An event ready to append.
 *
 * @since 0.1.0
 */
export interface EventData {
  /** The stable type name (the event's tag), never a class or file name. */
  readonly type: string
  /** The event's fields as a JSON object, without the tag. */
  readonly data: string
  readonly metadata: EventMetadata
}

/**
 * The longest event type name, in UTF-16 code units.
 *
 * @since 0.1.0
 */
export const maxTypeLength = 256

/**
 * Why an event cannot be stored, or `undefined` when it can. Checks the type
 * name (non-empty, at most {@link maxTypeLength} units, no control characters,
 * line or paragraph separators or lone surrogates), that the data is a JSON
 * object nested at most `JsonText.maxDepth` levels, and the metadata (see
 * `EventMetadata.problem`). Every reason starts with the field it is about.
 * Size limits are the store's business (see `StoreLimits`).
 *
 * @since 0.1.0
 */
export const problem = (event: EventData): string | undefined => {
  if (typeof event.type !== "string" || event.type.length === 0) return "event type must not be empty"
  if (event.type.length > maxTypeLength) return `event type must be at most ${maxTypeLength} characters`
  const typeText = Metadata.textProblem(event.type)
  if (typeText !== undefined) return `event type ${typeText}`
  if (typeof event.data !== "string") return "event data must be a JSON string"
  if (!event.data.isWellFormed()) return "event data must be well-formed Unicode (it contains a lone surrogate)"
  const depth = JsonText.depth(event.data)
  if (depth > JsonText.maxDepth) {
    return `event data must nest arrays and objects at most ${JsonText.maxDepth} levels deep (found ${depth})`
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(event.data)
  } catch (error) {
    return `event data is not valid JSON: ${error instanceof Error ? error.message : String(error)}`
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "event data must be a JSON object"
  return Metadata.problem(event.metadata)
}

/**
 * The size of an event's type, data and metadata in UTF-16 bytes (two per
 * code unit), the unit Azure uses for its limits. Custom metadata counts as
 * its stored JSON text (`EventMetadata.customText`).
 *
 * @since 0.1.0
 */
export const utf16Bytes = (event: EventData): number => {
  const m = event.metadata
  let units = event.type.length + event.data.length + m.eventId.length + 24
  units += m.correlationId?.length ?? 0
  units += m.causationId?.length ?? 0
  if (m.custom !== undefined) units += Metadata.customText(m.custom).length
  return units * 2
}
