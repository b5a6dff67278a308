/**
 * The contract every `LeaseStore` backend must keep, as a suite of
 * @effect/vitest tests. Call {@link run} from a test file with your store's
 * Layer; it registers the tests. Each test works in a fresh consumer group, so
 * the suite can share one store across all of them.
 *
 * Covered: ensure idempotent under racing fibers; acquire fenced (of two
 * contenders exactly one wins, the other gets `LeaseLost`); renew, checkpoint
 * and release with a stale ETag fail with `LeaseLost` and change nothing; a
 * fresh ETag per write; the epoch incremented by every acquire; the
 * checkpoint never moving backwards; malformed positions, attempts, groups,
 * owners and partitions refused with `InvalidArgument`; attempts stored and
 * reset when the checkpoint moves; release writing only the owner (a deposed
 * owner's release cannot restore its older checkpoint); listing one group
 * only; group names with characters that keys cannot hold.
 *
 * @example
 * ```ts
 * import { InMemoryLeaseStore } from "@eventable/core"
 * import { LeaseStoreConformance } from "@eventable/testing"
 *
 * LeaseStoreConformance.run("in-memory", InMemoryLeaseStore.layer)
 * ```
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { type Lease, LeaseStore, Partition } from "@eventable/core"
import { Effect, Exit, type Layer, Option } from "effect"

/**
 * Options of the suite.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Timeout of each test in milliseconds (default 60,000). */
  readonly timeout?: number
  /** Fibers racing in the concurrency tests (default 16). */
  readonly contenders?: number
}

let groupCounter = 0
const freshGroup = (prefix = "g"): string =>
  `${prefix}${Date.now().toString(36)}${(groupCounter++).toString(36)}${crypto.randomUUID().slice(0, 6)}`

const partition = (shard = 0, tenant = "acme", category = "order") => Partition.make(tenant, category, shard)

/** The failure's tag, or "Success". */
const outcome = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) =>
    Exit.isSuccess(exit)
      ? "Success"
      : Option.match(Exit.findErrorOption(exit), { onNone: () => "Defect", onSome: (e) => e._tag })
  )

const stored = (leases: LeaseStore["Service"], lease: Lease.Lease) =>
  Effect.flatMap(leases.get(lease.group, lease.partition), (found) =>
    Option.match(found, {
      onNone: () => Effect.die(new Error(`lease of ${lease.group} vanished`)),
      onSome: Effect.succeed
    })
  )

/** The lease as the suite compares it: everything but the opaque ETag. */
const content = (lease: Lease.Lease) => ({
  group: lease.group,
  partition: lease.partition,
  owner: lease.owner,
  epoch: lease.epoch,
  checkpoint: lease.checkpoint,
  attempts: lease.attempts
})

/**
 * Registers the conformance tests for a lease store Layer.
 *
 * @since 0.1.0
 */
