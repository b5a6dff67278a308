/**
 * A real HTTP proxy in front of Azurite that injects network faults on demand:
 * it can lose the answer of a request that Azurite did execute (the connection
 * is cut after the response arrives), answer with an error status without
 * forwarding, hold an answer back, or deliver a request late (after the client
 * gave up on it). Nothing is mocked: the store talks HTTP to Azurite through
 * it and sees exactly what a flaky network would show. It also counts and
 * records the requests it sees, so a test can assert how many round trips an
 * operation took, or that none was made.
 */
import { createServer, request } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Redacted } from "effect"
import { connectionString } from "./fixtures.ts"

export type Fault =
  | { readonly _tag: "LoseAnswer" }
  /** Answers `status` without forwarding; `message` may name a failing operation ("0:…") like a refused transaction. */
  | { readonly _tag: "Reject"; readonly status: number; readonly code?: string; readonly message?: string }
  | { readonly _tag: "Delay"; readonly millis: number }
  /**
   * Never answers; forwards the request to Azurite only once the next request
   * has been answered, and holds every later request until it committed: a
   * write that lands after the client's read-back, before anything else.
   */
  | { readonly _tag: "Late" }

/** A request the proxy saw, with its body. */
export interface Seen {
  readonly method: string
  readonly path: string
  readonly bodyBytes: number
  readonly body: string
}

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
  /** Every request seen so far, in arrival order, with its body. */
  readonly seen: () => ReadonlyArray<Seen>
}

export interface ProxiedRequest {
  readonly method: string
  readonly path: string
  readonly bodyBytes: number
}

/** Whether a request is an entity-group transaction. */
export const isTransaction = (method: string, path: string) => method === "POST" && path.includes("$batch")

/** The transactions among the requests a proxy saw. */
export const transactions = (proxy: FaultProxy): ReadonlyArray<Seen> =>
  proxy.seen().filter((r) => isTransaction(r.method, r.path))

/** Starts a proxy to the run's Azurite; it closes with the scope. */
export const make = Effect.acquireRelease(
  Effect.callback<{ readonly proxy: FaultProxy; readonly close: () => void }>((resume) => {
    const upstream = new URL(/TableEndpoint=([^;]+)/.exec(connectionString())![1]!)
    let pending: Array<{ fault: Fault; match: (method: string, path: string) => boolean }> = []
    let faulted = 0
    const seen: Array<Seen> = []
    /** A late request waiting for the next answer, and the gate later requests wait behind. */
    let late: (() => Promise<void>) | undefined
    let gate: Promise<void> = Promise.resolve()
    const send = (method: string, path: string, headers: Record<string, unknown>, body: Buffer) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((done, fail) => {
        const forward = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method,
            path,
            headers: { ...headers, host: upstream.host } as Record<string, string>
          },
          (answer) => {
            const chunks: Array<Buffer> = []
            answer.on("data", (chunk: Buffer) => chunks.push(chunk))
            answer.on("end", () =>
              done({ status: answer.statusCode ?? 500, headers: answer.headers, body: Buffer.concat(chunks) })
            )
          }
        )
        forward.on("error", fail)
        forward.end(body)
      })
    const server = createServer((req, res) => {
      const index = pending.findIndex((p) => p.match(req.method ?? "", req.url ?? ""))
      const fault = index === -1 ? undefined : pending[index]!.fault
      if (index !== -1) {
        pending = pending.filter((_, i) => i !== index)
        faulted++
      }
      const body: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => body.push(chunk))
      req.on("end", async () => {
        const payload = Buffer.concat(body)
        seen.push({
          method: req.method ?? "",
          path: req.url ?? "",
          bodyBytes: payload.length,
          body: payload.toString("utf8")
        })
        if (fault?._tag === "Late") {
          late = () => send(req.method ?? "", req.url ?? "", req.headers, payload).then(() => undefined)
          return // never answered: the client times out
        }
        await gate
        if (fault?._tag === "Reject") {
          res.writeHead(fault.status, { "content-type": "application/json;odata=minimalmetadata" })
          res.end(
            JSON.stringify({
              "odata.error": {
                code: fault.code ?? "ServerBusy",
                message: { lang: "en-US", value: fault.message ?? "Injected fault" }
              }
            })
          )
          return
        }
        const answer = await send(req.method ?? "", req.url ?? "", req.headers, Buffer.concat(body)).catch(
          () => undefined
        )
        if (answer === undefined) {
          res.destroy()
          return
        }
        if (fault?._tag === "LoseAnswer") {
          req.socket.destroy() // Azurite executed it; the client never hears back
          return
        }
        const reply = () => {
          res.writeHead(answer.status, answer.headers as Record<string, string>)
          res.end(answer.body)
          const landing = late
          late = undefined
          if (landing !== undefined) gate = landing().catch(() => undefined)
        }
        if (fault?._tag === "Delay") setTimeout(reply, fault.millis)
        else reply()
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
            requests: () => seen.map(({ body: _, ...request }) => request),
            seen: () => [...seen]
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
