import { defineConfig } from "vitest/config"
export default defineConfig({
  resolve: { conditions: ["@eventable/source"] },
  ssr: { resolve: { conditions: ["@eventable/source"] } },
  test: { include: ["test/**/*.test.ts"] }
})
