import {
  Consumer,
  type ConsumerOptions,
  DocumentProjection,
  type EventFeed,
  type LeaseStore,
  type ReadModelStore
} from "@eventable/core"
import { userCategory, userCodec } from "@eventable/example-users"
import { type Effect, Schema, type Scope } from "effect"

// A view is a document per key, folded from events. This one counts each tenant's users
// and blocked users: one document per tenant (the key), many streams writing it.
const TenantStats = Schema.Struct({ users: Schema.Int, blocked: Schema.Int })

export const tenantStats = DocumentProjection.make({
  view: "tenant-stats",
  codec: userCodec,
  document: TenantStats,
  key: ({ streamId }) => ({ partitionKey: streamId.tenant, id: "stats" }),
  evolve: (stats, { event }) => {
    const current = stats ?? { users: 0, blocked: 0 }
    switch (event._tag) {
      case "UserRegistered":
        return DocumentProjection.write({ ...current, users: current.users + 1 })
      case "UserBlocked":
        return DocumentProjection.write({ ...current, blocked: current.blocked + 1 })
      case "UserNameChanged":
        return DocumentProjection.unchanged
    }
  }
})

// A consumer group runs the projection over every partition of the `user` category, with
// leases shared by every process of the group and checkpoints after each confirmed batch.
const handle = DocumentProjection.handler(tenantStats)
export const projectStats: Effect.Effect<
  Consumer.Running,
  ConsumerOptions.InvalidConsumerOptions,
  EventFeed | LeaseStore | ReadModelStore.ReadModelStore | Scope.Scope
> = Consumer.start({ group: "tenant-stats", category: userCategory }, (batch) => handle(batch.events))
