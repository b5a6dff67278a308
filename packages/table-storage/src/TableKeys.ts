/**
 * The storage layout's keys. Every valid tenant, category and aggregate id maps
 * to valid Table Storage keys, injectively: two different inputs never share a
 * key, and a key built for one tenant can never address another tenant's rows.
 *
 * Escaping: the characters Table Storage forbids in keys (`/ \ # ?`), the
 * separator `|`, the escape character `~` and `%` become `~` plus two
 * uppercase hex digits (`/` → `~2F`). Nothing else changes, so keys stay
 * readable. Control characters never get here: `StreamId` rejects them.
 *
 * Layout (see docs/storage-layout.md):
 *
 * | row | PartitionKey | RowKey |
 * |---|---|---|
 * | partition head (last position) | `tenant|category|shard` | `h` |
 * | stream header (version) | `tenant|category|shard` | `s|id|0000000000` |
 * | event | `tenant|category|shard` | `s|id|<version, 10 digits>` |
 * | feed entry | `tenant|category|shard` | `f|<position, 16 digits>` |
 * | stream snapshot | `tenant|category|shard` | `s|id|-snap|<row, 2 digits>` |
 * | category registration | `registry` | `tenant|category` |
 *
 * @since 0.1.0
 */

const mustEscape = /[/\\#?%~|]/g
const needsEscape = /[/\\#?%~|]/

/**
 * Escapes a stream-id part for use in a key.
 *
 * @since 0.1.0
 */
export const encodePart = (part: string): string =>
  !needsEscape.test(part)
    ? part
    : part.replace(mustEscape, (c) => `~${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`)

/**
 * Reverses {@link encodePart}. Returns `undefined` for a string that {@link encodePart}
 * cannot have produced.
 *
 * @since 0.1.0
 */
export const decodePart = (escaped: string): string | undefined => {
  if (/[/\\#?%|]/.test(escaped)) return undefined
  let result = ""
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i]!
    if (c !== "~") {
      result += c
      continue
    }
    const hex = escaped.slice(i + 1, i + 3)
    if (!/^[0-9A-F]{2}$/.test(hex)) return undefined
    const decoded = String.fromCharCode(Number.parseInt(hex, 16))
    if (encodePart(decoded) === decoded) return undefined // only escaped characters are ever written as ~XX
    result += decoded
    i += 2
  }
  return result
}

/**
 * The PartitionKey of the registry rows.
 *
 * @since 0.1.0
 */
export const registryPartition = "registry"

/**
 * The RowKey of the partition's head row.
 *
 * @since 0.1.0
 */
export const headRow = "h"

/**
 * Digits of a zero-padded stream version.
 *
 * @since 0.1.0
 */
export const versionDigits = 10

/**
 * Digits of a zero-padded feed position.
 *
 * @since 0.1.0
 */
export const positionDigits = 16

/**
 * Digits of a zero-padded shard number.
 *
 * @since 0.1.0
 */
export const shardDigits = 4

/**
 * The highest version a stream can reach.
 *
 * @since 0.1.0
 */
export const maxVersion = 10 ** versionDigits - 1

/**
 * The highest position a partition can reach (Number.MAX_SAFE_INTEGER).
 *
 * @since 0.1.0
 */
export const maxPosition = Number.MAX_SAFE_INTEGER

const pad = (n: number, digits: number): string => n.toString().padStart(digits, "0")

/**
 * The PartitionKey of a tenant's category shard.
 *
 * @since 0.1.0
 */
export const partitionKey = (tenant: string, category: string, shard: number): string =>
  `${encodePart(tenant)}|${encodePart(category)}|${pad(shard, shardDigits)}`

/**
 * The RowKey of a category's registration.
 *
 * @since 0.1.0
 */
export const registryRow = (tenant: string, category: string): string => `${encodePart(tenant)}|${encodePart(category)}`

/**
 * The RowKey prefix shared by a stream's header and events.
 *
 * @since 0.1.0
 */
export const streamPrefix = (id: string): string => `s|${encodePart(id)}|`

/**
 * The RowKey of a stream's event at `version`; version 0 is the stream header.
 *
 * @since 0.1.0
 */
export const streamRow = (id: string, version: number): string => `${streamPrefix(id)}${pad(version, versionDigits)}`

/**
 * The most rows one snapshot may span (its row numbers have two digits).
 *
 * @since 0.1.0
 */
export const maxSnapshotRows = 100

/**
 * The RowKey of row `index` (0-based) of a stream's snapshot. It sorts right
 * before the stream header (`-` < any digit): one key range from the first
 * snapshot row to the header reads both, and a stream load's key range (from
 * the header on) never includes a snapshot row.
 *
 * @since 0.1.0
 */
export const snapshotRow = (id: string, index: number): string => `${streamPrefix(id)}-snap|${pad(index, 2)}`

/**
 * The RowKey of the feed entry at `position`.
 *
 * @since 0.1.0
 */
export const feedRow = (position: number): string => `f|${pad(position, positionDigits)}`

/**
 * Parses a feed row key back into its position.
 *
 * @since 0.1.0
 */
export const parseFeedRow = (rowKey: string): number | undefined => {
  const match = /^f\|(\d{16})$/.exec(rowKey)
  return match === null ? undefined : Number(match[1])
}

/**
 * The longest key this layout can produce, in UTF-16 code units. Azurite
 * rejects keys over 512 units; Azure allows 1 KiB.
 *
 * @since 0.1.0
 */
export const maxKeyLength = 512
