import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import {
  Consumer,
  DeadLetterStore,
  EventFeed,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  type Lease,
  LeaseStore,
  Partition,
  StreamId
} from "@eventable/core"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Effect, Layer, Option, Schedule } from "effect"
import * as FaultProxy from "./FaultProxy.ts"
import { connectionString, freshTable, rawTable } from "./fixtures.ts"

const category = "order"
const tenant = "acme"

interface Child {
  readonly lines: Array<string>
  readonly process: ChildProcess
}

/** A consumer in a child process (pinned Node, source condition); SIGKILLed when the scope closes. */
const consumerProcess = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      const child = spawn(
        process.execPath,
        ["--conditions=@eventable/source", fileURLToPath(new URL("./ConsumerChild.ts", import.meta.url))],
        {
          env: { ...process.env, CONNECTION: connectionString(), CATEGORY: category, ...env },
          stdio: ["ignore", "pipe", "inherit"]
        }
      )
      const lines: Array<string> = []
      let partial = ""
      child.stdout?.on("data", (chunk: Buffer) => {
        const text = partial + chunk.toString("utf8")
        const parts = text.split("\n")
        partial = parts.pop() ?? ""
        lines.push(...parts)
      })
      return { lines, process: child }
    }),
    (child) =>
      Effect.sync(() => {
        if (child.process.exitCode === null) child.process.kill("SIGKILL")
      })
  )

const exited = (child: Child) =>
  Effect.callback<void>((resume) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return resume(Effect.void)
    child.process.once("exit", () => resume(Effect.void))
  })

/** Polls until `condition` holds (no fixed sleeps): every 20 ms, for at most 60 s. */
const until = (condition: () => boolean) =>
  Effect.sync(condition).pipe(
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (ok: boolean) => ok }),
    Effect.timeout("60 seconds"),
    Effect.orDie
  )

const owned = (child: Child): number => {
  const last = child.lines.filter((l) => l.startsWith("O ")).pop()
  return last === undefined ? 0 : Number(last.split(" ")[1])
}
const events = (child: Child) =>
  child.lines
    .filter((l) => l.startsWith("E "))
    .map((l) => {
      const [, shard, position, stream, version] = l.split(" ")
      return { shard: Number(shard), position: Number(position), stream: stream ?? "", version: Number(version) }
    })
const batches = (child: Child) =>
  child.lines
    .filter((l) => l.startsWith("B "))
    .map((l) => {
      const [, shard, first, last] = l.split(" ")
      return { shard: Number(shard), first: Number(first), last: Number(last) }
    })

const storage = (table: string, shards: number) =>
  TableEventStore.layerWithConsumerStores({
    connection: TableStorageConfig.connectionString(connectionString()),
    table,
    shards: { [category]: shards }
  })

const appendOne = (id: string) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const streamId = yield* Effect.orDie(StreamId.make({ tenant, category, id }))
    const metadata = yield* EventMetadata.make()
    return yield* Effect.orDie(store.append(streamId, [{ type: "Placed", data: "{}", metadata }], ExpectedVersion.any))
  })

const lease = (group: string, partition: Partition.Partition) =>
  Effect.flatMap(LeaseStore, (leases) => Effect.map(Effect.orDie(leases.get(group, partition)), Option.getOrThrow))

