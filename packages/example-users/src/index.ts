/**
 * @eventable/example-users: the users example (register, rename, block):
 * the decider, the HTTP API, the `users` view and its projector.
 *
 * @since 0.1.0
 */

export * as JsonErrors from "./JsonErrors.ts"
export * as Projector from "./Projector.ts"
export * from "./User.ts"
export * as UserApi from "./UserApi.ts"
export * from "./UserCommands.ts"
export * as UserCommandsHttp from "./UserCommandsHttp.ts"
export * from "./UserDocument.ts"
export * as UserIds from "./UserIds.ts"
export * as UserStores from "./UserStores.ts"
export * as UsersServer from "./UsersServer.ts"
export * from "./UserView.ts"
export * as UserViewsHttp from "./UserViewsHttp.ts"
export * as ViewCheck from "./ViewCheck.ts"
