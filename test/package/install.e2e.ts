/**
 * The package as npm publishes it, installed the way the README says, in a project of its own:
 * what the tarball holds, its declarations under a user's strict compiler settings, the README's first
 * example against a local collector, the installed command line, the optional pieces, and what a user
 * who has the other Effect major sees. Run with `npm run test:package` (needs the npm registry), for
 * the edition `PACKAGE_EDITION` names (test/package/editions.ts): the cases are the same for both
 * editions, with the edition as data, but for the wrong Effect major, which differs (the last two
 * describe blocks). The consumer's code runs on the edition's Node (`consumerNode`: Node 22 for the
 * Effect 4 edition); npm and the compiler are the machine's.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Acorn from "acorn"
import * as Walk from "acorn-walk"
import { Effect } from "effect"
import GithubSlugger from "github-slugger"
import { builtinModules } from "node:module"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { inject } from "vitest"
import { toPackageImports } from "../../scripts/docs.mjs"
import * as Collector from "../../src/Collector.js"
import { consumerEnv, consumerNode, edition, editionPath } from "./editions.js"
import { installArgs, namesPackage } from "./setup.js"
import {
  consumerPackageJson,
  exec,
  execOk,
  includedBlock,
  installLines,
  output,
  readJson,
  readText,
  root,
  section,
  tsc,
  writeFile,
  writeJson
} from "./support.js"

const packed = inject("packed")

/** The setup's result, or a failure that says why there is none. */
const ready = Effect.suspend(() => packed.ok ? Effect.succeed(packed) : Effect.fail(new Error(`setup failed: ${packed.error}`)))

const repoPackage = readJson(Path.join(root, edition.dir, "package.json"))
const publicModules = Object.keys(repoPackage.exports as Record<string, unknown>)
  .filter((key) => key !== "." && key !== "./package.json")
  .map((key) => key.slice(2))

/** Strict settings a careful user has; `skipLibCheck` off so that the shipped declarations are checked. */
const strict = {
  target: "ES2022",
  lib: ["ES2022", "DOM"],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  types: [] as Array<string>
}

/** A file importing every public entry point but the Node-only Collector, so that each declaration is checked. */
const entriesSource = (modules: ReadonlyArray<string>) =>
  [
    `import * as Index from "${edition.name}"`,
    ...modules.map((m) => `import * as ${m} from "${edition.name}/${m}"`),
    "",
    `export const entries = [Index, ${modules.join(", ")}]`,
    ""
  ].join("\n")

const quickStart = includedBlock(readText(edition.readme), "examples/docs/quick-start.ts")

/** Writes the README's first example and the entry-point file into the consumer, with a tsconfig per resolution. */
const prepareSources = (consumer: string) => {
  writeFile(Path.join(consumer, "src", "quick-start.ts"), quickStart)
  writeFile(Path.join(consumer, "src", "entries.ts"), entriesSource(publicModules.filter((m) => m !== "Collector")))
  writeJson(Path.join(consumer, "tsconfig.nodenext.json"), {
    compilerOptions: { ...strict, module: "NodeNext", moduleResolution: "NodeNext", outDir: "out", rootDir: "src" },
    include: ["src"]
  })
  writeJson(Path.join(consumer, "tsconfig.bundler.json"), {
    compilerOptions: { ...strict, module: "ESNext", moduleResolution: "Bundler", noEmit: true },
    include: ["src"]
  })
  writeJson(Path.join(consumer, "tsconfig.node10.json"), {
    compilerOptions: { ...strict, module: "CommonJS", moduleResolution: "Node10", esModuleInterop: true, noEmit: true },
    include: ["src"]
  })
}

/** A program of one line of JavaScript, run by the edition's Node in the consumer. */
const node = (consumer: string, source: string, env: Record<string, string> = {}) =>
  exec(consumerNode(), ["--input-type=module", "-e", source], { cwd: consumer, env: consumerEnv(env), timeout: 60_000 })

