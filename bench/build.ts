/**
 * Transpiles `src/` and `bench/` (TypeScript, one file to one file, no type checking) into a cache
 * directory under `node_modules/.cache`, so the benchmark's child processes run as plain `node` on
 * JavaScript, the way a deployed service runs: no TypeScript loader thread, no on-the-fly transforms
 * inflating start-up, CPU and memory. Bare imports still resolve to the project's `node_modules`.
 * External source maps are written so CPU profiles can be mapped back to the `.ts` lines.
 */
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as path from "node:path"

const tsFiles = (dir: string): Array<string> => {
  const out: Array<string> = []
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".") || name === "profiles") continue
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) out.push(...tsFiles(full))
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(full)
  }
  return out
}

/** Returns the output directory; `bench/drivers/raw.ts` becomes `<out>/bench/drivers/raw.js`. */
export const buildBench = async (root: string): Promise<string> => {
  const outdir = path.join(root, "node_modules", ".cache", "analytics-effect-bench")
  rmSync(outdir, { recursive: true, force: true })
  mkdirSync(outdir, { recursive: true })
  writeFileSync(path.join(outdir, "package.json"), JSON.stringify({ type: "module", private: true }))
  await build({
    entryPoints: [...tsFiles(path.join(root, "src")), ...tsFiles(path.join(root, "bench"))],
    outbase: root,
    outdir,
    bundle: false,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "external",
    sourcesContent: false,
    logLevel: "warning"
  })
  return outdir
}

/**
 * The Effect 4 edition's driver (`effect4/bench/driver.ts`), bundled with that edition's sources and
 * the shared `bench/drivers/common.ts` into one file under `effect4/node_modules/.cache`, packages
 * left as imports: placed there, `effect` and `@effect/platform-node` resolve to the Effect 4 edition's
 * own `node_modules`, as they would in an application on Effect 4. (One bundled file instead of one
 * file per module: the library's ~40 modules load a few milliseconds sooner; the packages, where the
 * time goes, load exactly as the Effect 3 driver's do.) Returns the bundle's path.
 */
export const buildBenchEffect4 = async (root: string): Promise<string> => {
  const edition = path.join(root, "effect4")
  execFileSync(process.execPath, [path.join(edition, "scripts", "core.mjs")], { stdio: "inherit" })
  const outdir = path.join(edition, "node_modules", ".cache", "analytics-effect-bench")
  rmSync(outdir, { recursive: true, force: true })
  mkdirSync(outdir, { recursive: true })
  writeFileSync(path.join(outdir, "package.json"), JSON.stringify({ type: "module", private: true }))
  const outfile = path.join(outdir, "driver.js")
  await build({
    entryPoints: [path.join(edition, "bench", "driver.ts")],
    outfile,
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "node",
    target: "node22",
    sourcemap: "external",
    sourcesContent: false,
    logLevel: "warning"
  })
  return outfile
}
