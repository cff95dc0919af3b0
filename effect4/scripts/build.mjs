// Builds dist/, what the Effect 4 edition ships: every module under src/ but the command line,
// compiled by tsc with its declarations and their maps (tsconfig.build.json). dist/ is emptied first,
// so that nothing left by an earlier build is packed. (The command line's bundle is added here too.)
//
//   node scripts/build.mjs
import { spawnSync } from "node:child_process"
import { rmSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
rmSync(resolve(root, "dist"), { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })
if (result.status !== 0) {
  console.error("build: the library did not compile")
  process.exit(1)
}
console.log("build: dist/ written")