/** The installed CLI, with the edition's Node first on the PATH (the bin's `#!/usr/bin/env node` finds it). */
const npx = (consumer: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  exec("npx", [edition.name, ...args], { cwd: consumer, env: consumerEnv(env), timeout: 60_000 })

/** The edition's docs, as paths relative to the edition's root (`docs/cli.md`). */
const docsFiles = () => Fs.readdirSync(Path.join(root, edition.dir, "docs")).filter((f) => f.endsWith(".md"))

/** The relative links of a markdown file, with the file they point at (resolved) and the anchor. */
const relativeLinks = (file: string, text: string) =>
  Array.from(text.matchAll(/\]\(([^)\s]+)\)/g), (m) => m[1]!)
    .filter((target) => !/^[a-z]+:/i.test(target))
    .map((target) => {
      const [path = "", anchor] = target.split("#")
      return { target, path: path === "" ? file : Path.posix.normalize(Path.posix.join(Path.posix.dirname(file), path)), anchor }
    })

const headingSlugs = (markdown: string) => {
  const slugger = new GithubSlugger()
  const slugs = new Set<string>()
  let fenced = false
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
    const heading = !fenced && line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/)
    if (heading) slugs.add(slugger.slug(heading[1]!))
  }
  return slugs
}

describe("the tarball", () => {
  it.live("holds the public modules with declarations and maps, the CLI, README, docs and LICENSE", () =>
    Effect.gen(function*() {
      const { files } = yield* ready
      const has = new Set(files)
      for (const m of ["index", ...publicModules]) {
        for (const ext of [".js", ".js.map", ".d.ts", ".d.ts.map"]) assert.isTrue(has.has(`dist/${m}${ext}`), `dist/${m}${ext}`)
      }
      for (const file of ["package.json", "README.md", "LICENSE", "dist/bin.js", "dist/bin.licenses.txt"]) {
        assert.isTrue(has.has(file), file)
      }
      for (const doc of docsFiles()) {
        assert.isTrue(has.has(`docs/${doc}`), `docs/${doc}`)
      }
    }))

  it.live("exports every public module of src/ (all but the barrel and the CLI entry), with typesVersions for node10", () =>
    Effect.gen(function*() {
      const modules = Fs.readdirSync(Path.join(root, edition.dir, "src"))
        .filter((f) => f.endsWith(".ts") && !["index.ts", "bin.ts"].includes(f))
        .map((f) => f.slice(0, -3))
        .sort()
      assert.deepStrictEqual([...publicModules].sort(), modules, "package.json exports")
      assert.deepStrictEqual(Object.keys(repoPackage.typesVersions["*"]).sort(), modules, "package.json typesVersions")
    }))

  it.live("holds nothing else: no tests, examples, scripts, CLI sources or CLI declarations", () =>
    Effect.gen(function*() {
      const { files } = yield* ready
      const unexpected = files.filter((file) =>
        !["package.json", "README.md", "LICENSE"].includes(file) &&
        !/^docs\/[^/]+\.md$/.test(file) &&
        !/^dist\/.+\.(js|js\.map|d\.ts|d\.ts\.map)$/.test(file) &&
        !/^src\/.+\.ts$/.test(file) &&
        file !== "dist/bin.licenses.txt"
      )
      assert.deepStrictEqual(unexpected, [])
      const cli = files.filter((file) => /^(src|dist)\/(bin\.(ts|d\.ts|js\.map)|internal\/cli\/)/.test(file))
      assert.deepStrictEqual(cli, [], "the CLI ships as dist/bin.js only")
    }))

  it.live("declares main, types, exports without a runnable subpath, bin, MIT, and no dependencies", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const pkg = readJson(Path.join(consumer, "node_modules", edition.name, "package.json"))
      assert.strictEqual(pkg.main, "./dist/index.js")
      assert.strictEqual(pkg.types, "./dist/index.d.ts")
      assert.strictEqual(pkg.license, "MIT")
      assert.strictEqual(pkg.dependencies, undefined, "the package must not make its users install anything but its peers")
      assert.deepStrictEqual(pkg.bin, { [edition.name]: "./dist/bin.js" })
      const targets = Object.values(pkg.exports as Record<string, unknown>).flatMap((v) =>
        typeof v === "string" ? [v] : Object.values(v as Record<string, string>)
      )
      assert.isFalse(targets.some((t) => t.includes("bin")), `an export points at the CLI: ${targets.join(", ")}`)
      assert.isFalse(Object.keys(pkg.exports).some((k) => k.includes("*")), "no pattern exports")
      const license = Fs.readFileSync(Path.join(consumer, "node_modules", edition.name, "LICENSE"), "utf8")
      assert.match(license, /^MIT License/)
    }))

  it.live("every source map points at sources in the tarball", () =>
    Effect.gen(function*() {
      const { consumer, files } = yield* ready
      const has = new Set(files)
      const dir = Path.join(consumer, "node_modules", edition.name)
      const maps = files.filter((f) => f.endsWith(".map"))
      assert.isAbove(maps.length, 0)
      for (const map of maps) {
        const { sources } = readJson(Path.join(dir, map)) as { sources: Array<string> }
        for (const source of sources) {
          const target = Path.posix.normalize(Path.posix.join(Path.posix.dirname(map), source))
          assert.isTrue(has.has(target), `${map} points at ${target}, which is not in the tarball`)
        }
      }
    }))

  it.live("README.md and docs/ link only to files in the tarball, and to headings that exist", () =>
    Effect.gen(function*() {
      const { consumer, files } = yield* ready
      const has = new Set(files)
      const dir = Path.join(consumer, "node_modules", edition.name)
      const markdown = files.filter((f) => f.endsWith(".md"))
      let checked = 0
      for (const file of markdown) {
        for (const link of relativeLinks(file, Fs.readFileSync(Path.join(dir, file), "utf8"))) {
          checked++
          assert.isTrue(has.has(link.path), `${file} links ${link.target}: ${link.path} is not in the tarball`)
          if (link.anchor !== undefined && link.path.endsWith(".md")) {
            const slugs = headingSlugs(Fs.readFileSync(Path.join(dir, link.path), "utf8"))
            assert.isTrue(slugs.has(link.anchor), `${file} links ${link.target}: no such heading in ${link.path}`)
          }
        }
      }
      assert.isAbove(checked, 20, "the link scan found the docs' links")
    }))

  it.live("the CLI is one file that imports nothing but Node's built-in modules", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const bin = Fs.readFileSync(Path.join(consumer, "node_modules", edition.name, "dist", "bin.js"), "utf8")
      assert.isTrue(bin.startsWith("#!/usr/bin/env node\n"))
      const ast = Acorn.parse(bin, { ecmaVersion: "latest", sourceType: "module", allowHashBang: true })
      const builtin = (name: string) => name.startsWith("node:") || builtinModules.includes(name)
      const loaded: Array<string> = []
      Walk.simple(ast, {
        ImportDeclaration: (n) => void loaded.push(String(n.source.value)),
        ExportAllDeclaration: (n) => void loaded.push(String(n.source.value)),
        ImportExpression: (n) => void loaded.push(n.source.type === "Literal" ? String(n.source.value) : "<computed>"),
        CallExpression: (n) => {
          if (n.callee.type === "Identifier" && n.callee.name === "require") {
            const [arg] = n.arguments
            loaded.push(arg?.type === "Literal" ? String(arg.value) : "<computed>")
          }
        }
      })
      assert.isAbove(loaded.length, 0)
      const foreign = [...new Set(loaded)].filter((name) => !builtin(name) && name !== "<computed>")
      assert.deepStrictEqual(foreign, [], "modules the CLI would load from node_modules")
    }))
})

