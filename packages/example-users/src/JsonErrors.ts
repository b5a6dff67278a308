/**
 * Router middleware that keeps the API's promise that every error body is
 * JSON, and bounds request bodies.
 *
 * The API's own errors are JSON already (declared `Schema.TaggedError`s and
 * 400 problem documents). The router and the Node server answer a few cases
 * before any handler runs, with an empty or plain-text body: an unknown route
 * (404), a body over the size limit (413), an unsupported content type (415),
 * an unreadable body. This middleware replaces those bodies with
 * `{ "_tag": "HttpError", "status": 413, "message": "Content Too Large" }`,
 * keeping the status and the headers.
 *
 * @since 0.1.0
 */

import { STATUS_CODES } from "node:http"
import { ByteSize, Effect } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerError, HttpServerResponse } from "effect/http"
import type * as Types from "effect/Types"

/**
 * The largest request body accepted by default: 64 KiB. Larger bodies are refused with 413 as soon as the limit is crossed.
 *
 * @since 0.1.0
 */
export const defaultMaxBodyBytes = 64 * 1024

const isJson = (response: HttpServerResponse.HttpServerResponse): boolean => {
  const body = response.body
  if (body._tag === "Empty") return false
  const type = body.contentType ?? response.headers["content-type"] ?? ""
  return type.includes("json")
}

const asJson = (response: HttpServerResponse.HttpServerResponse): HttpServerResponse.HttpServerResponse => {
  if (response.status < 400 || isJson(response)) return response
  const { "content-type": _type, "content-length": _length, ...headers } = response.headers
  return HttpServerResponse.jsonUnsafe(
    { _tag: "HttpError", status: response.status, message: STATUS_CODES[response.status] ?? "Error" },
    { status: response.status, headers }
  )
}

/**
 * The middleware, for every route: request bodies up to `maxBodyBytes`
 * ({@link defaultMaxBodyBytes}), and JSON bodies on every error response.
 *
 * @since 0.1.0
 */
export const layer = (options: { readonly maxBodyBytes?: number } = {}) =>
  HttpRouter.middleware(
    // Every failure becomes a response here; `unhandled` in the result type is what the router asks of a global middleware.
    (httpEffect): Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled> =>
      httpEffect.pipe(
        Effect.catchCause((cause) =>
          Effect.flatMap(HttpServerError.causeResponse(cause), ([response, rest]) =>
            response.status >= 500
              ? Effect.as(Effect.logError("request failed", rest), response)
              : Effect.succeed(response)
          )
        ),
        Effect.map(asJson),
        Effect.provideService(
          HttpIncomingMessage.MaxBodySize,
          ByteSize.bytes(options.maxBodyBytes ?? defaultMaxBodyBytes)
        )
      ),
    { global: true }
  )
