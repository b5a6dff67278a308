/**
 * Azurite, Microsoft's local Table Storage emulator, as a scoped Effect
 * resource: spawned as a child process on a free port with in-memory
 * persistence, ready when it says so, stopped (SIGINT, then SIGKILL) when the
 * scope closes. Use it to run the same tests against the real Table Storage
 * protocol that this repository runs, without a cloud account.
 *
 * Requires the `azurite` package (a devDependency of your project).
 *
 * @example
 * ```ts
 * import { Azurite } from "@eventable/testing"
 * import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
 * import { Effect, Layer } from "effect"
 *
 * const StoreOnAzurite = Layer.unwrap(
 *   Effect.gen(function* () {
 *     const azurite = yield* Azurite
 *     return TableEventStore.layer({ connection: TableStorageConfig.connectionString(azurite.connectionString) })
 *   })
 * ).pipe(Layer.provide(Azurite.layer))
 * ```
 *
 * @since 0.1.0
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { Context, Effect, Layer, Redacted, Schema } from "effect"

/**
 * Azurite's well-known development account.
 *
 * @since 0.1.0
 */
export const accountName = "devstoreaccount1"

/**
 * Azurite's well-known development key (public, documented by Microsoft).
 *
 * @since 0.1.0
 */
export const accountKey = Redacted.make(
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

/**
 * Azurite could not be started.
 *
 * @since 0.1.0
 */
export class AzuriteError extends Schema.TaggedError<AzuriteError>()("AzuriteError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `Azurite could not be started: ${this.reason}`
  }
}

/**
 * A running Azurite Table service.
 *
 * @since 0.1.0
 */
export interface AzuriteInstance {
  readonly host: string
  readonly port: number
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  readonly tableEndpoint: string
  /** A full connection string for the development account. */
  readonly connectionString: Redacted.Redacted<string>
  /** The child process's id. */
  readonly pid: number
}

/**
 * Options for starting Azurite.
 *
 * @since 0.1.0
 */
export interface Options {
  /** How long to wait for Azurite to report that it started (default 30 s). */
  readonly startTimeoutMillis?: number
}

const freePort = Effect.callback<number, AzuriteError>((resume) => {
  const server = createServer()
  server.once("error", (error) => resume(Effect.fail(new AzuriteError({ reason: `no free port: ${error.message}` }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const azuriteMain = Effect.try({
  try: () => createRequire(import.meta.url).resolve("azurite/dist/src/table/main.js"),
  catch: () => new AzuriteError({ reason: "the azurite package is not installed (npm install -D azurite)" })
})

const stop = (child: ChildProcess): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const killer = setTimeout(() => child.kill("SIGKILL"), 5_000)
    child.once("exit", () => {
      clearTimeout(killer)
      resume(Effect.void)
    })
    child.kill("SIGINT")
  })

const waitUntilReady = (child: ChildProcess, port: number, timeoutMillis: number) =>
  Effect.callback<void, AzuriteError>((resume) => {
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      if (output.includes(`successfully started on 127.0.0.1:${port}`)) done(Effect.void)
    }
    const onExit = (code: number | null) =>
      done(
        Effect.fail(
          new AzuriteError({ reason: `it exited with code ${code} before it was ready: ${output.trim().slice(-500)}` })
        )
      )
    const timer = setTimeout(
      () => done(Effect.fail(new AzuriteError({ reason: `not ready after ${timeoutMillis} ms: ${output.trim()}` }))),
      timeoutMillis
    )
    const done = (effect: Effect.Effect<void, AzuriteError>) => {
      clearTimeout(timer)
      child.stdout?.off("data", onData)
      child.stderr?.off("data", onData)
      child.off("exit", onExit)
      resume(effect)
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.once("exit", onExit)
  })

const startOnce = (main: string, options: Options) =>
  Effect.gen(function* () {
    const port = yield* freePort
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(
          process.execPath,
          [
            main,
            "--inMemoryPersistence",
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            String(port),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent"
          ],
          { stdio: ["ignore", "pipe", "pipe"] }
        )
      ),
      stop
    )
    yield* waitUntilReady(child, port, options.startTimeoutMillis ?? 30_000)
    // Keep draining its output so a chatty Azurite never blocks on a full pipe.
    child.stdout?.resume()
    child.stderr?.resume()
    const tableEndpoint = `http://127.0.0.1:${port}/${accountName}`
    const instance: AzuriteInstance = {
      host: "127.0.0.1",
      port,
      tableEndpoint,
      connectionString: Redacted.make(
        `DefaultEndpointsProtocol=http;AccountName=${accountName};AccountKey=${Redacted.value(
          accountKey
        )};TableEndpoint=${tableEndpoint};`
      ),
      pid: child.pid ?? -1
    }
    return instance
  })

/**
 * Starts Azurite in the current scope; it stops when the scope closes. Retries
 * on a fresh port if the chosen one was taken in the meantime.
 *
 * @since 0.1.0
 */
export const start = (options: Options = {}) =>
  Effect.flatMap(azuriteMain, (main) =>
    startOnce(main, options).pipe(Effect.retry({ times: 2 }), Effect.withSpan("Azurite.start"))
  )

/**
 * A running Azurite, as a service.
 *
 * @since 0.1.0
 */
export class Azurite extends Context.Service<Azurite, AzuriteInstance>()("@eventable/testing/Azurite") {
  /** Starts Azurite for the lifetime of the Layer. */
  static readonly layer: Layer.Layer<Azurite, AzuriteError> = Layer.effect(Azurite, start())
  /** Starts Azurite in the current scope (see {@link start}). */
  static readonly start = start
  /** The development account's name. */
  static readonly accountName = accountName
  /** The development account's key. */
  static readonly accountKey = accountKey
}
