/**
 * The packed package on every runtime the docs name, each run against a local collector that checks
 * what arrives: the README's first example, unchanged, on the Node lines the edition supports (20 and
 * 22 for the Effect 3 edition; 22 for the Effect 4 edition, which needs Node 22.19), Bun and Deno
 * (through their `fetch`), and docs/serverless.md's Worker on workerd, Cloudflare's Workers runtime (a
 * client per request that delivers before the response goes out). The edition is `PACKAGE_EDITION`'s
 * (test/package/editions.ts).
 *
 * The installed package's main entry point, with its dependencies as npm installed them, is also
 * bundled for esbuild's neutral platform and scanned, as neutral.test.ts does for the Effect 3
 * edition's sources.
 *
 * Node and Deno run with V8's `--disallow-code-generation-from-strings`, and workerd forbids `eval`
 * and `new Function` itself: a dependency that generates code at import time or on the call path
 * fails these tests. The Worker is bundled for the browser platform, where a `node:*` import does not
 * resolve. Run with `npm run test:package` after `npm run runtimes:install`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { build, transform } from "esbuild"
import * as Path from "node:path"
import { inject } from "vitest"
import { toPackageImports } from "../../scripts/docs.mjs"
import * as Collector from "../../src/Collector.js"
import { consumerNode, edition, editionPath } from "../package/editions.js"
import { installArgs } from "../package/setup.js"
import { consumerPackageJson, exec, execOk, includedBlock, output, readText, service, userEnv, writeFile, writeJson } from "../package/support.js"
import { executable, pinned, type Runtime } from "./binaries.js"
import { bundled, bundledPackages, bundleNeutral, deliveryProgram, describeFindings, dynamicCode, nodeOnlyPackages } from "./neutral.js"

const packed = inject("packed")
const ready = Effect.suspend(() => packed.ok ? Effect.succeed(packed) : Effect.fail(new Error(`setup failed: ${packed.error}`)))

const writeKey = "runtime-key"
const quickStart = includedBlock(readText(edition.readme), "examples/docs/quick-start.ts")
const version = JSON.parse(readText(Path.join(edition.dir, "package.json"))).version as string

/** The version a runtime's executable reports, checked against the pinned package. */
const checkVersion = (runtime: Runtime, file: string, expected: RegExp) =>
  Effect.gen(function*() {
    const result = yield* execOk(file, ["--version"], { cwd: Path.dirname(file), timeout: 60_000 })
    assert.match(result.stdout, expected, `${runtime} ${pinned(runtime)}: ${output(result)}`)
  })

/** Runs the README's first example with `command` against a fresh collector; checks what arrived. */
const firstExample = (command: (collector: string) => { file: string; args: Array<string>; cwd: string; env?: Record<string, string> }) =>
  Effect.gen(function*() {
    const collector = yield* Collector.make({ writeKey })
    const { args, cwd, env = {}, file } = command(collector.url)
    const run = yield* exec(file, args, {
      cwd,
      env: userEnv({ ANALYTICS_WRITE_KEY: writeKey, ANALYTICS_HOST: collector.url, ...env }),
      timeout: 120_000
    })
    assert.strictEqual(run.code, 0, output(run))
    // The program has ended, so its layer's scope has closed and its events have arrived.
    const messages = yield* collector.messages
    assert.deepStrictEqual(messages.map((m) => m.type), ["identify", "track"], output(run))
    assert.strictEqual(messages[1]?.event, "Signed Up")
    assert.deepStrictEqual(messages[1]?.context, { library: { name: edition.name, version } })
    assert.deepStrictEqual(yield* collector.rejected, [])
  })

/** The README's first example in a directory of the consumer, as TypeScript and as JavaScript. */
const writeFirstExample = (dir: string) =>
  Effect.promise(async () => {
    writeFile(Path.join(dir, "quick-start.ts"), quickStart)
    const js = await transform(quickStart, { loader: "ts", format: "esm", target: "es2022" })
    writeFile(Path.join(dir, "quick-start.mjs"), js.code)
  })

