import { execFile } from "node:child_process"
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, assert, describe, it } from "@effect/vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const run = promisify(execFile)

/** The public packages, as a user installs them. */
const published = ["core", "table-storage", "testing", "cosmos"]

/** The repository's own version of a registry dependency, so the fresh install can come from npm's cache. */
const lockedVersion = (name: string): string => {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    readonly packages: Record<string, { readonly version?: string }>
  }
  const version = lock.packages[`node_modules/${name}`]?.version
  if (version === undefined) throw new Error(`${name} is not in package-lock.json`)
  return version
}

/**
 * The environment for npm and node in the fresh project: the outer `npm test` leaves npm_*
 * variables (workspace, prefix, config) that would steer the inner npm; the PATH keeps the
 * repository's node_modules/.bin first, so the pinned Node 24 runs npm and every script.
 */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)))

const sh = async (command: string, args: ReadonlyArray<string>, cwd: string) => {
  try {
    return await run(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 })
  } catch (error) {
    const { stderr = "", stdout = "" } = error as { readonly stdout?: string; readonly stderr?: string }
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout}\n${stderr}`)
  }
}

describe("the packed packages, used from a user's own project", () => {
  const projects: Array<string> = []
  // Also after a timeout, when the test body may still be running.
  afterAll(() => {
    for (const project of projects) rmSync(project, { recursive: true, force: true })
  })

  it("given the tarballs in a fresh project outside the workspace, when installed, then a program type-checks and runs on the in-memory store and on Azurite", async () => {
    const project = mkdtempSync(join(tmpdir(), "eventable-consumer-"))
    projects.push(project)
    try {
      assert.isTrue(relative(root, project).startsWith(".."), "the project lies outside the repository")

      // npm pack runs each package's prepack (tsc -b), so the tarballs hold a fresh build.
      const packed = await sh(
        "npm",
        ["pack", "--json", "--pack-destination", project, ...published.flatMap((name) => ["-w", `packages/${name}`])],
        root
      )
      const tarballs = JSON.parse(packed.stdout) as ReadonlyArray<{
        readonly name: string
        readonly filename: string
        readonly files: ReadonlyArray<{ readonly path: string }>
      }>
      assert.deepStrictEqual(
        tarballs.map((tarball) => tarball.name),
        published.map((name) => `@eventable/${name}`)
      )
      for (const tarball of tarballs) {
        const files = tarball.files.map((file) => file.path)
        assert.include(files, "dist/index.js", `${tarball.name} ships its build`)
        assert.include(files, "dist/index.d.ts", `${tarball.name} ships its types`)
        assert.isFalse(
          files.some((file) => file.includes(".tsbuildinfo") || file.startsWith("test")),
          `${tarball.name} ships only its own sources and build`
        )
      }

      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({
          name: "eventable-consumer",
          private: true,
          type: "module",
          dependencies: {
            ...Object.fromEntries(tarballs.map((tarball) => [tarball.name, `file:./${tarball.filename}`])),
            effect: lockedVersion("effect"),
            azurite: lockedVersion("azurite"),
            "@types/node": lockedVersion("@types/node")
          }
        })
      )
      writeFileSync(
        join(project, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2024",
            lib: ["ES2024"],
            module: "NodeNext",
            moduleResolution: "NodeNext",
            types: ["node"],
            strict: true,
            exactOptionalPropertyTypes: true,
            noUncheckedIndexedAccess: true,
            // As most projects do: Effect's own declarations want the DOM's crypto types otherwise.
            // main.ts fails to compile if Eventable's types degrade to `any`.
            skipLibCheck: true,
            outDir: "dist",
            rootDir: "."
          },
          files: ["main.ts"]
        })
      )
      copyFileSync(join(root, "test/packaging/consumer/main.ts"), join(project, "main.ts"))

      await sh("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], project)
      const installed = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8")) as {
        readonly packages: Record<string, { readonly resolved?: string; readonly link?: boolean }>
      }
      for (const [path, entry] of Object.entries(installed.packages)) {
        if (path.includes("@eventable/")) {
          assert.match(entry.resolved ?? "", /^file:/, `${path} comes from a tarball, never the registry`)
        }
      }

      await sh(join(root, "node_modules/.bin/tsc"), ["-p", project], project)
      const { stdout } = await sh(process.execPath, [join(project, "dist/main.js")], project)

      const result = JSON.parse(stdout) as Record<string, unknown>
      const expected = { balance: 70, version: 2, invalidId: true }
      assert.deepStrictEqual(result.inMemory, expected)
      assert.deepStrictEqual(result.onTableStorage, expected)
      assert.include(String(result.emptyConnectionString), "the connection string is empty")
      assert.strictEqual(result.cosmosConfigError, "CosmosConfigError")
    } finally {
      rmSync(project, { recursive: true, force: true })
    }
    assert.isFalse(existsSync(project), "the temporary project is removed")
  })
})
