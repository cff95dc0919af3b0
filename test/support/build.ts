/**
 * Vitest global setup: builds dist/ (scripts/build.mjs) once, before any test file runs, when it is
 * missing or older than its sources. The CLI tests run the shipped bundle, the Promise client's script
 * tests and the declarations test read dist/: with test files running side by side, none of them may
 * rebuild it under the others. `npm test` builds first, so there this finds dist/ fresh and does nothing.
 */
import { spawnSync } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

/** The latest modification time under `at` (a file or a directory, recursively); 0 if it is missing. */
export const newest = (at: string): number => {
  const stat = statSync(at, { throwIfNoEntry: false })
  if (stat === undefined) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(at).reduce((latest, name) => Math.max(latest, newest(Path.join(at, name))), 0)
}

const oldest = (at: string): number => {
  const stat = statSync(at, { throwIfNoEntry: false })
  if (stat === undefined) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  const names = readdirSync(at)
  if (names.length === 0) return 0
  return names.reduce((earliest, name) => Math.min(earliest, oldest(Path.join(at, name))), Infinity)
}

export default function setup(): void {
  const sources = Math.max(
    newest(Path.join(root, "src")),
    newest(Path.join(root, "scripts")),
    newest(Path.join(root, "tsconfig.build.json")),
    newest(Path.join(root, "package.json"))
  )
  if (oldest(Path.join(root, "dist")) >= sources) return
  const result = spawnSync(process.execPath, [Path.join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" })
  if (result.status !== 0) throw new Error(`scripts/build.mjs failed (exit ${result.status})`)
}