describe("installed with the README's line", () => {
  it.live(`the line gives Effect ${edition.effectMajor} and none of the CLI's dependencies`, () =>
    Effect.gen(function*() {
      const { consumer, installLine } = yield* ready
      // The line names the package's major and the edition's Effect versions; the getting-started
      // guide gives the same lines.
      assert.deepStrictEqual(
        installLine.slice(1).map((w) => w.replace(/@[^@]*$/, "")),
        edition.pins.map((p) => p.name),
        installLine.join(" ")
      )
      for (const pin of edition.pins) {
        const pattern = new RegExp(`^${pin.name.replace("/", "\\/")}@\\^${pin.major}\\.\\d+$`)
        assert.isTrue(installLine.some((w) => pattern.test(w)), `${pattern} in ${installLine.join(" ")}`)
      }
      const range = installLine[0]!.slice(edition.name.length + 2)
      assert.isTrue(installLine[0]!.startsWith(`${edition.name}@^`), installLine[0])
      assert.isTrue(repoPackage.version.startsWith(`${range}.`), `${edition.name} ${repoPackage.version} for the range ^${range}`)
      assert.deepStrictEqual(installLines(section(readText(edition.guide), "Install")), installLines(section(readText(edition.readme), "Install")))
      const version = (name: string) => readJson(Path.join(consumer, "node_modules", name, "package.json")).version as string
      assert.strictEqual(version(edition.name), repoPackage.version)
      for (const name of edition.pins.map((p) => p.name)) {
        const pin = installLine.find((w) => w.startsWith(`${name}@^`))?.slice(name.length + 2) ?? ""
        const [major, minor] = pin.split(".").map(Number)
        const [gotMajor, gotMinor] = version(name).split(".").map(Number)
        assert.isTrue(gotMajor === major && gotMinor! >= minor!, `${name} ${version(name)} for the pin ^${pin}`)
      }
      assert.strictEqual(version("effect").split(".")[0], String(edition.effectMajor))
      for (const absent of ["@effect/cli", "@effect/platform-node", "undici"]) {
        assert.isFalse(Fs.existsSync(Path.join(consumer, "node_modules", absent)), `${absent} was installed`)
      }
    }))

  it.live(`npm on the machine's Node warns EBADENGINE exactly when it is below the edition's engines (node ${edition.engines})`, () =>
    Effect.gen(function*() {
      const { installLog } = yield* ready
      assert.strictEqual(repoPackage.engines.node, edition.engines)
      assert.include(readText(edition.readme), `Node ${edition.engines.replace(/^>=/, "")} or later`)
      const machine = Number(process.versions.node.split(".")[0])
      assert.strictEqual(machine, 20, "the tests run on the machine's Node, which must be Node 20")
      // npm installs anyway (a warning, not an error): the program then runs on whatever Node the user has.
      const warned = installLog.includes(`EBADENGINE   package: '${edition.name}@${repoPackage.version}'`)
      assert.strictEqual(warned, !edition.nodeLines.some((line) => line === machine), installLog)
      if (warned) assert.include(installLog, `EBADENGINE   required: { node: '${edition.engines}' }`)
    }))

  it.live("the declarations type-check with bundler resolution, strict, exactOptionalPropertyTypes, no skipLibCheck", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      prepareSources(consumer)
      const result = yield* tsc("tsconfig.bundler.json", consumer)
      assert.strictEqual(result.code, 0, output(result))
    }))

  if (edition.node10) {
    it.live("the declarations type-check with node10 resolution, strict, exactOptionalPropertyTypes, no skipLibCheck", () =>
      Effect.gen(function*() {
        const { consumer } = yield* ready
        prepareSources(consumer)
        const result = yield* tsc("tsconfig.node10.json", consumer)
        assert.strictEqual(result.code, 0, output(result))
      }))
  } else {
    it.live("with node10 resolution only Effect's own modules fail to resolve (Effect 4 has no types for node10); the package's entry points resolve", () =>
      Effect.gen(function*() {
        const { consumer } = yield* ready
        prepareSources(consumer)
        const result = yield* tsc("tsconfig.node10.json", consumer)
        assert.notStrictEqual(result.code, 0, output(result))
        const errors = result.stdout.split("\n").filter((line) => / error TS\d+: /.test(line))
        assert.isAbove(errors.length, 0, output(result))
        // Every error is TS2307 for `effect` or one of its subpaths, in the package's declarations as in
        // the example; none for the package's own entry points (its typesVersions map them).
        const unresolved = errors.map((line) => line.match(/ error TS2307: Cannot find module '([^']+)'/)?.[1])
        assert.deepStrictEqual(
          errors.filter((_, i) => !/^effect(\/|$)/.test(unresolved[i] ?? "")),
          [],
          "errors other than an unresolved effect module"
        )
        assert.include(result.stdout, "Consider updating to 'node16', 'nodenext', or 'bundler'")
      }))
  }

  it.scopedLive("the declarations type-check with nodenext resolution (strict, exactOptionalPropertyTypes, no skipLibCheck), and the README's first example, compiled so, delivers its events to a local collector", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      prepareSources(consumer)
      const built = yield* tsc("tsconfig.nodenext.json", consumer)
      assert.strictEqual(built.code, 0, output(built))
      assert.isTrue(Fs.existsSync(Path.join(consumer, "out", "quick-start.js")))
      const collector = yield* Collector.make({ writeKey: "first-example-key" })
      const run = yield* exec(consumerNode(), ["out/quick-start.js"], {
        cwd: consumer,
        env: consumerEnv({ ANALYTICS_WRITE_KEY: "first-example-key", ANALYTICS_HOST: collector.url })
      })
      assert.strictEqual(run.code, 0, output(run))
      // The program has ended: its layer's scope closed, so everything it tracked has arrived.
      const messages = yield* collector.messages
      assert.deepStrictEqual(messages.map((m) => m.type), ["identify", "track"])
      const [identify, track] = messages as Array<Record<string, any>>
      assert.strictEqual(identify?.userId, "019mr8mf4r")
      assert.strictEqual(identify?.traits?.name, "Michael Bolton")
      assert.strictEqual(track?.event, "Signed Up")
      assert.deepStrictEqual(track?.properties, { plan: "Enterprise" })
      assert.deepStrictEqual(track?.context?.library, { name: edition.name, version: repoPackage.version })
      assert.deepStrictEqual(yield* collector.rejected, [])
    }))

  it.live("each exported entry point imports without running anything; the CLI, dist and internals are not importable", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      for (const m of ["", ...publicModules.filter((m) => m !== "Collector").map((m) => `/${m}`)]) {
        const result = yield* node(consumer, `await import("${edition.name}${m}")`)
        assert.strictEqual(result.code, 0, `${m}: ${output(result)}`)
        assert.strictEqual(result.stdout + result.stderr, "", `importing ${edition.name}${m} printed something`)
      }
      for (const hidden of ["bin", "bin.js", "dist/bin.js", "dist/index.js", "internal/client", "dist/internal/wire.js", "src/index.ts"]) {
        const result = yield* node(consumer, `await import("${edition.name}/${hidden}")`)
        assert.notStrictEqual(result.code, 0, `${hidden} is importable`)
        assert.include(result.stderr, "ERR_PACKAGE_PATH_NOT_EXPORTED", hidden)
      }
      const required = yield* exec(consumerNode(), ["-e", `console.log(Object.keys(require("${edition.name}")).join(","))`], {
        cwd: consumer,
        env: consumerEnv(),
        timeout: 60_000
      })
      assert.strictEqual(required.code, 0, output(required))
      assert.include(required.stdout, "Analytics")
    }))
})

