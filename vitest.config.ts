import { defineConfig } from "vitest/config";

// The default `forks` pool is required: dynamic-provider serialization uses the inspector,
// which worker threads do not have (DESIGN.md, "Conventions").
export default defineConfig({
  test: {
    pool: "forks",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
