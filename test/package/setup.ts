/**
 * Global setup of the packed-install and runtime tests: `npm pack` of the edition under test
 * (`PACKAGE_EDITION`, test/package/editions.ts; `npm pack` runs `prepack`, the build) into a temporary
 * directory, then a consumer project there with its README's install line, the package word replaced
 * by the tarball. Every test file reads the result with `inject("packed")`.
 *
 * It never throws: a failure is handed to the tests, so that each of them fails with the reason
 * instead of the run ending with no test at all.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect } from "effect"
import type { TestProject } from "vitest/node"
import { edition } from "./editions.js"
import { consumerPackageJson, execOk, installLines, readText, root, section, userEnv, writeJson } from "./support.js"

/** What the setup made, or why it could not. */
export type Packed =
  | {
    readonly ok: true
    /** The temporary directory everything lives in. */
    readonly work: string
    readonly tarball: string
    /** The paths in the tarball, relative to the package root, as `npm pack --json` lists them. */
    readonly files: ReadonlyArray<string>
    /** The README's install line, as arguments after `npm install`. */
    readonly installLine: ReadonlyArray<string>
    /** A project with the package installed by that line. */
    readonly consumer: string
    /** What that `npm install` (the machine's npm, on the machine's Node) printed on stderr. */
    readonly installLog: string
  }
  | { readonly ok: false; readonly error: string }

declare module "vitest" {
  export interface ProvidedContext {
    packed: Packed
  }
}

/** Whether an install word names the package, bare or with a version range (`analytics-effect@^0.2`). */
export const namesPackage = (word: string) => word === edition.name || word.startsWith(`${edition.name}@`)

/** The README's install line, with the package (bare or with its range) replaced by a tarball. */
export const installArgs = (line: ReadonlyArray<string>, tarball: string) =>
  line.map((word) => (namesPackage(word) ? tarball : word))

const prepare = Effect.gen(function*() {
  const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), `${edition.name}-${edition.key}-packed-`))
  const packed = yield* execOk("npm", ["pack", "--pack-destination", work, "--json"], {
    cwd: Path.join(root, edition.dir),
    env: userEnv(),
    timeout: 300_000
  })
  const [report] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  if (report === undefined) return yield* Effect.fail(new Error(`npm pack printed no report:\n${packed.stdout}`))
  const tarball = Path.join(work, report.filename)

  const [installLine] = installLines(section(readText(edition.readme), "Install"))
  if (installLine === undefined || !namesPackage(installLine[0] ?? "")) {
    return yield* Effect.fail(new Error(`the first install line of ${edition.readme} does not install ${edition.name}`))
  }
  const consumer = Path.join(work, "consumer")
  writeJson(Path.join(consumer, "package.json"), consumerPackageJson("consumer"))
  const installed = yield* execOk("npm", ["install", ...installArgs(installLine, tarball), "--no-audit", "--no-fund"], {
    cwd: consumer,
    timeout: 300_000
  })
  return {
    ok: true,
    work,
    tarball,
    files: report.files.map((f) => f.path),
    installLine,
    consumer,
    installLog: installed.stderr
  } as const
})

export default async function setup(project: TestProject) {
  const packed: Packed = await Effect.runPromise(
    prepare.pipe(Effect.catchAll((error) => Effect.succeed({ ok: false, error: String(error) } as const)))
  )
  project.provide("packed", packed)
  return () => {
    if (packed.ok && process.env.KEEP_PACKED === undefined) Fs.rmSync(packed.work, { recursive: true, force: true })
  }
}
