/**
 * Commits appends to one partition, each as ONE entity-group transaction:
 *
 * ```
 * [stream headers…, snapshot rows…, event rows…, feed rows…, partition head]
 * ```
 *
 * - A stream header is inserted (a new stream) or updated with If-Match on its
 *   ETag, so a concurrent writer makes the transaction fail: a real conflict.
 * - The head holds the partition's last position and is updated with If-Match,
 *   so positions commit atomically with their events: the feed never shows a
 *   gap or an event that did not commit.
 *
 * A failed transaction names its failing operation's index. A header (or an
 * event row) fails only its own append; the others are resubmitted. A stale
 * head is only position contention: re-read it, renumber, resubmit — without
 * running any decider again. A feed row that exists although the head did not
 * move means the head lags its feed: `CorruptPartition`, at once, never a spin.
 * A transient failure leaves the outcome unknown: the writer looks each
 * append's event ids up in its stream's own rows (which covers every earlier
 * attempt, whatever positions it had), reports the ones it finds as committed,
 * and retries the rest with backoff.
 *
 * With group commit on, one writer fiber per partition coalesces the appends
 * waiting for it into one transaction (at most 100 operations and 4 MiB, one
 * append per stream). With it off, every append commits on its own and
 * competes for the head.
 *
 * @since 0.1.0
 */
import type { TransactionAction } from "@azure/data-tables"
import { odata } from "@azure/data-tables"
import {
  AppendTooLarge,
  CorruptPartition,
  InvalidAppend,
  type StoreFailure,
  StoreUnavailable,
  type StreamId
} from "@eventable/core"
import { Cause, Clock, Deferred, Effect, Metric, Option, Random, type Scope } from "effect"
import * as EventRows from "./EventRows.ts"
import type * as SnapshotRows from "./SnapshotRows.ts"
import * as TableKeys from "./TableKeys.ts"
import type { TableRequestError, TableStorageClient } from "./TableStorageClient.ts"

/**
 * What the commit of one append came to.
 *
 * @since 0.1.0
 */
export type Outcome =
  | {
      readonly _tag: "Committed"
      readonly positions: ReadonlyArray<number>
      /** The header's new ETag; unknown when the commit was recognised after a lost answer. */
      readonly headerEtag: string | undefined
    }
  /**
   * The stream header (or an event row) was not as expected: the stream moved,
   * or this append already committed. `row` says which operation failed.
   */
  | { readonly _tag: "HeaderConflict"; readonly row: "header" | "event" }
  | {
      readonly _tag: "Failed"
      readonly error: StoreUnavailable | StoreFailure | AppendTooLarge | InvalidAppend | CorruptPartition
    }

/**
 * An append waiting to be committed.
 *
 * @since 0.1.0
 */
export interface PendingAppend {
  readonly streamId: StreamId.StreamId
  readonly headerRow: string
  /** `undefined` inserts the header (a new stream); an ETag updates it with If-Match. */
  readonly headerEtag: string | undefined
  /** The stream's version before this append. */
  readonly base: number
  /** The stream's version after it. */
  readonly version: number
  readonly events: ReadonlyArray<EventRows.PreparedEvent>
  /** The snapshot written with it, upserted: the header's condition fences the whole transaction. */
  readonly snapshot: SnapshotRows.PreparedSnapshot | undefined
  readonly operations: number
  readonly requestBytes: number
  readonly outcome: Deferred.Deferred<Outcome>
}

/**
 * The partition head as this process last saw it.
 *
 * @since 0.1.0
 */
export interface Head {
  position: number
  /** `undefined` when the head row does not exist yet. */
  etag: string | undefined
  /** Whether `position` and `etag` are worth trying; false after a conflict. */
  known: boolean
}

/**
 * Builds a pending append.
 *
 * @since 0.1.0
 */
export const pending = (
  stream: EventRows.StreamShape,
  headerEtag: string | undefined,
  base: number,
  events: ReadonlyArray<EventRows.PreparedEvent>,
  snapshot?: SnapshotRows.PreparedSnapshot
): Effect.Effect<PendingAppend> =>
  Effect.map(Deferred.make<Outcome>(), (outcome) => {
    let requestBytes = stream.headerRequestBytes + (snapshot?.requestBytes ?? 0)
    for (const event of events) requestBytes += event.requestBytes
    return {
      streamId: stream.streamId,
      headerRow: stream.headerRow,
      headerEtag,
      base,
      version: base + events.length,
      events,
      snapshot,
      operations: 1 + 2 * events.length + (snapshot?.operations ?? 0),
      requestBytes,
      outcome
    }
  })

