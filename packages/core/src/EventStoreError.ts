/**
 * The typed errors of event stores and command handlers. Each names what
 * failed and why; none is ever thrown.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as ExpectedVersion from "./ExpectedVersion.ts"
import * as StreamId from "./StreamId.ts"

const StreamIdField = StreamId.StreamId

/**
 * The stream was not at the expected version when the append was checked
 * (atomically with the write). Nothing was written. Reload and decide again.
 *
 * @since 0.1.0
 */
export class ConcurrencyConflict extends Schema.TaggedError<ConcurrencyConflict>()("ConcurrencyConflict", {
  streamId: StreamIdField,
  expected: ExpectedVersion.ExpectedVersion,
  /** The version found; 0 when the stream does not exist. */
  actual: Schema.Number
}) {
  override get message(): string {
    return `Concurrency conflict on ${StreamId.format(this.streamId)}: expected ${ExpectedVersion.format(
      this.expected
    )}, found ${this.actual === 0 ? "no stream" : `version ${this.actual}`}`
  }
}

/**
 * The command needs an existing stream, and there is none.
 *
 * @since 0.1.0
 */
export class StreamNotFound extends Schema.TaggedError<StreamNotFound>()("StreamNotFound", {
  streamId: StreamIdField
}) {
  override get message(): string {
    return `Stream ${StreamId.format(this.streamId)} does not exist`
  }
}

/**
 * The command creates a stream, and it already exists.
 *
 * @since 0.1.0
 */
export class StreamAlreadyExists extends Schema.TaggedError<StreamAlreadyExists>()("StreamAlreadyExists", {
  streamId: StreamIdField,
  version: Schema.Number
}) {
  override get message(): string {
    return `Stream ${StreamId.format(this.streamId)} already exists (at version ${this.version})`
  }
}

/**
 * One event is bigger than the store can hold. `size` and `limit` are in the
 * store's own unit, given by `unit`. `field` names the part of the event that
 * is too large when one part has a limit of its own (`metadata.custom`); it is
 * absent when the event as a whole is too large.
 *
 * @since 0.1.0
 */
export class EventTooLarge extends Schema.TaggedError<EventTooLarge>()("EventTooLarge", {
  streamId: StreamIdField,
  index: Schema.Number,
  type: Schema.String,
  size: Schema.Number,
  limit: Schema.Number,
  unit: Schema.String,
  field: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const what = this.field === undefined ? "" : ` in ${this.field}`
    return `Event ${this.index} (${this.type}) for ${StreamId.format(
      this.streamId
    )} is too large${what}: ${this.size} ${this.unit}, the limit is ${this.limit}`
  }
}

/**
 * More events than one atomic append can hold. The store never splits an append.
 *
 * @since 0.1.0
 */
export class TooManyEvents extends Schema.TaggedError<TooManyEvents>()("TooManyEvents", {
  streamId: StreamIdField,
  count: Schema.Number,
  max: Schema.Number
}) {
  override get message(): string {
    return `Cannot append ${this.count} events to ${StreamId.format(
      this.streamId
    )} atomically: at most ${this.max} events fit in one append`
  }
}

/**
 * The events fit one by one, but together they exceed what one atomic append
 * can carry. The store never splits an append.
 *
 * @since 0.1.0
 */
export class AppendTooLarge extends Schema.TaggedError<AppendTooLarge>()("AppendTooLarge", {
  streamId: StreamIdField,
  size: Schema.Number,
  limit: Schema.Number,
  unit: Schema.String
}) {
  override get message(): string {
    return `The append to ${StreamId.format(
      this.streamId
    )} is too large for one atomic write: ${this.size} ${this.unit}, the limit is ${this.limit}`
  }
}

/**
 * The append request is malformed: an empty or invalid event type, data that
 * is not a JSON object (or nested deeper than `EventData.maxDepth`), bad
 * metadata, two events with the same event id, or an event its schema cannot
 * encode. `index` is the offending event, when there is one; the reason names
 * the field. (A malformed expected version is an `InvalidArgument`.)
 *
 * @since 0.1.0
 */
