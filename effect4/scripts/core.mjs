// The Effect 4 edition shares the plain-TypeScript core of the Effect 3 edition (src/internal/core/ at
// the repository's root): this copies it into src/internal/core/ here (git-ignored), before every
// build, type check and test run, so that a fix to the core lands in both editions at once. Edit the
// original, never the copy. It also writes src/internal/version.ts from this package.json.
//
// A file is written only when its content changes, and only files the core no longer has are removed:
// an unchanged core keeps its modification times, so that a type check run while a test suite runs
// does not make src/ look newer than dist/ (test/support/build.ts rebuilds dist/ when it is older).
//
//   node scripts/core.mjs
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const from = resolve(here, "..", "src", "internal", "core")
const to = join(here, "src", "internal", "core")

/** Writes `text` to `path` unless the file already holds exactly that. */
const writeIfChanged = (path, text) => {
  let current
  try {
    current = readFileSync(path, "utf8")
  } catch {}
  if (current !== text) writeFileSync(path, text)
}

mkdirSync(to, { recursive: true })
const files = readdirSync(from).filter((f) => f.endsWith(".ts"))
for (const file of files) {
  const text = readFileSync(join(from, file), "utf8")
  writeIfChanged(join(to, file), `// Copied from ../src/internal/core/${file} by scripts/core.mjs: edit the original.\n${text}`)
}
// Anything else in the copy is stale: a core file since removed or renamed, or not a copy at all.
const copied = new Set(files)
for (const name of readdirSync(to)) {
  if (!copied.has(name)) rmSync(join(to, name), { recursive: true, force: true })
}

const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"))
const text = `// Generated from package.json by scripts/core.mjs: do not edit.\n\n/** @internal */\nexport const name = ${JSON.stringify(pkg.name)}\n\n/** @internal */\nexport const version = ${JSON.stringify(pkg.version)}\n`
writeIfChanged(join(here, "src", "internal", "version.ts"), text)
