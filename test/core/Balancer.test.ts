import { assert, describe, it } from "@effect/vitest"
import { Balancer, type Lease, Partition } from "@eventable/core"

const lease = (shard: number, owner: string | undefined, etag = `e${shard}`): Lease.Lease => ({
  group: "g",
  partition: Partition.make("t", "c", shard),
  ...(owner === undefined ? {} : { owner }),
  epoch: 1,
  checkpoint: 0,
  attempts: 0,
  etag
})
const shards = (plan: Balancer.Plan) => plan.take.map((l) => l.partition.shard)
const planFor = (self: string, leases: ReadonlyArray<Lease.Lease>, held: ReadonlyArray<number> = [], now = 0) =>
  Balancer.plan({
    self,
    leases,
    held: new Set(held.map((shard) => Partition.key(Partition.make("t", "c", shard)))),
    sightings: Balancer.observe(new Map(), leases, now),
    now,
    ttlMillis: 1000
  })

describe("Balancer", () => {
  it("given unowned leases and no other instance, when planning, then it takes them all", () => {
    const plan = planFor("a", [lease(0, undefined), lease(1, undefined), lease(2, undefined)])
    assert.deepStrictEqual(shards(plan), [0, 1, 2])
    assert.strictEqual(plan.fairShare, 3)
    assert.strictEqual(plan.steal, undefined)
  })

  it("given a live other owner, when planning, then it takes unowned leases up to its fair share and steals nothing yet", () => {
    const leases = [lease(0, "b"), lease(1, "b"), lease(2, undefined), lease(3, undefined), lease(4, undefined)]
    const plan = planFor("a", leases)
    assert.strictEqual(plan.liveInstances, 2)
    assert.strictEqual(plan.fairShare, 3)
    assert.deepStrictEqual(shards(plan), [2, 3, 4])
    assert.strictEqual(plan.steal, undefined)
  })

  it("given a lease whose ETag has not changed for the TTL on this clock, when planning, then it is taken after the unowned ones", () => {
    const leases = [lease(0, "dead"), lease(1, undefined)]
    const seen = Balancer.observe(new Map(), leases, 5_000)
    const before = Balancer.plan({ self: "a", leases, held: new Set(), sightings: seen, now: 5_999, ttlMillis: 1000 })
    // Not yet expired: "dead" still counts as live, so a's fair share is 1 and it takes only the unowned one.
    assert.deepStrictEqual(shards(before), [1])
    const after = Balancer.plan({ self: "a", leases, held: new Set(), sightings: seen, now: 6_000, ttlMillis: 1000 })
    assert.deepStrictEqual(shards(after), [1, 0])
    assert.strictEqual(after.liveInstances, 1)
  })

  it("given a lease whose ETag keeps changing, when planning at any clock reading, then it never counts as expired", () => {
    let seen = Balancer.observe(new Map(), [lease(0, "b", "x1")], 0)
    // This instance's clock jumps an hour ahead between listings: the ETag changed, so the sighting restarts.
    seen = Balancer.observe(seen, [lease(0, "b", "x2")], 3_600_000)
    assert.isFalse(Balancer.isExpired(lease(0, "b", "x2"), seen, 3_600_500, 1000))
    assert.isTrue(Balancer.isExpired(lease(0, "b", "x2"), seen, 3_601_000, 1000))
  })

  it("given one owner holding everything, when planning, then at most one lease is stolen per cycle", () => {
    const leases = Array.from({ length: 12 }, (_, i) => lease(i, "b"))
    const plan = planFor("a", leases)
    assert.strictEqual(plan.fairShare, 6)
    assert.deepStrictEqual(shards(plan), [])
    assert.strictEqual(plan.steal?.owner, "b")
  })

  it("given a balanced split, when either side plans, then nobody steals (no ping-pong)", () => {
    const leases = [lease(0, "a"), lease(1, "a"), lease(2, "b"), lease(3, "b"), lease(4, "c")]
    // 5 partitions, 3 instances: fair share 2; c holds 1 but nobody holds 2 more than it nor more than the share.
    assert.strictEqual(planFor("c", leases, [4]).steal, undefined)
    assert.strictEqual(planFor("a", leases, [0, 1]).steal, undefined)
    // After c stole one from a 3-holder, a (now 2) does not steal back from c (now 2).
    const after = [lease(0, "a"), lease(1, "a"), lease(2, "b"), lease(3, "b"), lease(4, "c"), lease(5, "c")]
    assert.strictEqual(planFor("a", after, [0, 1]).steal, undefined)
  })

  it("given it already holds its fair share, when planning, then it takes nothing more", () => {
    const leases = [lease(0, "a"), lease(1, "a"), lease(2, "b"), lease(3, undefined)]
    const plan = planFor("a", leases, [0, 1])
    assert.strictEqual(plan.fairShare, 2)
    assert.deepStrictEqual(shards(plan), [])
  })
})
