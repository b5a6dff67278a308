import { InMemoryReadModelStore } from "@eventable/core"
import { ReadModelStoreConformance } from "@eventable/testing"

ReadModelStoreConformance.run("in-memory", InMemoryReadModelStore.layer)
