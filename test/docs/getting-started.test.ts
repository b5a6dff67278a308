import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { program } from "../../docs/examples/users-write.ts"

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8")

describe("docs/getting-started.md", () => {
  for (const example of ["users-write.ts", "users-http.ts", "users-read.ts", "users-app.ts"]) {
    it(`given docs/examples/${example}, when compared with the guide, then the guide shows it verbatim`, () => {
      assert.include(read("../../docs/getting-started.md"), `\`\`\`ts\n${read(`../../docs/examples/${example}`)}\`\`\``)
    })
  }

  it.effect("given the write-side example, when run, then it does what its comments say", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* program, {
        retriedVersion: 1,
        renamedVersion: 2,
        stale: "ConcurrencyConflict",
        blocked: "UserIsBlocked"
      })
    })
  )
})
