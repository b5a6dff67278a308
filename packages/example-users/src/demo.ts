/**
 * `npm run demo`: the users example end to end, over HTTP.
 *
 * 1. Stores: the `EVENTABLE_TABLE_*` and `EVENTABLE_COSMOS_*` variables point
 *    at real Azure (see `UserStores`); when they are not set, the demo starts
 *    the local stand-ins: Azurite as a child process, the Cosmos DB stand-in
 *    in this process.
 * 2. Starts the HTTP API in this process and the projector as a child
 *    process (`npm run projector`), pointed at the same stores.
 * 3. Drives a scenario with `fetch`: registers users in two tenants, renames
 *    and blocks some, sends a stale If-Match, breaks a rule, retries a POST
 *    with the same Idempotency-Key, runs concurrent edits.
 * 4. Waits until the projector has caught up, prints the view as a table, a
 *    consistency check of the view against a fold of the stored events, and
 *    a few figures; exits 0 (1 if the check fails), stopping everything it
 *    started.
 *
 * Flags: `--serve` keeps the API running after the scenario (until Ctrl-C)
 * and prints its URLs; `--port N` (with `--serve`, default 3000); `--quick`
 * runs a shorter scenario (for CI).
 */

import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { NodeRuntime } from "@effect/platform-node"
import { EventFeed } from "@eventable/core"
import { Azurite, CosmosEmulator } from "@eventable/testing"
import { ConfigProvider, Console, Effect, Layer, Redacted, Schema } from "effect"
import { HttpServer } from "effect/http"
import * as Projector from "./Projector.ts"
import { userCategory } from "./UserCommands.ts"
import * as UserStores from "./UserStores.ts"
import * as UsersServer from "./UsersServer.ts"
import * as ViewCheck from "./ViewCheck.ts"

const args = process.argv.slice(2)
const serve = args.includes("--serve")
const quick = args.includes("--quick")
const portFlag = args.indexOf("--port")
const port = serve ? Number(portFlag === -1 ? (process.env.PORT ?? 3000) : args[portFlag + 1]) : 0

class DemoFailed extends Schema.TaggedError<DemoFailed>()("DemoFailed", { reason: Schema.String }) {
  override get message(): string {
    return this.reason
  }
}

// Stores -----------------------------------------------------------------------

/** Starts the stand-ins the environment does not replace; returns the variables that point at every store. */
const environment = Effect.gen(function* () {
  const env: Record<string, string> = {}
  const using: Array<string> = []
  if (yield* UserStores.tableConfigured) using.push("Azure Table Storage (from EVENTABLE_TABLE_*)")
  else {
    const azurite = yield* Azurite.start()
    env.EVENTABLE_TABLE_CONNECTION_STRING = Redacted.value(azurite.connectionString)
    env.EVENTABLE_TABLE_NAME = "demo"
    using.push(`Azurite (child process ${azurite.pid}, ${azurite.tableEndpoint})`)
  }
  if (yield* UserStores.cosmosConfigured) using.push("Azure Cosmos DB (from EVENTABLE_COSMOS_*)")
  else {
    const cosmos = yield* CosmosEmulator.start
    env.EVENTABLE_COSMOS_ENDPOINT = cosmos.endpoint
    env.EVENTABLE_COSMOS_KEY = Redacted.value(cosmos.key)
    env.EVENTABLE_COSMOS_DATABASE = "demo"
    env.EXAMPLE_COSMOS_STANDIN = "true"
    using.push(`the Cosmos DB stand-in (in this process, ${cosmos.endpoint})`)
  }
  return { env, using }
})

/** The projector as a child process; SIGTERM (then SIGKILL) when the scope closes. */
const projectorProcess = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const script = fileURLToPath(new URL("./run-projector.ts", import.meta.url))
      const child = spawn(process.execPath, ["--conditions=@eventable/source", script], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "ignore", "pipe"]
      })
      let errors = ""
      child.stderr?.on("data", (chunk: Buffer) => {
        errors = (errors + chunk.toString()).slice(-4000)
      })
      child.on("exit", (code, signal) => {
        if (!stopping.has(child) && (code !== 0 || signal !== null)) {
          process.stderr.write(`the projector exited unexpectedly (${signal ?? code}): ${errors}\n`)
        }
      })
      return child
    }),
    (child) => stop(child)
  )

const stopping = new WeakSet<ChildProcess>()

const stop = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    stopping.add(child)
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
    child.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })

// HTTP -------------------------------------------------------------------------

interface Answer {
  readonly status: number
  readonly etag: string | null
  readonly body: Record<string, unknown>
  readonly millis: number
}

const latencies: Array<number> = []

