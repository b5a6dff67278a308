/**
 * The stream headers this process last saw (version and ETag), so that an
 * append to a stream it just loaded or wrote needs no read: the ETag goes
 * straight into the transaction's If-Match. A stale entry costs one failed
 * transaction, never a wrong write. Least recently used entries are dropped
 * beyond `capacity`.
 *
 * @since 0.1.0
 */

/**
 * A stream header as last seen.
 *
 * @since 0.1.0
 */
export interface Header {
  readonly version: number
  readonly etag: string
}

/**
 * A bounded LRU map of stream headers.
 *
 * @since 0.1.0
 */
export interface HeaderCache {
  readonly get: (key: string) => Header | undefined
  readonly set: (key: string, header: Header) => void
  readonly delete: (key: string) => void
}

/**
 * Builds a cache holding at most `capacity` headers (0 disables it).
 *
 * @since 0.1.0
 */
export const make = (capacity: number): HeaderCache => {
  const entries = new Map<string, Header>()
  return {
    get: (key) => {
      const header = entries.get(key)
      if (header !== undefined) {
        entries.delete(key)
        entries.set(key, header)
      }
      return header
    },
    set: (key, header) => {
      if (capacity === 0) return
      const current = entries.get(key)
      // Versions only grow: never let a slower reader overwrite a newer header.
      if (current !== undefined && current.version > header.version) return
      entries.delete(key)
      entries.set(key, header)
      if (entries.size > capacity) {
        const oldest = entries.keys().next()
        if (oldest.done !== true) entries.delete(oldest.value)
      }
    },
    delete: (key) => {
      entries.delete(key)
    }
  }
}
