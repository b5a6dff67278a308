/**
 * The users HTTP API, schema first: every route, header, query parameter,
 * body and error is declared here, so the server, the OpenAPI document
 * (served at `/openapi.json`) and typed clients all come from one definition.
 *
 * Routes (all under `/tenants/:tenant/users`):
 * - `POST /` `{ userName, email }` → 201 `{ id }`, `ETag` = the stream version.
 *   With `Idempotency-Key`, the user id is derived from (tenant, key) and the
 *   key is the command id, so a retried POST answers with the same user and
 *   never creates a second one.
 * - `PUT /:id/name` `{ name }`, optional `If-Match` → 200 + new `ETag`.
 * - `POST /:id/block`, optional `If-Match` → 200 + new `ETag`.
 * - `GET /:id[?minVersion=N]` → 200, the view document, `ETag` = its version.
 * - `GET /[?limit=&continuation=]` → 200, one page of the view, in id order.
 *
 * Statuses, the same for every route:
 * - 400: the path, a header, the query or the body does not decode
 *   (problem+json, naming each offending value);
 * - 404 `UserNotFound`: no such user (or not yet in the view);
 * - 409 `RuleViolated`: the command conflicts with the user's current state
 *   (`UserAlreadyRegistered`, `UserIsBlocked`): it may succeed later;
 * - 412 `PreconditionFailed`: `If-Match` names a version the user has moved
 *   past;
 * - 413: the body is larger than the server accepts;
 * - 422 `InvalidValue`: a value breaks a domain rule whatever the state
 *   (`InvalidUserName`, `InvalidEmail`): the request can never succeed as is;
 * - 503 `TryAgainLater` with `Retry-After`: the view has not reached
 *   `minVersion` within the wait bound, or a store is unavailable;
 * - 500 `ServerError`: anything else (a damaged stream, a bug), logged.
 *
 * @since 0.1.0
 */
import { Schema, SchemaGetter } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema } from "effect/http-api"
import { UserDocument } from "./UserDocument.ts"

// Values -----------------------------------------------------------------------

/**
 * A tenant in a URL: 1 to 64 lowercase letters, digits and `-`, starting with a letter or digit.
 *
 * @since 0.1.0
 */
export const TenantParam = Schema.String.check(Schema.isPattern(/^[a-z0-9][a-z0-9-]{0,63}$/)).annotate({
  description: "Tenant: 1-64 lowercase letters, digits and '-', starting with a letter or digit"
})

/**
 * A user id in a URL: 1 to 64 letters, digits, `-` and `_`.
 *
 * @since 0.1.0
 */
export const UserIdParam = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{1,64}$/)).annotate({
  description: "User id: 1-64 letters, digits, '-' and '_'"
})

/**
 * An `If-Match` value: a stream version as an entity tag (`"3"`, also `W/"3"` or a bare `3`), decoded to the number.
 *
 * @since 0.1.0
 */
