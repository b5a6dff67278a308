/**
 * A partition of the feed: the events of one tenant's category, or of one
 * shard of it. Within a partition every event has a position: 1, 2, 3, … with
 * no gaps, in commit order. A category spread over `shards` partitions puts an
 * aggregate in shard {@link shardOf}`(id, shards)`, so one stream never spans
 * two partitions.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Schema of a partition.
 *
 * @since 0.1.0
 */
export const Partition = Schema.Struct({
  tenant: Schema.String,
  category: Schema.String,
  shard: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
})

/**
 * A partition of the feed: tenant + category + shard.
 *
 * @since 0.1.0
 */
export type Partition = typeof Partition.Type

/**
 * The most shards a category may have.
 *
 * @since 0.1.0
 */
export const maxShards = 1024

/**
 * Builds a partition.
 *
 * @since 0.1.0
 */
export const make = (tenant: string, category: string, shard: number): Partition => ({ tenant, category, shard })

/**
 * A string that identifies the partition, for maps and sets. Injective: parts
 * are validated stream-id parts, which never contain U+0000.
 *
 * @since 0.1.0
 */
export const key = (partition: Partition): string =>
  `${partition.tenant}\u0000${partition.category}\u0000${partition.shard}`

/**
 * `tenant/category#shard`, for logs and messages.
 *
 * @since 0.1.0
 */
export const format = (partition: Partition): string => `${partition.tenant}/${partition.category}#${partition.shard}`

/**
 * Orders partitions by tenant, then category (UTF-16 code unit order), then
 * shard. Stores list leases and dead letters in this order.
 *
 * @since 0.1.0
 */
export const compare = (a: Partition, b: Partition): number =>
  a.tenant < b.tenant
    ? -1
    : a.tenant > b.tenant
      ? 1
      : a.category < b.category
        ? -1
        : a.category > b.category
          ? 1
          : a.shard - b.shard

const encoder = new TextEncoder()

/**
 * The shard of an aggregate id: a stable 32-bit hash of its UTF-8 bytes
 * (FNV-1a, then the murmur3 finaliser to spread the low bits) modulo `shards`.
 * This function is part of the storage format: it never changes.
 *
 * @example
 * ```ts
 * import { Partition } from "@eventable/core"
 *
 * Partition.shardOf("u-42", 1) // 0
 * Partition.shardOf("u-42", 8) // always the same shard in 0..7
 * ```
 *
 * @since 0.1.0
 */
export const shardOf = (id: string, shards: number): number => {
  if (shards <= 1) return 0
  let hash = 0x811c9dc5
  for (const byte of encoder.encode(id)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193)
  }
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return (hash >>> 0) % shards
}
