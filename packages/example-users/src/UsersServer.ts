/**
 * The users HTTP server: the `UsersApi` served on Node, with the OpenAPI
 * document at `/openapi.json`, request decoding failures as 400 problem
 * documents, bodies bounded, and every error body JSON.
 *
 * Needs an `EventStore` (the write side) and a `ReadModelStore` (the view).
 *
 * @example
 * ```ts
 * import { InMemoryEventStore, InMemoryReadModelStore } from "@eventable/core"
 * import { UsersServer } from "@eventable/example-users"
 * import { Layer } from "effect"
 *
 * const server = UsersServer.layer({ port: 8080 }).pipe(
 *   Layer.provide([InMemoryEventStore.layer(), InMemoryReadModelStore.layer()])
 * )
 * // Layer.launch(server) serves until interrupted
 * ```
 *
 * @since 0.1.0
 */

import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import type { EventStore, ReadModelStore } from "@eventable/core"
import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApiBuilder, HttpApiMiddleware } from "effect/http-api"
import * as JsonErrors from "./JsonErrors.ts"
import { UsersApi } from "./UserApi.ts"
import * as UserCommandsHttp from "./UserCommandsHttp.ts"
import * as UserViewsHttp from "./UserViewsHttp.ts"

/**
 * Where to listen and how to read.
 *
 * @since 0.1.0
 */
export interface ServerOptions extends UserViewsHttp.ReadOptions {
  /** The port (default 0, which picks a free port; read it from `HttpServer`'s address). */
  readonly port?: number
  /** The interface (default 127.0.0.1). */
  readonly host?: string
  /** The largest request body in bytes (default 64 KiB); larger ones get 413. */
  readonly maxBodyBytes?: number
}

/**
 * The stores the server needs: the event store (write side) and the read model store (the view).
 *
 * @since 0.1.0
 */
export type Stores = EventStore | ReadModelStore.ReadModelStore

/**
 * The path of the OpenAPI document.
 *
 * @since 0.1.0
 */
export const openApiPath = "/openapi.json"

/**
 * The API's routes and middleware, without a server: provide an
 * `HttpRouter` (e.g. with {@link layer}, or `HttpRouter.toWebHandler`).
 *
 * @since 0.1.0
 */
export const routes = (options: ServerOptions = {}) =>
  HttpApiBuilder.layer(UsersApi, { openapiPath: openApiPath }).pipe(
    Layer.provide([UserCommandsHttp.layer, UserViewsHttp.layer(options)]),
    Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true })),
    Layer.merge(JsonErrors.layer(options))
  )

/**
 * The server on Node: listens on `host:port` until the layer is released.
 * Provides `HttpServer` (for its address).
 *
 * @since 0.1.0
 */
export const layer = (options: ServerOptions = {}) =>
  HttpRouter.serve(routes(options), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(
      NodeHttpServer.layer(createServer, { port: options.port ?? 0, host: options.host ?? "127.0.0.1" })
    )
  )
