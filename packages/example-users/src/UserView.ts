/**
 * The `users` view: one document per user, partitioned by tenant, kept up to
 * date from the users events by a document projection.
 *
 * Each document carries `version`, the version of the last event of the
 * user's stream it reflects: the HTTP API answers it as the `ETag` of a read,
 * and waits on it for read-your-writes (`?minVersion=N`).
 *
 * @since 0.1.0
 */
import { DocumentProjection } from "@eventable/core"
import { userCodec } from "./UserCommands.ts"
import { UserDocument } from "./UserDocument.ts"

/**
 * The view's name (the Cosmos DB container).
 *
 * @since 0.1.0
 */
export const viewName = "users"

/**
 * The `users` document projection: a registration writes the document, a
 * rename changes its name (keeping the email), a block sets `blocked`. Every
 * change records the event's version.
 *
 * @since 0.1.0
 */
export const userView = DocumentProjection.make({
  view: viewName,
  codec: userCodec,
  document: UserDocument,
  evolve: (user: UserDocument | undefined, { event, streamId, version }) => {
    switch (event._tag) {
      case "UserRegistered":
        return DocumentProjection.write({
          id: streamId.id,
          tenant: streamId.tenant,
          name: event.userName,
          email: event.email,
          blocked: false,
          version
        })
      case "UserNameChanged":
        return user === undefined
          ? DocumentProjection.unchanged
          : DocumentProjection.write({ ...user, name: event.name, version })
      case "UserBlocked":
        return user === undefined
          ? DocumentProjection.unchanged
          : DocumentProjection.write({ ...user, blocked: true, version })
    }
  }
})
