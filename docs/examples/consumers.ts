import { Consumer, EventMetadata, EventStore, ExpectedVersion, StreamId } from "@eventable/core"
import { Effect } from "effect"

export const program = Effect.gen(function* () {
  const running = yield* Consumer.start({ group: "user-list", category: "user", poison: "park" }, (batch) =>
    Effect.log(`${batch.events.length} events of ${batch.partition.tenant}, up to ${batch.last}`)
  )
  const store = yield* EventStore
  const user = yield* StreamId.make({ tenant: "acme", category: "user", id: "u-42" })
  const metadata = yield* EventMetadata.make()
  const { partition, positions } = yield* store.append(
    user,
    [{ type: "Registered", data: JSON.stringify({ name: "Ada" }), metadata }],
    ExpectedVersion.noStream
  )
  // read-your-writes: wait until the group has handled the append's position
  yield* running.awaitPosition(partition, positions[0] ?? 0)
}).pipe(Effect.scoped) // closing the scope stops the consumer and releases its leases
