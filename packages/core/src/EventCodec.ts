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
 * Unknown types: a stored type that neither today's events nor an upcaster
 * name (typically written by newer code during a rolling deploy) is handled by
 * the `unknownTypes` policy. `"fail"` (the default) makes `decodeKnown` fail
 * with `CorruptEvent`; `"skip"` makes it return `Option.none()`, so a fold
 * ignores the event and a consumer can checkpoint past it. An event of a
 * known type that does not decode always fails, whatever the policy.
 *
 * ```ts
 * const tolerant = EventCodec.make(UserEvent, { unknownTypes: "skip" })
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Option, Result, Schema, SchemaAST, SchemaIssue } from "effect"
import { CorruptEvent } from "./EventStoreError.ts"
import * as JsonText from "./JsonText.ts"
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
 * What a codec does with a stored type it does not know: `"fail"` with
 * `CorruptEvent`, or `"skip"` the event.
 *
 * @since 0.1.0
 */
export type UnknownTypes = "fail" | "skip"

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
  /** The policy for stored types this codec does not know. */
  readonly unknownTypes: UnknownTypes
  /**
   * Whether a stored type name is one of today's events or is read by an
   * upcaster. True for every name when the schema does not list its tags as
   * literals (then the codec cannot tell, and never skips).
   */
  readonly knows: (type: string) => boolean
  /**
   * Like `decodeStored`, under the `unknownTypes` policy: `Option.none()` for
   * a type the codec does not know when the policy is `"skip"`, `CorruptEvent`
   * for it under `"fail"`. An event of a known type that does not decode
   * always fails with `CorruptEvent`.
   */
  readonly decodeKnown: (stored: StoredEvent) => Effect.Effect<Option.Option<RecordedEvent<E>>, CorruptEvent>
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
  options: {
    readonly upcasters?: ReadonlyArray<Schema.Codec<S["Type"], unknown>>
    /** What to do with stored types the codec does not know; `"fail"` when omitted. */
    readonly unknownTypes?: UnknownTypes
  } = {}
): EventCodec<S["Type"]> => {
  const upcasters = options.upcasters ?? []
  const unknownTypes = options.unknownTypes ?? "fail"
  const encodeJson = Schema.encodeResult(Schema.toCodecJson(events))
  const readable = upcasters.length === 0 ? events : Schema.Union([events, ...upcasters])
  const readableJson = Schema.toCodecJson(readable)
  const decodeJson = Schema.decodeUnknownResult(readableJson)
  const tags = storedTags(SchemaAST.toEncoded(readableJson.ast))
  const knows = (type: string): boolean => tags === undefined || tags.has(type)

  const encode = (event: S["Type"]): Result.Result<EncodedEvent, Schema.SchemaError> => {
    try {
      return Result.map(encodeJson(event), (json) => {
        const { _tag, ...data } = json as { readonly _tag: string }
        return { type: _tag, data: JSON.stringify(data) }
      })
    } catch (error) {
      // A value nested thousands of levels deep overflows the stack while it is
      // encoded or serialised: a typed failure, never a defect.
      if (!(error instanceof RangeError)) throw error
      return Result.fail(
        new Schema.SchemaError(
          new SchemaIssue.InvalidValue({
            message: `the event cannot be serialised to JSON (${error.message}); nest it at most ${JsonText.maxDepth} levels deep`
          })
        )
      )
    }
  }

  const decode = (type: string, data: string): Result.Result<S["Type"], string> => {
    if (tags !== undefined && !tags.has(type)) return Result.fail(unknownReason(type, tags))
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

  const decodeKnown = (stored: StoredEvent): Effect.Effect<Option.Option<RecordedEvent<S["Type"]>>, CorruptEvent> =>
    unknownTypes === "skip" && !knows(stored.type)
      ? Effect.succeed(Option.none())
      : Effect.map(decodeStored(stored), Option.some)

  return { encode, decode, decodeStored, unknownTypes, knows, decodeKnown }
}

const unknownReason = (type: string, tags: ReadonlySet<string>): string =>
  `unknown event type ${JSON.stringify(type)}: no event or upcaster of this codec reads it (it reads ${[...tags].join(", ")}); ` +
  `if newer code wrote it, deploy that code here too or build the codec with unknownTypes: "skip"`

/**
 * The stored type names a schema reads, from the `_tag` literals of its
 * encoded side, or `undefined` when some member does not pin its tag to
 * literals (then any name may decode).
 */
const storedTags = (ast: SchemaAST.AST): ReadonlySet<string> | undefined => {
  const tags = new Set<string>()
  const literals = (type: SchemaAST.AST): boolean => {
    if (SchemaAST.isLiteral(type) && typeof type.literal === "string") {
      tags.add(type.literal)
      return true
    }
    if (SchemaAST.isUnion(type)) return type.types.every(literals)
    if (SchemaAST.isSuspend(type)) return literals(type.thunk())
    return false
  }
  const member = (node: SchemaAST.AST): boolean => {
    if (SchemaAST.isUnion(node)) return node.types.every(member)
    if (SchemaAST.isSuspend(node)) return member(node.thunk())
    if (!SchemaAST.isObjects(node)) return false
    const tag = node.propertySignatures.find((property) => property.name === "_tag")
    return tag !== undefined && literals(tag.type)
  }
  return member(ast) ? tags : undefined
}
