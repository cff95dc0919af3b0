/**
 * The checks of "runs wherever `fetch` does", shared by neutral.test.ts (the Effect 3 edition's
 * sources, in `npm test`) and runtimes.e2e.ts (the packed package of either edition, as installed):
 * a bundle for esbuild's neutral platform (no Node built-ins, no Node resolution), and a scan of the
 * bundled code for code generated from strings (`eval`, `Function`) and modules loaded at run time
 * (`import()`, `require`).
 */
import { assert } from "@effect/vitest"
import * as Acorn from "acorn"
import * as Walk from "acorn-walk"
import { Effect } from "effect"
import { build, type BuildFailure, type BuildResult } from "esbuild"

/**
 * Bundles `contents` (a TypeScript module whose imports resolve from `resolveDir`) for esbuild's
 * neutral platform. `absWorkingDir` is what the metafile's input paths are relative to.
 */
export const bundleNeutral = (contents: string, options: { readonly resolveDir: string; readonly absWorkingDir: string }) =>
  Effect.promise(() =>
    build({
      absWorkingDir: options.absWorkingDir,
      stdin: { contents, resolveDir: options.resolveDir, loader: "ts", sourcefile: "entry.ts" },
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

/** The bundle's code and its input files; fails the test, with esbuild's errors, if it did not bundle. */
export const bundled = (result: BuildResult<{ metafile: true; write: false }> | BuildFailure) => {
  if (!("outputFiles" in result) || result.outputFiles === undefined) {
    assert.fail(`the bundle failed: ${result.errors.map((e) => e.text).join("; ")}`)
  }
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) }
}

/** The packages (names under node_modules) a bundle's inputs come from. */
export const bundledPackages = (inputs: ReadonlyArray<string>) =>
  new Set(inputs.flatMap((i) => i.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1] ?? []))

/** Packages that are Node-only: none may be in the core's graph. */
export const nodeOnlyPackages = ["@effect/platform-node", "@effect/platform-node-shared", "@effect/cli", "undici", "msgpackr"]

export interface Finding {
  readonly what: string
  readonly at: number
}

/** Every place in `code` that generates code from a string or loads a module at run time. */
export const dynamicCode = (code: string): Array<Finding> => {
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

/** The findings with the code around each, for an assertion message. */
export const describeFindings = (code: string, findings: ReadonlyArray<Finding>) =>
  findings.map((f) => `${f.what} at ${code.slice(Math.max(0, f.at - 60), f.at + 40).replace(/\s+/g, " ")}`)

/**
 * A program that imports the main entry point (`from`), validates, encodes and delivers two calls
 * with the testing layer, and prints what was sent as JSON.
 */
export const deliveryProgram = (from: string) => `
  import { Effect } from "effect"
  import { Analytics, Testing } from "${from}"
  const program = Effect.gen(function*() {
    yield* Analytics.identify({ userId: "u1", traits: { plan: "Pro", tags: ["a"] } })
    yield* Analytics.track({ userId: "u1", event: "Signed Up", properties: { at: new Date(0) } })
    return yield* Testing.sent
  })
  Effect.runPromise(program.pipe(Effect.provide(Testing.layer()))).then((sent) => console.log(JSON.stringify(sent)))
`
