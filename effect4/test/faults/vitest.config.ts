// The fault scenarios: `npm run test:faults`. Real time (about 25 s), against a local fault server; one
// file, alone, so that no other test file competes for the CPU while timeouts are being measured. CI
// runs them after `npm test`.
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/faults/**/*.test.ts"],
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