/**
 * The most a transaction may carry, with the head's operation and bytes counted.
 *
 * @since 0.1.0
 */
export const transactionBudget = (partitionKey: string) => ({
  operations: EventRows.maxTransactionOperations - 1,
  bytes: EventRows.maxTransactionBytes - 16_384 - EventRows.smallRowRequestBytes(partitionKey, TableKeys.headRow)
})

/**
 * The group-commit admission rule: picks the appends that fit one transaction,
 * in arrival order, at most one per stream (two appends of one stream in one
 * transaction would both be checked against the same header). An append that
 * does not fit, or whose stream already has an append in the batch or waiting
 * before it, waits in `rest` for the next transaction, in its order: an append
 * never overtakes an earlier one of its stream. Pure: no I/O.
 *
 * @since 0.1.0
 */
export const select = (
  partitionKey: string,
  waiting: ReadonlyArray<PendingAppend>
): { readonly batch: ReadonlyArray<PendingAppend>; readonly rest: Array<PendingAppend> } => {
  const budget = transactionBudget(partitionKey)
  const batch: Array<PendingAppend> = []
  const rest: Array<PendingAppend> = []
  const streams = new Set<string>()
  let operations = 0
  let bytes = 0
  for (const append of waiting) {
    const fits = operations + append.operations <= budget.operations && bytes + append.requestBytes <= budget.bytes
    if (fits && !streams.has(append.headerRow)) {
      batch.push(append)
      streams.add(append.headerRow)
      operations += append.operations
      bytes += append.requestBytes
    } else {
      rest.push(append)
      streams.add(append.headerRow)
    }
  }
  return { batch, rest }
}

/**
 * A partition key named as `Partition.format` names a partition
 * (`tenant/category#shard`), for error messages.
 *
 * @since 0.1.0
 */
export const partitionName = (partitionKey: string): string => {
  const [tenant = "", category = "", shard = ""] = partitionKey.split("|")
  return `${TableKeys.decodePart(tenant) ?? tenant}/${TableKeys.decodePart(category) ?? category}#${Number(shard)}`
}

/**
 * Whether the versions `base + 1…` of a stream hold exactly these event ids:
 * then the append committed (in whichever attempt, at whichever positions),
 * and its positions are returned. The stream's own rows are the only place
 * that answers this for every earlier attempt.
 *
 * @since 0.1.0
 */