export const run = <E>(name: string, storeLayer: Layer.Layer<LeaseStore, E>, options: Options = {}): void => {
  const timeout = options.timeout ?? 60_000
  const contenders = options.contenders ?? 16

  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(`LeaseStore conformance: ${name}`, (it) => {
    it.effect(
      "given no lease, when it is ensured, then it is created unowned at epoch 0, checkpoint 0, attempts 0",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()

          const missing = yield* leases.get(group, partition())
          const created = yield* leases.ensure(group, partition())

          assert.isTrue(Option.isNone(missing))
          assert.deepStrictEqual(content(created), {
            group,
            partition: partition(),
            owner: undefined,
            epoch: 0,
            checkpoint: 0,
            attempts: 0
          })
          assert.isFalse("owner" in created, "an unowned lease has no owner key at all")
          assert.isTrue(created.etag.length > 0)
          assert.deepStrictEqual(yield* stored(leases, created), created)
        }),
      timeout
    )

    it.effect(
      "given many fibers racing, when they ensure one lease, then one lease exists and each got it as stored",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()

          const results = yield* Effect.forEach(
            Array.from({ length: contenders }, (_, i) => i),
            () => leases.ensure(group, partition(3)),
            { concurrency: "unbounded" }
          )

          const all = yield* leases.list(group)
          assert.strictEqual(all.length, 1)
          for (const lease of results) assert.deepStrictEqual(lease, all[0])
        }),
      timeout
    )

    it.effect(
      "given an owned lease with progress, when it is ensured again, then it is returned as stored, untouched",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const mine = yield* leases.acquire(yield* leases.ensure(group, partition()), "w1")
          const moved = yield* leases.checkpoint(mine, 7, 0)

          const again = yield* leases.ensure(group, partition())

          assert.deepStrictEqual(again, moved)
        }),
      timeout
    )

    it.effect(
      "given two contenders with the same view, when both acquire, then exactly one wins and the other gets LeaseLost",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const free = yield* leases.ensure(group, partition())

          const outcomes = yield* Effect.forEach(
            Array.from({ length: contenders }, (_, i) => `worker-${i}`),
            (owner) => Effect.map(Effect.result(leases.acquire(free, owner)), (result) => ({ owner, result })),
            { concurrency: "unbounded" }
          )

          const winners = outcomes.filter((o) => o.result._tag === "Success")
          const losers = outcomes.flatMap((o) => (o.result._tag === "Failure" ? [o.result.failure] : []))
          assert.strictEqual(winners.length, 1)
          assert.strictEqual(losers.length, contenders - 1)
          for (const lost of losers) assert.strictEqual(lost._tag, "LeaseLost")
          const now = yield* stored(leases, free)
          assert.strictEqual(now.owner, winners[0]!.owner)
          assert.strictEqual(now.epoch, 1)
        }),
      timeout
    )

    it.effect(
      "given a lease, when it is acquired, stolen and re-acquired, then the epoch increments each time and progress is kept",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const first = yield* leases.acquire(yield* leases.ensure(group, partition()), "a")
          const progressed = yield* leases.checkpoint(first, 5, 0)
          const counted = yield* leases.checkpoint(progressed, 5, 2)

          const stolen = yield* leases.acquire(counted, "b")
          yield* leases.release(stolen)
          const back = yield* leases.acquire(yield* stored(leases, stolen), "b")

          assert.deepStrictEqual(
            [first, stolen, back].map((l) => [l.owner, l.epoch]),
            [
              ["a", 1],
              ["b", 2],
              ["b", 3]
            ]
          )
          assert.deepStrictEqual([back.checkpoint, back.attempts], [5, 2])
        }),
      timeout
    )

    it.effect(
      "given a sequence of writes, when each returns a lease, then every ETag is fresh and only the last one works",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const created = yield* leases.ensure(group, partition())
          const owned = yield* leases.acquire(created, "w")
          const renewed = yield* leases.renew(owned)
          const moved = yield* leases.checkpoint(renewed, 1, 0)
          const counted = yield* leases.checkpoint(moved, 1, 1)

          const etags = [created, owned, renewed, moved, counted].map((l) => l.etag)
          assert.strictEqual(new Set(etags).size, etags.length)
          assert.deepStrictEqual(content(renewed), content(owned), "renew changes nothing but the ETag")
          for (const old of [created, owned, renewed, moved]) {
            assert.strictEqual(yield* outcome(leases.renew({ ...old, owner: "w" })), "LeaseLost")
          }
          assert.strictEqual((yield* leases.renew(counted)).owner, "w")
        }),
      timeout
    )

    it.effect(
      "given a deposed owner, when it renews, checkpoints or releases with its stale lease, then each gets LeaseLost and nothing changes",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const deposed = yield* leases.checkpoint(
            yield* leases.acquire(yield* leases.ensure(group, partition()), "old"),
            3,
            0
          )
          const thief = yield* leases.checkpoint(yield* leases.acquire(deposed, "new"), 9, 1)

          const renew = yield* Effect.flip(leases.renew(deposed))
          const checkpoint = yield* Effect.flip(leases.checkpoint(deposed, 20, 0))
          const release = yield* Effect.flip(leases.release(deposed))

          for (const lost of [renew, checkpoint, release]) {
            assert.strictEqual(lost._tag, "LeaseLost")
            if (lost._tag === "LeaseLost") {
              assert.strictEqual(lost.owner, "old")
              assert.strictEqual(lost.group, group)
              assert.deepStrictEqual(lost.partition, partition())
            }
          }
          assert.deepStrictEqual(yield* stored(leases, deposed), thief)
        }),
      timeout
    )

    it.effect(
      "given a deposed owner with an older checkpoint, when it releases, then the newer checkpoint stays and the owner stays",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const old = yield* leases.checkpoint(
            yield* leases.acquire(yield* leases.ensure(group, partition()), "old"),
            10,
            0
          )
          const current = yield* leases.checkpoint(yield* leases.acquire(old, "new"), 25, 0)

          assert.strictEqual(yield* outcome(leases.release(old)), "LeaseLost")
          assert.deepStrictEqual(yield* stored(leases, old), current)
        }),
      timeout
    )

    it.effect(
      "given an owned lease, when it is released, then only the owner is cleared and the released copy is stale",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const mine = yield* leases.checkpoint(
            yield* leases.acquire(yield* leases.ensure(group, partition()), "w"),
            12,
            0
          )
          const counted = yield* leases.checkpoint(mine, 12, 4)

          yield* leases.release(counted)

          const after = yield* stored(leases, counted)
          assert.deepStrictEqual(content(after), { ...content(counted), owner: undefined })
          assert.isFalse("owner" in after)
          assert.notStrictEqual(after.etag, counted.etag)
          assert.strictEqual(yield* outcome(leases.checkpoint(counted, 13, 0)), "LeaseLost")
          assert.strictEqual((yield* leases.acquire(after, "next")).epoch, 2)
        }),
      timeout
    )

    it.effect(
      "given a copy of the current lease with an older checkpoint, when it is released, then the stored checkpoint stays",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const mine = yield* leases.checkpoint(
            yield* leases.acquire(yield* leases.ensure(group, partition()), "w"),
            30,
            2
          )
          const counted = yield* leases.checkpoint(mine, 30, 2)

          yield* leases.release({ ...counted, checkpoint: 3, attempts: 0, epoch: 0 })

          const after = yield* stored(leases, counted)
          assert.deepStrictEqual([after.owner, after.epoch, after.checkpoint, after.attempts], [undefined, 1, 30, 2])
        }),
      timeout
    )

    it.effect(
      "given a checkpoint, when a lower position is written, then InvalidArgument and the lease is unchanged",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const at = yield* leases.checkpoint(
            yield* leases.acquire(yield* leases.ensure(group, partition()), "w"),
            8,
            0
          )

          const backwards = yield* Effect.flip(leases.checkpoint(at, 7, 0))

          assert.strictEqual(backwards._tag, "InvalidArgument")
          assert.deepStrictEqual(yield* stored(leases, at), at)
          assert.strictEqual((yield* leases.checkpoint(at, 8, 1)).checkpoint, 8, "the same position is allowed")
        }),
      timeout
    )

    it.effect(
      "given malformed positions and attempts, when checkpointed, then each is InvalidArgument and nothing is written",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const mine = yield* leases.acquire(yield* leases.ensure(group, partition()), "w")
          const bad = [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53]

          const positions = yield* Effect.forEach(bad, (p) => outcome(leases.checkpoint(mine, p, 0)))
          const attempts = yield* Effect.forEach(bad, (a) => outcome(leases.checkpoint(mine, 1, a)))

          assert.deepStrictEqual(
            positions,
            bad.map(() => "InvalidArgument")
          )
          assert.deepStrictEqual(
            attempts,
            bad.map(() => "InvalidArgument")
          )
          assert.deepStrictEqual(yield* stored(leases, mine), mine)
        }),
      timeout
    )

    it.effect(
      "given attempts, when the checkpoint stays they are stored, and when it moves they reset to 0",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const mine = yield* leases.acquire(yield* leases.ensure(group, partition()), "w")

          const once = yield* leases.checkpoint(mine, 0, 1)
          const twice = yield* leases.checkpoint(once, 0, 2)
          const moved = yield* leases.checkpoint(twice, 4, 5)

          assert.deepStrictEqual(
            [once, twice, moved].map((l) => [l.checkpoint, l.attempts]),
            [
              [0, 1],
              [0, 2],
              [4, 0]
            ]
          )
          assert.strictEqual((yield* stored(leases, mine)).attempts, 0)
        }),
      timeout
    )

    it.effect(
      "given unowned leases, when renewed, checkpointed or released, then InvalidArgument and nothing is written",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const free = yield* leases.ensure(group, partition())

          const results = [
            yield* outcome(leases.renew(free)),
            yield* outcome(leases.checkpoint(free, 1, 0)),
            yield* outcome(leases.release(free))
          ]

          assert.deepStrictEqual(results, ["InvalidArgument", "InvalidArgument", "InvalidArgument"])
          assert.deepStrictEqual(yield* stored(leases, free), free)
        }),
      timeout
    )

    it.effect(
      "given leases of two groups, when one group is listed, then all of its leases come back in partition order and none of the other",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const other = `${group}x`
          const mine = [partition(2), partition(0, "zeta"), partition(1), partition(0, "acme", "invoice")]
          yield* Effect.forEach(mine, (p) => leases.ensure(group, p), { concurrency: 4 })
          yield* leases.ensure(other, partition(5))

          const listed = yield* leases.list(group)

          assert.deepStrictEqual(
            listed.map((l) => l.partition),
            [...mine].sort(Partition.compare)
          )
          for (const lease of listed) assert.strictEqual(lease.group, group)
          assert.deepStrictEqual(
            (yield* leases.list(other)).map((l) => l.partition),
            [partition(5)]
          )
          assert.deepStrictEqual(yield* leases.list(freshGroup()), [])
        }),
      timeout
    )

    it.effect(
      "given group names with characters keys cannot hold, when each ensures and lists, then no two groups share a lease",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const base = freshGroup()
          const hostile = ["|", "/", "\\", "#", "?", "%", "~", "~7C", "%7C", "'", '"', " ", "*", "😀", "é"].map(
            (s) => `${base}${s}x`
          )
          const groups = [base, `${base}|`, `${base}~`, ...hostile]
          assert.strictEqual(new Set(groups).size, groups.length)
          const tenants = ["a|b", "a/b", "a~7Cb", "a"]

          yield* Effect.forEach(
            groups,
            (group, g) =>
              Effect.forEach(tenants, (tenant, t) =>
                leases.ensure(group, partition(0, tenant)).pipe(
                  Effect.flatMap((lease) => leases.acquire(lease, `o${g}`)),
                  Effect.flatMap((lease) => leases.checkpoint(lease, g * 100 + t, 0))
                )
              ),
            { concurrency: 4 }
          )

          for (const [g, group] of groups.entries()) {
            const listed = yield* leases.list(group)
            assert.deepStrictEqual(
              listed.map((l) => [l.group, l.partition.tenant, l.owner, l.checkpoint]),
              tenants
                .map((tenant, t) => [group, tenant, `o${g}`, g * 100 + t] as const)
                .sort((x, y) => (x[1] < y[1] ? -1 : 1))
                .map((row) => [...row]),
              `group ${JSON.stringify(group)}`
            )
          }
        }),
      timeout
    )

    it.effect(
      "given malformed groups, owners and partitions, when used, then each is InvalidArgument before any write",
      () =>
        Effect.gen(function* () {
          const leases = yield* LeaseStore
          const group = freshGroup()
          const badGroups = ["", "a\u0000b", "line\nbreak", "\ud800", "g".repeat(129)]
          const badPartitions = [partition(0, ""), partition(0, "a", "b\u0001"), partition(-1), partition(1.5)]
          const free = yield* leases.ensure(group, partition())

          const results = [
            ...(yield* Effect.forEach(badGroups, (g) => outcome(leases.ensure(g, partition())))),
            ...(yield* Effect.forEach(badGroups, (g) => outcome(leases.list(g)))),
            ...(yield* Effect.forEach(badGroups, (g) => outcome(leases.get(g, partition())))),
            ...(yield* Effect.forEach(badPartitions, (p) => outcome(leases.ensure(group, p)))),
            ...(yield* Effect.forEach(["", "o\u0007", "o".repeat(257)], (o) => outcome(leases.acquire(free, o))))
          ]

          for (const result of results) assert.strictEqual(result, "InvalidArgument")
          assert.deepStrictEqual(yield* leases.list(group), [free])
        }),
      timeout
    )
  })
}
