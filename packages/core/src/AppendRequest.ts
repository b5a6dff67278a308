/**
 * Checks an append request before it reaches storage, the same way in every
 * backend: the expected version, the snapshot that goes with it, each event's
 * type, data and metadata, the number of events, and the sizes a backend
 * measures in its own unit.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Arguments from "./Arguments.ts"
import * as EventData from "./EventData.ts"
import * as EventMetadata from "./EventMetadata.ts"
import type { StoreLimits } from "./EventStore.ts"
import { AppendTooLarge, EventTooLarge, InvalidAppend, type InvalidArgument, TooManyEvents } from "./EventStoreError.ts"
import type * as ExpectedVersion from "./ExpectedVersion.ts"
import type { Snapshot } from "./Snapshot.ts"
import type { StreamId } from "./StreamId.ts"

/**
 * What a snapshot costs one append, in a backend's terms.
 *
 * @since 0.1.0
 */
export interface SnapshotCost {
  /** What the snapshot adds to the append's size, in the unit of the `StoreLimits`. */
  readonly size: number
  /**
   * How many events' room the snapshot takes from `maxEventsPerAppend` (≥ 1):
   * an append that carries it holds at most `maxEventsPerAppend - room` events.
   */
  readonly room: number
}

/**
 * How a backend measures events, in the unit of its `StoreLimits`.
 *
 * @since 0.1.0
 */
export interface Measure {
  /** The size of one event. */
  readonly event: (event: EventData.EventData, index: number) => number
  /** The size of the whole append without its snapshot; the sum of the events when omitted. */
  readonly append?: (events: ReadonlyArray<EventData.EventData>, eventSizes: ReadonlyArray<number>) => number
  /** What a (well-formed) snapshot costs; its data in UTF-16 bytes and one event's room when omitted. */
  readonly snapshot?: (snapshot: Snapshot) => SnapshotCost
}

/**
 * Why a snapshot cannot go with an append of `eventCount` events, whatever the
 * stream's version: `undefined` when it can.
 *
 * @since 0.1.0
 */
export const snapshotProblem = (snapshot: Snapshot, eventCount: number): string | undefined =>
  eventCount === 0
    ? "a snapshot is only written together with events"
    : !Number.isSafeInteger(snapshot.version) || snapshot.version < 1
      ? `the snapshot version must be a positive integer, got ${snapshot.version}`
      : typeof snapshot.data !== "string" || !snapshot.data.isWellFormed() || !isJson(snapshot.data)
        ? "the snapshot data must be a well-formed JSON string"
        : undefined

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * Checks, at commit time, that a snapshot is at the version the append brings
 * the stream to (`versionAfter`): returns the `InvalidAppend` to fail with when
 * it is not (the store then writes nothing), `undefined` when it is.
 *
 * @since 0.1.0
 */
export const snapshotVersionProblem = (
  streamId: StreamId,
  snapshot: Pick<Snapshot, "version"> | undefined,
  versionAfter: number
): InvalidAppend | undefined =>
  snapshot === undefined || snapshot.version === versionAfter
    ? undefined
    : new InvalidAppend({
        streamId,
        reason: `the snapshot is at version ${snapshot.version}, the append ends at version ${versionAfter}`
      })

/**
 * Fails with the first problem of an append request, checked in this order:
 * expected version (`InvalidArgument`), the snapshot, the event count (a
 * snapshot takes some room), then for each event its validity and a unique
 * event id (`InvalidAppend`), the size of its custom metadata and its size
 * (`EventTooLarge`), and last the append's size, snapshot included. Succeeds
 * with the size of each event. The snapshot's version is checked against the
 * stream at commit time, with {@link snapshotVersionProblem}.
 *
 * @since 0.1.0
 */
export const validate = (
  streamId: StreamId,
  events: ReadonlyArray<EventData.EventData>,
  expected: ExpectedVersion.ExpectedVersion,
  limits: StoreLimits,
  measure: Measure,
  snapshot?: Snapshot
): Effect.Effect<
  ReadonlyArray<number>,
  InvalidArgument | InvalidAppend | TooManyEvents | EventTooLarge | AppendTooLarge
> => {
  const invalidExpected = Arguments.expectedVersion("append", expected)
  if (invalidExpected !== undefined) return Effect.fail(invalidExpected)
  let cost: SnapshotCost = { size: 0, room: 0 }
  if (snapshot !== undefined) {
    const reason = snapshotProblem(snapshot, events.length)
    if (reason !== undefined) return Effect.fail(new InvalidAppend({ streamId, reason }))
    cost = measure.snapshot?.(snapshot) ?? { size: snapshot.data.length * 2, room: 1 }
  }
  const maxEvents = limits.maxEventsPerAppend - cost.room
  if (events.length > maxEvents) {
    return Effect.fail(new TooManyEvents({ streamId, count: events.length, max: Math.max(0, maxEvents) }))
  }
  const sizes: Array<number> = []
  const seen = new Map<string, number>()
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!
    const reason = EventData.problem(event)
    if (reason !== undefined) return Effect.fail(new InvalidAppend({ streamId, index, reason }))
    const first = seen.get(event.metadata.eventId)
    if (first !== undefined) {
      return Effect.fail(
        new InvalidAppend({
          streamId,
          index,
          reason: `eventId ${JSON.stringify(event.metadata.eventId)} is used by events ${first} and ${index}: each event needs its own id`
        })
      )
    }
    seen.set(event.metadata.eventId, index)
    const custom = event.metadata.custom
    const customLength = custom === undefined ? 0 : EventMetadata.customText(custom).length
    if (customLength > EventMetadata.maxCustomLength) {
      return Effect.fail(
        new EventTooLarge({
          streamId,
          index,
          type: event.type,
          size: customLength,
          limit: EventMetadata.maxCustomLength,
          unit: "UTF-16 code units",
          field: "metadata.custom"
        })
      )
    }
    const size = measure.event(event, index)
    if (size > limits.maxEventSize) {
      return Effect.fail(
        new EventTooLarge({
          streamId,
          index,
          type: event.type,
          size,
          limit: limits.maxEventSize,
          unit: limits.sizeUnit
        })
      )
    }
    sizes.push(size)
  }
  const total =
    (measure.append === undefined ? sizes.reduce((a, b) => a + b, 0) : measure.append(events, sizes)) + cost.size
  if (total > limits.maxAppendSize) {
    return Effect.fail(
      new AppendTooLarge({ streamId, size: total, limit: limits.maxAppendSize, unit: limits.sizeUnit })
    )
  }
  return Effect.succeed(sizes)
}
