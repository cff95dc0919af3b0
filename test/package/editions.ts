/**
 * The packages this repository publishes, each packed and installed as a user would by the tests
 * under test/package and test/runtimes: the Effect 3 edition (the repository's root, version 0.x) and
 * the Effect 4 edition (effect4/, version 1.x). Both have the same name on npm, so an edition is
 * selected by its key: CI runs `npm run test:package` once per edition with
 * `PACKAGE_EDITION=effect3` and `PACKAGE_EDITION=effect4` (see .ci/run).
 */
import * as Path from "node:path"
import { executable } from "../runtimes/binaries.js"
import { userEnv } from "./support.js"

export interface Edition {
  /** What `PACKAGE_EDITION` names it by. */
  readonly key: "effect3" | "effect4"
  /** The package's name on npm (and its bin's name). */
  readonly name: string
  /** Its root, relative to the repository's (where its package.json, src/, docs/ and examples/ are). */
  readonly dir: string
  /** Its README, relative to the repository's root: its install line is what the tests install. */
  readonly readme: string
  /** Its getting-started guide, relative to the repository's root, which repeats the install lines. */
  readonly guide: string
  /** Its migration guide, relative to the repository's root. */
  readonly migration: string
  /** The major version of `effect` its install line must give. */
  readonly effectMajor: number
  /**
   * The packages the install line pins besides the package itself, in its order, each with the major
   * version its range must name (`effect@^3.22` is major 3).
   */
  readonly pins: ReadonlyArray<{ readonly name: string; readonly major: number }>
  /**
   * The Node that runs the consumer's code (the compiled example, `node -e`, the installed CLI): the
   * machine's (this process's, Node 20), or Node 22 from test/runtimes, for an edition that needs it.
   */
  readonly node: "machine" | "node22"
  /** The Node major versions the docs name: the README's first example runs on each. */
  readonly nodeLines: ReadonlyArray<20 | 22>
  /** The `engines.node` its package.json declares (npm on an older Node warns `EBADENGINE`). */
  readonly engines: string
  /**
   * The types a Node project of its users installs besides the optional pieces: `@types/node` at the
   * Node line the edition supports, and what the docs say `skipLibCheck: false` needs (`@types/ws`
   * for `@effect/platform-node` 0.x; version 4 depends on it itself).
   */
  readonly nodeProjectTypes: ReadonlyArray<string>
  /**
   * Whether its Effect resolves under TypeScript's `moduleResolution: "node10"`. Effect 4 ships no
   * `types` and no `typesVersions` (only `exports`), so under node10 neither `effect` nor its subpaths
   * resolve, in a user's code as in the package's declarations.
   */
  readonly node10: boolean
}

export const editions: ReadonlyArray<Edition> = [
  {
    key: "effect3",
    name: "analytics-effect",
    dir: ".",
    readme: "README.md",
    guide: "docs/getting-started.md",
    migration: "docs/migration.md",
    effectMajor: 3,
    pins: [{ name: "effect", major: 3 }, { name: "@effect/platform", major: 0 }],
    node: "machine",
    nodeLines: [20, 22],
    engines: ">=20",
    nodeProjectTypes: ["@types/node@^20", "@types/ws"],
    node10: true
  },
  {
    key: "effect4",
    name: "analytics-effect",
    dir: "effect4",
    readme: "effect4/README.md",
    guide: "effect4/docs/getting-started.md",
    migration: "effect4/docs/migration.md",
    effectMajor: 4,
    pins: [{ name: "effect", major: 4 }],
    node: "node22",
    nodeLines: [22],
    engines: ">=22.19",
    nodeProjectTypes: ["@types/node@^22"],
    node10: false
  }
]

const selected = process.env.PACKAGE_EDITION

/** The edition under test: `PACKAGE_EDITION` (a key), or the first. */
export const edition: Edition = (() => {
  const found = selected === undefined ? editions[0] : editions.find((e) => e.key === selected)
  if (found === undefined) throw new Error(`PACKAGE_EDITION=${selected} is none of ${editions.map((e) => e.key).join(", ")}`)
  return found
})()

/** A path of the edition's, relative to the repository's root (`docs/cli.md` is `effect4/docs/cli.md` for effect4). */
export const editionPath = (path: string) => Path.posix.join(edition.dir, path)

/** The Node executable that runs the consumer's code for this edition. */
export const consumerNode = (): string => edition.node === "machine" ? process.execPath : executable("node22")

/**
 * A user's environment (`userEnv`) in which `node` is the edition's Node: its directory first on the
 * PATH, so that `npx analytics-effect` (whose bin starts with `#!/usr/bin/env node`) runs on it.
 */
export const consumerEnv = (extra: Record<string, string> = {}): Record<string, string> => {
  const env = userEnv(extra)
  if (edition.node === "machine") return env
  return { ...env, PATH: [Path.dirname(consumerNode()), env.PATH ?? ""].join(Path.delimiter) }
}
