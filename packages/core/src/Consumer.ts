/**
 * The consumer: runs a handler over every partition of a category's feed, with
 * one lease per (group, partition), fenced checkpoints, balancing across
 * instances, retries and a poison policy.
 *
 * - {@link run}: a scoped Effect that runs a handler until interrupted.
 * - {@link start}: the same, returning a {@link Running} handle at once
 *   (`awaitPosition` for read-your-writes and tests).
 * - {@link stream}: a Stream of per-partition batches the caller acknowledges.
 *
 * Guarantees: events of a partition (and so of a stream) are delivered in
 * position order; at least once; the checkpoint moves only after the handler
 * succeeded on the whole batch; no event is skipped (a hole or a corrupt row
 * halts the partition with a typed error); in steady state no batch is
 * delivered twice; after a crash only the batch in flight is delivered again.
 *
 * One fiber per partition owns its lease: renewals and checkpoints go through
 * one semaphore around the latest `Lease`, so an owner never loses its lease to
 * its own writes, and a checkpoint never re-reads the lease.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Consumer } from "@eventable/core"
 *
 * const projector = Consumer.run({ group: "user-list", category: "user" }, (batch) =>
 *   Effect.log(`${batch.events.length} events up to ${batch.last}`)
 * )
 * // Effect<never, InvalidConsumerOptions, EventFeed | LeaseStore | Scope>
 * ```
 *
 * @since 0.1.0
 */
import {
  Clock,
  Deferred,
  Duration,
  Effect,
  Fiber,
  Metric,
  Option,
  Queue,
  Schedule,
  Scope,
  Semaphore,
  Stream,
  SubscriptionRef
} from "effect"
import * as Balancer from "./Balancer.ts"
import { FeedGap, PartitionHalted } from "./ConsumerError.ts"
import { type ConsumerOptions, InvalidConsumerOptions, type Resolved, resolve } from "./ConsumerOptions.ts"
import { type DeadLetter, DeadLetterStore, type DeadLetterStoreError, truncateError } from "./DeadLetterStore.ts"
import type { EventCodec } from "./EventCodec.ts"
import { EventFeed } from "./EventFeed.ts"
import {
  type CorruptEvent,
  InvalidArgument,
  type ReadError,
  type StoreFailure,
  type StoreUnavailable
} from "./EventStoreError.ts"
import type { Lease } from "./Lease.ts"
import { LeaseLost, LeaseStore, type LeaseStoreError } from "./LeaseStore.ts"
import * as Partition from "./Partition.ts"
import type { RecordedEvent } from "./RecordedEvent.ts"
import type { StoredEvent } from "./StoredEvent.ts"
import * as StreamId from "./StreamId.ts"

/**
 * What a handler receives: events of one partition, in position order.
 * `first` and `last` are the positions of the first and last event. With
 * `streamConcurrency` 1 the events are contiguous; above 1 a batch holds the
 * events of one stream out of a read page, so positions may skip the other
 * streams' events.
 *
 * @since 0.1.0
 */
export interface Batch {
  readonly group: string
  readonly partition: Partition.Partition
  readonly events: ReadonlyArray<StoredEvent>
  readonly first: number
  readonly last: number
}

/**
 * A batch from {@link stream}: call `ack` once it is handled; the consumer
 * then moves the checkpoint past it and delivers the partition's next batch.
 *
 * @since 0.1.0
 */
export interface Delivery extends Batch {
  readonly ack: Effect.Effect<void>
}

/**
 * A running consumer.
 *
 * @since 0.1.0
 */
export interface Running {
  /** This instance's owner id in the leases. */
  readonly owner: string
  /** The partitions this instance holds now. */
  readonly owned: Effect.Effect<ReadonlyArray<Partition.Partition>>
  /** The partitions this instance halted and still holds, with why. */
  readonly halted: Effect.Effect<ReadonlyArray<PartitionHalted>>
  /**
   * Completes once the group's checkpoint of `partition` is at or past
   * `position`, whoever holds it: signalled in-process by this instance's
   * checkpoints, and polled from the lease store for partitions other
   * instances hold. Fails with `PartitionHalted` if this instance halted the
   * partition before it got there, and at once with `InvalidArgument` when
   * `position` is not a non-negative integer or the partition is not one this
   * consumer reads (another category, a tenant outside `tenants`, a partition
   * that does not exist in the feed).
   */
  readonly awaitPosition: (
    partition: Partition.Partition,
    position: number
  ) => Effect.Effect<void, PartitionHalted | InvalidArgument | LeaseStoreError | StoreUnavailable | StoreFailure>
}

