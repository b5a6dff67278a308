/**
 * A snapshot of a stream's folded state at a version, stored next to the
 * stream's events so that a cold load reads the snapshot and then only the
 * events after it. A store writes a snapshot only in the same atomic write as
 * an append, so a snapshot can never run ahead of the events it summarises.
 *
 * @since 0.1.0
 */

/**
 * A stream's state at a version, encoded.
 *
 * @since 0.1.0
 */
export interface Snapshot {
  /** The stream version the state was folded up to (≥ 1). */
  readonly version: number
  /** The state as a JSON string, encoded by the decider's snapshot schema. */
  readonly data: string
}
