/**
 * A user as the `users` view holds it: the document the projection writes
 * and the HTTP API reads. `version` is the version of the last event of the
 * user's stream it reflects.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A user as the `users` view holds it.
 *
 * @since 0.1.0
 */
export const UserDocument = Schema.Struct({
  id: Schema.String,
  tenant: Schema.String,
  name: Schema.String,
  email: Schema.String,
  blocked: Schema.Boolean,
  version: Schema.Int
})

/**
 * A user as the `users` view holds it.
 *
 * @since 0.1.0
 */
export type UserDocument = typeof UserDocument.Type