describe("Consumer across processes on Azurite", () => {
  it.live(
    "given a consumer process SIGKILLed in the middle of a batch, when a new instance starts, then it resumes from the checkpoint, redelivers only the batch in flight, and a version-guarded view equals the fold",
    () =>
      Effect.gen(function* () {
        const table = freshTable("consumerkill")
        const partition = Partition.make(tenant, category, 0)
        yield* Effect.gen(function* () {
          for (let v = 0; v < 10; v++) for (let s = 0; s < 4; s++) yield* appendOne(`o-${s}`)
          const env = { TABLE: table, GROUP: "g", TTL: "1500", DELAY: "60" }
          const first = yield* consumerProcess({ ...env, OWNER: "a" })
          yield* until(() => batches(first).length >= 4)
          first.process.kill("SIGKILL")
          yield* exited(first)
          const inFlight = batches(first).at(-1)!
          const atKill = yield* lease("g", partition)
          assert.strictEqual(atKill.owner, "a", "a crash releases nothing")
          assert.isBelow(atKill.checkpoint, inFlight.last, "killed in the middle of a batch")

          const second = yield* consumerProcess({ ...env, OWNER: "b", DELAY: "1" })
          yield* Consumer.awaitCheckpoint("g", partition, 40).pipe(Effect.timeout("60 seconds"), Effect.orDie)
          const resumed = events(second)
          assert.strictEqual(resumed[0]?.position, atKill.checkpoint + 1, "resumes right after the checkpoint")
          assert.isTrue(resumed.every((e) => e.position > atKill.checkpoint))
          const handled = new Set([...events(first), ...resumed].map((e) => e.position))
          assert.deepStrictEqual(
            [...handled].sort((a, b) => a - b),
            Array.from({ length: 40 }, (_, i) => i + 1)
          )
          // A version-guarded view (apply only the next version of each stream) over everything delivered.
          const view = new Map<string, number>()
          for (const e of [...events(first), ...resumed]) {
            if (e.version === (view.get(e.stream) ?? 0) + 1) view.set(e.stream, e.version)
          }
          assert.deepStrictEqual(
            [...view.entries()].sort(),
            [0, 1, 2, 3].map((s) => [`o-${s}`, 10] as [string, number])
          )
        }).pipe(Effect.scoped, Effect.provide(storage(table, 1)))
      }),
    60_000
  )

  it.live(
    "given three consumer processes over 12 partitions, when they balance, one is SIGKILLed and one is stopped, then each owned its share, the others took over and finished, and the deposed owner's checkpoint is refused",
    () =>
      Effect.gen(function* () {
        const table = freshTable("consumerthree")
        const partitions = Array.from({ length: 12 }, (_, shard) => Partition.make(tenant, category, shard))
        yield* Effect.gen(function* () {
          for (let i = 0; i < 48; i++) yield* appendOne(`o-${i}`)
          const env = { TABLE: table, GROUP: "g3", TTL: "5000", DELAY: "5", SHARDS: "12" }
          const [a, b, c] = yield* Effect.forEach(["a", "b", "c"], (owner) => consumerProcess({ ...env, OWNER: owner }))
          yield* until(() => owned(a!) === 4 && owned(b!) === 4 && owned(c!) === 4)

          const leases = yield* LeaseStore
          const deposed: ReadonlyArray<Lease.Lease> = (yield* Effect.orDie(leases.list("g3"))).filter(
            (l) => l.owner === "c"
          )
          assert.lengthOf(deposed, 4)
          c!.process.kill("SIGKILL")
          yield* exited(c!)
          const killedAt = Date.now()
          yield* until(() => owned(a!) + owned(b!) === 12)
          // The TTL (5 s) on the others' clocks, plus balance cycles on a busy two-core machine.
          assert.isBelow(Date.now() - killedAt, 3 * 5000, "taken over soon after the TTL")
          // The dead instance's last lease copies can no longer move a checkpoint.
          for (const copy of deposed) {
            const refused = yield* Effect.flip(leases.checkpoint(copy, copy.checkpoint, 0))
            assert.strictEqual(refused._tag, "LeaseLost")
          }

          for (let i = 48; i < 72; i++) yield* appendOne(`o-${i}`)
          const feed = yield* EventFeed
          for (const partition of partitions) {
            const head = yield* Effect.orDie(feed.head(partition))
            yield* Consumer.awaitCheckpoint("g3", partition, head).pipe(Effect.timeout("60 seconds"), Effect.orDie)
          }

          // Graceful stop: b releases its leases and a takes them over without waiting for the TTL.
          b!.process.kill("SIGTERM")
          yield* exited(b!)
          const stoppedAt = Date.now()
          const afterStop = yield* Effect.orDie(leases.list("g3"))
          assert.isFalse(
            afterStop.some((l) => l.owner === "b"),
            "the stopped process released every lease before it exited"
          )
          yield* until(() => owned(a!) === 12)
          assert.isBelow(Date.now() - stoppedAt, 5000, "handed over before the lease TTL")

          let total = 0
          for (const partition of partitions) {
            const head = yield* Effect.orDie(feed.head(partition))
            const handled = new Set(
              [a!, b!, c!].flatMap((child) =>
                events(child)
                  .filter((e) => e.shard === partition.shard)
                  .map((e) => e.position)
              )
            )
            assert.strictEqual(handled.size, head, `every event of shard ${partition.shard} handled`)
            total += head
          }
          assert.strictEqual(total, 72)
        }).pipe(Effect.scoped, Effect.provide(storage(table, 12)))
      }),
    90_000
  )

  it.live(
    "given a store that fails transiently and loses answers, when consuming through it, then nothing is lost",
    () =>
      Effect.gen(function* () {
        const table = freshTable("consumerfault")
        const partition = Partition.make(tenant, category, 0)
        const proxy = yield* FaultProxy.make
        const viaProxy = TableEventStore.layerWithConsumerStores({
          connection: TableStorageConfig.connectionString(FaultProxy.redacted(proxy)),
          table,
          retryBaseDelay: "5 millis"
        })
        yield* Effect.gen(function* () {
          for (let i = 0; i < 30; i++) yield* appendOne(`o-${i % 3}`)
          const positions: Array<number> = []
          const running = yield* Consumer.start(
            { group: "gf", category, batchSize: 4, minIdlePoll: 5, maxIdlePoll: 50, balanceInterval: 100 },
            (batch) => Effect.sync(() => positions.push(...batch.events.map((e) => e.position)))
          )
          const leaseWrites = (method: string, path: string) => method !== "GET" && path.includes(`${table}leases`)
          const feedReads = (method: string, path: string) =>
            method === "GET" && path.startsWith(`/devstoreaccount1/${table}(`)
          proxy.inject({ _tag: "Reject", status: 503 }, { times: 6, match: feedReads })
          proxy.inject({ _tag: "LoseAnswer" }, { times: 2, match: leaseWrites })
          proxy.inject({ _tag: "Reject", status: 503 }, { times: 3, match: leaseWrites })
          yield* running.awaitPosition(partition, 30).pipe(Effect.timeout("60 seconds"))
          assert.isAbove(proxy.faulted(), 0)
          assert.deepStrictEqual(yield* running.halted, [])
          assert.deepStrictEqual(
            [...new Set(positions)].sort((x, y) => x - y),
            Array.from({ length: 30 }, (_, i) => i + 1)
          )
          const stored = yield* lease("gf", partition)
          assert.strictEqual(stored.owner, running.owner)
          assert.strictEqual(stored.epoch, 1, "never lost and re-acquired its lease")
        }).pipe(Effect.scoped, Effect.provide(Layer.provideMerge(viaProxy, Layer.empty)))
      })
  )

  it.live(
    "given feed rows deleted from the table (first, middle, last), when a consumer reaches them, then each partition halts at the missing position instead of waiting",
    () =>
      Effect.gen(function* () {
        const table = freshTable("consumerholes")
        const holes = { first: 1, middle: 3, last: 6 } as const
        yield* Effect.gen(function* () {
          const store = yield* EventStore
          for (const name of Object.keys(holes)) {
            const streamId = yield* Effect.orDie(StreamId.make({ tenant: name, category, id: "o-1" }))
            for (let i = 0; i < 6; i++) {
              const metadata = yield* EventMetadata.make()
              yield* Effect.orDie(
                store.append(streamId, [{ type: "Placed", data: "{}", metadata }], ExpectedVersion.any)
              )
            }
          }
          const raw = rawTable(table)
          for (const [name, position] of Object.entries(holes)) {
            yield* Effect.promise(() =>
              raw.deleteEntity(`${name}|${category}|0000`, `f|${String(position).padStart(16, "0")}`)
            )
          }
          const running = yield* Consumer.start(
            {
              group: "g",
              category,
              batchSize: 10,
              balanceInterval: "50 millis",
              minIdlePoll: "5 millis",
              maxIdlePoll: "20 millis"
            },
            () => Effect.void
          )
          for (const [name, position] of Object.entries(holes)) {
            const failed = yield* Effect.flip(
              running.awaitPosition(Partition.make(name, category, 0), 6).pipe(Effect.timeout("20 seconds"))
            )
            assert.strictEqual(failed._tag, "PartitionHalted", name)
            assert.strictEqual(failed._tag === "PartitionHalted" ? failed.position : -1, position, name)
          }
        }).pipe(Effect.scoped, Effect.provide(storage(table, 1)))
      }),
    30_000
  )

  it.live(
    "given an event that SIGKILLs every process it reaches, when processes are started again and again, then it is delivered exactly maxAttempts times and parked",
    () =>
      Effect.gen(function* () {
        const table = freshTable("consumerkiller")
        const partition = Partition.make(tenant, category, 0)
        yield* Effect.gen(function* () {
          for (let i = 0; i < 6; i++) yield* appendOne("o-1")
          const env = {
            TABLE: table,
            GROUP: "g",
            TTL: "800",
            DELAY: "1",
            KILL_AT: "3",
            MAX_ATTEMPTS: "3",
            POISON: "park"
          }
          let deliveriesOf3 = 0
          for (let run = 0; run < 8; run++) {
            const child = yield* consumerProcess({ ...env, OWNER: `p${run}` })
            const done = yield* Effect.raceFirst(
              Effect.as(exited(child), false),
              Effect.as(Consumer.awaitCheckpoint("g", partition, 6).pipe(Effect.orDie), true)
            ).pipe(Effect.timeout("30 seconds"), Effect.orDie)
            deliveriesOf3 += batches(child).filter((b) => b.first <= 3 && b.last >= 3).length
            child.process.kill("SIGKILL")
            yield* exited(child)
            if (done) break
          }
          assert.strictEqual(deliveriesOf3, 3)
          const letters = yield* Effect.orDie(Effect.flatMap(DeadLetterStore, (store) => store.list("g")))
          assert.deepStrictEqual(
            letters.map((l) => [l.event.position, l.attempts]),
            [[3, 3]]
          )
        }).pipe(Effect.scoped, Effect.provide(storage(table, 1)))
      }),
    60_000
  )
})
