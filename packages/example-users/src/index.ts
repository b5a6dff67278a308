/**
 * @eventable/example-users: the users example (register, rename, block).
 *
 * @since 0.1.0
 */

export * from "./User.ts"
export * from "./UserCommands.ts"
