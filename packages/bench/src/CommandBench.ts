/**
 * The command benchmarks on Table Storage: a command (load, decide, append)
 * through the library against the raw SDK doing the same key-range query and
 * the same transaction, on a cold and on a warm stream, and a cold load of a
 * 10,000-event stream with snapshots against a 10-event one. Every comparison
 * is interleaved one operation at a time and reported as medians.
 *
 * @since 0.1.0
 */
import { odata, type TableClient } from "@azure/data-tables"
import {
  CommandHandler,
  Decider,
  EventCodec,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  type Snapshot,
  StreamId
} from "@eventable/core"
import { TableEventStore, TableKeys, TableStorageConfig } from "@eventable/table-storage"
import { Context, Effect, Layer, Option, Schema, Stream } from "effect"
import * as Measure from "./Measure.ts"
import * as RawTable from "./RawTable.ts"
import type * as Report from "./Report.ts"

/**
 * How much work each benchmark does.
 *
 * @since 0.1.0
 */
export interface Settings {
  /** Measured commands per contender on ~5-event streams. */
  readonly commands: number
  /** Measured cold loads per contender on the 10,000- and 10-event streams. */
  readonly snapshotCommands: number
  /** Events in the long stream. */
  readonly longStream: number
}

/**
 * The full run.
 *
 * @since 0.1.0
 */
export const full: Settings = { commands: 400, snapshotCommands: 101, longStream: 10_000 }

/**
 * `--quick`: the same measurements with fewer repetitions.
 *
 * @since 0.1.0
 */
export const quick: Settings = { commands: 60, snapshotCommands: 21, longStream: 10_000 }

/**
 * The goals of these figures (issue 7).
 *
 * @since 0.1.0
 */
export const goals: ReadonlyArray<Report.Goal> = [
  {
    name: "command.cold.ratio_vs_raw",
    goal: "≤ 1.10",
    met: (v) => v <= 1.1,
    what: "a command on a ~5-event stream this process has not seen: library / the raw SDK's same key-range query and transaction"
  },
  {
    name: "command.warm.ratio_vs_raw_cold",
    goal: "≤ 0.60",
    met: (v) => v <= 0.6,
    what: "a command on a stream this process just wrote: library / the raw SDK's cold load and transaction"
  },
  {
    name: "command.snapshot.ratio_10k_vs_10",
    goal: "≤ 2",
    met: (v) => v <= 2,
    what: "a cold load-decide-append on a 10,000-event stream with snapshots / the same on a 10-event stream"
  }
]

/**
 * How these figures are measured, for docs/benchmarks.md.
 *
 * @since 0.1.0
 */
export const method: ReadonlyArray<string> = [
  "- **command.cold / command.warm**: a deposit command (load, decide, append one ~20-byte event) through",
  "  `CommandHandler.execute`. Cold: on a fresh 5-event stream, seeded by another store instance, so this",
  "  process has never seen it. Warm: on one stream this process keeps writing. Raw: the SDK lists the same",
  "  key range (header + 5 events), folds the events' JSON, and submits the same four-operation transaction",
  "  with the header's ETag from the listing and the head's from its previous answer. The three are",
  "  interleaved one command at a time; medians per command.",
  "- **command.snapshot**: at the store level, a cold load-decide-append with snapshots every 50 events:",
  "  `readSnapshot` (snapshot and header in one query), `readStream` from the snapshot's version, fold,",
  "  decide, append (with a snapshot when it crosses a multiple of 50). On one 10,000-event stream against",
  "  fresh 10-event streams (same code, which finds no snapshot), and against fresh 10-event streams loaded",
  "  without snapshots (`_plain`). Interleaved; medians per command."
]

// The domain: an account that takes deposits. --------------------------------------

class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Number }) {}
const AccountState = Schema.Struct({ balance: Schema.Number, deposits: Schema.Number })
type AccountState = typeof AccountState.Type

const account = Decider.make({
  initialState: { balance: 0, deposits: 0 } as AccountState,
  evolve: (state: AccountState, event: Deposited): AccountState => ({
    balance: state.balance + event.amount,
    deposits: state.deposits + 1
  }),
  decide: (command: { readonly amount: number }, _state: AccountState) =>
    Effect.succeed([new Deposited({ amount: command.amount })])
})
const codec = EventCodec.make(Deposited)
const category = "account"
const handler = CommandHandler.make({ category, decider: account, codec })

const stateJson = Schema.fromJsonString(Schema.toCodecJson(AccountState))
const encodeState = Schema.encodeSync(stateJson)
const decodeState = Schema.decodeUnknownSync(stateJson)

/** How often the store-level loop writes a snapshot, in events. */
const snapshotEvery = 50

// Helpers ---------------------------------------------------------------------------

type Store = EventStore["Service"]

const storeOn = (connectionString: string, table: string) =>
  Effect.map(
    Layer.build(TableEventStore.layer({ connection: TableStorageConfig.connectionString(connectionString), table })),
    (context) => Context.get(context, EventStore)
  )

