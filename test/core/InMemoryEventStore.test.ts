import { InMemoryEventStore } from "@eventable/core"
import { EventStoreConformance } from "@eventable/testing"

EventStoreConformance.run("in-memory", InMemoryEventStore.layer({ shards: { sharded: 4 } }), {
  sharded: { category: "sharded", shards: 4 }
})
