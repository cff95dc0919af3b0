// The Effect 4 edition shares the plain-TypeScript core of the Effect 3 edition (src/internal/core/ at
// the repository's root): this copies it into src/internal/core/ here (git-ignored), before every
// build, type check and test run, so that a fix to the core lands in both editions at once. Edit the
// original, never the copy. It also writes src/internal/version.ts from this package.json.
//
//   node scripts/core.mjs
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const from = resolve(here, "..", "src", "internal", "core")
const to = join(here, "src", "internal", "core")

rmSync(to, { recursive: true, force: true })
mkdirSync(to, { recursive: true })
for (const file of readdirSync(from).filter((f) => f.endsWith(".ts"))) {
  const text = readFileSync(join(from, file), "utf8")
  writeFileSync(join(to, file), `// Copied from ../src/internal/core/${file} by scripts/core.mjs: edit the original.\n${text}`)
}

const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"))
const version = join(here, "src", "internal", "version.ts")
const text = `// Generated from package.json by scripts/core.mjs: do not edit.\n\n/** @internal */\nexport const name = ${JSON.stringify(pkg.name)}\n\n/** @internal */\nexport const version = ${JSON.stringify(pkg.version)}\n`
let current = ""
try {
  current = readFileSync(version, "utf8")
} catch {}
if (current !== text) writeFileSync(version, text)
