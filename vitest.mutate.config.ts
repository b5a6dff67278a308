import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// Resolve the packages to the sources next to this file: Stryker runs it in a sandbox copy of the
// repository, and the workspace links in node_modules would lead back to the unmutated originals.
const source = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url))

/**
 * The fast, pure tests that mutation testing (`npm run mutate`) runs against each mutant:
 * no Azurite, no network, no global setup.
 */
export default defineConfig({
  resolve: {
    alias: {
      "@eventable/core": source("core"),
      "@eventable/table-storage": source("table-storage")
    }
  },
  test: {
    include: [
      "test/core/StreamId.test.ts",
      "test/core/ExpectedVersion.test.ts",
      "test/core/EventCodec.test.ts",
      "test/table-storage/TableKeys.test.ts",
      "test/table-storage/EventRows.test.ts",
      "test/table-storage/PartitionWriter.test.ts"
    ],
    testTimeout: 30_000
  }
})
