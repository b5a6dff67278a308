/**
 * A users projection and a feed builder shared by the projection tests on the in-memory store
 * and on the Cosmos DB stand-in.
 */
import { DocumentProjection, EventCodec, EventMetadata, Partition, type StoredEvent, StreamId } from "@eventable/core"
import { Effect, Result, Schema } from "effect"

export class Registered extends Schema.TaggedClass<Registered>()("Registered", {
  userName: Schema.String,
  email: Schema.String
}) {}
export class Renamed extends Schema.TaggedClass<Renamed>()("Renamed", { name: Schema.String }) {}
export class Blocked extends Schema.TaggedClass<Blocked>()("Blocked", {}) {}
export class Deleted extends Schema.TaggedClass<Deleted>()("Deleted", {}) {}
export const UserEvent = Schema.Union([Registered, Renamed, Blocked, Deleted])
export type UserEvent = typeof UserEvent.Type
export const codec = EventCodec.make(UserEvent)

export const UserView = Schema.Struct({ userName: Schema.String, email: Schema.String, blocked: Schema.Boolean })
export type UserView = typeof UserView.Type

export const users = DocumentProjection.make({
  view: "users",
  codec,
  document: UserView,
  evolve: (user: UserView | undefined, { event }) => {
    switch (event._tag) {
      case "Registered":
        return DocumentProjection.write({ userName: event.userName, email: event.email, blocked: false })
      case "Renamed":
        return user === undefined
          ? DocumentProjection.unchanged
          : DocumentProjection.write({ ...user, userName: event.name })
      case "Blocked":
        return user === undefined ? DocumentProjection.unchanged : DocumentProjection.write({ ...user, blocked: true })
      case "Deleted":
        return DocumentProjection.remove
    }
  }
})

// One document per tenant counting registrations from every stream: many streams write one document.
const Stats = Schema.Struct({ registered: Schema.Int })
export const stats = DocumentProjection.make({
  view: "stats",
  codec,
  document: Stats,
  key: ({ streamId }) => ({ partitionKey: streamId.tenant, id: "totals" }),
  evolve: (current: typeof Stats.Type | undefined, { event }) =>
    event._tag === "Registered"
      ? DocumentProjection.write({ registered: (current?.registered ?? 0) + 1 })
      : DocumentProjection.unchanged
})

export const tenant = "acme"
const partition = Partition.make(tenant, "user", 0)

/** Builds a feed of stored events the way a store numbers them: versions per stream, positions per partition. */
export const feedOf = (events: ReadonlyArray<readonly [id: string, event: UserEvent]>) =>
  Effect.gen(function* () {
    const versions = new Map<string, number>()
    const feed: Array<StoredEvent> = []
    for (const [id, event] of events) {
      const encoded = Result.getOrThrow(codec.encode(event))
      const version = (versions.get(id) ?? 0) + 1
      versions.set(id, version)
      feed.push({
        ...encoded,
        metadata: yield* EventMetadata.make(),
        streamId: yield* StreamId.make({ tenant, category: "user", id }).pipe(Effect.orDie),
        version,
        partition,
        position: feed.length + 1
      })
    }
    return feed
  })
