/**
 * The consumer benchmarks: catch-up over a Table Storage feed against a raw
 * SDK scan of the same rows, append-to-handler latency, and the speedups of
 * stream and partition concurrency for an I/O-bound handler.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { odata } from "@azure/data-tables"
import {
  Consumer,
  type ConsumerOptions,
  EventFeed,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  InMemoryEventStore,
  InMemoryLeaseStore,
  LeaseStore,
  Partition,
  StreamId
} from "@eventable/core"
import { TableEventStore, TableKeys, TableStorageConfig } from "@eventable/table-storage"
import { Context, Effect, Exit, Layer, References, Scope } from "effect"
import * as Measure from "./Measure.ts"
import * as RawTable from "./RawTable.ts"
import type { Goal } from "./Report.ts"

/**
 * How much work each benchmark does.
 *
 * @since 0.1.0
 */
export interface Settings {
  readonly catchupEvents: number
  readonly catchupRounds: number
  readonly latencyAppends: number
  readonly streamEvents: number
  readonly streams: number
}

/**
 * The full run.
 *
 * @since 0.1.0
 */
export const full: Settings = {
  catchupEvents: 100_000,
  catchupRounds: 3,
  latencyAppends: 200,
  streamEvents: 10_000,
  streams: 500
}

/**
 * `--quick`.
 *
 * @since 0.1.0
 */
export const quick: Settings = {
  catchupEvents: 20_000,
  catchupRounds: 1,
  latencyAppends: 50,
  streamEvents: 2_000,
  streams: 100
}

/**
 * The goals issue 8 sets.
 *
 * @since 0.1.0
 */
export const goals: ReadonlyArray<Goal> = [
  {
    name: "consumer.catchup.ratio_vs_raw_scan",
    goal: "≥ 0.8",
    met: (v) => v >= 0.8,
    what: "catch-up events/s of a no-op consumer over one partition / a raw SDK scan of the same feed rows"
  },
  {
    name: "consumer.catchup.rss_mb",
    goal: "≤ 200",
    met: (v) => v <= 200,
    what: "peak RSS of the benchmark process during that catch-up (in-process, not a separate child)"
  },
  {
    name: "consumer.streams.parallel_speedup",
    goal: "≥ 8",
    met: (v) => v >= 8,
    what: "catch-up with a 2 ms-per-event handler over many streams of one partition: stream concurrency 16 / 1"
  }
]

/**
 * How the figures are measured, for docs/benchmarks.md.
 *
 * @since 0.1.0
 */
export const method: ReadonlyArray<string> = [
  "- **consumer.catchup**: a no-op consumer (batch size 1,000, in-memory leases) catches a fresh group up on",
  "  one Table Storage partition, interleaved with an SDK listing of the same feed rows; `rss_mb` is the peak",
  "  RSS (`maxRSS`) of the same catch-up run alone in a child process.",
  "- **consumer.latency**: default settings (idle poll backs off from 50 ms to 1 s), one append every 40 to",
  "  160 ms; from before the append to the handler call, percentiles over the trickle.",
  "- **consumer.streams / partitions8**: a handler that waits 2 ms per event over the in-memory feed, so the",
  "  figure is the consumer's scheduling: events round-robin over many streams of one partition with stream",
  "  concurrency 16 against 1, and the same backlog over 8 partitions with partition concurrency 8 against",
  "  one partition with stream concurrency 1."
]

const payload = JSON.stringify({ note: "x".repeat(440), amount: 42, currency: "EUR" })
const log = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

/** Appends `perStream` events to each of `streams` streams of one partition, `chunk` events per append. */
const fill = (
  store: EventStore["Service"],
  tenant: string,
  category: string,
  streams: number,
  perStream: number,
  chunk: number
) =>
  Effect.forEach(
    Array.from({ length: streams }, (_, s) => s),
    (s) =>
      Effect.gen(function* () {
        const streamId = yield* StreamId.make({ tenant, category, id: `s${s}` })
        for (let version = 0; version < perStream; version += chunk) {
          const count = Math.min(chunk, perStream - version)
          const events = yield* Effect.forEach(Array.from({ length: count }), () =>
            Effect.map(EventMetadata.make(), (metadata) => ({ type: "Happened", data: payload, metadata }))
          )
          yield* store.append(streamId, events, ExpectedVersion.exact(version))
        }
      }),
    { concurrency: 16, discard: true }
  )

/** Runs a consumer group from scratch until every partition reaches its head; returns the elapsed milliseconds. */
const catchUp = (
  options: ConsumerOptions.ConsumerOptions,
  handler: (batch: Consumer.Batch) => Effect.Effect<void>,
  partitions: ReadonlyArray<readonly [Partition.Partition, number]>
) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const started = performance.now()
    const running = yield* Consumer.start(options, handler).pipe(Scope.provide(scope))
    yield* Effect.forEach(partitions, ([partition, head]) => running.awaitPosition(partition, head), {
      concurrency: "unbounded",
      discard: true
    })
    const elapsed = performance.now() - started
    yield* Scope.close(scope, Exit.void)
    return elapsed
  })

