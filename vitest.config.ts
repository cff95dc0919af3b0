import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault scenarios run in real time against a local server and measure what a loaded machine
    // does to timeouts: they run alone, in `npm run test:faults` (test/faults/vitest.config.ts).
    exclude: ["test/faults/**", "**/node_modules/**"],
    // Vitest's default on 2 cores is one worker; most files here wait on child processes, servers or
    // the compiler, so two keep both cores busy.
    maxWorkers: 2,
    globalSetup: ["test/support/build.ts"],
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
