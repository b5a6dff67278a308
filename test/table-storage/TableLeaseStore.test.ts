import { assert, describe, it } from "@effect/vitest"
import {
  DeadLetterStore,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  type Lease,
  LeaseStore,
  Partition,
  StreamId
} from "@eventable/core"
import { TableEventStore, TableLeaseStore, TableStorageConfig } from "@eventable/table-storage"
import { LeaseStoreConformance } from "@eventable/testing"
import { Context, type Duration, Effect, Fiber, Layer, Metric, Option, Schedule, Stream } from "effect"
import * as FaultProxy from "./FaultProxy.ts"
import { connectionString, freshTable, rawTable } from "./fixtures.ts"

LeaseStoreConformance.run(
  "Table Storage on Azurite",
  TableLeaseStore.layer({
    connection: TableStorageConfig.connectionString(connectionString()),
    table: freshTable("lease")
  })
)

const table = freshTable("leasefault")

const instance = (options: TableLeaseStore.Options) =>
  Effect.map(Layer.build(TableLeaseStore.layer(options)), (context) => Context.get(context, LeaseStore))

/** A store straight on Azurite, and one through a fault proxy, on the same lease table. */
const stores = (retryBaseDelay: Duration.Input = "5 millis", transientRetries = 5) =>
  Effect.gen(function* () {
    const proxy = yield* FaultProxy.make
    const direct = yield* instance({ connection: TableStorageConfig.connectionString(connectionString()), table })
    const faulty = yield* instance({
      connection: TableStorageConfig.connectionString(FaultProxy.redacted(proxy)),
      table,
      retryBaseDelay,
      transientRetries
    })
    return { proxy, direct, faulty }
  })

/** Matches writes to the lease table (inserts and updates), not reads. */
const leaseWrites = (method: string, path: string) => method !== "GET" && path.includes(`${table}leases`)

const metric = (id: string) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const found = snapshots.find((s) => s.id === id)
    return found === undefined ? 0 : Number((found.state as { readonly count: number | bigint }).count)
  })
const withMetrics = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, Metric.MetricRegistry, new Map())

let groups = 0
const group = () => `fault${Date.now().toString(36)}${groups++}`
const partition = Partition.make("acme", "order", 0)

const owned = (leases: LeaseStore["Service"], owner = "w1") =>
  Effect.flatMap(leases.ensure(group(), partition), (lease) => leases.acquire(lease, owner))

const current = (leases: LeaseStore["Service"], lease: Lease.Lease) =>
  Effect.map(leases.get(lease.group, lease.partition), Option.getOrThrow)