describe("the installed CLI", () => {
  it.live("--help", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const help = yield* npx(consumer, ["--help"])
      assert.strictEqual(help.code, 0, output(help))
      for (const word of [edition.name, "send", "import"]) assert.include(help.stdout, word)
    }))

  it.scopedLive("send track", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const collector = yield* Collector.make({ writeKey: "cli-key" })
      const sent = yield* npx(consumer, [
        "send",
        "track",
        "--userId",
        "cli-user",
        "--event",
        "CLI Sent",
        "--properties",
        "{\"from\":\"tarball\"}",
        "--host",
        collector.url,
        "--write-key",
        "cli-key"
      ])
      assert.strictEqual(sent.code, 0, output(sent))
      const messages = yield* collector.messages
      assert.strictEqual(messages.length, 1)
      assert.strictEqual(messages[0]?.event, "CLI Sent")
      assert.strictEqual(messages[0]?.userId, "cli-user")
      assert.deepStrictEqual(messages[0]?.properties, { from: "tarball" })
    }))

  it.scopedLive("import of a small NDJSON file", () =>
    Effect.gen(function*() {
      const { consumer } = yield* ready
      const collector = yield* Collector.make({ writeKey: "cli-key" })
      const lines = [
        { type: "identify", userId: "u1", traits: { plan: "Pro" }, messageId: "import-1", timestamp: "2024-05-30T08:00:00.000Z" },
        { type: "track", userId: "u1", event: "Order Completed", properties: { revenue: 39.5 }, messageId: "import-2", timestamp: "2024-06-01T12:00:00.000Z" },
        { type: "page", anonymousId: "a1", name: "Pricing", messageId: "import-3", timestamp: "2024-06-01T12:01:00.000Z" }
      ]
      writeFile(Path.join(consumer, "events.ndjson"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n")
      const imported = yield* npx(consumer, ["import", "events.ndjson", "--quiet", "--host", collector.url, "--write-key", "cli-key"])
      assert.strictEqual(imported.code, 0, output(imported))
      const messages = yield* collector.messages
      assert.deepStrictEqual(messages.map((m) => m.messageId).sort(), ["import-1", "import-2", "import-3"])
      assert.deepStrictEqual(messages.find((m) => m.messageId === "import-2")?.properties, { revenue: 39.5 })
    }))
})

