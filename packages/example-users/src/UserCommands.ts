/**
 * The users command handler: the `users` decider over the `user` category.
 *
 * @since 0.1.0
 */
import { CommandHandler, EventCodec } from "@eventable/core"
import { UserEvent, users } from "./User.ts"

/**
 * The users event codec.
 *
 * @since 0.1.0
 */
export const userCodec = EventCodec.make(UserEvent)

/**
 * The category users live in.
 *
 * @since 0.1.0
 */
export const userCategory = "user"

/**
 * Runs users commands: `UserCommands.create(target, new RegisterUser(...))`, etc.
 *
 * @since 0.1.0
 */
export const UserCommands = CommandHandler.make({ category: userCategory, decider: users, codec: userCodec })
