// A consumer in its own process, for the multi-process tests in Consumer.test.ts.
// Environment: CONNECTION, TABLE, GROUP, OWNER, CATEGORY, DELAY (ms per batch), TTL (ms); optional
// KILL_AT (a position: the process SIGKILLs itself when a batch holding it arrives), MAX_ATTEMPTS,
// POISON.
// Prints one line per fact, for the parent to parse:
//   B <shard> <first> <last>              a batch reached the handler
//   E <shard> <position> <stream> <version>  an event was handled
//   O <owned>                             the number of partitions held changed
// SIGTERM or SIGINT stops it gracefully (leases released); SIGKILL is a crash.
import { NodeRuntime } from "@effect/platform-node"
import { Consumer } from "@eventable/core"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Effect, References, Schedule } from "effect"

const env = (name: string) => process.env[name] ?? ""
const out = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))
const ttl = Number(env("TTL"))

const program = Effect.gen(function* () {
  const running = yield* Consumer.start(
    {
      group: env("GROUP"),
      owner: env("OWNER"),
      category: env("CATEGORY"),
      batchSize: 5,
      leaseTtl: ttl,
      renewInterval: ttl / 5,
      safetyMargin: ttl / 4,
      balanceInterval: 100,
      minIdlePoll: 5,
      maxIdlePoll: 50,
      ...(env("MAX_ATTEMPTS") === "" ? {} : { maxAttempts: Number(env("MAX_ATTEMPTS")) }),
      ...(env("POISON") === "park" ? { poison: "park" as const } : {})
    },
    (batch) =>
      Effect.gen(function* () {
        const shard = batch.partition.shard
        yield* out(`B ${shard} ${batch.first} ${batch.last}`)
        if (batch.events.some((e) => String(e.position) === env("KILL_AT"))) {
          yield* Effect.sync(() => process.kill(process.pid, "SIGKILL"))
          yield* Effect.never
        }
        yield* Effect.sleep(Number(env("DELAY")))
        for (const e of batch.events) yield* out(`E ${shard} ${e.position} ${e.streamId.id} ${e.version}`)
      })
  )
  let last = -1
  yield* Effect.flatMap(running.owned, (owned) =>
    owned.length === last
      ? Effect.void
      : Effect.suspend(() => {
          last = owned.length
          return out(`O ${owned.length}`)
        })
  ).pipe(Effect.repeat(Schedule.spaced("25 millis")))
}).pipe(
  Effect.scoped,
  Effect.provide(
    TableEventStore.layerWithConsumerStores({
      connection: TableStorageConfig.connectionString(env("CONNECTION")),
      table: env("TABLE"),
      shards: { [env("CATEGORY")]: Number(env("SHARDS") || "1") }
    })
  ),
  Effect.provideService(References.MinimumLogLevel, "Warn")
)

NodeRuntime.runMain(program)
