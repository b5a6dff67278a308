/**
 * Child process of the consumer benchmark: catches one consumer group up on
 * one Table Storage partition with a no-op handler, then prints its elapsed
 * milliseconds and peak RSS as JSON. Runs alone in its process, so its RSS is
 * the consumer's (plus Node and the SDK), not the benchmark's.
 *
 * Environment: `BENCH_CONNECTION`, `BENCH_TABLE`, `BENCH_HEAD`.
 *
 * @since 0.1.0
 */
import { Consumer, InMemoryLeaseStore, Partition } from "@eventable/core"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Effect, Layer, References } from "effect"

const connection = process.env.BENCH_CONNECTION ?? ""
const table = process.env.BENCH_TABLE ?? ""
const head = Number(process.env.BENCH_HEAD)

const program = Effect.gen(function* () {
  const started = performance.now()
  const running = yield* Consumer.start({ group: "child", category: "catchup", batchSize: 1000 }, () => Effect.void)
  yield* running.awaitPosition(Partition.make("bench", "catchup", 0), head)
  const ms = performance.now() - started
  process.stdout.write(`${JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS })}\n`)
}).pipe(
  Effect.scoped,
  Effect.provideService(References.MinimumLogLevel, "Warn"),
  Effect.provide(
    Layer.mergeAll(
      TableEventStore.layer({ connection: TableStorageConfig.connectionString(connection), table }),
      InMemoryLeaseStore.layer
    )
  )
)

Effect.runPromise(program).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 1
})