export class InvalidAppend extends Schema.TaggedError<InvalidAppend>()("InvalidAppend", {
  streamId: StreamIdField,
  index: Schema.optionalKey(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    const which = this.index === undefined ? "" : ` (event ${this.index})`
    return `Invalid append to ${StreamId.format(this.streamId)}${which}: ${this.reason}`
  }
}

/**
 * A stored event cannot be read back: the row is damaged, or its data no
 * longer decodes with the event schema. Names the stream, version, type and
 * the schema issue.
 *
 * @since 0.1.0
 */
export class CorruptEvent extends Schema.TaggedError<CorruptEvent>()("CorruptEvent", {
  /** `tenant/category/id`, or the storage key when the row is too damaged to tell. */
  stream: Schema.String,
  version: Schema.Number,
  type: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Corrupt event ${this.stream}@${this.version} (${this.type}): ${this.reason}`
  }
}

/**
 * A partition's feed is damaged: a position is missing, or the partition head
 * (its last assigned position) is unreadable, missing, or disagrees with the
 * feed rows. Names the partition (`tenant/category/shard`), the position in
 * question and what is wrong. Nothing was skipped and nothing was written;
 * retrying does not help until the partition is repaired.
 *
 * @since 0.1.0
 */
export class CorruptPartition extends Schema.TaggedError<CorruptPartition>()("CorruptPartition", {
  /** `tenant/category/shard`. */
  partition: Schema.String,
  /** The missing or disputed position; the head's own value when the head is what is wrong. */
  position: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `Corrupt partition ${this.partition} at position ${this.position}: ${this.reason}`
  }
}

/**
 * The store did not answer, or answered with a transient failure (busy,
 * timeout, connection reset), and retries ran out.
 *
 * For an append this means the outcome is **unknown**: the store read its
 * event ids back and did not find them, but a write still in flight may
 * commit later. Retry the same append with the same event ids and the same
 * expected version: it commits at most once, and a retry that finds its own
 * events reports success.
 *
 * @since 0.1.0
 */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  operation: Schema.String,
  reason: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  /** Always true: the failure is transient. */
  get retryable(): true {
    return true
  }
  override get message(): string {
    return `Event store unavailable during ${this.operation}: ${this.reason}`
  }
}

/**
 * The store refused the request for a reason retrying will not fix: bad
 * credentials, a missing table, an unexpected answer. `status` is the HTTP
 * status when there was one.
 *
 * @since 0.1.0
 */
export class StoreFailure extends Schema.TaggedError<StoreFailure>()("StoreFailure", {
  operation: Schema.String,
  reason: Schema.String,
  status: Schema.optionalKey(Schema.Number),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `Event store failure during ${this.operation}${status}: ${this.reason}`
  }
}

/**
 * Everything an append can fail with.
 *
 * @since 0.1.0
 */
export type AppendError =
  | ConcurrencyConflict
  | TooManyEvents
  | EventTooLarge
  | AppendTooLarge
  | InvalidAppend
  | InvalidArgument
  | CorruptPartition
  | StoreUnavailable
  | StoreFailure

/**
 * Everything a read can fail with. `InvalidArgument` comes from a malformed
 * argument (a `from`, `after` or `limit` that is not a non-negative integer, a
 * malformed partition), before any request.
 *
 * @since 0.1.0
 */
export type ReadError = CorruptEvent | CorruptPartition | InvalidArgument | StoreUnavailable | StoreFailure

/**
 * An argument of a port operation is out of its domain: NaN, ±Infinity, a
 * negative number, a fraction, a number past 2^53, or a malformed option. Every
 * store refuses it the same way, before any request. `argument` names the
 * parameter (for example `from`, `after`, `limit`, `shard`) and `value` shows
 * what was passed.
 *
 * @since 0.1.0
 */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>()("InvalidArgument", {
  operation: Schema.String,
  argument: Schema.String,
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid ${this.argument} for ${this.operation}: ${this.value} (${this.reason})`
  }
}
