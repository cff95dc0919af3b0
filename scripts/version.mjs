// Writes src/internal/version.ts from package.json, so the version lives in one place.
import { readFileSync, writeFileSync } from "node:fs"

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
const target = new URL("../src/internal/version.ts", import.meta.url)
const text = `// Generated from package.json by scripts/version.mjs: do not edit.\n\n/** @internal */\nexport const name = ${JSON.stringify(pkg.name)}\n\n/** @internal */\nexport const version = ${JSON.stringify(pkg.version)}\n`
let current = ""
try {
  current = readFileSync(target, "utf8")
} catch {}
if (current !== text) writeFileSync(target, text)
