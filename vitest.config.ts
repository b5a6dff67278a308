import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["@eventable/source"] },
  ssr: { resolve: { conditions: ["@eventable/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/setup/azurite.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
