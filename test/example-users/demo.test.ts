import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const script = fileURLToPath(new URL("../../packages/example-users/src/demo.ts", import.meta.url))

/** Runs `npm run demo -- --quick` as a child process, without any Azure variables: it starts its own stand-ins. */
const runDemo = Effect.callback<{ readonly code: number | null; readonly output: string }>((resume) => {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("EVENTABLE_") && !name.startsWith("EXAMPLE_"))
  )
  const child = spawn(process.execPath, ["--conditions=@eventable/source", script, "--quick"], { env })
  let output = ""
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.on("exit", (code) => resume(Effect.succeed({ code, output })))
  return Effect.sync(() => child.kill("SIGKILL"))
})

describe("npm run demo", () => {
  it.live(
    "given a machine without Azure settings, when the quick demo runs, then it exits 0 after a passing consistency check",
    () =>
      Effect.gen(function* () {
        const { code, output } = yield* runDemo
        assert.strictEqual(code, 0, output)
        assert.match(output, /Consistency: OK, (\d+) of \1 users in the view equal a fold of the \d+ stored events/)
        assert.include(output, "same id")
        assert.match(output, /stale If-Match "1" +→ 412/)
        assert.include(output, "Stopped the API, the projector and the stand-ins.")
      }),
    120_000
  )
})
