import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const read = (path: string) => readFileSync(join(root, path), "utf8")
const files = (dir: string, ext: string): ReadonlyArray<string> =>
  readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(ext))
    .map((name) => join(dir, name))

/** The README and every page under docs/, by path. */
const docs = ["README.md", ...files("docs", ".md")].map((path) => ({ path, text: read(path) }))

/** The public packages and the import each is published under. */
const packages = [
  ["core", "@eventable/core"],
  ["table-storage", "@eventable/table-storage"],
  ["testing", "@eventable/testing"],
  ["cosmos", "@eventable/cosmos"]
] as const

/** Every error class a public package defines, with the package that defines it. */
const errorClasses = packages.flatMap(([dir, name]) =>
  files(`packages/${dir}/src`, ".ts").flatMap((path) =>
    [...read(path).matchAll(/^export class (\w+) extends (?:Schema|Data)\.TaggedError\b/gm)].map((match) => ({
      error: match[1]!,
      packageName: name,
      definedIn: path
    }))
  )
)
const documented = errorClasses.filter(({ error }) => docs.some(({ text }) => new RegExp(`\\b${error}\\b`).test(text)))

describe("the public surface the docs describe", () => {
  it("given the docs, when scanned, then they name the errors users meet first (the scan finds them)", () => {
    const names = documented.map(({ error }) => error)
    for (const error of ["InvalidStreamId", "TableStorageConfigError", "CorruptEvent", "ConcurrencyConflict"]) {
      assert.include(names, error)
    }
  })

  for (const { definedIn, error, packageName } of documented) {
    it(`given ${error} named in the docs, when imported from ${packageName}, then it is the error class`, async () => {
      const module: Record<string, unknown> = await import(packageName)
      const exported = module[error]
      assert.isFunction(exported, `${error} (${definedIn}) is not exported from ${packageName}'s index`)
      assert.strictEqual((exported as { readonly name: string }).name, error)
    })
  }

  for (const { path, text } of docs) {
    it(`given ${path}, when read, then it cites nothing outside the repository`, () => {
      for (const outside of ["azure.md", "CRIB.md", "shared/", "/work/", "file://"]) {
        assert.notInclude(text, outside, `${path} cites ${outside}`)
      }
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue // an absolute URL (https:, mailto:)
        const file = resolve(root, dirname(path), target!)
        assert.isFalse(relative(root, file).startsWith(".."), `${path} links outside the repository: ${target}`)
        assert.isTrue(existsSync(file), `${path} links to a missing file: ${target}`)
      }
    })
  }
})
