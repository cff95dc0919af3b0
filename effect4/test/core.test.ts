/**
 * `src/internal/core/` is the plain TypeScript core shared by both editions of the library. Here it is
 * a copy of the Effect 3 edition's (`../src/internal/core/`, made by `scripts/core.mjs`): each file is
 * the original byte for byte under one header line, and nothing is missing or extra. Like the original,
 * it imports nothing but its own files (no `effect`, no `@effect/*`, no `node:*`), and reads no platform
 * clock, timer or console.
 */
import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const coreDir = path.join(here, "..", "src", "internal", "core")
const originalDir = path.join(here, "..", "..", "src", "internal", "core")
const tsFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()
const files = tsFiles(coreDir)

const header = (file: string) => `// Copied from ../src/internal/core/${file} by scripts/core.mjs: edit the original.\n`

const specifiers = (source: string): Array<string> => {
  const out: Array<string> = []
  for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^"']*?from\s*["']([^"']+)["']/g)) out.push(match[1]!)
  for (const match of source.matchAll(/(?:^|\n)\s*import\s*["']([^"']+)["']/g)) out.push(match[1]!)
  for (const match of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) out.push(match[1]!)
  return out
}

describe("the shared core", () => {
  it("has modules, the same files as the original", () => {
    assert.isAtLeast(files.length, 1)
    assert.deepStrictEqual(files, tsFiles(originalDir))
  })

  for (const file of files) {
    it(`${file} is the original under its header line`, () => {
      const copy = readFileSync(path.join(coreDir, file), "utf8")
      const original = readFileSync(path.join(originalDir, file), "utf8")
      assert.isTrue(copy.startsWith(header(file)), `${file}: the header line`)
      assert.isTrue(copy.slice(header(file).length) === original, `${file} differs from the original: run npm run core`)
    })

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