describe("with the optional pieces", () => {
  /** Bare specifiers the docs import that no install line gives: the "before" side of the migration guide. */
  const notInstalled = new Set(["@segment/analytics-node"])

  it.live("the Collector entry point and every code block of README.md and docs/ type-check against the installed package", () =>
    Effect.gen(function*() {
      const { work, tarball } = yield* ready
      const dir = Path.join(work, "optional")
      writeJson(Path.join(dir, "package.json"), consumerPackageJson("optional"))
      const lines = installLines(section(readText(edition.readme), "Install"))
      assert.isAtLeast(lines.length, 4, "the main line and the optional ones")
      const dependencies = lines.filter((l) => !l.includes("-D")).flatMap((l) => installArgs(l, tarball))
      const devDependencies = lines.filter((l) => l.includes("-D")).flatMap((l) => l.filter((w) => w !== "-D"))
      yield* execOk("npm", ["install", ...dependencies, "--no-audit", "--no-fund"], { cwd: dir, timeout: 300_000 })
      // A Node project's own types, at the Node line the package supports; and, with skipLibCheck
      // off, the types that @effect/platform-node 0.x's own declarations import (the Effect 3 guide
      // says so; version 4 depends on @types/ws itself, as the Effect 4 migration guide says).
      yield* execOk("npm", ["install", "-D", ...devDependencies, ...edition.nodeProjectTypes, "--no-audit", "--no-fund"], {
        cwd: dir,
        timeout: 300_000
      })
      const effect = readJson(Path.join(dir, "node_modules", "effect", "package.json")).version as string
      assert.strictEqual(effect.split(".")[0], String(edition.effectMajor), "an optional piece replaced Effect")

      // The blocks as the docs print them (package imports), at their examples/ paths so that their
      // relative imports resolve.
      const blocks = new Map<string, string>()
      for (const file of ["README.md", ...docsFiles().map((f) => `docs/${f}`)]) {
        for (const match of readText(editionPath(file)).matchAll(/<!--\s*include:\s*(\S+)\s*-->/g)) {
          const path = match[1]!
          const source = toPackageImports(readText(editionPath(path)))
          const bare = Array.from(source.matchAll(/from "([^".][^"]*)"/g), (m) => m[1]!.split("/").slice(0, m[1]!.startsWith("@") ? 2 : 1).join("/"))
          if (bare.some((name) => notInstalled.has(name))) continue
          blocks.set(path, source)
        }
      }
      assert.isAbove(blocks.size, 15)
      for (const [path, source] of blocks) writeFile(Path.join(dir, path), source)
      writeFile(Path.join(dir, "examples", "entries.ts"), entriesSource(publicModules))
      writeJson(Path.join(dir, "tsconfig.json"), {
        compilerOptions: { ...strict, types: ["node"], module: "NodeNext", moduleResolution: "NodeNext", noEmit: true },
        include: ["examples"]
      })
      const result = yield* tsc("tsconfig.json", dir)
      assert.strictEqual(result.code, 0, output(result))
      const collector = yield* node(dir, `await import("${edition.name}/Collector")`)
      assert.strictEqual(collector.code, 0, output(collector))
    }))
})