const groupAttr = "eventable.consumer.group"
const partitionAttr = "eventable.consumer.partition"

const lagGauge = Metric.gauge("eventable_consumer_lag", {
  description: "Events not yet handled in a partition: head minus checkpoint"
})
const handledCounter = Metric.counter("eventable_consumer_events_total", {
  description: "Events handled by consumers"
})
const handlerDuration = Metric.histogram("eventable_consumer_handler_ms", {
  description: "Handler duration per batch, in milliseconds",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 14 })
})
const failuresCounter = Metric.counter("eventable_consumer_failures_total", {
  description: "Handler failures (each failed call, retried or not)"
})
const retriesCounter = Metric.counter("eventable_consumer_retries_total", {
  description: "Retries of handlers and of store calls made by consumers"
})
const ownedGauge = Metric.gauge("eventable_consumer_leases_owned", {
  description: "Leases an instance holds"
})

const streamKey = (event: StoredEvent): string => StreamId.format(event.streamId)

/** Splits a batch into one batch per stream, keeping order within each. */
const byStream = (batch: Batch): ReadonlyArray<Batch> => {
  const streams = new Map<string, Array<StoredEvent>>()
  for (const event of batch.events) {
    const key = streamKey(event)
    const events = streams.get(key)
    if (events === undefined) streams.set(key, [event])
    else events.push(event)
  }
  return [...streams.values()].map((events) => batchOf(batch.group, batch.partition, events))
}

const batchOf = (group: string, partition: Partition.Partition, events: ReadonlyArray<StoredEvent>): Batch => ({
  group,
  partition,
  events,
  first: events[0]?.position ?? 0,
  last: events[events.length - 1]?.position ?? 0
})

