/**
 * One lock per stream, in this process: appends to the same stream take turns
 * instead of racing for its header, so each starts from the header the
 * previous one wrote (no wasted transaction, no conflict between our own
 * fibers). Other processes are still kept honest by the header's ETag. A lock
 * exists only while someone holds or awaits it.
 *
 * @since 0.1.0
 */
import { Effect, Semaphore } from "effect"

/**
 * Runs an effect while holding the lock of `key`.
 *
 * @since 0.1.0
 */
export type StreamLocks = <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/**
 * Builds an empty set of locks.
 *
 * @since 0.1.0
 */
export const make = (): StreamLocks => {
  const locks = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
  return (key, effect) =>
    Effect.suspend(() => {
      let lock = locks.get(key)
      if (lock === undefined) {
        lock = { semaphore: Semaphore.makeUnsafe(1), users: 0 }
        locks.set(key, lock)
      }
      lock.users++
      const held = lock
      return held.semaphore.withPermit(effect).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            if (--held.users === 0) locks.delete(key)
          })
        )
      )
    })
}
