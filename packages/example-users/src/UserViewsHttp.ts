/**
 * The read side of the users HTTP API: reads the `users` view from the read
 * model store (Cosmos DB, or the in-memory store in tests).
 *
 * **Read your own writes.** A write answers with the stream version as its
 * `ETag`. Passing that number as `?minVersion=N` to
 * `GET /tenants/:tenant/users/:id` makes the read wait until the view holds
 * version N or later of that user: it re-reads the document on a fixed
 * schedule (`pollInterval`, default 25 ms) for at most `maxWait` (default
 * 3 s). The view is read, not the projector's checkpoint, so it works the
 * same whether the projector runs in this process or elsewhere. If the view
 * is still behind after `maxWait`, the answer is 503 `TryAgainLater`
 * (`reason: "ViewBehind"`) with `Retry-After: 1`: the request is right and
 * will succeed once the projector catches up, which is what 503 and
 * Retry-After say; a 409 would tell the client its request conflicts with
 * the resource and should be changed, which it should not.
 *
 * @since 0.1.0
 */
import { DocumentProjection, ReadModelStore } from "@eventable/core"
import { Duration, Effect, Option, Result, Schedule, Schema } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { etagOf, InvalidContinuation, ServerError, TryAgainLater, UserNotFound, UsersApi } from "./UserApi.ts"
import { UserDocument } from "./UserDocument.ts"
import { userView } from "./UserView.ts"

/**
 * How reads wait for the view (read-your-writes).
 *
 * @since 0.1.0
 */
export interface ReadOptions {
  /** How long a `?minVersion` read waits for the view at most (default 3 seconds). */
  readonly maxWait?: Duration.Input
  /** How often it re-reads the document meanwhile (default 25 ms). */
  readonly pollInterval?: Duration.Input
}

/**
 * The page size of a list request without `limit`.
 *
 * @since 0.1.0
 */
export const defaultPageSize = 50

const decodeDocument = Schema.decodeUnknownResult(UserDocument)

// A list's continuation token wraps the store's token with the tenant it pages through, so a
// token that was not given out by this API, or was given out for another tenant, is a 400
// before it reaches the store (which might otherwise read it as "no more results").
const Token = Schema.fromJsonString(Schema.Struct({ tenant: Schema.String, after: Schema.String }))
const decodeToken = Schema.decodeUnknownResult(Token)

const sealToken = (tenant: string, after: string): string =>
  Buffer.from(JSON.stringify({ tenant, after }), "utf8").toString("base64url")

const openToken = (tenant: string, token: string): Effect.Effect<string, InvalidContinuation> => {
  const decoded = decodeToken(Buffer.from(token, "base64url").toString("utf8"))
  return Result.isSuccess(decoded) && decoded.success.tenant === tenant
    ? Effect.succeed(decoded.success.after)
    : Effect.fail(new InvalidContinuation({ message: "The continuation token is not one this list gave out" }))
}

const storeError = (error: { readonly _tag: string; readonly message: string }) =>
  error._tag === "ReadModelUnavailable"
    ? Effect.andThen(
        Effect.logWarning("read model unavailable, answering 503", { error: error.message }),
        Effect.fail(new TryAgainLater({ reason: "StoreUnavailable", retryAfterSeconds: 1, message: error.message }))
      )
    : Effect.andThen(
        Effect.logError("read failed", { tag: error._tag, error: error.message }),
        Effect.fail(new ServerError({ message: `The read failed: ${error._tag}` }))
      )

/**
 * Implements the `views` group on the read model store.
 *
 * @since 0.1.0
 */
export const layer = (options: ReadOptions = {}) => {
  const maxWait = Duration.fromInputUnsafe(options.maxWait ?? "3 seconds")
  const pollInterval = Duration.fromInputUnsafe(options.pollInterval ?? "25 millis")
  return HttpApiBuilder.group(UsersApi, "views", (handlers) =>
    Effect.gen(function* () {
      const store = yield* ReadModelStore.ReadModelStore
      const provide = Effect.provideService(ReadModelStore.ReadModelStore, store)

      const read = (tenant: string, id: string) =>
        DocumentProjection.get(userView, { partitionKey: tenant, id }).pipe(
          Effect.map(Option.flatMap((projected) => projected.document)),
          provide
        )

      const readAtLeast = (tenant: string, id: string, minVersion: number) =>
        read(tenant, id).pipe(
          Effect.repeat({
            schedule: Schedule.spaced(pollInterval),
            until: (user) => Option.isSome(user) && user.value.version >= minVersion
          }),
          Effect.timeoutOption(maxWait),
          Effect.flatMap(
            Option.match({
              onSome: Effect.succeed,
              onNone: () =>
                Effect.flatMap(read(tenant, id), (user) => {
                  if (Option.isSome(user) && user.value.version >= minVersion) return Effect.succeed(user)
                  const at = Option.isSome(user) ? `version ${user.value.version}` : "no version yet"
                  return Effect.fail(
                    new TryAgainLater({
                      reason: "ViewBehind",
                      retryAfterSeconds: 1,
                      message: `The view of user ${id} is at ${at}, behind the requested minVersion ${minVersion} after waiting ${Duration.format(maxWait)}`
                    })
                  )
                })
            })
          )
        )

      return handlers
        .handle("get", ({ params, query }) =>
          (query.minVersion === undefined || query.minVersion === 0
            ? read(params.tenant, params.id)
            : readAtLeast(params.tenant, params.id, query.minVersion)
          ).pipe(
            Effect.catchTags({
              ReadModelUnavailable: storeError,
              ReadModelFailure: storeError,
              InvalidArgument: storeError,
              CorruptDocument: storeError
            }),
            Effect.flatMap(
              Option.match({
                onNone: () =>
                  Effect.fail(
                    new UserNotFound({
                      tenant: params.tenant,
                      id: params.id,
                      message: `No user ${params.id} in tenant ${params.tenant} in the view`
                    })
                  ),
                onSome: (user) =>
                  Effect.succeed(HttpApiSchema.withHeaders({ body: user, headers: { etag: etagOf(user.version) } }))
              })
            )
          )
        )
        .handle("list", ({ params, query }) =>
          Effect.gen(function* () {
            const after =
              query.continuation === undefined ? undefined : yield* openToken(params.tenant, query.continuation)
            const page = yield* store
              .queryPage(
                DocumentProjection.storeQuery(userView, params.tenant, { pageSize: query.limit ?? defaultPageSize }),
                after
              )
              .pipe(
                Effect.catchTags({
                  InvalidArgument: (error) =>
                    after === undefined
                      ? storeError(error)
                      : Effect.fail(new InvalidContinuation({ message: error.message })),
                  ReadModelUnavailable: storeError,
                  // The only input of a paged read the store can refuse is the client's continuation token.
                  ReadModelFailure: (error) =>
                    after === undefined
                      ? storeError(error)
                      : Effect.fail(
                          new InvalidContinuation({ message: "The continuation token is not one this list gave out" })
                        )
                })
              )
            const users: Array<UserDocument> = []
            for (const document of page.documents) {
              const value = document.data.value
              if (value === null || value === undefined) continue // a removed document (tombstone)
              const decoded = decodeDocument(value)
              if (Result.isFailure(decoded)) {
                return yield* storeError({ _tag: "CorruptDocument", message: decoded.failure.message })
              }
              users.push(decoded.success)
            }
            return Option.match(page.continuation, {
              onNone: () => ({ users }),
              onSome: (continuation) => ({ users, continuation: sealToken(params.tenant, continuation) })
            })
          })
        )
    })
  )
}
