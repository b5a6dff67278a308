import { InMemoryLeaseStore } from "@eventable/core"
import { LeaseStoreConformance } from "@eventable/testing"

LeaseStoreConformance.run("in-memory", InMemoryLeaseStore.layer)
