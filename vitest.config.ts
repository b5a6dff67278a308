import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["@eventable/source"] },
  ssr: { resolve: { conditions: ["@eventable/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // Packs, installs and runs the packages in a fresh project: minutes, so CI runs it on its own (npm run test:packaging).
    exclude: ["test/packaging/**"],
    globalSetup: ["test/setup/azurite.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