const request = (
  base: string,
  method: string,
  path: string,
  json?: unknown,
  headers: Record<string, string> = {},
  raw?: string
) =>
  Effect.tryPromise({
    try: async (): Promise<Answer> => {
      const started = performance.now()
      const body = raw ?? (json === undefined ? undefined : JSON.stringify(json))
      const response = await fetch(base + path, {
        method,
        headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        ...(body === undefined ? {} : { body })
      })
      const text = await response.text()
      const millis = performance.now() - started
      latencies.push(millis)
      return { status: response.status, etag: response.headers.get("etag"), body: JSON.parse(text), millis }
    },
    catch: (cause) => new DemoFailed({ reason: `${method} ${path} failed: ${String(cause)}` })
  })

const show = (label: string, answer: Answer, detail: string) =>
  Console.log(`  ${label.padEnd(58)} → ${answer.status} ${detail}`)

const describe = (answer: Answer) =>
  answer.status < 300
    ? `${answer.etag === null ? "" : `ETag ${answer.etag}`}`
    : `${String(answer.body._tag ?? "")}${answer.body.rule === undefined ? "" : ` (${String(answer.body.rule)})`}`

const expect = (label: string, answer: Answer, status: number) =>
  answer.status === status
    ? Effect.void
    : Effect.fail(
        new DemoFailed({ reason: `${label}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}` })
      )

// The scenario -----------------------------------------------------------------

const people = {
  acme: quick ? ["ada", "grace", "linus"] : ["ada", "grace", "linus", "alan", "barbara", "edsger"],
  globex: quick ? ["hank", "marge"] : ["hank", "marge", "frank", "homer"]
} as const

const scenario = (base: string) =>
  Effect.gen(function* () {
    const ids = new Map<string, string>()
    const step = (label: string, expected: number, answer: Answer, detail = describe(answer)) =>
      Effect.andThen(show(label, answer, detail), expect(label, answer, expected))

    yield* Console.log("\nScenario (over HTTP):")
    for (const [tenant, names] of Object.entries(people)) {
      for (const name of names) {
        const answer = yield* request(
          base,
          "POST",
          `/tenants/${tenant}/users`,
          { userName: name, email: `${name}@${tenant}.example` },
          { "idempotency-key": `signup-${name}` }
        )
        ids.set(name, String(answer.body.id))
        yield* step(`register ${name} in ${tenant} (Idempotency-Key signup-${name})`, 201, answer)
      }
    }
    const ada = ids.get("ada")!
    const grace = ids.get("grace")!
    const linus = ids.get("linus")!

    const retry = yield* request(
      base,
      "POST",
      "/tenants/acme/users",
      { userName: "ada", email: "ada@acme.example" },
      { "idempotency-key": "signup-ada" }
    )
    yield* step(
      "retry ada's register, same Idempotency-Key",
      201,
      retry,
      retry.body.id === ada ? `same id ${ada}, nothing appended` : `NEW id ${String(retry.body.id)}`
    )
    if (retry.body.id !== ada) return yield* new DemoFailed({ reason: "a retried register created a second user" })

    const renamed = yield* request(
      base,
      "PUT",
      `/tenants/acme/users/${ada}/name`,
      { name: "Ada Lovelace" },
      {
        "if-match": '"1"'
      }
    )
    yield* step('rename ada to "Ada Lovelace", If-Match "1"', 200, renamed)
    const stale = yield* request(
      base,
      "PUT",
      `/tenants/acme/users/${ada}/name`,
      { name: "Countess" },
      {
        "if-match": '"1"'
      }
    )
    yield* step('rename ada again with the stale If-Match "1"', 412, stale)
    yield* step("block linus", 200, yield* request(base, "POST", `/tenants/acme/users/${linus}/block`))
    yield* step(
      "rename linus (blocked: a rule violation)",
      409,
      yield* request(base, "PUT", `/tenants/acme/users/${linus}/name`, { name: "Linus T" })
    )
    yield* step(
      'register "eve" with the email "eve@" (an invalid value)',
      422,
      yield* request(base, "POST", "/tenants/acme/users", { userName: "eve", email: "eve@" })
    )
    yield* step(
      "register with a body that is not JSON",
      400,
      yield* request(base, "POST", "/tenants/acme/users", undefined, {}, "{oops"),
      "problem+json"
    )
    const edits = quick ? 10 : 25
    const concurrent = yield* Effect.forEach(
      Array.from({ length: edits }, (_, i) => i + 1),
      (i) => request(base, "PUT", `/tenants/acme/users/${grace}/name`, { name: `Grace #${i}` }),
      { concurrency: "unbounded" }
    )
    const succeeded = concurrent.filter((answer) => answer.status === 200).length
    yield* Console.log(
      `  ${`${edits} concurrent renames of grace, no If-Match`.padEnd(58)} → ${succeeded} × 200, versions ${concurrent
        .map((a) => Number(a.etag?.replaceAll('"', "")))
        .reduce((a, b) => Math.min(a, b))}..${concurrent
        .map((a) => Number(a.etag?.replaceAll('"', "")))
        .reduce((a, b) => Math.max(a, b))}`
    )
    if (succeeded !== edits) return yield* new DemoFailed({ reason: "a concurrent rename failed" })
    for (const [tenant, names] of Object.entries(people)) {
      const last = names.at(-1)!
      if (last === "linus" || last === "ada" || last === "grace") continue
      const id = ids.get(last)!
      yield* step(
        `block ${last} in ${tenant}`,
        200,
        yield* request(base, "POST", `/tenants/${tenant}/users/${id}/block`)
      )
    }
    // A client of read-your-writes waits as the 503 says (Retry-After) and asks again.
    let read = yield* request(base, "GET", `/tenants/acme/users/${ada}?minVersion=2`)
    let retries = 0
    while (read.status === 503 && retries < 20) {
      retries++
      yield* Effect.sleep(`${Number(read.body.retryAfterSeconds ?? 1)} seconds`)
      read = yield* request(base, "GET", `/tenants/acme/users/${ada}?minVersion=2`)
    }
    yield* step(
      "read ada's view with ?minVersion=2 (read your writes)",
      200,
      read,
      `name "${String(read.body.name)}"${retries === 0 ? "" : ` (after ${retries} × 503 + Retry-After: the projector was starting)`}`
    )
  })

