import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/**/fixtures/**", "test/utils/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    sequence: { concurrent: false },
    pool: "forks",
    poolOptions: { forks: { singleFork: false } }
  }
})
