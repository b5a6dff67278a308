import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { program } from "../../docs/examples/quickstart.ts"

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8")

describe("README", () => {
  for (const example of ["quickstart.ts", "table-storage.ts", "your-project.ts"]) {
    it(`given docs/examples/${example}, when compared with the README, then the README shows it verbatim`, () => {
      assert.include(read("../../README.md"), `\`\`\`ts\n${read(`../../docs/examples/${example}`)}\`\`\``)
    })
  }

  it.effect("given the quick-start example, when run, then it does what the README says", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* program, { balance: 70, version: 2 })
    })
  )
})
