/**
 * Vitest global setup: one Azurite (local Table Storage) for the whole run,
 * started as a child process and stopped when the run ends. Test files get its
 * connection string with `inject("azuriteConnectionString")` and use tables of
 * their own.
 */
// The global setup runs outside the test resolver (no source condition), so import the source directly.

import { Effect, Exit, Redacted, Scope } from "effect"
import { Azurite } from "../../packages/testing/src/Azurite.ts"

declare module "vitest" {
  export interface ProvidedContext {
    azuriteConnectionString: string
  }
}

export default async function setup(project: { provide: (key: "azuriteConnectionString", value: string) => void }) {
  const scope = Scope.makeUnsafe()
  const azurite = await Effect.runPromise(Scope.provide(scope)(Azurite.start()))
  project.provide("azuriteConnectionString", Redacted.value(azurite.connectionString))
  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