const deposits = (count: number) =>
  Effect.forEach(Array.from({ length: count }), () =>
    Effect.map(EventMetadata.make(), (metadata) => ({
      type: "Deposited",
      data: JSON.stringify({ amount: 1 }),
      metadata
    }))
  )

const log = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

/** Creates `count` streams of `events` events each, in `tenant`, through `store`. */
const seed = (store: Store, tenant: string, count: number, events: number) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) =>
      Effect.flatMap(Effect.all([StreamId.make({ tenant, category, id: `s${i}` }), deposits(events)]), ([id, batch]) =>
        store.append(id, batch, ExpectedVersion.noStream)
      ),
    { concurrency: 16, discard: true }
  )

/**
 * The raw SDK's command: the stream's key-range query (header + events), the
 * events folded from their JSON, then the same transaction the store writes
 * (header If-Match, event row, feed row, head If-Match), the head's ETag kept
 * from the previous answer like the store keeps it.
 */
const rawCommands = (table: TableClient, partitionKey: string) => {
  let head: { position: number; etag: string } | undefined
  const pad = (n: number, digits: number) => n.toString().padStart(digits, "0")
  return (id: string) =>
    Effect.promise(async () => {
      if (head === undefined) {
        const row = await table.getEntity<{ position: string }>(partitionKey, TableKeys.headRow)
        head = { position: Number(row.position), etag: row.etag }
      }
      const lower = `s|${id}|${pad(0, 10)}`
      const upper = `s|${id}|${pad(9_999_999_999, 10)}`
      const rows: Array<Record<string, unknown>> = []
      const pages = table
        .listEntities<Record<string, unknown>>({
          queryOptions: { filter: odata`PartitionKey eq ${partitionKey} and RowKey ge ${lower} and RowKey le ${upper}` }
        })
        .byPage({ maxPageSize: 1000 })
      for await (const page of pages) rows.push(...page)
      const [header, ...events] = rows
      let balance = 0
      for (const event of events) balance += (JSON.parse(event.d0 as string) as { amount: number }).amount
      const version = Number(header!.version)
      if (version !== events.length || balance !== events.length) throw new Error(`bad raw load of ${id}`)
      const next = version + 1
      const position = head.position + 1
      const payload = {
        type: "Deposited",
        eventId: crypto.randomUUID(),
        occurredAt: new Date().toISOString(),
        chunks: 1,
        d0: JSON.stringify({ amount: 1 })
      }
      const result = await table.submitTransaction([
        ["update", { partitionKey, rowKey: lower, version: String(next) }, "Replace", { etag: header!.etag as string }],
        ["create", { partitionKey, rowKey: `s|${id}|${pad(next, 10)}`, ...payload, position: String(position) }],
        ["create", { partitionKey, rowKey: `f|${pad(position, 16)}`, ...payload, stream: id, version: String(next) }],
        [
          "update",
          { partitionKey, rowKey: TableKeys.headRow, position: String(position) },
          "Replace",
          { etag: head.etag }
        ]
      ])
      head = { position, etag: result.subResponses[3]!.etag! }
    })
}

/**
 * A cold command at the store level, with snapshots: read the snapshot, then
 * only the events after it, fold, decide, append (with a new snapshot when the
 * append crosses a multiple of {@link snapshotEvery}). Nothing is cached
 * between calls but the store's own header ETags.
 */
const coldWithSnapshots = (store: Store, streamId: StreamId.StreamId) =>
  Effect.gen(function* () {
    const snapshot = yield* store.readSnapshot(streamId)
    let state = Option.isSome(snapshot) ? decodeState(snapshot.value.data) : account.initialState
    let version = Option.isSome(snapshot) ? snapshot.value.version : 0
    const events = yield* Stream.runCollect(store.readStream(streamId, { from: version + 1 }))
    for (const stored of events) {
      const recorded = yield* codec.decodeStored(stored)
      state = account.evolve(state, recorded.event)
      version = stored.version
    }
    const decided = yield* account.decide({ amount: 1 }, state)
    const after = Decider.fold(account, decided, state)
    const next = version + decided.length
    const withSnapshot: Snapshot | undefined =
      Math.floor(version / snapshotEvery) === Math.floor(next / snapshotEvery)
        ? undefined
        : { version: next, data: encodeState(after) }
    const data = yield* deposits(decided.length)
    yield* store.append(
      streamId,
      data,
      ExpectedVersion.exact(version),
      withSnapshot === undefined ? {} : { snapshot: withSnapshot }
    )
  })