describe("TableLeaseStore on Azurite", () => {
  it.live("given transient 503s on a checkpoint write, then it is retried and written once", () =>
    Effect.gen(function* () {
      const { proxy, direct, faulty } = yield* stores()
      const mine = yield* owned(faulty)

      proxy.inject({ _tag: "Reject", status: 503 }, { times: 2, match: leaseWrites })
      const moved = yield* faulty.checkpoint(mine, 17, 0)

      assert.strictEqual(proxy.faulted(), 2)
      assert.deepStrictEqual(yield* current(direct, mine), moved)
      assert.strictEqual((yield* faulty.renew(moved)).checkpoint, 17)
    })
  )

  it.live("given transient 503s on reads, then list and get are retried", () =>
    Effect.gen(function* () {
      const { proxy, faulty } = yield* stores()
      const mine = yield* owned(faulty)

      proxy.inject({ _tag: "Reject", status: 503 }, { times: 2, match: (method) => method === "GET" })
      const listed = yield* faulty.list(mine.group)

      assert.strictEqual(proxy.faulted(), 2)
      assert.deepStrictEqual(listed, [mine])
    })
  )

  it.live(
    "given a checkpoint whose answer is lost after it committed, then the owner keeps its lease and the next write works",
    () =>
      withMetrics(
        Effect.gen(function* () {
          const { proxy, direct, faulty } = yield* stores()
          const mine = yield* owned(faulty)

          proxy.inject({ _tag: "LoseAnswer" }, { match: leaseWrites })
          const moved = yield* faulty.checkpoint(mine, 40, 0)

          assert.strictEqual(proxy.faulted(), 1)
          assert.strictEqual(yield* metric("eventable_table_lease_writes_recognised_total"), 1)
          const stored = yield* current(direct, mine)
          assert.deepStrictEqual(moved, stored, "the returned lease carries the committed write's ETag")
          const next = yield* faulty.checkpoint(moved, 41, 0)
          assert.strictEqual(next.checkpoint, 41)
        })
      )
  )

  it.live("given a lost answer and retries that run out, then one read finds the committed write", () =>
    Effect.gen(function* () {
      const { proxy, direct, faulty } = yield* stores("5 millis", 1)
      const mine = yield* owned(faulty)

      proxy.inject({ _tag: "LoseAnswer" }, { match: leaseWrites })
      proxy.inject({ _tag: "Reject", status: 503 }, { match: leaseWrites })
      const moved = yield* faulty.checkpoint(mine, 5, 0)

      assert.strictEqual(proxy.faulted(), 2)
      assert.deepStrictEqual(yield* current(direct, mine), moved)
    })
  )

  it.live("given 503s until retries run out, then StoreUnavailable, nothing written, and the lease still usable", () =>
    Effect.gen(function* () {
      const { proxy, direct, faulty } = yield* stores("5 millis", 1)
      const mine = yield* owned(faulty)

      proxy.inject({ _tag: "Reject", status: 503 }, { times: 2, match: leaseWrites })
      const failure = yield* Effect.flip(faulty.checkpoint(mine, 5, 0))

      assert.strictEqual(failure._tag, "StoreUnavailable")
      assert.deepStrictEqual(yield* current(direct, mine), mine)
      assert.strictEqual((yield* faulty.checkpoint(mine, 5, 0)).checkpoint, 5)
    })
  )

  it.live("given an acquire and a renew whose answers are lost, then both are recognised as the owner's own", () =>
    Effect.gen(function* () {
      const { proxy, direct, faulty } = yield* stores()
      const free = yield* faulty.ensure(group(), partition)

      proxy.inject({ _tag: "LoseAnswer" }, { match: leaseWrites })
      const mine = yield* faulty.acquire(free, "w1")
      proxy.inject({ _tag: "LoseAnswer" }, { match: leaseWrites })
      const renewed = yield* faulty.renew(mine)

      assert.strictEqual(proxy.faulted(), 2)
      assert.deepStrictEqual([mine.owner, mine.epoch], ["w1", 1])
      assert.deepStrictEqual(yield* current(direct, free), renewed)
    })
  )

  it.live("given an ensure whose answer is lost, then the retry finds the lease and returns it", () =>
    Effect.gen(function* () {
      const { proxy, direct, faulty } = yield* stores()
      const name = group()

      proxy.inject({ _tag: "LoseAnswer" }, { match: leaseWrites })
      const created = yield* faulty.ensure(name, partition)

      assert.strictEqual(proxy.faulted(), 1)
      assert.deepStrictEqual(yield* direct.list(name), [created])
    })
  )

  it.live(
    "given a lost answer and a thief that takes the lease before the retry, then the deposed owner gets LeaseLost",
    () =>
      Effect.gen(function* () {
        // A slow backoff leaves room for the thief between the lost answer and the retry.
        const { proxy, direct, faulty } = yield* stores("1 second")
        const mine = yield* owned(faulty, "old")

        proxy.inject({ _tag: "LoseAnswer" }, { match: leaseWrites })
        const write = yield* Effect.forkChild(Effect.flip(faulty.checkpoint(mine, 9, 0)), { startImmediately: true })
        // The lost write commits; the thief reads that lease and takes it over.
        const committed = yield* current(direct, mine).pipe(
          Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (lease) => lease.checkpoint === 9 })
        )
        const stolen = yield* direct.acquire(committed, "thief")
        const failure = yield* Fiber.join(write)

        assert.strictEqual(failure._tag, "LeaseLost")
        assert.deepStrictEqual(yield* current(direct, mine), stolen)
      })
  )

  it.live("given the combined layer, then events, leases and dead letters each live in their own table", () =>
    Effect.gen(function* () {
      const base = freshTable("combined")
      const context = yield* Layer.build(
        TableEventStore.layerWithConsumerStores({
          connection: TableStorageConfig.connectionString(connectionString()),
          table: base
        })
      )
      const leases = Context.get(context, LeaseStore)
      const store = Context.get(context, EventStore)
      const streamId = yield* StreamId.make({ tenant: "acme", category: "order", id: "o-1" })
      yield* store.append(
        streamId,
        [{ type: "Placed", data: "{}", metadata: yield* EventMetadata.make() }],
        ExpectedVersion.noStream
      )
      yield* leases.ensure("projections", partition)
      const [event] = yield* Stream.runCollect(store.readStream(streamId))
      yield* Context.get(context, DeadLetterStore).park({
        group: "projections",
        event: event!,
        error: "boom",
        attempts: 1,
        parkedAt: 0
      })

      const rows = (name: string) =>
        Effect.promise(async () => {
          const all: Array<string> = []
          for await (const entity of rawTable(name).listEntities()) all.push(String(entity.partitionKey))
          return all
        })
      assert.deepStrictEqual(yield* rows(`${base}leases`), ["projections"])
      assert.deepStrictEqual(yield* rows(`${base}deadletters`), ["projections"])
      assert.isTrue((yield* rows(base)).every((key) => key !== "projections"))
    })
  )

  it.live("given two contenders and a checkpoint, then the acquired, lost and checkpoint counters say so", () =>
    withMetrics(
      Effect.gen(function* () {
        const leases = yield* instance({ connection: TableStorageConfig.connectionString(connectionString()), table })
        const free = yield* leases.ensure(group(), partition)

        const mine = yield* leases.acquire(free, "a")
        yield* Effect.flip(leases.acquire(free, "b"))
        yield* leases.checkpoint(mine, 3, 0)

        assert.deepStrictEqual(
          [
            yield* metric("eventable_leases_acquired_total"),
            yield* metric("eventable_leases_lost_total"),
            yield* metric("eventable_checkpoints_written_total")
          ],
          [1, 1, 1]
        )
      })
    )
  )

  it.live("given a group name with key characters, then its PartitionKey is escaped like event keys", () =>
    Effect.gen(function* () {
      const leases = yield* instance({ connection: TableStorageConfig.connectionString(connectionString()), table })
      const name = `${group()}|a/b#c?d\\e%f~g`
      yield* leases.ensure(name, Partition.make("t|1", "c/2", 3))

      const found = yield* Effect.promise(async () => {
        const all: Array<[string, string]> = []
        for await (const entity of rawTable(`${table}leases`).listEntities()) {
          if (entity.group === name) all.push([String(entity.partitionKey), String(entity.rowKey)])
        }
        return all
      })
      assert.deepStrictEqual(found, [[`${name.split("|")[0]}~7Ca~2Fb~23c~3Fd~5Ce~25f~7Eg`, "t~7C1|c~2F2|0003"]])
    })
  )

  it.live("given an events table name too long for the lease table's suffix, then a typed configuration error", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        instance({ connection: TableStorageConfig.connectionString(connectionString()), table: "t".repeat(60) })
      )
      assert.strictEqual(error._tag, "TableStorageConfigError")
      if (error._tag === "TableStorageConfigError") assert.strictEqual(error.setting, "leaseTable")
    })
  )
})
