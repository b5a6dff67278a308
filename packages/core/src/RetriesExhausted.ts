/**
 * The error a command handler returns when every attempt of a command
 * conflicted with another writer and its retry policy ran out.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as StreamId from "./StreamId.ts"

/**
 * Every attempt of a command conflicted with another writer (another process,
 * or a writer that bypasses the handler) and the retry policy ran out. Nothing
 * was written for this command. `attempts` counts every append tried,
 * `expected` is the version the last attempt appended under and `actual` the
 * version the store found then.
 *
 * @since 0.1.0
 */
export class RetriesExhausted extends Schema.TaggedError<RetriesExhausted>()("RetriesExhausted", {
  streamId: StreamId.StreamId,
  attempts: Schema.Number,
  expected: Schema.Number,
  actual: Schema.Number
}) {
  override get message(): string {
    return `Gave up on ${StreamId.format(this.streamId)} after ${this.attempts} attempts, each conflicting with another writer (last: expected version ${this.expected}, found version ${this.actual})`
  }
}