// Output -----------------------------------------------------------------------

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}

const report = (group: string, lastWriteAt: number) =>
  Effect.gen(function* () {
    yield* ViewCheck.awaitCaughtUp(group).pipe(
      Effect.timeoutOrElse({
        duration: "60 seconds",
        orElse: () => Effect.fail(new DemoFailed({ reason: "the projector did not catch up within 60 s" }))
      })
    )
    const caughtUpAfter = performance.now() - lastWriteAt
    const expected = yield* ViewCheck.expectedViews
    const actual = yield* ViewCheck.actualViews(expected.map((user) => user.tenant))
    yield* Console.log("\nThe users view (Cosmos DB), after the projector caught up:")
    yield* Console.table(
      actual.map((user) => ({
        tenant: user.tenant,
        id: `${user.id.slice(0, 10)}…`,
        name: user.name,
        email: user.email,
        blocked: user.blocked,
        version: user.version
      }))
    )
    const result = yield* ViewCheck.check
    const feed = yield* EventFeed
    let events = 0
    for (const partition of yield* feed.partitions({ category: userCategory })) events += yield* feed.head(partition)
    if (result.differences.length === 0) {
      yield* Console.log(
        `Consistency: OK, ${result.matching} of ${result.expected} users in the view equal a fold of the ${events} stored events`
      )
    } else {
      yield* Console.log(`Consistency: FAILED, ${result.differences.length} differences:`)
      for (const difference of result.differences) yield* Console.log(`  ${difference}`)
    }
    yield* Console.log(
      [
        "Figures:",
        `  events in the store (user category): ${events}`,
        `  HTTP requests: ${latencies.length}, p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms`,
        `  projection lag: view caught up ${caughtUpAfter.toFixed(0)} ms after the last write; lag now ${yield* ViewCheck.lag(group)} events`
      ].join("\n")
    )
    return result.differences.length === 0
  })

// Main -------------------------------------------------------------------------

const main = Effect.gen(function* () {
  yield* Console.log("Eventable demo: the users example, end to end")
  const { env, using } = yield* environment
  yield* Console.log(`Stores: ${using.join("; ")}`)
  const config = ConfigProvider.fromEnvRecord({ ...process.env, ...env })
  const group = Projector.defaultGroup
  const stores = UserStores.layer.pipe(Layer.provide(ConfigProvider.layer(config)))
  yield* projectorProcess({
    ...env,
    EXAMPLE_PROJECTOR_GROUP: group,
    EXAMPLE_PROJECTOR_MAX_IDLE_POLL: "100 millis",
    EXAMPLE_PROJECTOR_BALANCE_INTERVAL: "500 millis"
  })
  yield* Effect.gen(function* () {
    const base = HttpServer.formatAddress((yield* HttpServer.HttpServer).address)
    yield* Console.log(
      `API: ${base} (OpenAPI: ${base}${UsersServer.openApiPath}); projector: a child process, group ${group}`
    )
    yield* scenario(base)
    const ok = yield* report(group, performance.now())
    if (serve) {
      yield* Console.log(
        `\nServing until Ctrl-C:\n  API      ${base}/tenants/acme/users\n  OpenAPI  ${base}${UsersServer.openApiPath}`
      )
      return yield* Effect.never
    }
    if (!ok) return yield* new DemoFailed({ reason: "the view does not match the events" })
  }).pipe(Effect.provide(UsersServer.layer({ port, host: "127.0.0.1" }).pipe(Layer.provideMerge(stores))))
}).pipe(Effect.scoped, Effect.andThen(Console.log("Stopped the API, the projector and the stand-ins.")))

// A closed terminal (SIGHUP) stops the demo like Ctrl-C, so its Azurite and projector children stop too.
process.once("SIGHUP", () => process.kill(process.pid, "SIGINT"))
NodeRuntime.runMain(main)