export const readBack = (
  client: TableStorageClient["Service"],
  partitionKey: string,
  streamId: StreamId.StreamId,
  base: number,
  eventIds: ReadonlyArray<string>
): Effect.Effect<Option.Option<ReadonlyArray<number>>, TableRequestError> =>
  Effect.gen(function* () {
    const lower = TableKeys.streamRow(streamId.id, base + 1)
    const upper = TableKeys.streamRow(streamId.id, base + eventIds.length)
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${lower} and RowKey le ${upper}`
    const rows: Array<Record<string, unknown>> = []
    let token: string | undefined
    do {
      // A page may come back short (or empty) with a continuation token: follow it.
      const page = yield* client.page(filter, { pageSize: eventIds.length, continuationToken: token })
      rows.push(...page.entities)
      token = page.continuationToken
    } while (token !== undefined && rows.length < eventIds.length)
    if (rows.length !== eventIds.length) return Option.none()
    const positions: Array<number> = []
    for (const [index, entity] of rows.entries()) {
      if (entity.eventId !== eventIds[index]) return Option.none()
      positions.push(EventRows.count(entity, "position") ?? 0)
    }
    return Option.some(positions)
  })

const batchSize = Metric.histogram("eventable_table_batch_appends", {
  description: "Appends committed together in one entity-group transaction",
  boundaries: Metric.linearBoundaries({ start: 1, width: 4, count: 9 })
})
const batchOperations = Metric.histogram("eventable_table_batch_operations", {
  description: "Operations in one entity-group transaction",
  boundaries: Metric.linearBoundaries({ start: 4, width: 12, count: 9 })
})
const headContention = Metric.counter("eventable_table_head_conflicts_total", {
  description: "Transactions resubmitted because another writer moved the partition head"
})
const unknownOutcomes = Metric.counter("eventable_table_unknown_outcomes_total", {
  description: "Transactions whose answer was lost and whose outcome was read back"
})

/** How long a writer keeps renumbering while other writers keep winning the head. */
const maxContentionMillis = 60_000

/**
 * The commit machinery of one store: shared by every partition.
 *
 * @since 0.1.0
 */
export const make = (client: TableStorageClient["Service"], options: { readonly transientRetries: number }) => {
  const resolve = (append: PendingAppend, outcome: Outcome) => Deferred.succeed(append.outcome, outcome)

  /** The head as stored; a position that does not parse is damage, never a silent 0. */
  const readHead = (partitionKey: string): Effect.Effect<Head, TableRequestError | CorruptPartition> =>
    Effect.flatMap(client.get(partitionKey, TableKeys.headRow), (entity) => {
      if (Option.isNone(entity)) return Effect.succeed<Head>({ position: 0, etag: undefined, known: true })
      const position = EventRows.count(entity.value, "position")
      if (position === undefined) {
        return Effect.fail(
          new CorruptPartition({
            partition: partitionName(partitionKey),
            position: -1,
            reason: `the partition head's position ${JSON.stringify(entity.value.position)} is not a position`
          })
        )
      }
      return Effect.succeed<Head>({ position, etag: entity.value.etag, known: true })
    })

  /** Every append of `batch` whose events its stream already holds (an earlier attempt committed it). */
  const committedEarlier = (partitionKey: string, batch: ReadonlyArray<PendingAppend>) =>
    Effect.forEach(
      batch,
      (append) =>
        readBack(
          client,
          partitionKey,
          append.streamId,
          append.base,
          append.events.map((event) => event.event.metadata.eventId)
        ),
      { concurrency: 8 }
    )

  const storeError = (error: TableRequestError | CorruptPartition) =>
    error._tag === "CorruptPartition" ? error : error.toStoreError()

  /** Commits `initial`, resolving every append's outcome; never fails. */
  const commit = (partitionKey: string, initial: ReadonlyArray<PendingAppend>, head: Head): Effect.Effect<void> =>
    Effect.gen(function* () {
      let batch = [...initial]
      let transientFailures = 0
      let headConflicts = 0
      let contendedSince: number | undefined
      while (batch.length > 0) {
        if (!head.known) {
          const read = yield* Effect.result(readHead(partitionKey))
          if (read._tag === "Failure") {
            const error = storeError(read.failure)
            yield* Effect.forEach(batch, (append) => resolve(append, { _tag: "Failed", error }))
            return
          }
          Object.assign(head, read.success)
        }
        const start = head.position
        const positions: Array<Array<number>> = []
        let last = start
        for (const append of batch) positions.push(append.events.map(() => ++last))
        if (last > TableKeys.maxPosition) {
          const error = new StoreUnavailable({ operation: "append", reason: "the partition has run out of positions" })
          yield* Effect.forEach(batch, (append) => resolve(append, { _tag: "Failed", error }))
          return
        }

        const actions: Array<TransactionAction> = []
        const owners: Array<{
          readonly append: number
          readonly kind: "header" | "snapshot" | "event" | "feed" | "head"
        }> = []
        batch.forEach((append, a) => {
          const header = { partitionKey, rowKey: append.headerRow, version: String(append.version) }
          actions.push(
            append.headerEtag === undefined
              ? ["create", header]
              : [
                  "update",
                  header,
                  "Replace",
                  {
                    etag: append.headerEtag
                  }
                ]
          )
          owners.push({ append: a, kind: "header" })
        })
        batch.forEach((append, a) => {
          if (append.snapshot === undefined) return
          for (const row of append.snapshot.rows(partitionKey)) {
            actions.push(["upsert", row, "Replace"])
            owners.push({ append: a, kind: "snapshot" })
          }
        })
        for (const kind of ["event", "feed"] as const) {
          batch.forEach((append, a) => {
            append.events.forEach((event, e) => {
              const row = kind === "event" ? event.eventRow : event.feedRow
              actions.push(["create", row(partitionKey, append.base + e + 1, positions[a]![e]!)])
              owners.push({ append: a, kind })
            })
          })
        }
        const submittedHead = head.etag
        const headRow = { partitionKey, rowKey: TableKeys.headRow, position: String(last) }
        actions.push(
          head.etag === undefined ? ["create", headRow] : ["update", headRow, "Replace", { etag: head.etag }]
        )
        owners.push({ append: -1, kind: "head" })

        const submitted = yield* Effect.result(
          client
            .submit(actions)
            .pipe(
              Effect.withSpan(
                "TableEventStore.commit",
                { attributes: { "eventable.appends": batch.length, "eventable.operations": actions.length } },
                { captureStackTrace: false }
              )
            )
        )
        if (submitted._tag === "Success") {
          yield* Metric.update(batchSize, batch.length)
          yield* Metric.update(batchOperations, actions.length)
          const responses = submitted.success.subResponses
          const headEtag = responses[actions.length - 1]?.etag
          Object.assign(head, { position: last, etag: headEtag, known: headEtag !== undefined })
          yield* Effect.sync(() => {
            batch.forEach((append, a) => {
              Deferred.doneUnsafe(
                append.outcome,
                Effect.succeed({ _tag: "Committed", positions: positions[a]!, headerEtag: responses[a]?.etag })
              )
            })
          })
          return
        }

        const error: TableRequestError = submitted.failure
        const owner = error.index === undefined ? undefined : owners[error.index]
        const stale = error.status === 409 || error.status === 412 || error.status === 404
        if (
          owner !== undefined &&
          owner.kind !== "head" &&
          (error.status === 400 || (stale && owner.kind !== "feed"))
        ) {
          // A row of one append refused: only that append fails; the rest go again. A stale header
          // (or an existing event row) is a conflict; a 400 is a row the service will never take.
          const append = batch[owner.append]!
          yield* resolve(
            append,
            stale
              ? { _tag: "HeaderConflict", row: owner.kind === "event" ? "event" : "header" }
              : {
                  _tag: "Failed",
                  error: new InvalidAppend({
                    streamId: append.streamId,
                    reason: `the store rejected it: ${error.detail}`
                  })
                }
          )
          batch = batch.filter((_, a) => a !== owner.append)
          continue
        }
        if (owner !== undefined && stale) {
          // The head moved (or a position is taken): renumber and resubmit, no decider runs again.
          yield* Metric.update(headContention, 1)
          head.known = false
          if (owner.kind === "feed") {
            // A taken position with an unmoved head is no contention: the head lags its feed.
            const read = yield* Effect.result(readHead(partitionKey))
            if (read._tag === "Failure") {
              const failure = storeError(read.failure)
              yield* Effect.forEach(batch, (append) => resolve(append, { _tag: "Failed", error: failure }))
              return
            }
            if (read.success.etag === submittedHead) {
              const failure = new CorruptPartition({
                partition: partitionName(partitionKey),
                position: start + 1,
                reason:
                  read.success.etag === undefined
                    ? `the partition head is missing, but feed position ${start + 1} exists`
                    : `the partition head says ${start}, but feed position ${start + 1} already exists: the head lags its feed`
              })
              yield* Effect.logError("the partition head lags its feed", { partition: partitionKey, head: start })
              yield* Effect.forEach(batch, (append) => resolve(append, { _tag: "Failed", error: failure }))
              return
            }
            Object.assign(head, read.success)
          }
          // Someone else committed, so the partition progresses; only a writer that keeps losing gives up.
          const now = yield* Clock.currentTimeMillis
          contendedSince ??= now
          if (now - contendedSince > maxContentionMillis) {
            const failure = new StoreUnavailable({
              operation: "append",
              reason: `other writers kept moving the partition head for ${Math.round((now - contendedSince) / 1000)} s`
            })
            yield* Effect.forEach(batch, (append) => resolve(append, { _tag: "Failed", error: failure }))
            return
          }
          if (++headConflicts > 1) {
            const ceiling = Math.min(2 ** headConflicts, 64)
            yield* Effect.sleep(`${yield* Random.nextIntBetween(0, ceiling)} millis`)
          }
          continue
        }
        if (error.status === 413 && batch.length > 1) {
          // Our size estimate was too small for this batch: commit it in halves.
          const half = Math.ceil(batch.length / 2)
          yield* commit(partitionKey, batch.slice(0, half), head)
          yield* commit(partitionKey, batch.slice(half), head)
          return
        }
        if (error.status === 413) {
          const append = batch[0]!
          yield* resolve(append, {
            _tag: "Failed",
            error: new AppendTooLarge({
              streamId: append.streamId,
              size: append.requestBytes,
              limit: EventRows.maxTransactionBytes,
              unit: "bytes"
            })
          })
          return
        }
        if (error.transient) {
          // The answer was lost: the transaction may or may not have committed.
          yield* Metric.update(unknownOutcomes, 1)
          yield* Effect.logWarning("transaction answer lost; reading its outcome back", {
            partition: partitionKey,
            appends: batch.length,
            error: error.message
          })
          head.known = false
          const check = yield* Effect.result(committedEarlier(partitionKey, batch))
          if (check._tag === "Success") {
            const found = check.success
            yield* Effect.forEach(batch, (append, a) => {
              const mine = found[a]!
              return Option.isSome(mine)
                ? resolve(append, { _tag: "Committed", positions: mine.value, headerEtag: undefined })
                : Effect.void
            })
            batch = batch.filter((_, a) => Option.isNone(found[a]!))
            if (batch.length === 0) return
          }
          if (++transientFailures > options.transientRetries) {
            const failure = error.toStoreError()
            yield* Effect.logError("giving up on a transaction after transient failures", {
              partition: partitionKey,
              attempts: transientFailures,
              error: error.message
            })
            yield* Effect.forEach(batch, (append) => resolve(append, { _tag: "Failed", error: failure }))
            return
          }
          yield* Effect.sleep(`${(yield* Random.nextIntBetween(25, 75)) * 2 ** transientFailures} millis`)
          continue
        }
        const failure = error.toStoreError()
        yield* Effect.forEach(batch, (append) => resolve(append, { _tag: "Failed", error: failure }))
        return
      }
    }).pipe(
      // Never leave a caller waiting: a defect fails everything still pending.
      Effect.catchCause((cause) =>
        Effect.forEach(initial, (append) =>
          Deferred.succeed(append.outcome, {
            _tag: "Failed",
            error: new StoreUnavailable({ operation: "append", reason: `unexpected failure: ${Cause.pretty(cause)}` })
          })
        )
      ),
      Effect.asVoid
    )

  /**
   * A group-commit writer for one partition. One commit is in flight at a
   * time. An append that finds the writer idle commits at once, in its own
   * fiber (no hand-off, no added latency). Appends that arrive while a commit
   * is in flight wait, and the next commit takes all of them that fit; a
   * drainer fiber in `scope` runs those commits until nobody waits.
   */
  const groupWriter = (partitionKey: string, scope: Scope.Scope) => {
    const head: Head = { position: 0, etag: undefined, known: false }
    let waiting: Array<PendingAppend> = []
    let busy = false
    let closed = false

    const shuttingDown = new StoreUnavailable({ operation: "append", reason: "the event store is shutting down" })
    const failWaiting = Effect.suspend(() => {
      const left = waiting
      waiting = []
      return Effect.forEach(left, (append) => resolve(append, { _tag: "Failed", error: shuttingDown }))
    })

    const release = Effect.suspend(() => {
      if (waiting.length === 0 || closed) {
        busy = false
        return closed ? failWaiting : Effect.void
      }
      return Effect.asVoid(Effect.forkIn(drain, scope, { startImmediately: true }))
    })

    const drain: Effect.Effect<void> = Effect.suspend(() => {
      const { batch, rest } = select(partitionKey, waiting)
      waiting = rest
      return Effect.uninterruptible(commit(partitionKey, batch, head))
    }).pipe(Effect.andThen(release))

    const submit = (append: PendingAppend) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          if (closed) return Effect.succeed<Outcome>({ _tag: "Failed", error: shuttingDown })
          if (busy) {
            waiting.push(append)
            return restore(Deferred.await(append.outcome))
          }
          busy = true
          return commit(partitionKey, [append], head).pipe(
            Effect.andThen(release),
            Effect.andThen(restore(Deferred.await(append.outcome)))
          )
        })
      )

    /** Refuses new appends and fails those still waiting; a transaction in flight completes. */
    const shutdown = Effect.suspend(() => {
      closed = true
      return failWaiting
    })

    return { submit, shutdown }
  }

  /** Commits one append on its own, competing with every other writer for the head. */
  const soloWriter = (partitionKey: string) => {
    const head: Head = { position: 0, etag: undefined, known: false }
    return (append: PendingAppend) =>
      commit(partitionKey, [append], head).pipe(Effect.andThen(Deferred.await(append.outcome)))
  }

  return { groupWriter, soloWriter, readHead }
}
