/**
 * The options of a consumer, their defaults and their validation. Durations
 * accept any `Duration.Input` ("30 seconds", 500, `Duration.seconds(30)`);
 * numbers are milliseconds.
 *
 * Defaults, and why:
 * - `leaseTtl` 30 s: how long a crashed instance's partitions wait before
 *   another takes them over. Half the change-feed processor's 60 s: our renew is
 *   one small fenced write, so renewing more often is cheap, and takeover after
 *   a crash comes twice as fast. Graceful shutdown releases at once anyway.
 * - `renewInterval` 10 s: a third of the TTL, so two renewals in a row can fail
 *   (a store hiccup) before the owner has to give up.
 * - `safetyMargin` 5 s: an owner stops a partition by itself once its last
 *   successful lease write started more than TTL minus this margin ago on its
 *   own clock, so it has stopped before any contender can count a full TTL.
 * - `balanceInterval` 10 s: how often partitions are re-listed (discovery) and
 *   leases re-balanced; also how soon a released lease is picked up.
 * - `batchSize` 100, `minIdlePoll` 50 ms, `maxIdlePoll` 1 s: a full page is
 *   followed by the next poll at once; an idle partition backs off
 *   exponentially from 50 ms to 1 s, which bounds the latency of a quiet
 *   partition to about a second.
 * - `partitionConcurrency` 16, `streamConcurrency` 1 (the handler sees whole
 *   batches in order; raise it for I/O-bound handlers).
 * - `maxAttempts` 5 deliveries of the same event, `poison` "stop".
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schedule, Schema } from "effect"
import type { InvalidArgument } from "./EventStoreError.ts"
import * as Lease from "./Lease.ts"
import * as StreamId from "./StreamId.ts"

/**
 * What to do with an event whose handling keeps failing (or keeps killing the
 * process): `stop` halts the partition with the checkpoint before it and
 * surfaces the error; `park` writes it to the `DeadLetterStore`, moves the
 * checkpoint past it and goes on.
 *
 * @since 0.1.0
 */
export type PoisonPolicy = "stop" | "park"

/**
 * The options of `Consumer.run` and `Consumer.stream`.
 *
 * @since 0.1.0
 */
export interface ConsumerOptions {
  /** The consumer group: instances of one group share the work and one checkpoint per partition. */
  readonly group: string
  /** The category whose partitions are consumed. */
  readonly category: string
  /**
   * Only these tenants (each a valid tenant name, the list not empty); default all tenants,
   * including ones that appear while running.
   */
  readonly tenants?: ReadonlyArray<string>
  /** This instance's id in the leases; default a random UUID. Must be unique per running instance. */
  readonly owner?: string
  /** Events read (and delivered) per batch; default 100. */
  readonly batchSize?: number
  /** First backoff of an idle partition; default 50 ms. */
  readonly minIdlePoll?: Duration.Input
  /** Longest backoff of an idle partition; default 1 s. */
  readonly maxIdlePoll?: Duration.Input
  /** Partitions handled at the same time by this instance; default 16. */
  readonly partitionConcurrency?: number
  /** Streams of one batch handled at the same time, order within a stream kept; default 1. */
  readonly streamConcurrency?: number
  /** Lease time to live; default 30 s. */
  readonly leaseTtl?: Duration.Input
  /** How often an owner renews its leases; default 10 s. */
  readonly renewInterval?: Duration.Input
  /** How often partitions are re-listed and leases re-balanced; default 10 s. */
  readonly balanceInterval?: Duration.Input
  /** An owner stops a partition at TTL minus this margin without a successful lease write; default 5 s. */
  readonly safetyMargin?: Duration.Input
  /** Deliveries of one event (across crashes too) before the poison policy applies; default 5. */
  readonly maxAttempts?: number
  /** Default "stop". */
  readonly poison?: PoisonPolicy
  /**
   * Retries of a failing handler within one delivery; default exponential from
   * 100 ms, capped at 5 s, 4 retries.
   */
  readonly retry?: Schedule.Schedule<unknown, unknown>
}

/**
 * Options after defaults and validation; durations in milliseconds.
 *
 * @since 0.1.0
 */
export interface Resolved {
  readonly group: string
  readonly category: string
  readonly tenants: ReadonlyArray<string> | undefined
  readonly owner: string
  readonly batchSize: number
  readonly minIdlePollMillis: number
  readonly maxIdlePollMillis: number
  readonly partitionConcurrency: number
  readonly streamConcurrency: number
  readonly leaseTtlMillis: number
  readonly renewIntervalMillis: number
  readonly balanceIntervalMillis: number
  readonly safetyMarginMillis: number
  readonly maxAttempts: number
  readonly poison: PoisonPolicy
  readonly retry: Schedule.Schedule<unknown, unknown>
}

/**
 * An option is out of its domain. `option` names it, `value` shows what was
 * passed, `reason` says what is allowed.
 *
 * @since 0.1.0
 */