// The wrong Effect major: what goes wrong differs between the editions, and so do the cases. The
// Effect 3 edition's users get Effect 4 from bare installs (npm's latest); the Effect 4 edition's
// users may have Effect 3 already, or the Effect 3 edition's line.
if (edition.key === "effect3") {
  describe("with Effect 4 installed", () => {
    it.live("the README's former line installs Effect 4 with warnings; the import then fails as the guide says; the CLI still runs", () =>
      Effect.gen(function*() {
        const { work, tarball } = yield* ready
        const dir = Path.join(work, "former-line")
        writeJson(Path.join(dir, "package.json"), consumerPackageJson("former-line"))
        const installed = yield* execOk("npm", ["install", tarball, "effect", "@effect/platform", "--no-audit", "--no-fund"], {
          cwd: dir,
          timeout: 300_000
        })
        assert.include(installed.stderr, "ERESOLVE overriding peer dependency")
        const effect = readJson(Path.join(dir, "node_modules", "effect", "package.json")).version as string
        assert.notStrictEqual(effect.split(".")[0], String(edition.effectMajor))
        const imported = yield* node(dir, `await import("${edition.name}")`)
        assert.notStrictEqual(imported.code, 0)
        assert.include(imported.stderr, "ERR_MODULE_NOT_FOUND")
        assert.match(imported.stderr, /node_modules\/effect\/dist\/[A-Za-z]+\.js' imported from /)
        const guide = readText(edition.guide)
        assert.include(guide, "ERR_MODULE_NOT_FOUND")
        assert.include(guide, "ERESOLVE overriding peer dependency")
        const help = yield* npx(dir, ["--help"])
        assert.strictEqual(help.code, 0, output(help))
      }))

    it.live("in a project that has Effect 4, npm refuses the package with ERESOLVE", () =>
      Effect.gen(function*() {
        const { work, tarball, installLine } = yield* ready
        const dir = Path.join(work, "effect-4-project")
        writeJson(Path.join(dir, "package.json"), consumerPackageJson("effect-4-project"))
        yield* execOk("npm", ["install", "effect@^4", "--no-audit", "--no-fund"], { cwd: dir, timeout: 300_000 })
        const refused = yield* exec("npm", ["install", tarball, "@effect/platform@^0.97", "--no-audit", "--no-fund"], { cwd: dir, timeout: 300_000 })
        assert.notStrictEqual(refused.code, 0, output(refused))
        // What npm prints, and how the guide quotes it.
        for (const [printed, quoted] of [
          ["ERESOLVE unable to resolve dependency tree", "ERESOLVE unable to resolve dependency tree"],
          ["Found: effect@4.", "Found: effect@4..."]
        ] as const) {
          assert.include(refused.stderr, printed)
          assert.include(readText(edition.guide), quoted)
        }
        // The fix the guide gives: the install line, which replaces Effect 4.
        const fixed = yield* exec("npm", ["install", ...installArgs(installLine, tarball), "--no-audit", "--no-fund"], { cwd: dir, timeout: 300_000 })
        assert.strictEqual(fixed.code, 0, output(fixed))
        const imported = yield* node(dir, `const m = await import("${edition.name}"); console.log(typeof m.Analytics.track)`)
        assert.strictEqual(imported.stdout.trim(), "function", output(imported))
      }))
  })
}

if (edition.key === "effect4") {
  describe("with Effect 3 installed", () => {
    /** The range of `effect` the package's peer dependency names, which npm prints when it refuses. */
    const peerRange = repoPackage.peerDependencies.effect as string

    it.live("in a project that has Effect 3, npm refuses the package with ERESOLVE, as the guide quotes; the install line replaces Effect 3", () =>
      Effect.gen(function*() {
        const { installLine, tarball, work } = yield* ready
        const dir = Path.join(work, "effect-3-project")
        writeJson(Path.join(dir, "package.json"), consumerPackageJson("effect-3-project"))
        yield* execOk("npm", ["install", "effect@^3", "--no-audit", "--no-fund"], { cwd: dir, timeout: 300_000 })
        const refused = yield* exec("npm", ["install", ...installArgs(installLine.slice(0, 1), tarball), "--no-audit", "--no-fund"], {
          cwd: dir,
          timeout: 300_000
        })
        assert.notStrictEqual(refused.code, 0, output(refused))
        // What npm prints, and how the guide quotes it.
        for (const [printed, quoted] of [
          ["ERESOLVE unable to resolve dependency tree", "ERESOLVE unable to resolve dependency tree"],
          ["Found: effect@3.", "Found: effect@3..."],
          [`peer effect@"${peerRange}" from ${edition.name}@${repoPackage.version}`, `peer effect@"${peerRange}" from ${edition.name}@`]
        ] as const) {
          assert.include(refused.stderr, printed)
          assert.include(readText(edition.guide), quoted)
        }
        assert.isFalse(Fs.existsSync(Path.join(dir, "node_modules", edition.name)), "npm installed the package anyway")
        // The fix the guide gives: the install line, which replaces Effect 3.
        const fixed = yield* exec("npm", ["install", ...installArgs(installLine, tarball), "--no-audit", "--no-fund"], { cwd: dir, timeout: 300_000 })
        assert.strictEqual(fixed.code, 0, output(fixed))
        const effect = readJson(Path.join(dir, "node_modules", "effect", "package.json")).version as string
        assert.strictEqual(effect.split(".")[0], String(edition.effectMajor))
        const imported = yield* node(dir, `const m = await import("${edition.name}"); console.log(typeof m.Analytics.track)`)
        assert.strictEqual(imported.stdout.trim(), "function", output(imported))
      }))

    it.live("in a project on the Effect 3 edition's line, the install line stops with ERESOLVE until @effect/platform is removed, as the migration guide says", () =>
      Effect.gen(function*() {
        const { installLine, tarball, work } = yield* ready
        const dir = Path.join(work, "effect-3-edition-project")
        writeJson(Path.join(dir, "package.json"), consumerPackageJson("effect-3-edition-project"))
        // The Effect 3 edition's line (the root README's), without the package, which is not published here.
        const [former] = installLines(section(readText("README.md"), "Install"))
        const peers = (former ?? []).filter((w) => !namesPackage(w))
        assert.deepStrictEqual(peers.map((w) => w.replace(/@[^@]*$/, "")), ["effect", "@effect/platform"], (former ?? []).join(" "))
        yield* execOk("npm", ["install", ...peers, "--no-audit", "--no-fund"], { cwd: dir, timeout: 300_000 })
        const refused = yield* exec("npm", ["install", ...installArgs(installLine, tarball), "--no-audit", "--no-fund"], {
          cwd: dir,
          timeout: 300_000
        })
        assert.notStrictEqual(refused.code, 0, output(refused))
        for (const printed of ["ERESOLVE could not resolve", "from @effect/platform@0.", `Conflicting peer dependency: effect@4.`]) {
          assert.include(refused.stderr, printed)
        }
        // The fix the migration guide gives, in one shell block: remove @effect/platform (the Effect 4
        // edition's HTTP client is in effect itself), then the install line.
        const blocks = Array.from(readText(edition.migration).matchAll(/```sh\n([\s\S]*?)```/g), (m) => m[1]!.split("\n").map((l) => l.replace(/#.*$/, "").trim()))
        assert.isTrue(
          blocks.some((lines) => {
            const uninstall = lines.indexOf("npm uninstall @effect/platform")
            return uninstall >= 0 && lines.indexOf(`npm install ${installLine.join(" ")}`) > uninstall
          }),
          `${edition.migration} has no block with \`npm uninstall @effect/platform\` then \`npm install ${installLine.join(" ")}\``
        )
        yield* execOk("npm", ["uninstall", "@effect/platform", "--no-audit", "--no-fund"], { cwd: dir, timeout: 300_000 })
        const fixed = yield* exec("npm", ["install", ...installArgs(installLine, tarball), "--no-audit", "--no-fund"], { cwd: dir, timeout: 300_000 })
        assert.strictEqual(fixed.code, 0, output(fixed))
        const imported = yield* node(dir, `const m = await import("${edition.name}"); console.log(typeof m.Analytics.track)`)
        assert.strictEqual(imported.stdout.trim(), "function", output(imported))
      }))
  })
}