describe("the README's first example", () => {
  // Only where the edition's engines include Node 20 (the Effect 4 edition's are >=22.19, and
  // install.e2e.ts checks that npm on Node 20 warns EBADENGINE for it).
  if (edition.nodeLines.includes(20)) {
    it.scopedLive("on Node 20", () =>
      Effect.gen(function*() {
        const { consumer } = yield* ready
        assert.match(process.version, /^v20\./, "the tests run on the machine's Node, which must be Node 20")
        const dir = Path.join(consumer, "rt-node20")
        yield* writeFirstExample(dir)
        yield* firstExample(() => ({
          file: process.execPath,
          args: ["--disallow-code-generation-from-strings", "quick-start.mjs"],
          cwd: dir
        }))
      }))
  }

  it.scopedLive("on Node 22 (the TypeScript file, through Node's type stripping)", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const node22 = executable("node22")
      yield* checkVersion("node22", node22, new RegExp(`^v${pinned("node22").replaceAll(".", "\\.")}\\n`))
      const dir = Path.join(consumer, "rt-node22")
      yield* writeFirstExample(dir)
      yield* firstExample(() => ({
        file: node22,
        args: ["--disallow-code-generation-from-strings", "--no-warnings", "quick-start.ts"],
        cwd: dir
      }))
    }))

  it.scopedLive("on Bun, installed with `bun add` and the README's pins", () =>
    Effect.gen(function*() {
      const { installLine, tarball, work } = yield* ready
      const bun = executable("bun")
      yield* checkVersion("bun", bun, new RegExp(`^${pinned("bun").replaceAll(".", "\\.")}\\n`))
      const dir = Path.join(work, "bun-consumer")
      writeJson(Path.join(dir, "package.json"), consumerPackageJson("bun-consumer"))
      yield* execOk(bun, ["add", ...installArgs(installLine, tarball)], {
        cwd: dir,
        env: userEnv({ BUN_INSTALL_CACHE_DIR: Path.join(work, "bun-cache"), DO_NOT_TRACK: "1" }),
        timeout: 180_000
      })
      yield* writeFirstExample(dir)
      yield* firstExample(() => ({ file: bun, args: ["quick-start.ts"], cwd: dir, env: { DO_NOT_TRACK: "1" } }))
    }))

  it.scopedLive("on Deno, in the npm-installed project, with the permissions the docs give", () =>
    Effect.gen(function*() {
      const { consumer, work } = yield* ready
      const deno = executable("deno")
      yield* checkVersion("deno", deno, new RegExp(`^deno ${pinned("deno").replaceAll(".", "\\.")} `))
      const dir = Path.join(consumer, "rt-deno")
      yield* writeFirstExample(dir)
      yield* firstExample((collector) => ({
        file: deno,
        args: [
          "run",
          "--no-prompt",
          `--allow-net=${new URL(collector).host}`,
          "--allow-env",
          "--v8-flags=--disallow-code-generation-from-strings",
          "rt-deno/quick-start.ts"
        ],
        cwd: consumer,
        env: { DENO_DIR: Path.join(work, "deno-dir"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }
      }))
    }))
})