export const VersionTag = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^(W\/)?("[0-9]{1,15}"|[0-9]{1,15})$/)),
  Schema.decodeTo(Schema.Int, {
    decode: SchemaGetter.transform((tag: string) => Number(tag.replace(/^W\//, "").replaceAll('"', ""))),
    encode: SchemaGetter.transform((version: number) => `"${version}"`)
  })
).annotate({ description: 'A version as an entity tag, e.g. "3"' })

/**
 * An `Idempotency-Key`: 1 to 128 visible ASCII characters.
 *
 * @since 0.1.0
 */
export const IdempotencyKey = Schema.String.check(Schema.isPattern(/^[\x21-\x7e]{1,128}$/)).annotate({
  description: "Idempotency key: 1-128 visible ASCII characters; a retry with the same key is applied once"
})

/**
 * The `ETag` of a response: the version, quoted (`"3"`).
 *
 * @since 0.1.0
 */
export const etagOf = (version: number): string => `"${version}"`

const boundedText = (max: number) => Schema.String.check(Schema.isMaxLength(max))

// Bodies -----------------------------------------------------------------------

/**
 * The body of a register request. The decider trims and validates the values (422 when they break a rule).
 *
 * @since 0.1.0
 */
export const RegisterBody = Schema.Struct({ userName: boundedText(1000), email: boundedText(1000) })

/**
 * The body of a rename request.
 *
 * @since 0.1.0
 */
export const RenameBody = Schema.Struct({ name: boundedText(1000) })

/**
 * What a command answers with: the user's id and state after the command, and its stream version.
 *
 * @since 0.1.0
 */
export const UserState = Schema.Struct({
  id: Schema.String,
  version: Schema.Int,
  name: Schema.String,
  email: Schema.String,
  blocked: Schema.Boolean
})

/**
 * One page of the users view, in id order; pass `continuation` back to get the next.
 *
 * @since 0.1.0
 */
export const UserPage = Schema.Struct({
  users: Schema.Array(UserDocument),
  continuation: Schema.optionalKey(Schema.String)
})

const etagHeader = { etag: Schema.String }

// Errors -----------------------------------------------------------------------

/**
 * 404: no user with this id in this tenant (for reads: not in the view yet).
 *
 * @since 0.1.0
 */
export class UserNotFound extends Schema.TaggedError<UserNotFound>()(
  "UserNotFound",
  { tenant: Schema.String, id: Schema.String, message: Schema.String },
  { httpApiStatus: 404 }
) {}

/**
 * 409: the command breaks a rule given the user's current state (`rule` names it).
 *
 * @since 0.1.0
 */
export class RuleViolated extends Schema.TaggedError<RuleViolated>()(
  "RuleViolated",
  { rule: Schema.Literals(["UserAlreadyRegistered", "UserIsBlocked"]), message: Schema.String },
  { httpApiStatus: 409 }
) {}

/**
 * 412: `If-Match` names a version the user has moved past; `current` is the version now.
 *
 * @since 0.1.0
 */
export class PreconditionFailed extends Schema.TaggedError<PreconditionFailed>()(
  "PreconditionFailed",
  { expected: Schema.Int, current: Schema.Int, message: Schema.String },
  { httpApiStatus: 412 }
) {}

/**
 * 422: a value breaks a domain rule whatever the state (`rule` names it).
 *
 * @since 0.1.0
 */
export class InvalidValue extends Schema.TaggedError<InvalidValue>()(
  "InvalidValue",
  { rule: Schema.Literals(["InvalidUserName", "InvalidEmail"]), message: Schema.String },
  { httpApiStatus: 422 }
) {}

/**
 * 503 with `Retry-After` (seconds): the view has not caught up with
 * `minVersion` within the wait bound (`reason: "ViewBehind"`), or a store is
 * unavailable or too contended (`reason: "StoreUnavailable"`). Safe to retry.
 *
 * @since 0.1.0
 */
export class TryAgainLater extends Schema.TaggedError<TryAgainLater>()("TryAgainLater", {
  reason: Schema.Literals(["ViewBehind", "StoreUnavailable"]),
  retryAfterSeconds: Schema.Int,
  message: Schema.String
}) {}

const TryAgainLaterBody = Schema.Struct({
  _tag: Schema.tag("TryAgainLater"),
  reason: Schema.Literals(["ViewBehind", "StoreUnavailable"]),
  retryAfterSeconds: Schema.Int,
  message: Schema.String
}).pipe(HttpApiSchema.status(503))

const TryAgainLaterResponse = TryAgainLater.pipe(
  HttpApiSchema.encodeToWithHeaders(
    { body: TryAgainLaterBody, headers: { "retry-after": Schema.String } },
    {
      decode: ({ body }) =>
        new TryAgainLater({ reason: body.reason, retryAfterSeconds: body.retryAfterSeconds, message: body.message }),
      encode: (error) => ({
        body: {
          _tag: "TryAgainLater" as const,
          reason: error.reason,
          retryAfterSeconds: error.retryAfterSeconds,
          message: error.message
        },
        headers: { "retry-after": String(error.retryAfterSeconds) }
      })
    }
  )
)

/**
 * 400: the `continuation` token of a list request is not one this API gave out.
 *
 * @since 0.1.0
 */
export class InvalidContinuation extends Schema.TaggedError<InvalidContinuation>()(
  "InvalidContinuation",
  { message: Schema.String },
  { httpApiStatus: 400 }
) {}

/**
 * 500: something the caller cannot fix (a damaged stream, an unexpected store answer). Logged with its cause.
 *
 * @since 0.1.0
 */
export class ServerError extends Schema.TaggedError<ServerError>()(
  "ServerError",
  { message: Schema.String },
  { httpApiStatus: 500 }
) {}

// Endpoints --------------------------------------------------------------------

const userPath = { tenant: TenantParam, id: UserIdParam }
const writeHeaders = {
  "if-match": Schema.optionalKey(VersionTag),
  "idempotency-key": Schema.optionalKey(IdempotencyKey)
}
const writeErrors = [UserNotFound, RuleViolated, PreconditionFailed, InvalidValue, TryAgainLaterResponse, ServerError]

/**
 * The write side: commands on users, run by the command handler on the event store.
 *
 * @since 0.1.0
 */
export class UserCommandsGroup extends HttpApiGroup.make("commands").add(
  HttpApiEndpoint.post("register", "/tenants/:tenant/users", {
    params: { tenant: TenantParam },
    headers: { "idempotency-key": Schema.optionalKey(IdempotencyKey) },
    payload: RegisterBody,
    success: HttpApiSchema.WithHeaders(
      Schema.Struct({ id: Schema.String }).pipe(HttpApiSchema.status(201)),
      etagHeader
    ),
    error: writeErrors
  }),
  HttpApiEndpoint.put("rename", "/tenants/:tenant/users/:id/name", {
    params: userPath,
    headers: writeHeaders,
    payload: RenameBody,
    success: HttpApiSchema.WithHeaders(UserState, etagHeader),
    error: writeErrors
  }),
  HttpApiEndpoint.post("block", "/tenants/:tenant/users/:id/block", {
    params: userPath,
    headers: writeHeaders,
    success: HttpApiSchema.WithHeaders(UserState, etagHeader),
    error: writeErrors
  })
) {}

/**
 * The read side: the `users` view, read from the read model store.
 *
 * @since 0.1.0
 */
export class UserViewsGroup extends HttpApiGroup.make("views").add(
  HttpApiEndpoint.get("get", "/tenants/:tenant/users/:id", {
    params: userPath,
    query: {
      minVersion: Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)))
    },
    success: HttpApiSchema.WithHeaders(UserDocument, etagHeader),
    error: [UserNotFound, TryAgainLaterResponse, ServerError]
  }),
  HttpApiEndpoint.get("list", "/tenants/:tenant/users", {
    params: { tenant: TenantParam },
    query: {
      limit: Schema.optionalKey(
        Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 100 }))
      ),
      continuation: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(4096)))
    },
    success: UserPage,
    error: [InvalidContinuation, TryAgainLaterResponse, ServerError]
  })
) {}

/**
 * The users API: commands and views, with request decoding failures answered as 400 problem+json.
 *
 * @since 0.1.0
 */
export class UsersApi extends HttpApi.make("users")
  .add(UserCommandsGroup)
  .add(UserViewsGroup)
  .middleware(HttpApiMiddleware.ProblemDetails) {}
