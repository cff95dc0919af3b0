// The packed-install and runtime tests: `npm run test:package`. They need the npm registry (to install
// the packed package's peers in a temporary project) and the runtimes of test/runtimes/package.json
// (`npm run runtimes:install`), so they are not part of `npm test`. CI runs both (.ci/run).
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/package/**/*.e2e.ts", "test/runtimes/**/*.e2e.ts"],
    globalSetup: ["test/package/setup.ts"],
    testTimeout: 240_000,
    hookTimeout: 240_000
  }
})