const describe = (error: unknown): string => {
  if (error instanceof Error) return error.message
  if (typeof error === "string") return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

interface Progress {
  readonly checkpoints: ReadonlyMap<string, number>
  readonly halted: ReadonlyMap<string, PartitionHalted>
}

/**
 * The engine under `start` and `stream`: `deliver` hands one batch to its
 * destination and succeeds once it was handled.
 */
const engine = <E, R>(
  options: Resolved,
  deliver: (batch: Batch, revoked: () => boolean) => Effect.Effect<void, E, R>
): Effect.Effect<Running, never, R | EventFeed | LeaseStore | Scope.Scope> =>
  Effect.gen(function* () {
    const feed = yield* EventFeed
    const leases = yield* LeaseStore
    const deadLetters = yield* Effect.serviceOption(DeadLetterStore)
    const scope = yield* Effect.scope
    // Partition workers live in a child scope created first, so it closes last: after the
    // shutdown finalizer below has stopped the balancer (which could otherwise re-acquire
    // leases the workers just released) and waited for every worker to release its lease.
    const workerScope = yield* Scope.fork(scope, "parallel")
    const { group, owner } = options
    const progress = yield* SubscriptionRef.make<Progress>({ checkpoints: new Map(), halted: new Map() })
    const held = new Map<string, Partition.Partition>()
    // Partitions whose lease this instance lost or gave up while the worker is still winding down
    // (a store call in flight during an outage can take long): no longer reported as owned.
    const revokedKeys = new Set<string>()
    const workers = new Set<Fiber.Fiber<void>>()
    const known = new Set<string>()
    const heads = new Map<string, number>()
    let sightings: Balancer.Sightings = new Map()
    const permits = yield* Semaphore.make(options.partitionConcurrency)
    const ttl = options.leaseTtlMillis
    const now = Clock.currentTimeMillis

    const storeRetry = Schedule.min([
      Schedule.exponential("20 millis"),
      Schedule.spaced(Duration.millis(Math.max(20, options.renewIntervalMillis / 2)))
    ]).pipe(Schedule.jittered)
    const retryStore = <A, E2 extends { readonly _tag: string }, R2>(effect: Effect.Effect<A, E2, R2>) =>
      effect.pipe(
        Effect.tapError((error) =>
          error._tag === "StoreUnavailable" ? Metric.update(retriesCounter, 1) : Effect.void
        ),
        Effect.retry({ schedule: storeRetry, while: (error) => error._tag === "StoreUnavailable" })
      )
    const idle = Schedule.min([
      Schedule.exponential(Duration.millis(options.minIdlePollMillis)),
      Schedule.spaced(Duration.millis(options.maxIdlePollMillis))
    ])

    const setCheckpoint = (key: string, position: number) =>
      SubscriptionRef.update(progress, (p) => ({
        ...p,
        checkpoints: new Map(p.checkpoints).set(key, position)
      }))
    const owned = Metric.withAttributes(ownedGauge, { [groupAttr]: group })
    const reportOwned = Effect.suspend(() => Metric.update(owned, held.size - revokedKeys.size))
    const updateLag = (partition: Partition.Partition, checkpoint: number) => {
      const key = Partition.key(partition)
      const head = Math.max(heads.get(key) ?? 0, checkpoint)
      heads.set(key, head)
      return Metric.update(
        Metric.withAttributes(lagGauge, { [groupAttr]: group, [partitionAttr]: Partition.format(partition) }),
        head - checkpoint
      )
    }

    /** Works on one partition while this instance holds its lease. */
    const work = (acquired: Lease, acquiredAt: number, stolen: boolean) =>
      Effect.gen(function* () {
        const partition = acquired.partition
        const key = Partition.key(partition)
        const label = Partition.format(partition)
        let lease = acquired
        let proof = acquiredAt
        let lost: LeaseLost | undefined
        const attrs = { [groupAttr]: group, [partitionAttr]: label }
        const handled = Metric.withAttributes(handledCounter, attrs)
        const duration = Metric.withAttributes(handlerDuration, attrs)
        const failures = Metric.withAttributes(failuresCounter, attrs)
        const retries = Metric.withAttributes(retriesCounter, attrs)
        const stopped = yield* Deferred.make<void>()
        const writes = yield* Semaphore.make(1)
        const deadline = () => proof + ttl - options.safetyMarginMillis

        const lose = (error: LeaseLost) =>
          Effect.suspend(() => {
            if (lost !== undefined) return Effect.void
            lost = error
            revokedKeys.add(key)
            return Effect.logWarning("lease lost; partition stopped", { reason: error.reason }).pipe(
              Effect.andThen(reportOwned),
              // `halted` lists only partitions this instance still holds.
              Effect.andThen(
                SubscriptionRef.update(progress, (p) => {
                  const halted = new Map(p.halted)
                  halted.delete(key)
                  return { ...p, halted }
                })
              ),
              Effect.andThen(Deferred.succeed(stopped, undefined))
            )
          })
        const expired = () =>
          new LeaseLost({
            group,
            partition,
            owner,
            reason: "not renewed within the lease TTL minus the safety margin on this instance's clock"
          })

        // Set when a write's answer was lost (StoreUnavailable): it may have landed and changed the ETag.
        let uncertain = false
        /**
         * After a lost answer, a `LeaseLost` may come from our own write that landed. Re-read
         * and confirm both the owner and the epoch (every acquire increments it): only when both
         * are still ours is the stored lease adopted and the write made again on it.
         */
        const confirm = (error: LeaseLost) =>
          leases.get(group, partition).pipe(
            Effect.catch(() => Effect.fail(error)),
            Effect.flatMap((stored) =>
              Option.isSome(stored) && stored.value.owner === owner && stored.value.epoch === lease.epoch
                ? Effect.succeed(stored.value)
                : Effect.fail(error)
            )
          )

        /**
         * The one way to write the lease: serialised, fenced by the latest ETag held here, and
         * uninterruptible, so a write already sent is always followed by recording its new ETag
         * (an interrupted renew could land unseen and make the release on shutdown fail).
         */
        const write = <E2>(
          op: (current: Lease) => Effect.Effect<Lease, LeaseLost | E2>
        ): Effect.Effect<Lease, LeaseLost | E2> =>
          writes.withPermit(
            Effect.uninterruptible(
              Effect.gen(function* () {
                if (lost !== undefined) return yield* Effect.fail(lost)
                const started = yield* now
                if (started >= deadline()) {
                  const error = expired()
                  yield* lose(error)
                  return yield* Effect.fail(error)
                }
                const next = yield* op(lease).pipe(
                  Effect.catch((error) =>
                    error instanceof LeaseLost && uncertain
                      ? Effect.flatMap(confirm(error), (stored) => {
                          uncertain = false
                          return op(stored)
                        })
                      : Effect.fail(error)
                  ),
                  Effect.tapError((error) =>
                    Effect.suspend(() => {
                      if (error instanceof LeaseLost) return lose(error)
                      if ((error as { readonly _tag?: unknown })._tag === "StoreUnavailable") uncertain = true
                      return Effect.void
                    })
                  )
                )
                lease = next
                proof = started
                uncertain = false
                return next
              })
            )
          )

        /** No handler call once the lease is lost or about to expire. */
        const guard = Effect.flatMap(now, (time) => {
          if (lost === undefined && time < deadline()) return Effect.void
          return (lost === undefined ? lose(expired()) : Effect.void).pipe(Effect.andThen(Effect.interrupt))
        })
        const revoked = () => lost !== undefined

        const renewing = write((l) => leases.renew(l)).pipe(
          Effect.catchTag("LeaseLost", () => Effect.void),
          Effect.catch((error) => Effect.logWarning("lease renewal failed; will retry", { error: error.message })),
          Effect.repeat({ schedule: Schedule.spaced(Duration.millis(options.renewIntervalMillis)), until: revoked })
        )
        const watchdog = Effect.flatMap(now, (time) =>
          time >= deadline() ? lose(expired()) : Effect.sleep(Duration.millis(deadline() - time))
        ).pipe(Effect.repeat({ until: revoked }))

        const halt = (position: number, attempts: number, reason: string, cause: unknown) =>
          Effect.gen(function* () {
            const error = new PartitionHalted({ group, partition, position, attempts, reason, cause })
            yield* Effect.logError("partition halted", { position, attempts, reason })
            yield* SubscriptionRef.update(progress, (p) => ({ ...p, halted: new Map(p.halted).set(key, error) }))
          })

        const checkpoint = (position: number, attempts: number) =>
          retryStore(write((l) => leases.checkpoint(l, position, attempts))).pipe(
            // Positions come from the feed after the held checkpoint: a refusal here is a bug, not an input error.
            Effect.catchTag("InvalidArgument", (error) => Effect.die(error)),
            Effect.tap(() => updateLag(partition, position)),
            Effect.tap(() => setCheckpoint(key, position))
          )

        /**
         * Reads the next page after the checkpoint; waits with the idle backoff while it is empty.
         * Never waits on damage: a read that reports missing or corrupt data fails (the caller halts
         * the partition), and an empty page while the partition's head, as last read, is past the
         * checkpoint means rows are missing (positions are only ever assigned to rows written in the
         * same transaction as the head), so it fails with `FeedGap` instead of idling.
         */
        const poll = (after: number, limit: number) =>
          retryStore(feed.read(partition, after, limit)).pipe(
            Effect.catchTag("CorruptEvent", (error) =>
              // Narrow a corrupt page down to the first event, so the events before the damage go on;
              // if that first event is missing too, the damage is right after the checkpoint.
              limit > 1
                ? Effect.flatMap(retryStore(feed.read(partition, after, 1)), (events) =>
                    events.length > 0 ? Effect.succeed(events) : Effect.fail(error)
                  )
                : Effect.fail(error)
            ),
            Effect.catchTag("CorruptPartition", (error) =>
              // The store names the missing position: read the events before it, so they go on.
              error.position > after + 1
                ? Effect.flatMap(
                    retryStore(feed.read(partition, after, Math.min(limit, error.position - after - 1))),
                    (events) => (events.length > 0 ? Effect.succeed(events) : Effect.fail(error))
                  )
                : Effect.fail(error)
            ),
            Effect.flatMap((events) => {
              const head = heads.get(key) ?? 0
              return events.length === 0 && head > after
                ? Effect.fail(new FeedGap({ partition, expected: after + 1, found: head }))
                : Effect.succeed(events)
            }),
            Effect.repeat({ schedule: idle, until: (events) => events.length > 0 })
          )

        /** Delivers a batch with the retry schedule; the error of the last try when retries run out. */
        const attempt = (batch: Batch) => {
          const call = (part: Batch) =>
            guard.pipe(
              // Suspended: every retry calls the handler again.
              Effect.andThen(Effect.timed(Effect.suspend(() => deliver(part, revoked)))),
              Effect.tap(([elapsed]) => Metric.update(duration, Duration.toMillis(elapsed))),
              Effect.tapError(() => Metric.update(failures, 1)),
              Effect.retry(options.retry.pipe(Schedule.tap(() => Metric.update(retries, 1))))
            )
          return options.streamConcurrency === 1
            ? call(batch)
            : Effect.forEach(byStream(batch), call, { concurrency: options.streamConcurrency, discard: true })
        }

        /** Applies the poison policy to `event`; false when the partition is halted. */
        const poison = (event: StoredEvent, attempts: number, cause: unknown) =>
          Effect.gen(function* () {
            const reason = describe(cause)
            if (options.poison === "stop" || Option.isNone(deadLetters)) {
              yield* halt(event.position, attempts, reason, cause)
              return false
            }
            const letter: DeadLetter = { group, event, error: truncateError(reason), attempts, parkedAt: yield* now }
            yield* retryStore(deadLetters.value.park(letter))
            yield* Effect.logWarning("event parked", { position: event.position, attempts, error: reason })
            yield* advance(event.position)
            return true
          })

        // Every delivery is counted in the lease before it is made (`arm`: attempts := crashes + 1
        // at the checkpoint) and uncounted when it ends: a success moves the checkpoint (the store
        // resets attempts), a graceful stop writes the count back before releasing. So the stored
        // attempts are the crashed deliveries of the events after the checkpoint, plus one while a
        // delivery is in flight. A lease stolen from a live owner (balancing) holds that owner's
        // in-flight count, which is not a crash: it is taken off.
        const crashedBefore = stolen ? Math.max(0, acquired.attempts - 1) : acquired.attempts
        // After a crash, events are delivered one by one up to where the crashed batch could have
        // reached, the crash count carried from one to the next (the crash may have been on any of
        // them): the event that kills the process reaches the poison policy after `maxAttempts`
        // deliveries in all.
        let crashes = crashedBefore
        const recoverUntil = crashedBefore > 0 ? acquired.checkpoint + options.batchSize : 0
        let armed = false
        const base = () => (lease.checkpoint < recoverUntil ? crashes : 0)
        const arm = Effect.suspend(() =>
          armed
            ? Effect.void
            : Effect.map(checkpoint(lease.checkpoint, base() + 1), () => {
                armed = true
              })
        )
        function advance(position: number) {
          return Effect.map(checkpoint(position, 0), () => {
            armed = false
          })
        }

        /** One step: poll, deliver, checkpoint. False when the partition halts. */
        const step: Effect.Effect<boolean, LeaseLost | LeaseStoreError | E, R> = Effect.gen(function* () {
          const after = lease.checkpoint
          const recovering = after < recoverUntil
          const read = yield* Effect.result(poll(after, recovering ? 1 : options.batchSize))
          if (read._tag === "Failure") {
            const error: ReadError | FeedGap = read.failure
            yield* halt(after + 1, lease.attempts, describe(error), error)
            return false
          }
          const events = read.success
          for (const [index, event] of events.entries()) {
            if (event.position !== after + 1 + index) {
              const gap = new FeedGap({ partition, expected: after + 1 + index, found: event.position })
              yield* halt(after + 1 + index, lease.attempts, gap.message, gap)
              return false
            }
          }
          const last = events[events.length - 1]!
          heads.set(key, Math.max(heads.get(key) ?? 0, last.position))
          if (recovering && crashes >= options.maxAttempts) {
            const blamed = crashes
            // The count is spent on this event; the ones after it start from none.
            crashes = 0
            return yield* poison(
              events[0]!,
              blamed,
              `delivery attempted ${blamed} times without completing (the process stopped each time)`
            )
          }
          return yield* permits.withPermit(
            Effect.gen(function* () {
              yield* arm
              const batch = batchOf(group, partition, events)
              const delivered = yield* Effect.result(
                attempt(batch).pipe(
                  Effect.withSpan(
                    "Consumer.batch",
                    {
                      attributes: {
                        [groupAttr]: group,
                        [partitionAttr]: label,
                        "eventable.consumer.first": batch.first,
                        "eventable.consumer.last": batch.last,
                        "eventable.consumer.size": events.length
                      }
                    },
                    { captureStackTrace: false }
                  )
                )
              )
              if (delivered._tag === "Success") {
                yield* Metric.update(handled, events.length)
                yield* advance(last.position)
                return true
              }
              // Retries ran out: find the poison event by delivering one event at a time.
              for (const event of events) {
                if (event.position <= lease.checkpoint) continue
                yield* arm
                const single = yield* Effect.result(attempt(batchOf(group, partition, [event])))
                if (single._tag === "Success") {
                  yield* Metric.update(handled, 1)
                  yield* advance(event.position)
                } else if (!(yield* poison(event, lease.attempts, single.failure))) {
                  return false
                }
              }
              return true
            })
          )
        })

        const processing = step.pipe(
          Effect.repeat({ while: (going) => going }),
          Effect.catch((error) =>
            error instanceof LeaseLost
              ? Effect.void
              : halt(lease.checkpoint + 1, lease.attempts, describe(error), error)
          ),
          Effect.andThen(Effect.never)
        )

        yield* setCheckpoint(key, acquired.checkpoint)
        yield* updateLag(partition, acquired.checkpoint)
        yield* Effect.logInfo("lease acquired", { checkpoint: acquired.checkpoint, epoch: acquired.epoch })
        const renewer = yield* Effect.forkChild(renewing, { startImmediately: true })
        const guardian = yield* Effect.forkChild(watchdog, { startImmediately: true })
        yield* Effect.raceFirst(processing, Deferred.await(stopped)).pipe(
          Effect.ensuring(
            Effect.gen(function* () {
              yield* Fiber.interrupt(renewer)
              yield* Fiber.interrupt(guardian)
              if (lost === undefined) {
                // Graceful: a delivery interrupted here did not crash, so its count is taken back
                // before the partition is handed over. Release writes only the owner.
                if (armed) {
                  yield* write((l) => leases.checkpoint(l, l.checkpoint, base())).pipe(
                    Effect.catch((error) => Effect.logWarning("attempt count not restored", { error: error.message }))
                  )
                }
                yield* writes.withPermit(Effect.suspend(() => leases.release(lease))).pipe(
                  Effect.tap(() => Effect.logInfo("lease released")),
                  Effect.catch((error) => Effect.logWarning("lease release failed", { error: error.message }))
                )
              }
            })
          )
        )
      }).pipe(
        Effect.annotateLogs({ group, partition: Partition.format(acquired.partition), owner }),
        Effect.ensuring(
          Effect.suspend(() => {
            held.delete(Partition.key(acquired.partition))
            revokedKeys.delete(Partition.key(acquired.partition))
            return reportOwned
          })
        )
      )

    // Uninterruptible: an acquire that was sent always ends with a worker that will release it.
    const tryAcquire = (lease: Lease, stolen = false) =>
      Effect.uninterruptible(
        Effect.gen(function* () {
          const key = Partition.key(lease.partition)
          if (held.has(key)) return
          const startedAt = yield* now
          const acquired = yield* Effect.result(leases.acquire(lease, owner))
          if (acquired._tag === "Failure") {
            if (!(acquired.failure instanceof LeaseLost)) {
              yield* Effect.logWarning("lease acquire failed", { error: acquired.failure.message })
            }
            return
          }
          held.set(key, lease.partition)
          yield* reportOwned
          const fiber = yield* Effect.forkIn(work(acquired.success, startedAt, stolen), workerScope, {
            startImmediately: true
          })
          workers.add(fiber)
          fiber.addObserver(() => workers.delete(fiber))
        })
      )

    const listPartitions =
      options.tenants === undefined
        ? feed.partitions({ category: options.category })
        : Effect.map(
            Effect.forEach(options.tenants, (tenant) => feed.partitions({ tenant, category: options.category })),
            (lists) => lists.flat()
          )
    const wanted = (partition: Partition.Partition) =>
      partition.category === options.category &&
      (options.tenants === undefined || options.tenants.includes(partition.tenant))

    const balance = Effect.gen(function* () {
      for (const partition of yield* listPartitions) {
        const key = Partition.key(partition)
        if (known.has(key)) continue
        yield* leases.ensure(group, partition)
        known.add(key)
      }
      const all = (yield* leases.list(group)).filter((lease) => wanted(lease.partition))
      const time = yield* now
      sightings = Balancer.observe(sightings, all, time)
      const plan = Balancer.plan({
        self: owner,
        leases: all,
        held: new Set(held.keys()),
        sightings,
        now: time,
        ttlMillis: ttl
      })
      yield* Effect.forEach(plan.take, (lease) => tryAcquire(lease), { concurrency: 8, discard: true })
      if (plan.steal !== undefined) {
        yield* Effect.logInfo("stealing a lease", {
          partition: Partition.format(plan.steal.partition),
          from: plan.steal.owner,
          fairShare: plan.fairShare
        })
        yield* tryAcquire(plan.steal, true)
      }
      // Heads for the lag metric, read after the leases so they never delay a takeover.
      yield* Effect.forEach(
        all.filter((lease) => held.has(Partition.key(lease.partition))),
        (lease) =>
          Effect.map(feed.head(lease.partition), (head) => {
            heads.set(Partition.key(lease.partition), head)
          }),
        { concurrency: 8, discard: true }
      )
    }).pipe(
      Effect.catch((error) => Effect.logWarning("balance cycle failed", { error: error.message })),
      Effect.annotateLogs({ group, owner })
    )

    const balancer = yield* Effect.forkIn(
      balance.pipe(Effect.repeat(Schedule.spaced(Duration.millis(options.balanceIntervalMillis)))),
      scope,
      { startImmediately: true }
    )
    // Shutdown: stop balancing, then interrupt every partition and wait until each has released
    // its lease, so a process that exits right after its scope closes has handed everything over.
    yield* Scope.addFinalizer(
      scope,
      Effect.andThen(
        Fiber.interrupt(balancer),
        Effect.suspend(() => Fiber.interruptAll([...workers]))
      )
    )

    const awaitLocal = (key: string, position: number) =>
      SubscriptionRef.changes(progress).pipe(
        Stream.filter((p) => p.halted.has(key) || (p.checkpoints.get(key) ?? 0) >= position),
        Stream.runHead,
        Effect.flatMap((p) => {
          const halted = Option.isSome(p) ? p.value.halted.get(key) : undefined
          return halted !== undefined && (p._tag === "Some" ? (p.value.checkpoints.get(key) ?? 0) : 0) < position
            ? Effect.fail(halted)
            : Effect.void
        })
      )

    return {
      owner,
      owned: Effect.sync(() => [...held].filter(([key]) => !revokedKeys.has(key)).map(([, partition]) => partition)),
      halted: Effect.map(SubscriptionRef.get(progress), (p) => [...p.halted.values()]),
      awaitPosition: (partition, position) =>
        Effect.gen(function* () {
          yield* checkPosition("Running.awaitPosition", position)
          const refuse = (reason: string) =>
            Effect.fail(
              new InvalidArgument({
                operation: "Running.awaitPosition",
                argument: "partition",
                value: Partition.format(partition),
                reason
              })
            )
          if (!wanted(partition)) return yield* refuse(`not read by this consumer (category ${options.category})`)
          if (!known.has(Partition.key(partition))) {
            const exists = (yield* feed.partitions({ tenant: partition.tenant, category: partition.category })).some(
              (p) => Partition.key(p) === Partition.key(partition)
            )
            if (!exists) return yield* refuse("no such partition in the feed")
          }
        }).pipe(
          Effect.andThen(
            Effect.raceFirst(
              awaitLocal(Partition.key(partition), position),
              awaitCheckpoint(
                group,
                partition,
                position,
                Schedule.spaced(Duration.millis(options.minIdlePollMillis))
              ).pipe(Effect.provideService(LeaseStore, leases))
            )
          )
        )
    } satisfies Running
  })

/**
 * Starts a consumer in the current scope and returns its handle at once. The
 * consumer runs until the scope closes; closing it releases every lease.
 * Needs `EventFeed` and `LeaseStore`, and `DeadLetterStore` for the `park`
 * policy.
 *
 * @since 0.1.0
 */
export const start = <E, R>(
  options: ConsumerOptions,
  handler: (batch: Batch) => Effect.Effect<void, E, R>
): Effect.Effect<Running, InvalidConsumerOptions, R | EventFeed | LeaseStore | Scope.Scope> =>
  Effect.gen(function* () {
    const resolved = yield* validate(options)
    return yield* engine(resolved, handler)
  })

/**
 * Runs a handler over the group's partitions until interrupted. Fails only
 * with `InvalidConsumerOptions`; per-partition problems halt that partition
 * (see {@link Running.halted}) and are logged.
 *
 * @since 0.1.0
 */
export const run = <E, R>(
  options: ConsumerOptions,
  handler: (batch: Batch) => Effect.Effect<void, E, R>
): Effect.Effect<never, InvalidConsumerOptions, R | EventFeed | LeaseStore | Scope.Scope> =>
  Effect.andThen(start(options, handler), Effect.never)

/**
 * The consumer as a Stream of batches, one outstanding per partition: the
 * next batch of a partition comes after the caller called `ack` on the
 * previous one. A batch of a partition whose lease was lost is dropped before
 * it reaches the caller. Retries of a failing handler are the caller's; the
 * poison policy still applies to events that stop the process `maxAttempts`
 * times.
 *
 * @since 0.1.0
 */
export const stream = (
  options: ConsumerOptions
): Stream.Stream<Delivery, InvalidConsumerOptions, EventFeed | LeaseStore> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const resolved = yield* validate(options)
      const queue = yield* Queue.unbounded<{ readonly delivery: Delivery; readonly revoked: () => boolean }>()
      yield* engine(resolved, (batch, revoked) =>
        Effect.gen(function* () {
          const done = yield* Deferred.make<void>()
          yield* Queue.offer(queue, {
            delivery: { ...batch, ack: Deferred.succeed(done, undefined).pipe(Effect.asVoid) },
            revoked
          })
          yield* Deferred.await(done)
        })
      )
      return Stream.fromQueue(queue).pipe(
        Stream.filter((item) => !item.revoked()),
        Stream.map((item) => item.delivery)
      )
    })
  )

