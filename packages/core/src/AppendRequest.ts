/**
 * Checks an append request before it reaches storage, the same way in every
 * backend: the expected version, each event's type, data and metadata, the
 * number of events, and the sizes a backend measures in its own unit.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as EventData from "./EventData.ts"
import type { StoreLimits } from "./EventStore.ts"
import { AppendTooLarge, EventTooLarge, InvalidAppend, TooManyEvents } from "./EventStoreError.ts"
import * as ExpectedVersion from "./ExpectedVersion.ts"
import type { StreamId } from "./StreamId.ts"

/**
 * How a backend measures events, in the unit of its `StoreLimits`.
 *
 * @since 0.1.0
 */
export interface Measure {
  /** The size of one event. */
  readonly event: (event: EventData.EventData, index: number) => number
  /** The size of the whole append; the sum of the events when omitted. */
  readonly append?: (events: ReadonlyArray<EventData.EventData>, eventSizes: ReadonlyArray<number>) => number
}

/**
 * Fails with the first problem of an append request, checked in this order:
 * expected version, event count, each event's validity, each event's size, the
 * append's size. Succeeds with the size of each event.
 *
 * @since 0.1.0
 */
export const validate = (
  streamId: StreamId,
  events: ReadonlyArray<EventData.EventData>,
  expected: ExpectedVersion.ExpectedVersion,
  limits: StoreLimits,
  measure: Measure
): Effect.Effect<ReadonlyArray<number>, InvalidAppend | TooManyEvents | EventTooLarge | AppendTooLarge> => {
  const expectedProblem = ExpectedVersion.problem(expected)
  if (expectedProblem !== undefined) return Effect.fail(new InvalidAppend({ streamId, reason: expectedProblem }))
  if (events.length > limits.maxEventsPerAppend) {
    return Effect.fail(new TooManyEvents({ streamId, count: events.length, max: limits.maxEventsPerAppend }))
  }
  const sizes: Array<number> = []
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!
    const reason = EventData.problem(event)
    if (reason !== undefined) return Effect.fail(new InvalidAppend({ streamId, index, reason }))
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
  const total = measure.append === undefined ? sizes.reduce((a, b) => a + b, 0) : measure.append(events, sizes)
  if (total > limits.maxAppendSize) {
    return Effect.fail(
      new AppendTooLarge({ streamId, size: total, limit: limits.maxAppendSize, unit: limits.sizeUnit })
    )
  }
  return Effect.succeed(sizes)
}
