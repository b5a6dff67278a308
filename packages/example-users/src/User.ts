/**
 * The users domain: commands, events, state, rules, as a pure decider.
 *
 * Rules:
 * - a user is registered once (`UserAlreadyRegistered`);
 * - names must not be empty (`InvalidUserName`) and emails must be valid (`InvalidEmail`);
 * - only a registered user can be renamed or blocked (`UserNotRegistered`);
 * - a blocked user cannot be renamed (`UserIsBlocked`);
 * - renaming to the current name and blocking a blocked user change nothing.
 *
 * @since 0.1.0
 */
import { Decider } from "@eventable/core"
import { Effect, Schema } from "effect"

// Events ---------------------------------------------------------------------

/**
 * A user signed up.
 *
 * @since 0.1.0
 */
export class UserRegistered extends Schema.TaggedClass<UserRegistered>()("UserRegistered", {
  userName: Schema.String,
  email: Schema.String
}) {}

/**
 * A user's name changed.
 *
 * @since 0.1.0
 */
export class UserNameChanged extends Schema.TaggedClass<UserNameChanged>()("UserNameChanged", {
  name: Schema.String
}) {}

/**
 * A user was blocked.
 *
 * @since 0.1.0
 */
export class UserBlocked extends Schema.TaggedClass<UserBlocked>()("UserBlocked", {}) {}

/**
 * Every users event.
 *
 * @since 0.1.0
 */
export const UserEvent = Schema.Union([UserRegistered, UserNameChanged, UserBlocked])

/**
 * Every users event.
 *
 * @since 0.1.0
 */
export type UserEvent = typeof UserEvent.Type

// Commands -------------------------------------------------------------------

/**
 * Register a new user.
 *
 * @since 0.1.0
 */
export class RegisterUser extends Schema.TaggedClass<RegisterUser>()("RegisterUser", {
  userName: Schema.String,
  email: Schema.String
}) {}

/**
 * Rename a user.
 *
 * @since 0.1.0
 */
export class RenameUser extends Schema.TaggedClass<RenameUser>()("RenameUser", {
  name: Schema.String
}) {}

/**
 * Block a user.
 *
 * @since 0.1.0
 */
export class BlockUser extends Schema.TaggedClass<BlockUser>()("BlockUser", {}) {}

/**
 * Every users command.
 *
 * @since 0.1.0
 */
export const UserCommand = Schema.Union([RegisterUser, RenameUser, BlockUser])

/**
 * Every users command.
 *
 * @since 0.1.0
 */
export type UserCommand = typeof UserCommand.Type

// Domain errors --------------------------------------------------------------

/**
 * The user is already registered.
 *
 * @since 0.1.0
 */
export class UserAlreadyRegistered extends Schema.TaggedError<UserAlreadyRegistered>()("UserAlreadyRegistered", {}) {
  override get message(): string {
    return "The user is already registered"
  }
}

/**
 * The user is not registered.
 *
 * @since 0.1.0
 */
export class UserNotRegistered extends Schema.TaggedError<UserNotRegistered>()("UserNotRegistered", {}) {
  override get message(): string {
    return "The user is not registered"
  }
}

/**
 * The user is blocked and cannot be renamed.
 *
 * @since 0.1.0
 */
export class UserIsBlocked extends Schema.TaggedError<UserIsBlocked>()("UserIsBlocked", {}) {
  override get message(): string {
    return "The user is blocked"
  }
}

/**
 * A name is empty (or only spaces) or too long.
 *
 * @since 0.1.0
 */
export class InvalidUserName extends Schema.TaggedError<InvalidUserName>()("InvalidUserName", {
  name: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid user name ${JSON.stringify(this.name)}: ${this.reason}`
  }
}

/**
 * An email address is not valid.
 *
 * @since 0.1.0
 */
export class InvalidEmail extends Schema.TaggedError<InvalidEmail>()("InvalidEmail", {
  email: Schema.String
}) {
  override get message(): string {
    return `Invalid email address ${JSON.stringify(this.email)}`
  }
}

/**
 * Every users domain error.
 *
 * @since 0.1.0
 */
export type UserError = UserAlreadyRegistered | UserNotRegistered | UserIsBlocked | InvalidUserName | InvalidEmail

// State ----------------------------------------------------------------------

/**
 * A user's state: not registered yet, or registered (and maybe blocked).
 *
 * @since 0.1.0
 */
export type User =
  | { readonly _tag: "Unregistered" }
  | { readonly _tag: "Registered"; readonly name: string; readonly email: string; readonly blocked: boolean }

/**
 * The longest user name.
 *
 * @since 0.1.0
 */
export const maxNameLength = 100

// One "@", something before it, a dotted domain after it, no spaces.
const emailPattern = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u

const validName = (name: string): Effect.Effect<string, InvalidUserName> => {
  const trimmed = name.trim()
  if (trimmed.length === 0) return Effect.fail(new InvalidUserName({ name, reason: "must not be empty" }))
  if (trimmed.length > maxNameLength) {
    return Effect.fail(new InvalidUserName({ name, reason: `must be at most ${maxNameLength} characters` }))
  }
  return Effect.succeed(trimmed)
}

const validEmail = (email: string): Effect.Effect<string, InvalidEmail> =>
  emailPattern.test(email.trim()) ? Effect.succeed(email.trim()) : Effect.fail(new InvalidEmail({ email }))

const none: ReadonlyArray<UserEvent> = []

/**
 * The users decider.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RegisterUser, users } from "@eventable/example-users"
 *
 * const events = users.decide(new RegisterUser({ userName: "ada", email: "ada@example.com" }), users.initialState)
 * // Effect succeeding with [UserRegistered { userName: "ada", email: "ada@example.com" }]
 * ```
 *
 * @since 0.1.0
 */
export const users = Decider.make<UserCommand, UserEvent, User, UserError>({
  initialState: { _tag: "Unregistered" },
  evolve: (state, event) => {
    switch (event._tag) {
      case "UserRegistered":
        return { _tag: "Registered", name: event.userName, email: event.email, blocked: false }
      case "UserNameChanged":
        return state._tag === "Registered" ? { ...state, name: event.name } : state
      case "UserBlocked":
        return state._tag === "Registered" ? { ...state, blocked: true } : state
    }
  },
  decide: (command, state) =>
    Effect.gen(function* () {
      switch (command._tag) {
        case "RegisterUser": {
          if (state._tag === "Registered") return yield* new UserAlreadyRegistered()
          const userName = yield* validName(command.userName)
          const email = yield* validEmail(command.email)
          return [new UserRegistered({ userName, email })]
        }
        case "RenameUser": {
          if (state._tag === "Unregistered") return yield* new UserNotRegistered()
          if (state.blocked) return yield* new UserIsBlocked()
          const name = yield* validName(command.name)
          return name === state.name ? none : [new UserNameChanged({ name })]
        }
        case "BlockUser": {
          if (state._tag === "Unregistered") return yield* new UserNotRegistered()
          return state.blocked ? none : [new UserBlocked()]
        }
      }
    })
})