const validate = (options: ConsumerOptions) =>
  resolve(options).pipe(
    Effect.tap((resolved) =>
      resolved.poison === "park"
        ? Effect.flatMap(Effect.serviceOption(DeadLetterStore), (store) =>
            Option.isSome(store)
              ? Effect.void
              : Effect.fail(
                  new InvalidConsumerOptions({
                    option: "poison",
                    value: '"park"',
                    reason: "the park policy needs a DeadLetterStore in the context"
                  })
                )
          )
        : Effect.void
    )
  )

const checkPosition = (operation: string, position: number) =>
  Number.isSafeInteger(position) && position >= 0
    ? Effect.void
    : Effect.fail(
        new InvalidArgument({
          operation,
          argument: "position",
          value: String(position),
          reason: "not a non-negative integer"
        })
      )

/**
 * Completes once the group's stored checkpoint of `partition` is at or past
 * `position`, polling the lease store on `schedule` (default every 50 ms).
 * Fails at once with `InvalidArgument` when `position` is not a non-negative
 * integer. A lease that does not exist yet (no consumer of the group has
 * started) is waited for: bound the wait with `Effect.timeout`.
 * Works across processes; within the process running the consumer, prefer
 * {@link Running.awaitPosition}, which is signalled.
 *
 * @since 0.1.0
 */
