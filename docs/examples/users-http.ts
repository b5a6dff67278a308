import { RenameUser, UserApi, UserCommands } from "@eventable/example-users"
import { Effect, Schema } from "effect"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"

// Schema first: the route, its headers, body, answers and errors are declared once; the server,
// the OpenAPI document and typed clients all derive from it.
class Stale extends Schema.TaggedError<Stale>()("Stale", { current: Schema.Int }, { httpApiStatus: 412 }) {}
class Missing extends Schema.TaggedError<Missing>()("Missing", {}, { httpApiStatus: 404 }) {}

const rename = HttpApiEndpoint.put("rename", "/tenants/:tenant/users/:id/name", {
  params: { tenant: UserApi.TenantParam, id: UserApi.UserIdParam },
  headers: { "if-match": Schema.optionalKey(UserApi.VersionTag) }, // '"3"' decodes to 3
  payload: Schema.Struct({ name: Schema.String }),
  success: HttpApiSchema.WithHeaders(Schema.Struct({ version: Schema.Int }), { etag: Schema.String }),
  error: [Stale, Missing]
})
class Api extends HttpApi.make("mini").add(HttpApiGroup.make("users").add(rename)) {}

// The handler maps the request to a command, and each outcome to its declared answer.
export const Users = HttpApiBuilder.group(Api, "users", (handlers) =>
  handlers.handle("rename", ({ headers, params, payload }) => {
    const pinned = headers["if-match"]
    return UserCommands.update(
      params,
      new RenameUser(payload),
      pinned === undefined ? {} : { expectedVersion: pinned }
    ).pipe(
      Effect.map((result) =>
        HttpApiSchema.withHeaders({ body: { version: result.version }, headers: { etag: `"${result.version}"` } })
      ),
      Effect.catchTags({
        ConcurrencyConflict: (conflict) => Effect.fail(new Stale({ current: conflict.actual })),
        StreamNotFound: () => Effect.fail(new Missing())
      }),
      Effect.orDie // the full API maps every other error too (see UserCommandsHttp)
    )
  })
)
