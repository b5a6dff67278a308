import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import {
  DeadLetterStore,
  EventFeed,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  InMemoryDeadLetterStore,
  InMemoryEventStore,
  InMemoryLeaseStore,
  LeaseStore,
  StreamId
} from "@eventable/core"
import { Context, Effect, Layer, Option } from "effect"
import { program } from "../../docs/examples/consumers.ts"

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8")

describe("docs/consumers.md", () => {
  it("given docs/examples/consumers.ts, when compared with the guide, then the guide shows it verbatim", () => {
    assert.include(read("../../docs/consumers.md"), `\`\`\`ts\n${read("../../docs/examples/consumers.ts")}\`\`\``)
  })

  it("given the guide, when its TypeScript snippets are counted, then every one is a compiled example", () => {
    const snippets = read("../../docs/consumers.md").split("```ts\n").length - 1
    assert.strictEqual(snippets, 1, "add each new snippet to docs/examples and check it here")
  })

  it.live("given the guide's example, when run in memory, then it waits until the group handled the append", () =>
    Effect.gen(function* () {
      const { feed, store } = yield* InMemoryEventStore.make()
      const leases = yield* InMemoryLeaseStore.make
      const deadLetters = yield* InMemoryDeadLetterStore.make
      // A user registered earlier: the partition exists when the consumer starts (a new one is found
      // by the next balance cycle, 10 s by default).
      const earlier = yield* StreamId.make({ tenant: "acme", category: "user", id: "u-1" })
      const metadata = yield* EventMetadata.make()
      yield* store.append(earlier, [{ type: "Registered", data: "{}", metadata }], ExpectedVersion.noStream)
      yield* program.pipe(
        Effect.provide(
          Layer.succeedContext(
            Context.make(EventStore, store).pipe(
              Context.add(EventFeed, feed),
              Context.add(LeaseStore, leases),
              Context.add(DeadLetterStore, deadLetters)
            )
          )
        )
      )
      const partitions = yield* feed.partitions({ category: "user" })
      const lease = yield* leases.get("user-list", partitions[0]!)
      assert.strictEqual(Option.getOrThrow(lease).checkpoint, 2)
    })
  )
})
