/**
 * JSON text as stores write it: safe on every wire, and never nested so
 * deeply that serialising or decoding it overflows the stack.
 *
 * - U+2028 (line separator) and U+2029 (paragraph separator) are legal raw
 *   inside JSON strings, and `JSON.stringify` leaves them raw, but they break
 *   some batch-request parsers (a Table Storage transaction that carries one
 *   fails). {@link escapeSeparators} rewrites them as the escapes `\u2028` and
 *   `\u2029`: `JSON.parse` gives the very same value back.
 * - Event data may nest arrays and objects at most {@link maxDepth} levels.
 *
 * @since 0.1.0
 */

/**
 * The deepest nesting of arrays and objects allowed in event data. Deeper
 * values make `JSON.stringify` and recursive decoders overflow the stack at a
 * few thousand levels; real events stay far below this.
 *
 * @since 0.1.0
 */
export const maxDepth = 512

const separators = /[\u2028\u2029]/g

/**
 * Replaces raw U+2028/U+2029 in JSON text with their `\u` escapes. Lossless
 * for valid JSON: both can only appear inside strings, where the escape means
 * the same character. Returns the input itself when there is nothing to
 * replace.
 *
 * @example
 * ```ts
 * import { JsonText } from "@eventable/core"
 *
 * const text = JsonText.escapeSeparators(JSON.stringify({ note: "a\u2028b" })) // '{"note":"a\\u2028b"}'
 * JSON.parse(text).note === "a\u2028b" // true
 * ```
 *
 * @since 0.1.0
 */
export const escapeSeparators = (json: string): string =>
  json.includes("\u2028") || json.includes("\u2029")
    ? json.replace(separators, (c) => (c === "\u2028" ? "\\u2028" : "\\u2029"))
    : json

/**
 * `JSON.stringify` followed by {@link escapeSeparators}: JSON text that is
 * safe on every wire.
 *
 * @since 0.1.0
 */
export const stringify = (value: unknown): string => escapeSeparators(JSON.stringify(value))

/**
 * How deeply arrays and objects nest in JSON text (0 for a scalar), read in
 * one pass without parsing or recursion. Brackets inside strings do not count.
 *
 * @since 0.1.0
 */
export const depth = (json: string): number => {
  let current = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      current++
      if (current > deepest) deepest = current
    } else if (c === 0x5d || c === 0x7d) current--
  }
  return deepest
}
