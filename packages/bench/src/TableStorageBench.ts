/**
 * The Table Storage benchmarks: the library against the same work done by
 * hand with the SDK, on Azurite in a separate process.
 *
 * @since 0.1.0
 */
import { EventFeed, EventMetadata, EventStore, ExpectedVersion, StreamId } from "@eventable/core"
import { TableEventStore, TableKeys, TableStorageConfig } from "@eventable/table-storage"
import { Context, Effect, Layer, Metric, Stream } from "effect"
import * as Measure from "./Measure.ts"
import * as RawTable from "./RawTable.ts"

/**
 * How much work each benchmark does.
 *
 * @since 0.1.0
 */
export interface Settings {
  readonly appends: number
  readonly writers: number
  readonly appendsPerWriter: number
  readonly concurrentRounds: number
  readonly readRounds: number
}

/**
 * The full run.
 *
 * @since 0.1.0
 */
export const full: Settings = {
  appends: 2_000,
  writers: 64,
  appendsPerWriter: 8,
  concurrentRounds: 3,
  readRounds: 101
}

/**
 * `--quick`: the same measurements with fewer repetitions.
 *
 * @since 0.1.0
 */
export const quick: Settings = {
  appends: 300,
  writers: 64,
  appendsPerWriter: 3,
  concurrentRounds: 1,
  readRounds: 21
}

const payload = JSON.stringify({ note: "x".repeat(440), amount: 42, currency: "EUR" }) // ~500 bytes

const store = (connectionString: string, table: string, groupCommit = true) =>
  Effect.map(
    Layer.build(
      TableEventStore.layer({ connection: TableStorageConfig.connectionString(connectionString), table, groupCommit })
    ),
    (context) => ({ store: Context.get(context, EventStore), feed: Context.get(context, EventFeed) })
  )

const event = Effect.map(EventMetadata.make(), (metadata) => ({ type: "Happened", data: payload, metadata }))

const log = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

/**
 * Runs every Table Storage benchmark and returns the named figures.
 *
 * @since 0.1.0
 */
export const run = (connectionString: string, settings: Settings) =>
  Effect.gen(function* () {
    const results: Record<string, number> = {}
    const stamp = Date.now().toString(36)

    // 1. One writer, one event per append: library vs the same transaction by hand.
    {
      const table = `benchsingle${stamp}`
      const { store: library } = yield* store(connectionString, table)
      const streamId = yield* StreamId.make({ tenant: "bench", category: "single", id: "lib" })
      const raw = RawTable.client(connectionString, table)
      const rawAppend = RawTable.singleWriter(raw, TableKeys.partitionKey("rawbench", "single", 0), "raw", payload)
      let version = 0
      const libraryAppend = Effect.gen(function* () {
        const result = yield* library.append(streamId, [yield* event], ExpectedVersion.exact(version))
        version = result.version
      })
      yield* Measure.interleave(50, { library: libraryAppend, raw: rawAppend() }) // warm both paths up
      const perAppend = yield* Measure.interleave(settings.appends, { library: libraryAppend, raw: rawAppend() })
      results["append.single.library_ms"] = perAppend.library
      results["append.single.raw_ms"] = perAppend.raw
      results["append.single.ratio_vs_raw"] = perAppend.library / perAppend.raw
      results["append.single.overhead_ms"] = perAppend.library - perAppend.raw
      yield* log(
        `append.single: library ${results["append.single.library_ms"].toFixed(2)} ms, raw ${results[
          "append.single.raw_ms"
        ].toFixed(2)} ms, ratio ${results["append.single.ratio_vs_raw"].toFixed(3)}`
      )
    }

    // 2. 64 writers on distinct streams of one partition: group commit on vs off.
    const concurrent = (groupCommit: boolean) =>
      Effect.gen(function* () {
        const { store: target } = yield* store(
          connectionString,
          `bench${groupCommit ? "group" : "solo"}${stamp}`,
          groupCommit
        )
        const rates: Array<number> = []
        for (let round = 0; round < settings.concurrentRounds; round++) {
          const tenant = `r${round}`
          const streams = yield* Effect.forEach(
            Array.from({ length: settings.writers }, (_, w) => w),
            (w) => StreamId.make({ tenant, category: "concurrent", id: `w${w}` })
          )
          const elapsed = yield* Measure.time(
            Effect.forEach(
              streams,
              (streamId) =>
                Effect.gen(function* () {
                  for (let a = 0; a < settings.appendsPerWriter; a++) {
                    yield* target.append(streamId, [yield* event], ExpectedVersion.exact(a))
                  }
                }),
              { concurrency: "unbounded", discard: true }
            )
          )
          rates.push((settings.writers * settings.appendsPerWriter) / (elapsed / 1000))
        }
        return Measure.median(rates)
      })
    const transactions = Effect.map(Metric.snapshot, (snapshots) => {
      const found = snapshots.find((snapshot) => snapshot.id === "eventable_table_batch_appends")
      return found === undefined ? 0 : Number((found.state as { readonly count: number }).count)
    })
    const before = yield* transactions
    const grouped = yield* concurrent(true)
    const groupedTransactions = (yield* transactions) - before
    const naive = yield* concurrent(false)
    results["append.concurrent64.events_per_s"] = grouped
    results["append.concurrent64.naive_events_per_s"] = naive
    results["append.concurrent64.speedup_vs_naive"] = grouped / naive
    results["append.concurrent64.appends_per_transaction"] =
      (settings.writers * settings.appendsPerWriter * settings.concurrentRounds) / groupedTransactions
    yield* log(
      `append.concurrent64: group commit ${grouped.toFixed(0)} events/s, naive ${naive.toFixed(0)} events/s, speedup ${results[
        "append.concurrent64.speedup_vs_naive"
      ].toFixed(2)} (${results["append.concurrent64.appends_per_transaction"].toFixed(1)} appends per transaction)`
    )

    // 3. Loading a 1,000-event stream: library vs a raw key-range listing.
    {
      const table = `benchread${stamp}`
      const { store: library } = yield* store(connectionString, table)
      const streamId = yield* StreamId.make({ tenant: "bench", category: "read", id: "long" })
      for (let version = 0; version < 1_000; version += 40) {
        const batch = yield* Effect.forEach(Array.from({ length: 40 }), () => event)
        yield* library.append(streamId, batch, ExpectedVersion.exact(version))
      }
      const raw = RawTable.client(connectionString, table)
      const partitionKey = TableKeys.partitionKey("bench", "read", 0)
      const libraryRead = Effect.flatMap(Stream.runCollect(library.readStream(streamId)), (events) =>
        events.length === 1_000 ? Effect.void : Effect.die(new Error(`read ${events.length} events`))
      )
      const rawRead = Effect.flatMap(RawTable.readStream(raw, partitionKey, "long"), (rows) =>
        rows.length === 1_001 ? Effect.void : Effect.die(new Error(`listed ${rows.length} rows`))
      )
      yield* libraryRead
      yield* rawRead
      const perRead = yield* Measure.interleave(settings.readRounds, { library: libraryRead, raw: rawRead })
      results["read.stream1000.library_ms"] = perRead.library
      results["read.stream1000.raw_ms"] = perRead.raw
      results["read.stream1000.ratio_vs_raw"] = perRead.library / perRead.raw
      results["read.stream1000.overhead_ms"] = perRead.library - perRead.raw
      yield* log(
        `read.stream1000: library ${perRead.library.toFixed(1)} ms, raw ${perRead.raw.toFixed(1)} ms, ratio ${results[
          "read.stream1000.ratio_vs_raw"
        ].toFixed(3)}`
      )
    }
    return results
  })