/** A cold command at the store level without snapshots: the whole stream, fold, decide, append. */
const coldPlain = (store: Store, streamId: StreamId.StreamId) =>
  Effect.gen(function* () {
    let state = account.initialState
    let version = 0
    const events = yield* Stream.runCollect(store.readStream(streamId))
    for (const stored of events) {
      const recorded = yield* codec.decodeStored(stored)
      state = account.evolve(state, recorded.event)
      version = stored.version
    }
    const decided = yield* account.decide({ amount: 1 }, state)
    yield* store.append(streamId, yield* deposits(decided.length), ExpectedVersion.exact(version))
  })

/**
 * Runs the command benchmarks and returns the named figures.
 *
 * @since 0.1.0
 */
export const run = (connectionString: string, settings: Settings) =>
  Effect.gen(function* () {
    const results: Record<string, number> = {}
    const table = `benchcommand${Date.now().toString(36)}`
    // One store seeds the streams; another, which has never seen them, runs the commands: a cold process.
    const seeder = yield* storeOn(connectionString, table)
    const store = yield* storeOn(connectionString, table)
    const raw = RawTable.client(connectionString, table)

    // 1. Commands on ~5-event streams: library cold, library warm, raw cold.
    {
      const warmup = 20
      const count = settings.commands + warmup
      yield* seed(seeder, "lib", count, 5)
      yield* seed(seeder, "raw", count, 5)
      const warmTarget = { tenant: "lib", id: "warm" }
      yield* handler.execute(warmTarget, { amount: 1 }).pipe(Effect.provideService(EventStore, store))
      const rawCommand = rawCommands(raw, TableKeys.partitionKey("raw", category, 0))
      let cold = 0
      let rawCold = 0
      const contenders = {
        cold: () =>
          handler
            .execute({ tenant: "lib", id: `s${cold++}` }, { amount: 1 })
            .pipe(Effect.provideService(EventStore, store)),
        warm: () => handler.execute(warmTarget, { amount: 1 }).pipe(Effect.provideService(EventStore, store)),
        raw: () => rawCommand(`s${rawCold++}`)
      }
      yield* Measure.alternate(warmup, contenders)
      const perCommand = yield* Measure.alternate(settings.commands, contenders)
      results["command.cold.library_ms"] = perCommand.cold
      results["command.warm.library_ms"] = perCommand.warm
      results["command.cold.raw_ms"] = perCommand.raw
      results["command.cold.ratio_vs_raw"] = perCommand.cold / perCommand.raw
      results["command.warm.ratio_vs_raw_cold"] = perCommand.warm / perCommand.raw
      yield* log(
        `command: cold ${perCommand.cold.toFixed(2)} ms, warm ${perCommand.warm.toFixed(2)} ms, raw cold ${perCommand.raw.toFixed(
          2
        )} ms; cold ratio ${results["command.cold.ratio_vs_raw"].toFixed(3)}, warm ratio ${results[
          "command.warm.ratio_vs_raw_cold"
        ].toFixed(3)}`
      )
    }

    // 2. Cold loads with snapshots: a 10,000-event stream against 10-event streams.
    {
      const long = yield* StreamId.make({ tenant: "long", category, id: "long" })
      for (let version = 0; version < settings.longStream; ) {
        const count = Math.min(48, settings.longStream - version)
        const next = version + count
        const crosses = Math.floor(version / snapshotEvery) !== Math.floor(next / snapshotEvery)
        const options = crosses
          ? { snapshot: { version: next, data: encodeState({ balance: next, deposits: next }) } }
          : {}
        yield* seeder.append(long, yield* deposits(count), ExpectedVersion.exact(version), options)
        version = next
      }
      const warmup = 5
      const count = settings.snapshotCommands + warmup
      yield* seed(seeder, "short", count, 10)
      yield* seed(seeder, "plain", count, 10)
      let short = 0
      let plain = 0
      const contenders = {
        long: () => coldWithSnapshots(store, long),
        short: () =>
          Effect.flatMap(StreamId.make({ tenant: "short", category, id: `s${short++}` }), (id) =>
            coldWithSnapshots(store, id)
          ),
        plain: () =>
          Effect.flatMap(StreamId.make({ tenant: "plain", category, id: `s${plain++}` }), (id) => coldPlain(store, id))
      }
      yield* Measure.alternate(warmup, contenders)
      const perLoad = yield* Measure.alternate(settings.snapshotCommands, contenders)
      results["command.snapshot.long_ms"] = perLoad.long
      results["command.snapshot.short_ms"] = perLoad.short
      results["command.snapshot.short_plain_ms"] = perLoad.plain
      results["command.snapshot.ratio_10k_vs_10"] = perLoad.long / perLoad.short
      results["command.snapshot.ratio_10k_vs_10_plain"] = perLoad.long / perLoad.plain
      yield* log(
        `command.snapshot: 10,000 events ${perLoad.long.toFixed(2)} ms, 10 events ${perLoad.short.toFixed(
          2
        )} ms (without snapshots ${perLoad.plain.toFixed(2)} ms); ratio ${results[
          "command.snapshot.ratio_10k_vs_10"
        ].toFixed(3)}`
      )
    }
    return results
  })