export const awaitCheckpoint = (
  group: string,
  partition: Partition.Partition,
  position: number,
  schedule: Schedule.Schedule<unknown, unknown> = Schedule.spaced("50 millis")
): Effect.Effect<void, InvalidArgument | LeaseStoreError, LeaseStore> =>
  Effect.gen(function* () {
    yield* checkPosition("Consumer.awaitCheckpoint", position)
    const leases = yield* LeaseStore
    yield* leases.get(group, partition).pipe(
      Effect.map((lease) => Option.isSome(lease) && lease.value.checkpoint >= position),
      Effect.repeat({ schedule, until: (reached: boolean) => reached })
    )
  })

/**
 * What {@link replay} did.
 *
 * @since 0.1.0
 */
export interface ReplayResult {
  /** Parked events the handler now succeeded on; removed from the dead-letter store. */
  readonly replayed: number
  /** Parked events the handler failed on again; they stay parked. */
  readonly failed: ReadonlyArray<{ readonly letter: DeadLetter; readonly error: string }>
}

/**
 * Replays a group's parked events through `handler`, one event per batch, in
 * partition then position order; each success is removed from the
 * dead-letter store, each failure stays parked.
 *
 * @since 0.1.0
 */
export const replay = <E, R>(
  group: string,
  handler: (batch: Batch) => Effect.Effect<void, E, R>,
  filter: { readonly partition?: Partition.Partition } = {}
): Effect.Effect<ReplayResult, DeadLetterStoreError, R | DeadLetterStore> =>
  Effect.gen(function* () {
    const store = yield* DeadLetterStore
    const letters = yield* store.list(group, filter)
    let replayed = 0
    const failed: Array<{ readonly letter: DeadLetter; readonly error: string }> = []
    for (const letter of letters) {
      const result = yield* Effect.result(handler(batchOf(group, letter.event.partition, [letter.event])))
      if (result._tag === "Success") {
        yield* store.remove(group, letter.event.partition, letter.event.position)
        replayed++
      } else {
        failed.push({ letter, error: describe(result.failure) })
      }
    }
    return { replayed, failed }
  })

/**
 * Turns a handler of decoded events into a batch handler: decodes every event
 * of the batch with `codec.decodeKnown`, so event types the codec does not
 * know follow its `unknownTypes` policy (`"skip"` leaves them out, `"fail"`
 * fails). A `CorruptEvent` goes to the retry schedule and then the poison
 * policy like any handler failure. The handler is called even when every
 * event was skipped, so it sees the batch's positions.
 *
 * @example
 * ```ts
 * const handler = Consumer.decoded(codec, (events) => Effect.forEach(events, (e) => apply(e.event)))
 * ```
 *
 * @since 0.1.0
 */
export const decoded =
  <A, E, R>(
    codec: EventCodec<A>,
    handler: (events: ReadonlyArray<RecordedEvent<A>>, batch: Batch) => Effect.Effect<void, E, R>
  ) =>
  (batch: Batch): Effect.Effect<void, E | CorruptEvent, R> =>
    Effect.flatMap(Effect.forEach(batch.events, codec.decodeKnown), (events) =>
      handler(
        events.flatMap((event) => (Option.isSome(event) ? [event.value] : [])),
        batch
      )
    )
