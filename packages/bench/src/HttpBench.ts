/**
 * The users example's HTTP API under load: `POST /tenants/:tenant/users`
 * (register) from 32 concurrent clients, each sending its next request as
 * soon as the previous one answered. The API runs in this process on Table
 * Storage (Azurite) with the Cosmos DB stand-in as its read store (the
 * projector is not running: only the write path is measured). Side by side,
 * in alternating rounds, the same registrations run straight through the
 * command handler with the same concurrency, so the HTTP layer's share shows.
 *
 * @since 0.1.0
 */
import { CosmosConfig, CosmosReadModelStore } from "@eventable/cosmos"
import { RegisterUser, UserCommands, UsersServer } from "@eventable/example-users"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { CosmosEmulator } from "@eventable/testing"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import type * as Report from "./Report.ts"

/**
 * How much work the benchmark does.
 *
 * @since 0.1.0
 */
export interface Settings {
  /** Concurrent clients. */
  readonly clients: number
  /** Requests per client per round. */
  readonly perClient: number
  /** Rounds per contender, alternating. */
  readonly rounds: number
}

/**
 * The full run: 32 clients × 20 requests × 5 rounds (3,200 registrations per contender).
 *
 * @since 0.1.0
 */
export const full: Settings = { clients: 32, perClient: 20, rounds: 5 }

/**
 * `--quick`: 32 clients × 10 requests × 2 rounds.
 *
 * @since 0.1.0
 */
export const quick: Settings = { clients: 32, perClient: 10, rounds: 2 }

/**
 * The figures of this module (issue 9): recorded, no threshold.
 *
 * @since 0.1.0
 */
export const goals: ReadonlyArray<Report.Goal> = [
  {
    name: "http.register.p99_ms",
    goal: "record it",
    met: (v) => Number.isFinite(v) && v > 0,
    what: "99th percentile latency of POST /tenants/:tenant/users with 32 concurrent clients; API in-process on Azurite (Table Storage) with the Cosmos DB stand-in"
  }
]

/**
 * How the figures are measured, for the report.
 *
 * @since 0.1.0
 */
export const method: ReadonlyArray<string> = [
  "- **http.register**: 32 client fibers each send `POST /tenants/bench/users` with `fetch` (keep-alive), one",
  "  after another, to the users API in the same process on Azurite (Table Storage) with the Cosmos DB",
  "  stand-in (`@vercel/cosmosdb-server`, in-process) as read store; every request registers a new user (one",
  "  stream created per request). `http.register.direct_*` runs the same registrations through",
  "  `UserCommands.create` with 32 fibers, in alternating rounds. Latency percentiles over all requests."
]

const percentile = (values: ReadonlyArray<number>, q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN
}

/**
 * Runs the benchmark and returns its figures.
 *
 * @since 0.1.0
 */
export const run = (connectionString: string, settings: Settings) =>
  Effect.gen(function* () {
    const emulator = yield* CosmosEmulator.start
    const stores = Layer.mergeAll(
      TableEventStore.layer({
        connection: TableStorageConfig.connectionString(connectionString),
        table: `benchhttp${Date.now().toString(36)}`
      }),
      CosmosReadModelStore.layer({
        connection: CosmosConfig.endpointKey(emulator.endpoint, emulator.key),
        database: `benchhttp${Date.now().toString(36)}`,
        ...emulator.clientOptions
      })
    )
    return yield* Effect.gen(function* () {
      const base = HttpServer.formatAddress((yield* HttpServer.HttpServer).address)
      let sequence = 0
      const viaHttp = () =>
        Effect.promise(async () => {
          const n = sequence++
          const started = performance.now()
          const response = await fetch(`${base}/tenants/bench/users`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ userName: `user ${n}`, email: `user${n}@bench.example` })
          })
          await response.arrayBuffer()
          if (response.status !== 201) throw new Error(`register answered ${response.status}`)
          return performance.now() - started
        })
      const direct = () =>
        Effect.gen(function* () {
          const n = sequence++
          const started = performance.now()
          yield* UserCommands.create(
            { tenant: "bench", id: `direct-${n}` },
            new RegisterUser({ userName: `user ${n}`, email: `user${n}@bench.example` })
          )
          return performance.now() - started
        }).pipe(Effect.orDie)
      const round = <R>(one: () => Effect.Effect<number, never, R>) =>
        Effect.gen(function* () {
          const started = performance.now()
          const latencies = yield* Effect.forEach(
            Array.from({ length: settings.clients }),
            () => Effect.forEach(Array.from({ length: settings.perClient }), one),
            { concurrency: "unbounded" }
          )
          return { latencies: latencies.flat(), millis: performance.now() - started }
        })
      // Warm up both paths (connections, caches, JIT).
      yield* round(viaHttp)
      yield* round(direct)
      const http: Array<number> = []
      const straight: Array<number> = []
      let httpMillis = 0
      let straightMillis = 0
      for (let i = 0; i < settings.rounds; i++) {
        const viaHttpFirst = i % 2 === 0
        if (viaHttpFirst) {
          const result = yield* round(viaHttp)
          http.push(...result.latencies)
          httpMillis += result.millis
        }
        const result = yield* round(direct)
        straight.push(...result.latencies)
        straightMillis += result.millis
        if (!viaHttpFirst) {
          const result = yield* round(viaHttp)
          http.push(...result.latencies)
          httpMillis += result.millis
        }
      }
      const results: Record<string, number> = {
        "http.register.p50_ms": percentile(http, 0.5),
        "http.register.p99_ms": percentile(http, 0.99),
        "http.register.requests_per_s": (http.length / httpMillis) * 1000,
        "http.register.direct_p50_ms": percentile(straight, 0.5),
        "http.register.direct_p99_ms": percentile(straight, 0.99),
        "http.register.direct_commands_per_s": (straight.length / straightMillis) * 1000
      }
      process.stdout.write(
        `http.register (32 clients, ${http.length} requests): p50 ${results["http.register.p50_ms"]!.toFixed(1)} ms, p99 ${results["http.register.p99_ms"]!.toFixed(1)} ms, ${results["http.register.requests_per_s"]!.toFixed(0)} req/s; direct p50 ${results["http.register.direct_p50_ms"]!.toFixed(1)} ms, p99 ${results["http.register.direct_p99_ms"]!.toFixed(1)} ms\n`
      )
      return results
    }).pipe(Effect.provide(UsersServer.layer().pipe(Layer.provideMerge(stores))))
  }).pipe(Effect.scoped)
