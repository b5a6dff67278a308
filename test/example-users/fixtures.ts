/**
 * The users API for HTTP tests: Table Storage on the run's Azurite (a fresh
 * table per server), the `users` view on an in-process Cosmos DB stand-in (a
 * fresh database per server), and a plain `fetch` client.
 */
import type { ConsumerOptions, EventStore, ReadModelStore } from "@eventable/core"
import { CosmosConfig, CosmosReadModelStore } from "@eventable/cosmos"
import { Projector, UsersServer } from "@eventable/example-users"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { CosmosEmulator } from "@eventable/testing"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { connectionString, freshTable } from "../table-storage/fixtures.ts"

let databases = 0
export const freshDatabase = (prefix: string) => `${prefix}${Date.now().toString(36)}${(databases++).toString(36)}`

/** The view store on the stand-in, in a database of its own. */
export const cosmosLayer = (database = freshDatabase("users")) =>
  Layer.unwrap(
    Effect.map(CosmosEmulator, (emulator) =>
      CosmosReadModelStore.layer({
        connection: CosmosConfig.endpointKey(emulator.endpoint, emulator.key),
        database,
        ...emulator.clientOptions
      })
    )
  )

/** Events, leases and dead letters on Azurite, in a fresh table (or `table`). */
export const tableLayer = (table = freshTable("users"), connection = connectionString()) =>
  TableEventStore.layerWithConsumerStores({ connection: TableStorageConfig.connectionString(connection), table })

/** A projector tuned for tests: polls often, so reads catch up quickly. */
export const testProjector = (options: Projector.ProjectorOptions = {}) =>
  Projector.layer({ minIdlePoll: "10 millis", maxIdlePoll: "50 millis", balanceInterval: "200 millis", ...options })

/** The server, the projector and their stores (the Cosmos stand-in must be provided). */
export const apiLayer = (options: UsersServer.ServerOptions = {}) =>
  Layer.mergeAll(UsersServer.layer(options), testProjector()).pipe(
    Layer.provideMerge(Layer.mergeAll(tableLayer(), cosmosLayer()))
  )

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as a JSON object; throws (failing the test) when it is not one. */
  readonly json: Record<string, unknown>
}

export interface Client {
  readonly base: string
  readonly request: (
    method: string,
    path: string,
    options?: { readonly json?: unknown; readonly body?: string; readonly headers?: Record<string, string> }
  ) => Effect.Effect<Answer>
}

/** A client of the server in context. */
export const client: Effect.Effect<Client, never, HttpServer.HttpServer> = Effect.map(
  HttpServer.HttpServer,
  (server) => {
    const base = HttpServer.formatAddress(server.address)
    return {
      base,
      request: (method, path, options = {}) =>
        Effect.promise(async () => {
          const body = options.json === undefined ? options.body : JSON.stringify(options.json)
          const response = await fetch(base + path, {
            method,
            headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
            ...(body === undefined ? {} : { body })
          })
          const text = await response.text()
          let json: unknown
          let parsed = false
          try {
            json = JSON.parse(text)
            parsed = true
          } catch {}
          return {
            status: response.status,
            headers: response.headers,
            text,
            get json() {
              if (!parsed || typeof json !== "object" || json === null || Array.isArray(json)) {
                throw new Error(
                  `${method} ${path} answered ${response.status} with a body that is not a JSON object: ${text}`
                )
              }
              return json as Record<string, unknown>
            }
          }
        })
    }
  }
)

export type Stores = EventStore | ReadModelStore.ReadModelStore
export type ProjectorError = ConsumerOptions.InvalidConsumerOptions