/** workerd's configuration: the Worker, its bindings, one socket on an ephemeral loopback port, and an outbound network limited to loopback. */
const workerdConfig = (bindings: Record<string, string>) => `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["127.0.0.1/32"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  bindings = [${Object.entries(bindings).map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`).join(", ")}],
  globalOutbound = "loopback",
);
`

describe("docs/serverless.md's Worker", () => {
  it.scopedLive("on workerd: each request tracks, and its event has arrived when the response does", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const workerd = executable("workerd")
      const date = pinned("workerd").split(".")[1]!.replace(/^(\d{4})(\d{2})(\d{2})$/, "$1-$2-$3")
      yield* checkVersion("workerd", workerd, new RegExp(`^workerd ${date}\\n`))
      const collector = yield* Collector.make({ writeKey })

      // The handler as the docs print it, bundled from the installed package for the Workers platform.
      const dir = Path.join(consumer, "rt-workerd")
      writeFile(Path.join(dir, "worker.ts"), toPackageImports(readText(editionPath("examples/docs/serverless-workers.ts"))))
      yield* Effect.promise(() =>
        build({
          absWorkingDir: consumer,
          entryPoints: [Path.join(dir, "worker.ts")],
          outfile: Path.join(dir, "worker.js"),
          bundle: true,
          format: "esm",
          platform: "browser",
          conditions: ["workerd", "worker", "browser"],
          target: "es2022",
          logLevel: "error"
        })
      )
      writeFile(Path.join(dir, "config.capnp"), workerdConfig({ ANALYTICS_WRITE_KEY: writeKey, ANALYTICS_HOST: collector.url }))

      const server = yield* service(workerd, ["serve", "config.capnp", "--control-fd=3"], { cwd: dir })
      const listen = JSON.parse(yield* server.control) as { event: string; port: number }
      assert.strictEqual(listen.event, "listen", server.output())

      for (const [i, path] of ["/pricing", "/docs/install"].entries()) {
        const response = yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${listen.port}${path}`, { headers: { "x-anonymous-id": `visitor-${i}` } })
        )
        const body = yield* Effect.promise(() => response.text())
        assert.strictEqual(response.status, 200, `${body}\n${server.output()}`)
        assert.strictEqual(body, `tracked ${path}\n`)
        // No waiting: the Worker delivered before it responded.
        const messages = yield* collector.messages
        assert.strictEqual(messages.length, i + 1, server.output())
        const last = messages[i]!
        assert.strictEqual(last.event, "Page Requested")
        assert.strictEqual(last.anonymousId, `visitor-${i}`)
        assert.deepStrictEqual(last.properties, { path })
      }
      assert.deepStrictEqual(yield* collector.rejected, [])
      assert.notMatch(server.output(), /not tracked|Uncaught|Error/, server.output())
    }))
})

describe("the installed package is runtime-neutral", () => {
  /** The consumer's main entry point and its dependencies, as npm installed them, bundled for a platform without Node built-ins. */
  const bundleInstalled = (consumer: string, contents: string) =>
    bundleNeutral(contents, { resolveDir: consumer, absWorkingDir: consumer })

  it.live("its main entry point bundles for a platform without Node built-ins, with no Node-only package, no Collector and no CLI", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const { inputs } = bundled(yield* bundleInstalled(consumer, `export * from "${edition.name}"`))
      const own = inputs.filter((i) => i.startsWith(`node_modules/${edition.name}/`))
      assert.isAbove(own.length, 10, inputs.join("\n"))
      for (const nodeOnly of ["Collector.js", "bin.js"]) assert.notInclude(own, `node_modules/${edition.name}/dist/${nodeOnly}`)
      assert.deepStrictEqual(own.filter((i) => i.includes("/internal/cli/")), [])
      const packages = bundledPackages(inputs)
      assert.isTrue(packages.has("effect"), [...packages].join(", "))
      for (const nodeOnly of nodeOnlyPackages) assert.isFalse(packages.has(nodeOnly), `${nodeOnly} is in the core's graph`)
    }))

  it.live("its code, dependencies included, neither evaluates strings nor loads modules at run time", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const { code } = bundled(yield* bundleInstalled(consumer, `export * from "${edition.name}"`))
      assert.deepStrictEqual(describeFindings(code, dynamicCode(code)), [])
    }))

  it.live(`bundled so, it imports, validates, encodes and delivers on ${edition.node === "machine" ? "the machine's Node" : "Node 22"} with code generation from strings disabled`, () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const { code } = bundled(yield* bundleInstalled(consumer, deliveryProgram(edition.name)))
      const file = Path.join(consumer, "rt-neutral", "entry.mjs")
      writeFile(file, code)
      const run = yield* exec(consumerNode(), ["--disallow-code-generation-from-strings", file], { cwd: consumer, timeout: 60_000 })
      assert.strictEqual(run.code, 0, output(run))
      const sent = JSON.parse(run.stdout) as Array<Record<string, any>>
      assert.deepStrictEqual(sent.map((m) => m.type), ["identify", "track"])
      assert.strictEqual(sent[1]?.properties?.at, "1970-01-01T00:00:00.000Z")
      assert.deepStrictEqual(sent[1]?.context?.library, { name: edition.name, version })
    }))
})
