/**
 * A local Cosmos DB stand-in (`@vercel/cosmosdb-server`), started in-process
 * on 127.0.0.1 and a free port as a scoped Effect resource, and stopped (its
 * connections closed) when the scope closes. Use it to run read model tests
 * against the real Cosmos DB protocol and SDK without a cloud account.
 *
 * Requires the `@vercel/cosmosdb-server` package (a devDependency of your
 * project; an optional peer of this one).
 *
 * What to know about the stand-in:
 * - Its bundled TLS certificate is self-signed and expired. The instance
 *   gives an `https.Agent` that skips certificate checks for this endpoint
 *   only; pass it to the one client that talks to the stand-in. Never turn
 *   certificate checks off for the whole process.
 * - It serves over HTTPS with keep-alive (about 5 times faster than without).
 * - Point reads, creates, conditional replaces and deletes (412 on a stale
 *   ETag), parameterised queries and continuation tokens behave like Cosmos
 *   DB. Transactional batches are NOT atomic, the change feed only returns a
 *   snapshot, and TTL and the 2 MB item limit are not enforced: rely only on
 *   per-document conditional writes (as `@eventable/cosmos` does).
 *
 * @example
 * ```ts
 * import { CosmosConfig, CosmosReadModelStore } from "@eventable/cosmos"
 * import { CosmosEmulator } from "@eventable/testing"
 * import { Effect, Layer } from "effect"
 *
 * const StoreOnEmulator = Layer.unwrap(
 *   Effect.map(CosmosEmulator, (emulator) =>
 *     CosmosReadModelStore.layer({
 *       connection: CosmosConfig.endpointKey(emulator.endpoint, emulator.key),
 *       ...emulator.clientOptions
 *     })
 *   )
 * ).pipe(Layer.provide(CosmosEmulator.layer))
 * ```
 *
 * @since 0.1.0
 */
import type { Server } from "node:https"
import { Agent } from "node:https"
import { Context, Effect, Layer, Redacted, Schema, type Scope } from "effect"

/**
 * The stand-in could not be started.
 *
 * @since 0.1.0
 */
export class CosmosEmulatorError extends Schema.TaggedError<CosmosEmulatorError>()("CosmosEmulatorError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `The Cosmos DB stand-in could not be started: ${this.reason}`
  }
}

/**
 * A running stand-in.
 *
 * @since 0.1.0
 */
export interface CosmosEmulatorInstance {
  /** `https://127.0.0.1:<port>` */
  readonly endpoint: string
  readonly port: number
  /** Any base64 key works; this one is fixed. */
  readonly key: Redacted.Redacted<string>
  /**
   * Client options for this endpoint only: an agent with keep-alive that
   * accepts the stand-in's expired certificate, and no endpoint discovery.
   */
  readonly clientOptions: { readonly agent: Agent; readonly endpointDiscovery: false }
}

/**
 * The fixed key of the stand-in (it accepts any base64 string).
 *
 * @since 0.1.0
 */
export const key = Redacted.make("c3RhbmQtaW4ta2V5LW5vdC1hLXNlY3JldA==")

interface ServerModule {
  readonly createHttpsServer: (options?: object) => Server
}

const loadServer = Effect.tryPromise({
  try: () => import("@vercel/cosmosdb-server") as Promise<ServerModule>,
  catch: () =>
    new CosmosEmulatorError({
      reason: "the @vercel/cosmosdb-server package is not installed (npm install -D @vercel/cosmosdb-server)"
    })
})

const listen = (server: Server) =>
  Effect.callback<number, CosmosEmulatorError>((resume) => {
    const onError = (error: Error) => resume(Effect.fail(new CosmosEmulatorError({ reason: error.message })))
    server.once("error", onError)
    server.listen(0, "127.0.0.1", () => {
      server.off("error", onError)
      const address = server.address()
      resume(
        typeof address === "object" && address !== null
          ? Effect.succeed(address.port)
          : Effect.fail(new CosmosEmulatorError({ reason: "the server has no TCP address" }))
      )
    })
  })

const close = (server: Server) =>
  Effect.callback<void>((resume) => {
    if (!server.listening) return resume(Effect.void)
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

/**
 * Starts the stand-in in the current scope; it stops when the scope closes.
 *
 * @since 0.1.0
 */
export const start: Effect.Effect<CosmosEmulatorInstance, CosmosEmulatorError, Scope.Scope> = Effect.gen(function* () {
  const module = yield* loadServer
  const server = yield* Effect.acquireRelease(
    Effect.sync(() => module.createHttpsServer({ keepAlive: true })),
    close
  )
  const port = yield* listen(server)
  const agent = yield* Effect.acquireRelease(
    Effect.sync(() => new Agent({ keepAlive: true, rejectUnauthorized: false })),
    (agent) => Effect.sync(() => agent.destroy())
  )
  return {
    endpoint: `https://127.0.0.1:${port}`,
    port,
    key,
    clientOptions: { agent, endpointDiscovery: false }
  } satisfies CosmosEmulatorInstance
}).pipe(Effect.withSpan("CosmosEmulator.start"))

/**
 * A running stand-in, as a service.
 *
 * @since 0.1.0
 */
export class CosmosEmulator extends Context.Service<CosmosEmulator, CosmosEmulatorInstance>()(
  "@eventable/testing/CosmosEmulator"
) {
  /** Starts the stand-in for the lifetime of the Layer. */
  static readonly layer: Layer.Layer<CosmosEmulator, CosmosEmulatorError> = Layer.effect(CosmosEmulator, start)
  /** Starts the stand-in in the current scope (see {@link start}). */
  static readonly start = start
}
