import { InMemoryDeadLetterStore } from "@eventable/core"
import { DeadLetterStoreConformance } from "@eventable/testing"

DeadLetterStoreConformance.run("in-memory", InMemoryDeadLetterStore.layer)
