/**
 * A bounded least-recently-used map, used by the command handler to keep the
 * folded state of recently used streams. Holds at most `capacity` entries;
 * adding one more evicts the entry used longest ago.
 *
 * @since 0.1.0
 */

/**
 * A bounded LRU map from stream key to entry.
 *
 * @since 0.1.0
 */
export interface StateCache<A> {
  readonly get: (key: string) => A | undefined
  readonly set: (key: string, value: A) => void
  readonly delete: (key: string) => void
  readonly size: () => number
}

/**
 * How many streams the command handler caches by default.
 *
 * @since 0.1.0
 */
export const defaultCapacity = 10_000

/**
 * An empty cache holding at most `capacity` entries (a positive integer).
 *
 * @since 0.1.0
 */
export const make = <A>(capacity: number): StateCache<A> => {
  const entries = new Map<string, A>()
  return {
    get: (key) => {
      const value = entries.get(key)
      if (value !== undefined) {
        entries.delete(key)
        entries.set(key, value)
      }
      return value
    },
    set: (key, value) => {
      entries.delete(key)
      entries.set(key, value)
      if (entries.size > capacity) {
        const oldest = entries.keys().next()
        if (!oldest.done) entries.delete(oldest.value)
      }
    },
    delete: (key) => {
      entries.delete(key)
    },
    size: () => entries.size
  }
}
