/**
 * The library's core, the main entry point and everything it imports (dependencies included), runs
 * wherever `fetch` does: bundled for a platform with no Node built-ins it resolves (no `node:*` import
 * anywhere in its graph, the Node-only Collector and CLI left out), its code generates no code from
 * strings (`eval`, `Function`) and loads nothing at run time (`import()`, `require`), and it imports,
 * validates, encodes and delivers with V8's code generation from strings disabled.
 *
 * The real runs on Bun, Deno and workerd are in runtimes.e2e.ts (`npm run test:package`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Acorn from "acorn"
import * as Walk from "acorn-walk"
import { Effect } from "effect"
import { build, type BuildFailure, type BuildResult } from "esbuild"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..", "..")

/** Bundles `contents` (a module in test/runtimes) for esbuild's neutral platform: no Node built-ins, no Node resolution. */
const bundleNeutral = (contents: string) =>
  Effect.promise(() =>
    build({
      absWorkingDir: root,
      stdin: { contents, resolveDir: import.meta.dirname, loader: "ts", sourcefile: "entry.ts" },
      bundle: true,
      write: false,
      platform: "neutral",
      mainFields: ["module", "main"],
      format: "esm",
      target: "es2022",
      metafile: true,
      logLevel: "silent"
    }).then(
      (result): BuildResult<{ metafile: true; write: false }> | BuildFailure => result,
      (failure: BuildFailure) => failure
    )
  )

const bundled = (result: BuildResult<{ metafile: true; write: false }> | BuildFailure) => {
  if (!("outputFiles" in result) || result.outputFiles === undefined) {
    assert.fail(`the bundle failed: ${result.errors.map((e) => e.text).join("; ")}`)
  }
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) }
}

interface Finding {
  readonly what: string
  readonly at: number
}

/** Every place in `code` that generates code from a string or loads a module at run time. */
const dynamicCode = (code: string): Array<Finding> => {
  const findings: Array<Finding> = []
  const named = (node: Acorn.Node & { type: string }, names: ReadonlyArray<string>): string | undefined => {
    const n = node as any
    if (n.type === "Identifier" && names.includes(n.name)) return n.name
    // globalThis.eval, window.Function, self["eval"], ...
    if (n.type === "MemberExpression") {
      const property = n.computed ? (n.property.type === "Literal" ? n.property.value : undefined) : n.property.name
      if (n.object.type === "Identifier" && ["globalThis", "window", "self", "global"].includes(n.object.name) && names.includes(property)) {
        return `${n.object.name}.${property}`
      }
    }
    return undefined
  }
  const call = (kind: string) => (node: any) => {
    const name = named(node.callee, ["eval", "Function", "require"])
    if (name !== undefined) findings.push({ what: `${kind}${name}(...)`, at: node.start })
  }
  const ast = Acorn.parse(code, { ecmaVersion: "latest", sourceType: "module" })
  Walk.simple(ast, {
    CallExpression: call(""),
    NewExpression: call("new "),
    ImportExpression: (node) => void findings.push({ what: "import(...)", at: node.start })
  })
  return findings
}

describe("the core is runtime-neutral", () => {
  it.effect("bundles for a platform without Node built-ins, without the Node-only modules", () =>
    Effect.gen(function*() {
      const { inputs } = bundled(yield* bundleNeutral(`export * from "../../src/index.js"`))
      const local = inputs.filter((i) => i.startsWith("src/"))
      assert.isAbove(local.length, 10)
      for (const nodeOnly of ["src/Collector.ts", "src/bin.ts"]) assert.notInclude(local, nodeOnly)
      assert.deepStrictEqual(local.filter((i) => i.startsWith("src/internal/cli/")), [])
      const packages = new Set(inputs.flatMap((i) => i.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1] ?? []))
      for (const nodeOnly of ["@effect/platform-node", "@effect/platform-node-shared", "@effect/cli", "undici", "msgpackr"]) {
        assert.isFalse(packages.has(nodeOnly), `${nodeOnly} is in the core's graph`)
      }
    }))

  it.effect("its code, dependencies included, neither evaluates strings nor loads modules at run time", () =>
    Effect.gen(function*() {
      const { code } = bundled(yield* bundleNeutral(`export * from "../../src/index.js"`))
      const findings = dynamicCode(code)
      assert.deepStrictEqual(
        findings.map((f) => `${f.what} at ${code.slice(Math.max(0, f.at - 60), f.at + 40).replace(/\s+/g, " ")}`),
        []
      )
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
      const { code } = bundled(
        yield* bundleNeutral(`
          import { Effect } from "effect"
          import { Analytics, Testing } from "../../src/index.js"
          const program = Effect.gen(function*() {
            yield* Analytics.identify({ userId: "u1", traits: { plan: "Pro", tags: ["a"] } })
            yield* Analytics.track({ userId: "u1", event: "Signed Up", properties: { at: new Date(0) } })
            return yield* Testing.sent
          })
          Effect.runPromise(program.pipe(Effect.provide(Testing.layer()))).then((sent) => console.log(JSON.stringify(sent)))
        `)
      )
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
