/**
 * `npm run projector`: the users projector on its own, until SIGINT or
 * SIGTERM (which release its leases, so another projector takes over at
 * once). Stores from the environment (see `UserStores`), options from the
 * `EXAMPLE_PROJECTOR_*` variables (see `Projector.optionsFromEnv`). Start
 * several with the same group and they share the partitions.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import * as Projector from "./Projector.ts"
import * as UserStores from "./UserStores.ts"

const program = Effect.gen(function* () {
  const options = yield* Projector.optionsFromEnv
  const running = yield* Projector.start(options)
  yield* Effect.logInfo("projector running", { group: options.group ?? Projector.defaultGroup, owner: running.owner })
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(UserStores.layer))

NodeRuntime.runMain(program)
