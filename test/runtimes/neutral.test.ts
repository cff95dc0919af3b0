/**
 * The library's core, the main entry point and everything it imports (dependencies included), runs
 * wherever `fetch` does: bundled for a platform with no Node built-ins it resolves (no `node:*` import
 * anywhere in its graph, the Node-only Collector and CLI left out), its code generates no code from
 * strings (`eval`, `Function`) and loads nothing at run time (`import()`, `require`), and it imports,
 * validates, encodes and delivers with V8's code generation from strings disabled.
 *
 * These are the Effect 3 edition's sources (the Effect 4 edition's are checked by the same functions,
 * neutral.ts, on its packed package as installed, in runtimes.e2e.ts: its dependencies are installed
 * in effect4/, which `npm test` here does not need). The real runs on Bun, Deno and workerd are in
 * runtimes.e2e.ts (`npm run test:package`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import {
  bundled,
  bundledPackages,
  bundleNeutral as bundleIn,
  deliveryProgram,
  describeFindings,
  dynamicCode,
  nodeOnlyPackages
} from "./neutral.js"

const root = Path.resolve(import.meta.dirname, "..", "..")

/** Bundles `contents` (a module in test/runtimes) for esbuild's neutral platform: no Node built-ins, no Node resolution. */
const bundleNeutral = (contents: string) => bundleIn(contents, { resolveDir: import.meta.dirname, absWorkingDir: root })

describe("the core is runtime-neutral", () => {
  it.effect("bundles for a platform without Node built-ins, without the Node-only modules", () =>
    Effect.gen(function*() {
      const { inputs } = bundled(yield* bundleNeutral(`export * from "../../src/index.js"`))
      const local = inputs.filter((i) => i.startsWith("src/"))
      assert.isAbove(local.length, 10)
      for (const nodeOnly of ["src/Collector.ts", "src/bin.ts"]) assert.notInclude(local, nodeOnly)
      assert.deepStrictEqual(local.filter((i) => i.startsWith("src/internal/cli/")), [])
      const packages = bundledPackages(inputs)
      for (const nodeOnly of nodeOnlyPackages) {
        assert.isFalse(packages.has(nodeOnly), `${nodeOnly} is in the core's graph`)
      }
    }))

  it.effect("its code, dependencies included, neither evaluates strings nor loads modules at run time", () =>
    Effect.gen(function*() {
      const { code } = bundled(yield* bundleNeutral(`export * from "../../src/index.js"`))
      const findings = dynamicCode(code)
      assert.deepStrictEqual(describeFindings(code, findings), [])
    }))

  it.effect("the checks catch what they look for", () =>
    Effect.gen(function*() {
      const found = dynamicCode(
        `eval(a); new Function("b"); Function("c"); globalThis.eval(d); self["Function"]("e"); import(f); require("g"); x.eval(h); ({ eval() {} })`
      ).map((f) => f.what)
      assert.deepStrictEqual(found, ["eval(...)", "new Function(...)", "Function(...)", "globalThis.eval(...)", "self.Function(...)", "import(...)", "require(...)"])
      // A Node built-in does not resolve on the neutral platform: the Collector, which is Node-only, does not bundle.
      const collector = yield* bundleNeutral(`export * from "../../src/Collector.js"`)
      assert.isTrue("errors" in collector && collector.errors.some((e) => e.text.includes("node:")), "the Collector bundled for a neutral platform")
    }))

  it.effect("it imports, validates, encodes and delivers with code generation from strings disabled", () =>
    Effect.gen(function*() {
      const { code } = bundled(yield* bundleNeutral(deliveryProgram("../../src/index.js")))
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "analytics-neutral-"))
      try {
        const file = Path.join(dir, "entry.mjs")
        Fs.writeFileSync(file, code)
        const run = spawnSync(process.execPath, ["--disallow-code-generation-from-strings", file], { encoding: "utf8", timeout: 60_000 })
        assert.strictEqual(run.status, 0, run.stderr)
        const sent = JSON.parse(run.stdout) as Array<Record<string, any>>
        assert.deepStrictEqual(sent.map((m) => m.type), ["identify", "track"])
        assert.strictEqual(sent[1]?.properties?.at, "1970-01-01T00:00:00.000Z")
      } finally {
        Fs.rmSync(dir, { recursive: true, force: true })
      }
    }))
})
