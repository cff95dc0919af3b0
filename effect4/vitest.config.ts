import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault scenarios run in real time against a local server and measure what a loaded machine
    // does to timeouts: they run alone, in `npm run test:faults` (test/faults/vitest.config.ts).
    exclude: ["test/faults/**", "**/node_modules/**"],
    // Vitest's default on 2 cores is one worker; most files here wait on child processes, servers or
    // the compiler, so two keep both cores busy. (Vitest 5 has no `minWorkers`.)
    maxWorkers: 2,
    // Builds dist/ once, before any file, when it is stale: no test file rebuilds it under the others.
    globalSetup: ["test/support/build.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
