/**
 * `src/internal/core/` is plain TypeScript shared by every edition of the library: it imports nothing
 * but its own files (no `effect`, no `@effect/*`, no `node:*`), and reads no platform clock, timer or
 * console.
 */
import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const coreDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "internal", "core")
const files = readdirSync(coreDir).filter((f) => f.endsWith(".ts"))

const specifiers = (source: string): Array<string> => {
  const out: Array<string> = []
  for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^"']*?from\s*["']([^"']+)["']/g)) out.push(match[1]!)
  for (const match of source.matchAll(/(?:^|\n)\s*import\s*["']([^"']+)["']/g)) out.push(match[1]!)
  for (const match of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) out.push(match[1]!)
  return out
}

describe("the shared core", () => {
  it("has modules", () => {
    assert.isAtLeast(files.length, 1)
  })

  for (const file of files) {
    it(`${file} imports only other core files`, () => {
      const source = readFileSync(path.join(coreDir, file), "utf8")
      for (const specifier of specifiers(source)) {
        assert.match(specifier, /^\.\/[\w.-]+\.js$/, `${file} imports ${specifier}`)
        assert.include(files, specifier.slice(2).replace(/\.js$/, ".ts"), `${file} imports ${specifier}`)
      }
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "")
      for (const global of [/\bDate\.now\b/, /\bsetTimeout\b/, /\bsetInterval\b/, /\bconsole\./, /\bprocess\./, /\bfetch\(/]) {
        assert.notMatch(code, global, `${file} uses ${global}`)
      }
    })
  }

  it("the import check sees every form of import", () => {
    const sample = `import * as A from "effect/Effect"\nimport type { B } from "./b.js"\nexport { c } from "node:fs"\nimport "side"\nconst d = import("dyn")`
    assert.deepStrictEqual(specifiers(sample).sort(), ["./b.js", "dyn", "effect/Effect", "node:fs", "side"].sort())
  })
})
