import { NodeRuntime } from "@effect/platform-node"
import { Projector, UserStores, UsersServer } from "@eventable/example-users"
import { Layer } from "effect"

// One process serving the API and running the projector, on the stores the environment names
// (EVENTABLE_TABLE_* and EVENTABLE_COSMOS_*). Drop `Projector.layer()` to run the API alone,
// and run projectors with `npm run projector`.
const App = Layer.mergeAll(UsersServer.layer({ port: 8080, host: "0.0.0.0" }), Projector.layer()).pipe(
  Layer.provide(UserStores.layer)
)

export const main = () => NodeRuntime.runMain(Layer.launch(App))
