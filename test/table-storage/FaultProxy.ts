/**
 * A real HTTP proxy in front of Azurite that injects network faults on demand:
 * it can lose the answer of a request that Azurite did execute (the connection
 * is cut after the response arrives), answer with an error status without
 * forwarding, or hold an answer back. Nothing is mocked: the store talks HTTP
 * to Azurite through it and sees exactly what a flaky network would show.
 */
import { createServer, request } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Redacted } from "effect"
import { connectionString } from "./fixtures.ts"

export type Fault =
  | { readonly _tag: "LoseAnswer" }
  | { readonly _tag: "Reject"; readonly status: number }
  | { readonly _tag: "Delay"; readonly millis: number }

export interface FaultProxy {
  readonly connectionString: string
  /** Applies `fault` to the next `times` requests that match (default: transactions only). */
  readonly inject: (
    fault: Fault,
    options?: { readonly times?: number; readonly match?: (method: string, path: string) => boolean }
  ) => void
  /** How many requests met a fault so far. */
  readonly faulted: () => number
  /** Every request that reached the proxy so far, in order, with its body size in bytes. */
  readonly requests: () => ReadonlyArray<ProxiedRequest>
}

export interface ProxiedRequest {
  readonly method: string
  readonly path: string
  readonly bodyBytes: number
}

const isTransaction = (method: string, path: string) => method === "POST" && path.includes("$batch")

/** Starts a proxy to the run's Azurite; it closes with the scope. */
export const make = Effect.acquireRelease(
  Effect.callback<{ readonly proxy: FaultProxy; readonly close: () => void }>((resume) => {
    const upstream = new URL(/TableEndpoint=([^;]+)/.exec(connectionString())![1]!)
    let pending: Array<{ fault: Fault; match: (method: string, path: string) => boolean }> = []
    let faulted = 0
    const seen: Array<ProxiedRequest> = []
    const server = createServer((req, res) => {
      const index = pending.findIndex((p) => p.match(req.method ?? "", req.url ?? ""))
      const fault = index === -1 ? undefined : pending[index]!.fault
      if (index !== -1) {
        pending = pending.filter((_, i) => i !== index)
        faulted++
      }
      const body: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => body.push(chunk))
      req.on("end", () => {
        seen.push({
          method: req.method ?? "",
          path: req.url ?? "",
          bodyBytes: body.reduce((n, chunk) => n + chunk.length, 0)
        })
        if (fault?._tag === "Reject") {
          res.writeHead(fault.status, { "content-type": "application/json;odata=minimalmetadata" })
          res.end(
            JSON.stringify({
              "odata.error": { code: "ServerBusy", message: { lang: "en-US", value: "Injected fault" } }
            })
          )
          return
        }
        const forward = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: upstream.host }
          },
          (answer) => {
            const chunks: Array<Buffer> = []
            answer.on("data", (chunk: Buffer) => chunks.push(chunk))
            answer.on("end", () => {
              if (fault?._tag === "LoseAnswer") {
                req.socket.destroy() // Azurite executed it; the client never hears back
                return
              }
              const reply = () => {
                res.writeHead(answer.statusCode ?? 500, answer.headers)
                res.end(Buffer.concat(chunks))
              }
              if (fault?._tag === "Delay") setTimeout(reply, fault.millis)
              else reply()
            })
          }
        )
        forward.on("error", () => res.destroy())
        forward.end(Buffer.concat(body))
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      const endpoint = `http://127.0.0.1:${port}${upstream.pathname}`
      resume(
        Effect.succeed({
          proxy: {
            connectionString: connectionString().replace(/TableEndpoint=[^;]+/, `TableEndpoint=${endpoint}`),
            inject: (fault, options = {}) => {
              for (let i = 0; i < (options.times ?? 1); i++)
                pending.push({ fault, match: options.match ?? isTransaction })
            },
            faulted: () => faulted,
            requests: () => [...seen]
          },
          close: () => {
            server.closeAllConnections()
            server.close()
          }
        })
      )
    })
  }),
  ({ close }) => Effect.sync(close)
).pipe(Effect.map(({ proxy }) => proxy))

/** The proxy's connection string, redacted like any other. */
export const redacted = (proxy: FaultProxy) => Redacted.make(proxy.connectionString)
