/**
 * The packages this repository publishes, each packed and installed as a user would by the tests
 * under test/package and test/runtimes. Today one edition, for Effect 3; a second edition (for
 * Effect 4) adds an entry, and CI runs `npm run test:package` once per edition with
 * `PACKAGE_EDITION=<name>` (see .ci/run).
 */
export interface Edition {
  /** The package's name on npm (and its bin's name). */
  readonly name: string
  /** Its root, relative to the repository's (where its package.json is). */
  readonly dir: string
  /** Its README, relative to the repository's root: its install line is what the tests install. */
  readonly readme: string
  /** Its getting-started guide, which repeats the install lines. */
  readonly guide: string
  /** The major version of `effect` its install line must give. */
  readonly effectMajor: number
}

export const editions: ReadonlyArray<Edition> = [
  { name: "analytics-effect", dir: ".", readme: "README.md", guide: "docs/getting-started.md", effectMajor: 3 }
]

const selected = process.env.PACKAGE_EDITION

/** The edition under test: `PACKAGE_EDITION`, or the first. */
export const edition: Edition = (() => {
  const found = selected === undefined ? editions[0] : editions.find((e) => e.name === selected)
  if (found === undefined) throw new Error(`PACKAGE_EDITION=${selected} is none of ${editions.map((e) => e.name).join(", ")}`)
  return found
})()
