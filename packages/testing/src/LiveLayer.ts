/**
 * `layer(...)` from @effect/vitest, on the live clock. `it.effect` and
 * `layer(...)` run tests on `TestClock`, where time only moves when a test
 * moves it: anything that sleeps (a command handler's backoff after a conflict
 * with another writer, a store's retry after a transient failure, a polling
 * consumer) then waits forever. Tests built with {@link layer} share one Layer
 * like `layer(...)` does, and every `it.effect` inside runs on Effect's real
 * clock, so those retries run as they do in production.
 *
 * Commands on one stream in one process never conflict with each other (the
 * handler queues them), so plain `it.effect` is enough for most handler tests;
 * reach for this when a test has two handlers or two stores on one stream
 * (another "process"), or a store that retries.
 *
 * @example
 * ```ts
 * import { assert } from "@effect/vitest"
 * import { InMemoryEventStore } from "@eventable/core"
 * import { LiveLayer } from "@eventable/testing"
 *
 * LiveLayer.layer(InMemoryEventStore.layer())("two processes on one stream", (it) => {
 *   it.effect("the second one retries", () => ...)
 * })
 * ```
 *
 * @since 0.1.0
 */
import { layer as vitestLayer } from "@effect/vitest"
import type { Duration, Layer } from "effect"

/**
 * Like @effect/vitest's `layer`, with the test services (TestClock) left out,
 * so the block's tests run on the live clock. Same options otherwise.
 *
 * @since 0.1.0
 */
export const layer = <R, E>(
  layer_: Layer.Layer<R, E>,
  options: {
    readonly concurrent?: boolean
    readonly memoMap?: Layer.MemoMap
    readonly timeout?: Duration.Input
  } = {}
): ReturnType<typeof vitestLayer<R, E>> => vitestLayer(layer_, { ...options, excludeTestServices: true })
