/**
 * The projector: a consumer group that keeps the `users` view up to date
 * from the `user` category's feed, with the `userView` document projection.
 *
 * Several projector processes with the same group share the feed's
 * partitions through the lease store (each aims for its fair share; a
 * crashed one's partitions are taken over when its leases expire, a stopped
 * one's at once). A projector can run inside the API process (the demo) or
 * on its own (`npm run projector`). The projection is idempotent per stream
 * version, so the batches a crash redelivers change nothing.
 *
 * @example
 * ```ts
 * import { Projector } from "@eventable/example-users"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function* () {
 *   const projector = yield* Projector.start()
 *   // ... projector.awaitPosition(partition, position) for read-your-writes in tests
 * })
 * // needs EventFeed, LeaseStore, ReadModelStore and a Scope
 * ```
 *
 * @since 0.1.0
 */
import {
  Consumer,
  type ConsumerOptions,
  DocumentProjection,
  type EventFeed,
  type LeaseStore,
  type ReadModelStore
} from "@eventable/core"
import { Config, Duration, Effect, Layer, Option, type Scope } from "effect"
import { userCategory } from "./UserCommands.ts"
import { userView } from "./UserView.ts"

/**
 * The consumer group of the live `users` view.
 *
 * @since 0.1.0
 */
export const defaultGroup = "users-view"

/**
 * Projector options: the consumer's options, all optional; the category is always `user`.
 *
 * @since 0.1.0
 */
export type ProjectorOptions = Partial<Omit<ConsumerOptions.ConsumerOptions, "category">>

/**
 * Starts projecting in the current scope and returns the running consumer
 * (its `awaitPosition` tells when the view has caught up with a position).
 * Stops, releasing its leases, when the scope closes. Fails with
 * `InvalidConsumerOptions` on invalid options.
 *
 * @since 0.1.0
 */
export const start = (
  options: ProjectorOptions = {}
): Effect.Effect<
  Consumer.Running,
  ConsumerOptions.InvalidConsumerOptions,
  EventFeed | LeaseStore | ReadModelStore.ReadModelStore | Scope.Scope
> => {
  const handle = DocumentProjection.handler(userView)
  return Consumer.start({ group: defaultGroup, ...options, category: userCategory }, (batch) => handle(batch.events))
}

/**
 * {@link start} as a Layer: the projector runs for the Layer's lifetime.
 *
 * @since 0.1.0
 */
export const layer = (
  options: ProjectorOptions = {}
): Layer.Layer<never, ConsumerOptions.InvalidConsumerOptions, EventFeed | LeaseStore | ReadModelStore.ReadModelStore> =>
  Layer.effectDiscard(Effect.asVoid(start(options)))

/**
 * Projector options from the environment, each optional (the consumer's defaults otherwise):
 * `EXAMPLE_PROJECTOR_GROUP` (default {@link defaultGroup}), `EXAMPLE_PROJECTOR_OWNER` (unique per
 * process), `EXAMPLE_PROJECTOR_LEASE_TTL`, `EXAMPLE_PROJECTOR_RENEW_INTERVAL`,
 * `EXAMPLE_PROJECTOR_BALANCE_INTERVAL`, `EXAMPLE_PROJECTOR_SAFETY_MARGIN` and
 * `EXAMPLE_PROJECTOR_MAX_IDLE_POLL` (durations such as `10 seconds`).
 *
 * @since 0.1.0
 */
export const optionsFromEnv: Effect.Effect<ProjectorOptions, Config.ConfigError> = Effect.gen(function* () {
  const group = yield* Config.String("EXAMPLE_PROJECTOR_GROUP").pipe(Config.withDefault(defaultGroup))
  const owner = yield* Config.option(Config.String("EXAMPLE_PROJECTOR_OWNER"))
  const duration = (name: string) => Config.option(Config.Duration(name))
  const durations = {
    leaseTtl: yield* duration("EXAMPLE_PROJECTOR_LEASE_TTL"),
    renewInterval: yield* duration("EXAMPLE_PROJECTOR_RENEW_INTERVAL"),
    balanceInterval: yield* duration("EXAMPLE_PROJECTOR_BALANCE_INTERVAL"),
    safetyMargin: yield* duration("EXAMPLE_PROJECTOR_SAFETY_MARGIN"),
    maxIdlePoll: yield* duration("EXAMPLE_PROJECTOR_MAX_IDLE_POLL")
  }
  const options: { -readonly [K in keyof ProjectorOptions]: ProjectorOptions[K] } = { group }
  if (Option.isSome(owner)) options.owner = owner.value
  for (const [name, value] of Object.entries(durations)) {
    if (Option.isSome(value)) options[name as keyof typeof durations] = Duration.toMillis(value.value)
  }
  return options
})
