/**
 * The write side of the users HTTP API: each request becomes one command run
 * by `UserCommands` on the event store, and each outcome one status.
 *
 * - `Idempotency-Key` is the command id: a retry after a lost answer finds
 *   the events the first attempt wrote, and answers as it did (same user id,
 *   same `ETag`), appending nothing. On register it also derives the user id.
 * - `If-Match` pins the expected version: a stale one is 412, never retried.
 * - Without `If-Match`, concurrent commands on one user queue in the handler
 *   and all succeed; only a conflict with another process that outlasts the
 *   retries is a 503.
 *
 * @since 0.1.0
 */
import type { CommandHandler } from "@eventable/core"
import { Effect } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { BlockUser, RegisterUser, RenameUser, type User, type UserError, type UserEvent } from "./User.ts"
import {
  etagOf,
  InvalidValue,
  PreconditionFailed,
  RuleViolated,
  ServerError,
  TryAgainLater,
  UserNotFound,
  UsersApi
} from "./UserApi.ts"
import { UserCommands } from "./UserCommands.ts"
import * as UserIds from "./UserIds.ts"

type Failure = UserError | CommandHandler.CommandError
type HttpFailure = UserNotFound | RuleViolated | PreconditionFailed | InvalidValue | TryAgainLater | ServerError

/**
 * Maps a command's failure to its HTTP error (see `UserApi` for the statuses).
 * Failures no caller can fix are logged with their cause and answered as 500.
 *
 * @since 0.1.0
 */
export const toHttpError = (target: { readonly tenant: string; readonly id: string }, error: Failure) =>
  Effect.gen(function* (): Effect.fn.Return<never, HttpFailure> {
    switch (error._tag) {
      case "StreamNotFound":
      case "UserNotRegistered":
        return yield* new UserNotFound({ ...target, message: `No user ${target.id} in tenant ${target.tenant}` })
      case "UserAlreadyRegistered":
      case "UserIsBlocked":
        return yield* new RuleViolated({ rule: error._tag, message: error.message })
      case "StreamAlreadyExists":
        return yield* new RuleViolated({ rule: "UserAlreadyRegistered", message: error.message })
      case "InvalidUserName":
      case "InvalidEmail":
        return yield* new InvalidValue({ rule: error._tag, message: error.message })
      case "ConcurrencyConflict":
        // The handler retries conflicts unless the caller pinned a version (If-Match), so this is a stale If-Match.
        return yield* new PreconditionFailed({
          expected: error.expected._tag === "Exact" ? error.expected.version : -1,
          current: error.actual,
          message: `If-Match names version ${error.expected._tag === "Exact" ? error.expected.version : "?"}, the user is at version ${error.actual}`
        })
      case "RetriesExhausted":
      case "StoreUnavailable":
        yield* Effect.logWarning("command not run, answering 503", { error: error.message })
        return yield* new TryAgainLater({ reason: "StoreUnavailable", retryAfterSeconds: 1, message: error.message })
      default:
        yield* Effect.logError("command failed", { tag: error._tag, error: error.message })
        return yield* new ServerError({ message: `The command failed: ${error._tag}` })
    }
  })

const stateOf = (id: string, version: number, user: User) =>
  user._tag === "Registered"
    ? Effect.succeed({ id, version, name: user.name, email: user.email, blocked: user.blocked })
    : Effect.fail(new ServerError({ message: `User ${id} has no state after a successful command` }))

/** The version right after this command's own events (a retried command answers with its first run's version). */
const versionAfter = (result: CommandHandler.CommandResult<UserEvent, User>): number =>
  result.events.at(-1)?.version ?? result.version

const answer = (id: string, result: CommandHandler.CommandResult<UserEvent, User>) =>
  Effect.map(stateOf(id, result.version, result.state), (body) =>
    HttpApiSchema.withHeaders({ body, headers: { etag: etagOf(versionAfter(result)) } })
  )

/**
 * Implements the `commands` group with `UserCommands`; needs an `EventStore`.
 *
 * @since 0.1.0
 */
export const layer = HttpApiBuilder.group(UsersApi, "commands", (handlers) =>
  handlers
    .handle("register", ({ params, headers, payload }) => {
      const key = headers["idempotency-key"]
      const target = {
        tenant: params.tenant,
        id: key === undefined ? UserIds.fresh() : UserIds.fromIdempotencyKey(params.tenant, key)
      }
      return UserCommands.create(
        target,
        new RegisterUser(payload),
        key === undefined ? {} : { commandId: commandIdOf("register", key), correlationId: key }
      ).pipe(
        Effect.catch((error) => toHttpError(target, error)),
        Effect.map((result) =>
          HttpApiSchema.withHeaders({ body: { id: target.id }, headers: { etag: etagOf(versionAfter(result)) } })
        )
      )
    })
    .handle("rename", ({ params, headers, payload }) =>
      UserCommands.update(params, new RenameUser(payload), optionsOf("rename", headers)).pipe(
        Effect.catch((error) => toHttpError(params, error)),
        Effect.flatMap((result) => answer(params.id, result))
      )
    )
    .handle("block", ({ params, headers }) =>
      UserCommands.update(params, new BlockUser(), optionsOf("block", headers)).pipe(
        Effect.catch((error) => toHttpError(params, error)),
        Effect.flatMap((result) => answer(params.id, result))
      )
    )
)

/**
 * The command id of a request: the operation and the client's Idempotency-Key, so a key reused on
 * another operation of the same user is another command, never mistaken for the first one.
 */
const commandIdOf = (operation: "register" | "rename" | "block", key: string) => `${operation}:${key}`

const optionsOf = (
  operation: "rename" | "block",
  headers: {
    readonly "if-match"?: number
    readonly "idempotency-key"?: string
  }
): CommandHandler.ExecuteOptions => ({
  ...(headers["if-match"] === undefined ? {} : { expectedVersion: headers["if-match"] }),
  ...(headers["idempotency-key"] === undefined
    ? {}
    : { commandId: commandIdOf(operation, headers["idempotency-key"]), correlationId: headers["idempotency-key"] })
})