/** Runs the catch-up alone in a child process (same Node, source condition) and reads its figures. */
const inChild = (connection: string, table: string, head: number) =>
  Effect.callback<{ readonly ms: number; readonly maxRssKb: number }, Error>((resume) => {
    const child = spawn(
      process.execPath,
      ["--conditions=@eventable/source", fileURLToPath(new URL("./ConsumerCatchupChild.ts", import.meta.url))],
      {
        env: { ...process.env, BENCH_CONNECTION: connection, BENCH_TABLE: table, BENCH_HEAD: String(head) },
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8")
    })
    child.on("exit", (code) => {
      const line = output.trim().split("\n").pop() ?? ""
      if (code !== 0 || !line.startsWith("{")) {
        resume(Effect.fail(new Error(`catch-up child exited with ${code}: ${line}`)))
      } else {
        resume(Effect.succeed(JSON.parse(line) as { readonly ms: number; readonly maxRssKb: number }))
      }
    })
    return Effect.sync(() => {
      child.kill("SIGKILL")
    })
  })

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

/**
 * Runs the consumer benchmarks and returns the named figures.
 *
 * @since 0.1.0
 */
export const run = (connectionString: string, settings: Settings) =>
  Effect.gen(function* () {
    const results: Record<string, number> = {}
    const stamp = Date.now().toString(36)
    const leases = yield* InMemoryLeaseStore.make
    const withLeases = Effect.provideService(LeaseStore, leases)

    // 1. Catch-up over one Table Storage partition: consumer vs a raw scan of the feed rows.
    {
      const table = `benchconsumer${stamp}`
      const context = yield* Layer.build(
        TableEventStore.layer({ connection: TableStorageConfig.connectionString(connectionString), table })
      )
      const store = Context.get(context, EventStore)
      const feed = Context.get(context, EventFeed)
      yield* fill(store, "bench", "catchup", 20, settings.catchupEvents / 20, 40)
      const partition = Partition.make("bench", "catchup", 0)
      const head = yield* feed.head(partition)
      const raw = RawTable.client(connectionString, table)
      const pk = TableKeys.partitionKey("bench", "catchup", 0)
      const rawScan = Effect.promise(async () => {
        let rows = 0
        const pages = raw
          .listEntities({
            queryOptions: { filter: odata`PartitionKey eq ${pk} and RowKey ge 'f|' and RowKey lt 'f}'` }
          })
          .byPage({ maxPageSize: 1000 })
        for await (const page of pages) rows += page.length
        if (rows !== head) throw new Error(`scanned ${rows} feed rows, expected ${head}`)
      })
      let round = 0
      const consumer = Effect.suspend(() =>
        catchUp({ group: `catchup-${round++}`, category: "catchup", batchSize: 1000 }, () => Effect.void, [
          [partition, head]
        ])
      ).pipe(Effect.provideService(EventFeed, feed), withLeases)
      const times = yield* Measure.interleave(settings.catchupRounds, { consumer, raw: rawScan })
      const child = yield* inChild(connectionString, table, head)
      results["consumer.catchup.events_per_s"] = head / (times.consumer / 1000)
      results["consumer.catchup.raw_scan_events_per_s"] = head / (times.raw / 1000)
      results["consumer.catchup.ratio_vs_raw_scan"] = times.raw / times.consumer
      results["consumer.catchup.rss_mb"] = child.maxRssKb / 1024
      results["consumer.catchup.child_events_per_s"] = head / (child.ms / 1000)
      yield* log(
        `consumer.catchup: ${results["consumer.catchup.events_per_s"].toFixed(0)} events/s, raw scan ${results[
          "consumer.catchup.raw_scan_events_per_s"
        ].toFixed(
          0
        )} events/s, ratio ${results["consumer.catchup.ratio_vs_raw_scan"].toFixed(3)}; in a child process ${results["consumer.catchup.child_events_per_s"].toFixed(0)} events/s, peak RSS ${results[
          "consumer.catchup.rss_mb"
        ].toFixed(0)} MB`
      )

      // 2. Latency under a steady trickle of appends, default settings.
      const sent = new Map<number, number>()
      const latencies: Array<number> = []
      const scope = yield* Scope.make()
      const trickle = Partition.make("bench", "trickle", 0)
      // The partition exists and is held before the trickle starts: the figure is steady-state
      // latency, not discovery (which waits for the next balance cycle).
      const first = yield* store.append(
        yield* StreamId.make({ tenant: "bench", category: "trickle", id: "warm" }),
        [{ type: "Happened", data: payload, metadata: yield* EventMetadata.make() }],
        ExpectedVersion.any
      )
      const running = yield* Consumer.start({ group: "latency", category: "trickle" }, (batch) =>
        Effect.sync(() => {
          const now = performance.now()
          for (const event of batch.events) {
            const at = sent.get(event.position)
            if (at !== undefined) latencies.push(now - at)
          }
        })
      ).pipe(Effect.provideService(EventFeed, feed), withLeases, Scope.provide(scope))
      yield* running.awaitPosition(trickle, first.positions[0] ?? 1)
      const streamId = yield* StreamId.make({ tenant: "bench", category: "trickle", id: "t" })
      let last = 0
      for (let i = 0; i < settings.latencyAppends; i++) {
        const metadata = yield* EventMetadata.make()
        const before = performance.now()
        const result = yield* store.append(
          streamId,
          [{ type: "Happened", data: payload, metadata }],
          ExpectedVersion.any
        )
        last = result.positions[0] ?? last
        sent.set(last, before)
        yield* Effect.sleep(`${40 + ((i * 37) % 120)} millis`)
      }
      yield* running.awaitPosition(trickle, last)
      yield* Scope.close(scope, Exit.void)
      results["consumer.latency.p50_ms"] = percentile(latencies, 50)
      results["consumer.latency.p99_ms"] = percentile(latencies, 99)
      results["consumer.latency.max_idle_poll_ms"] = 1000
      yield* log(
        `consumer.latency: p50 ${results["consumer.latency.p50_ms"].toFixed(1)} ms, p99 ${results[
          "consumer.latency.p99_ms"
        ].toFixed(1)} ms (max idle poll 1000 ms, ${latencies.length} appends)`
      )
    }

    // 3. An I/O-bound handler (2 ms per event) over many streams: stream concurrency 16 vs 1.
    //    The in-memory feed keeps the figure about the consumer's scheduling, not the stand-in.
    {
      const wait = (batch: Consumer.Batch) =>
        Effect.forEach(batch.events, () => Effect.sleep("2 millis"), { discard: true })
      const oneStreamEach = settings.streamEvents / settings.streams
      const memory = yield* InMemoryEventStore.make({ shards: { spread: 8 } })
      // Round-robin appends so a batch spans many streams.
      for (let v = 0; v < oneStreamEach; v++) {
        yield* Effect.forEach(
          Array.from({ length: settings.streams }, (_, s) => s),
          (s) =>
            Effect.gen(function* () {
              const metadata = yield* EventMetadata.make()
              const many = yield* StreamId.make({ tenant: "bench", category: "many", id: `s${s}` })
              const spread = yield* StreamId.make({ tenant: "bench", category: "spread", id: `s${s}` })
              const event = { type: "Happened", data: "{}", metadata }
              yield* memory.store.append(many, [event], ExpectedVersion.exact(v))
              yield* memory.store.append(spread, [event], ExpectedVersion.exact(v))
            }),
          { discard: true }
        )
      }
      const inMemory = Effect.provideService(EventFeed, memory.feed)
      const many = Partition.make("bench", "many", 0)
      const spread = yield* memory.feed.partitions({ category: "spread" })
      const heads = yield* Effect.forEach(spread, (p) => Effect.map(memory.feed.head(p), (h) => [p, h] as const))
      let round = 0
      const options = (category: string, extra: Partial<ConsumerOptions.ConsumerOptions>) => ({
        group: `g${round++}`,
        category,
        minIdlePoll: 1,
        maxIdlePoll: 10,
        ...extra
      })
      const serial = yield* catchUp(options("many", { streamConcurrency: 1 }), wait, [
        [many, settings.streamEvents]
      ]).pipe(inMemory, withLeases)
      const parallel = yield* catchUp(options("many", { streamConcurrency: 16 }), wait, [
        [many, settings.streamEvents]
      ]).pipe(inMemory, withLeases)
      results["consumer.streams.serial_ms"] = serial
      results["consumer.streams.concurrency16_ms"] = parallel
      results["consumer.streams.parallel_speedup"] = serial / parallel
      const eight = yield* catchUp(options("spread", { partitionConcurrency: 8 }), wait, heads).pipe(
        inMemory,
        withLeases
      )
      results["consumer.partitions8.ms"] = eight
      results["consumer.partitions8.speedup_vs_1"] = serial / eight
      yield* log(
        `consumer.streams: ${settings.streamEvents} events over ${settings.streams} streams, concurrency 1 ${serial.toFixed(
          0
        )} ms, 16 ${parallel.toFixed(0)} ms, speedup ${results["consumer.streams.parallel_speedup"].toFixed(2)}; 8 partitions ${eight.toFixed(
          0
        )} ms, speedup vs 1 ${results["consumer.partitions8.speedup_vs_1"].toFixed(2)}`
      )
    }
    return results
  }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Warn"))