export class InvalidConsumerOptions extends Schema.TaggedError<InvalidConsumerOptions>()("InvalidConsumerOptions", {
  option: Schema.String,
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid consumer option ${this.option}: ${this.value} (${this.reason})`
  }
}

/**
 * The default options.
 *
 * @since 0.1.0
 */
export const defaults = {
  batchSize: 100,
  minIdlePoll: Duration.millis(50),
  maxIdlePoll: Duration.seconds(1),
  partitionConcurrency: 16,
  streamConcurrency: 1,
  leaseTtl: Duration.seconds(30),
  renewInterval: Duration.seconds(10),
  balanceInterval: Duration.seconds(10),
  safetyMargin: Duration.seconds(5),
  maxAttempts: 5,
  poison: "stop" as PoisonPolicy,
  retry: Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")]).pipe(
    Schedule.upTo({ times: 4 })
  ) as Schedule.Schedule<unknown, unknown>
} as const

const Count = (max: number) =>
  Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(max))

const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (Duration.isDuration(value)) return Duration.format(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const check = <A>(option: string, schema: Schema.Codec<A>, value: unknown): Effect.Effect<A, InvalidConsumerOptions> =>
  Schema.decodeUnknownEffect(schema)(value).pipe(
    Effect.mapError((error) => new InvalidConsumerOptions({ option, value: show(value), reason: error.message }))
  )

const duration = (
  option: string,
  value: Duration.Input | undefined,
  fallback: Duration.Duration,
  min: number
): Effect.Effect<number, InvalidConsumerOptions> => {
  if (value === undefined) return Effect.succeed(Duration.toMillis(fallback))
  const decoded = Duration.fromInput(value)
  if (decoded._tag === "None") {
    return Effect.fail(new InvalidConsumerOptions({ option, value: show(value), reason: "not a duration" }))
  }
  const millis = Duration.toMillis(decoded.value)
  return Number.isFinite(millis) && millis >= min
    ? Effect.succeed(millis)
    : Effect.fail(
        new InvalidConsumerOptions({
          option,
          value: show(value),
          reason: `must be a finite duration of at least ${min} ms`
        })
      )
}

const fromInvalidArgument = (check: Effect.Effect<void, InvalidArgument>, option: string) =>
  Effect.mapError(check, (error) => new InvalidConsumerOptions({ option, value: error.value, reason: error.reason }))

const relation = (ok: boolean, option: string, value: string, reason: string) =>
  ok ? Effect.void : Effect.fail(new InvalidConsumerOptions({ option, value, reason }))

/**
 * Applies the defaults and validates every option, then the relations between
 * them: `minIdlePoll <= maxIdlePoll`, `renewInterval + safetyMargin < leaseTtl`
 * (an owner must get to renew before it has to stop).
 *
 * @since 0.1.0
 */
export const resolve = (options: ConsumerOptions): Effect.Effect<Resolved, InvalidConsumerOptions> =>
  Effect.gen(function* () {
    const group = yield* check("group", Schema.String, options.group)
    yield* fromInvalidArgument(Lease.validateGroup("consumer", group), "group")
    const category = yield* check("category", StreamId.Category, options.category)
    const tenants =
      options.tenants === undefined
        ? undefined
        : yield* check("tenants", Schema.Array(StreamId.Tenant), options.tenants)
    yield* relation(
      tenants === undefined || tenants.length > 0,
      "tenants",
      "[]",
      "an empty list reads nothing; leave the option out to read every tenant"
    )
    const owner =
      options.owner === undefined ? crypto.randomUUID() : yield* check("owner", Schema.String, options.owner)
    yield* fromInvalidArgument(Lease.validateOwner("consumer", owner), "owner")
    const batchSize = yield* check("batchSize", Count(10_000), options.batchSize ?? defaults.batchSize)
    const partitionConcurrency = yield* check(
      "partitionConcurrency",
      Count(1024),
      options.partitionConcurrency ?? defaults.partitionConcurrency
    )
    const streamConcurrency = yield* check(
      "streamConcurrency",
      Count(1024),
      options.streamConcurrency ?? defaults.streamConcurrency
    )
    const maxAttempts = yield* check("maxAttempts", Count(1000), options.maxAttempts ?? defaults.maxAttempts)
    const poison = yield* check("poison", Schema.Literals(["stop", "park"]), options.poison ?? defaults.poison)
    const minIdlePollMillis = yield* duration("minIdlePoll", options.minIdlePoll, defaults.minIdlePoll, 1)
    const maxIdlePollMillis = yield* duration("maxIdlePoll", options.maxIdlePoll, defaults.maxIdlePoll, 1)
    const leaseTtlMillis = yield* duration("leaseTtl", options.leaseTtl, defaults.leaseTtl, 1)
    const renewIntervalMillis = yield* duration("renewInterval", options.renewInterval, defaults.renewInterval, 1)
    const balanceIntervalMillis = yield* duration(
      "balanceInterval",
      options.balanceInterval,
      defaults.balanceInterval,
      1
    )
    const safetyMarginMillis = yield* duration("safetyMargin", options.safetyMargin, defaults.safetyMargin, 0)
    yield* relation(
      minIdlePollMillis <= maxIdlePollMillis,
      "minIdlePoll",
      `${minIdlePollMillis} ms`,
      `must not exceed maxIdlePoll (${maxIdlePollMillis} ms)`
    )
    yield* relation(
      renewIntervalMillis + safetyMarginMillis < leaseTtlMillis,
      "leaseTtl",
      `${leaseTtlMillis} ms`,
      `must exceed renewInterval + safetyMargin (${renewIntervalMillis} + ${safetyMarginMillis} ms)`
    )
    return {
      group,
      category,
      tenants,
      owner,
      batchSize,
      minIdlePollMillis,
      maxIdlePollMillis,
      partitionConcurrency,
      streamConcurrency,
      leaseTtlMillis,
      renewIntervalMillis,
      balanceIntervalMillis,
      safetyMarginMillis,
      maxAttempts,
      poison,
      retry: options.retry ?? defaults.retry
    }
  })
