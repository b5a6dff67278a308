/**
 * Command ids make commands idempotent. The handler derives each new event's
 * id from the command id, the stream and the event's index (a name-based UUID,
 * version 5 layout, SHA-1 over those three), so a command re-run after an
 * unknown outcome produces the same event ids, and the handler (and the store's
 * read-back of lost answers) recognises the events it already wrote.
 *
 * The handler remembers the derived event ids of a stream's most recent events
 * (see {@link defaultWindow}) in its cached state and in snapshots, and looks a
 * command id up there before deciding.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import type { StreamId } from "./StreamId.ts"

/**
 * How many recent events written with a command id a stream remembers by
 * default: a command id is recognised while its events are among the last 256
 * such events of its stream.
 *
 * @since 0.1.0
 */
export const defaultWindow = 256

// A fixed namespace, so the same command id always gives the same event ids.
const namespace = Buffer.from("6f2c1d9e8b7a4c3e9f1a2b3c4d5e6f70", "hex")

/**
 * The event id of the `index`-th event (0-based) of the command `commandId` on
 * `streamId`: a lowercase UUID whose version digit is 5.
 *
 * @since 0.1.0
 */
export const eventId = (streamId: StreamId, commandId: string, index: number): string => {
  const hash = createHash("sha1")
    .update(namespace)
    .update(`${streamId.tenant}\u0000${streamId.category}\u0000${streamId.id}\u0000${commandId}\u0000${index}`)
    .digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.toString("hex", 0, 16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/**
 * Whether an event id may have been derived from a command id (a version 5
 * UUID). Random event ids are version 4, so they are never remembered.
 *
 * @since 0.1.0
 */
export const isDerived = (id: string): boolean => id.length === 36 && id.charCodeAt(14) === 53 /* "5" */

/**
 * The derived event ids of a stream's most recent events, oldest first, with
 * the version of each. Immutable: `add` returns a new value.
 *
 * @since 0.1.0
 */
export interface Recent {
  readonly ids: ReadonlyArray<string>
  readonly versions: ReadonlyArray<number>
}

/**
 * No remembered ids.
 *
 * @since 0.1.0
 */
export const empty: Recent = { ids: [], versions: [] }

/**
 * Remembers more derived ids (`ids[i]` written at `versions[i]`, ascending),
 * keeping the last `window` of them.
 *
 * @since 0.1.0
 */
export const add = (
  recent: Recent,
  ids: ReadonlyArray<string>,
  versions: ReadonlyArray<number>,
  window: number
): Recent => {
  if (ids.length === 0) return recent
  const nextIds = recent.ids.concat(ids)
  const nextVersions = recent.versions.concat(versions)
  const excess = nextIds.length - window
  return excess > 0
    ? { ids: nextIds.slice(excess), versions: nextVersions.slice(excess) }
    : { ids: nextIds, versions: nextVersions }
}

/**
 * Where the events of `commandId` were written, when they are remembered: the
 * version of its first event and how many events it wrote.
 *
 * @since 0.1.0
 */
export const find = (
  recent: Recent,
  streamId: StreamId,
  commandId: string
): { readonly from: number; readonly count: number } | undefined => {
  if (recent.ids.length === 0) return undefined
  const at = recent.ids.indexOf(eventId(streamId, commandId, 0))
  if (at < 0) return undefined
  let count = 1
  while (at + count < recent.ids.length && recent.ids[at + count] === eventId(streamId, commandId, count)) count++
  return { from: recent.versions[at]!, count }
}
