import { defineConfig } from "vitest/config"

// The packaging test: packs the public packages, installs the tarballs into a fresh project
// outside the workspace and runs a program there (it starts its own Azurite). See the README.
export default defineConfig({
  test: {
    include: ["test/packaging/**/*.test.ts"],
    // The install dominates: 2 to 4 minutes from npm's cache on a busy 2-core machine.
    testTimeout: 900_000
  }
})
