// Builds dist/, what the Effect 4 edition ships:
//
// - the library: every module under src/ but the command line, compiled by tsc with its declarations
//   and their maps (tsconfig.build.json);
// - the command line: src/bin.ts and everything it imports, effect (its `effect/cli` included) and
//   @effect/platform-node included, bundled by esbuild into one self-contained dist/bin.js, with the
//   licenses of the bundled packages beside it (dist/bin.licenses.txt). The installed CLI needs nothing
//   but Node, and an application that installs the package for the library installs none of the
//   CLI's dependencies.
//
// dist/ is emptied first, so that nothing left by an earlier build is packed. The shared core and
// src/internal/version.ts are copied and written by scripts/core.mjs, which `npm run build` runs first.
//
//   node scripts/build.mjs
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")

/** What one edition of the package is built from. */
const edition = {
  tsconfig: "tsconfig.build.json",
  outDir: "dist",
  cli: { entry: "src/bin.ts", outfile: "dist/bin.js", licenses: "dist/bin.licenses.txt" }
}

const fail = (message) => {
  console.error(`build: ${message}`)
  process.exit(1)
}

/**
 * Compiles the library with the project's TypeScript. tsc emits even when it reports type errors; the
 * build goes on (so that the CLI is still bundled for the tests) and fails at the end.
 */
const compileLibrary = () => {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  const result = spawnSync(process.execPath, [tsc, "-p", edition.tsconfig], { cwd: root, stdio: "inherit" })
  return result.status === 0
}

// The bundle is an ES module, but some bundled packages are CommonJS and `require` Node's built-in
// modules: give them a `require`.
const requireShim = `import { createRequire as __analyticsCreateRequire } from "node:module";\n` +
  `const require = __analyticsCreateRequire(import.meta.url);`

/** Bundles the command line into one file that imports nothing but Node's built-in modules. */
const bundleCli = async () => {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [edition.cli.entry],
    outfile: edition.cli.outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    minify: true,
    legalComments: "none",
    banner: { js: requireShim },
    metafile: true,
    logLevel: "warning"
  })
  chmodSync(join(root, edition.cli.outfile), 0o755)
  return result.metafile
}

/** The directory of the package that a bundled input file belongs to (the innermost node_modules). */
const packageDirOf = (input) => {
  const match = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//)
  return match === null ? undefined : match[1]
}

const licenseFileOf = (dir) =>
  readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(name))

/** The license notices of every package bundled into the CLI, as one text file. */
const writeLicenses = (metafile) => {
  const dirs = new Set()
  for (const input of Object.keys(metafile.inputs)) {
    const dir = packageDirOf(input)
    if (dir !== undefined) dirs.add(dir)
  }
  const sections = []
  for (const dir of [...dirs].sort()) {
    const full = join(root, dir)
    const pkg = JSON.parse(readFileSync(join(full, "package.json"), "utf8"))
    if (typeof pkg.license !== "string") fail(`${pkg.name} is bundled into the CLI but declares no license`)
    const file = licenseFileOf(full)
    const text = file === undefined ? `(no license file in the package; its license field: ${pkg.license})` : readFileSync(join(full, file), "utf8").trim()
    sections.push(`${pkg.name}@${pkg.version} (${pkg.license})\n\n${text}`)
  }
  const header = `The command line (bin.js) bundles the following packages. Their license notices follow.\n`
  writeFileSync(join(root, edition.cli.licenses), [header, ...sections].join(`\n\n${"-".repeat(78)}\n\n`) + "\n")
  return sections.length
}

rmSync(join(root, edition.outDir), { recursive: true, force: true })
mkdirSync(join(root, edition.outDir), { recursive: true })
const compiled = compileLibrary()
if (existsSync(join(root, edition.outDir, "bin.js"))) fail("tsc emitted bin.js: src/bin.ts must stay out of the library build")
const metafile = await bundleCli()
const bundled = writeLicenses(metafile)
const externals = metafile.outputs[relative(root, join(root, edition.cli.outfile))]?.imports.map((i) => i.path) ?? []
const notBuiltin = externals.filter((path) => !path.startsWith("node:"))
if (notBuiltin.length > 0) fail(`the CLI bundle still imports ${notBuiltin.join(", ")}`)
if (!compiled) fail(`tsc -p ${edition.tsconfig} reported errors`)
console.error(`build: ${edition.outDir}/ written; the CLI bundles ${bundled} packages`)
