/**
 * Maps your events (Schema `TaggedClass`es in a `Union`) to the stored form and
 * back. The stored type name is the event's tag, never a class or file name,
 * so renaming code never breaks stored data. The data is the event's JSON
 * encoding without the tag.
 *
 * Upcasting: pass schemas that decode older stored shapes into today's events
 * (built with `Schema.decodeTo`). Reading tries today's shape first, then each
 * upcaster in order; writing always uses today's shape.
 *
 * @example
 * ```ts
 * import { Schema, SchemaTransformation } from "effect"
 * import { EventCodec } from "@eventable/core"
 *
 * class UserRegistered extends Schema.TaggedClass<UserRegistered>()("UserRegistered", {
 *   userName: Schema.String,
 *   email: Schema.String
 * }) {}
 * const UserEvent = Schema.Union([UserRegistered])
 *
 * // Version 1 stored `name` instead of `userName`.
 * const UserRegisteredV1 = Schema.Struct({ _tag: Schema.tag("UserRegistered"), name: Schema.String, email: Schema.String }).pipe(
 *   Schema.decodeTo(UserRegistered, SchemaTransformation.transform({
 *     decode: (v1) => ({ _tag: "UserRegistered" as const, userName: v1.name, email: v1.email }),
 *     encode: (v2) => ({ _tag: "UserRegistered" as const, name: v2.userName, email: v2.email })
 *   }))
 * )
 *
 * const codec = EventCodec.make(UserEvent, { upcasters: [UserRegisteredV1] })
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { CorruptEvent } from "./EventStoreError.ts"
import type { RecordedEvent } from "./RecordedEvent.ts"
import type { StoredEvent } from "./StoredEvent.ts"
import * as StreamId from "./StreamId.ts"

/**
 * An event's stored type name and JSON data.
 *
 * @since 0.1.0
 */
export interface EncodedEvent {
  readonly type: string
  readonly data: string
}

/**
 * Encodes and decodes one family of events.
 *
 * @since 0.1.0
 */
export interface EventCodec<E> {
  /** The event to its stored type name and JSON data. Fails when the schema rejects the event. */
  readonly encode: (event: E) => Result.Result<EncodedEvent, Schema.SchemaError>
  /** A stored type name and JSON data back to an event; fails with a description of the problem. */
  readonly decode: (type: string, data: string) => Result.Result<E, string>
  /** A stored event back to a recorded event, or a `CorruptEvent` naming the stream, version, type and issue. */
  readonly decodeStored: (stored: StoredEvent) => Effect.Effect<RecordedEvent<E>, CorruptEvent>
}

/**
 * A schema of events: its members are tagged with `_tag`.
 *
 * @since 0.1.0
 */
export type EventSchema = Schema.Codec<{ readonly _tag: string }, unknown>

/**
 * Builds a codec for a union of tagged event schemas, with optional upcasters
 * for older stored shapes.
 *
 * @since 0.1.0
 */
export const make = <S extends EventSchema>(
  events: S,
  options: { readonly upcasters?: ReadonlyArray<Schema.Codec<S["Type"], unknown>> } = {}
): EventCodec<S["Type"]> => {
  const upcasters = options.upcasters ?? []
  const encodeJson = Schema.encodeResult(Schema.toCodecJson(events))
  const readable = upcasters.length === 0 ? events : Schema.Union([events, ...upcasters])
  const decodeJson = Schema.decodeUnknownResult(Schema.toCodecJson(readable))

  const encode = (event: S["Type"]): Result.Result<EncodedEvent, Schema.SchemaError> =>
    Result.map(encodeJson(event), (json) => {
      const { _tag, ...data } = json as { readonly _tag: string }
      return { type: _tag, data: JSON.stringify(data) }
    })

  const decode = (type: string, data: string): Result.Result<S["Type"], string> => {
    let parsed: unknown
    try {
      parsed = JSON.parse(data)
    } catch (error) {
      return Result.fail(`data is not valid JSON (${error instanceof Error ? error.message : String(error)})`)
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return Result.fail("data is not a JSON object")
    }
    return Result.mapError(
      decodeJson({ ...parsed, _tag: type }),
      (error) => `does not match the event schema: ${error.message}`
    )
  }

  const decodeStored = (stored: StoredEvent): Effect.Effect<RecordedEvent<S["Type"]>, CorruptEvent> => {
    const decoded = decode(stored.type, stored.data)
    return Result.isSuccess(decoded)
      ? Effect.succeed({
          event: decoded.success,
          type: stored.type,
          streamId: stored.streamId,
          version: stored.version,
          partition: stored.partition,
          position: stored.position,
          metadata: stored.metadata
        })
      : Effect.fail(
          new CorruptEvent({
            stream: StreamId.format(stored.streamId),
            version: stored.version,
            type: stored.type,
            reason: decoded.failure
          })
        )
  }

  return { encode, decode, decodeStored }
}
