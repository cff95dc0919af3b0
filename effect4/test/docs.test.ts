// The code blocks of this edition's README.md and docs/ must be the type-checked files under
// examples/ they include (the repository's scripts/docs.mjs, shared by both editions, run with
// `--root` on this directory). This test fails when the docs drift from their examples, and checks
// that the check itself catches drift, uncovered TypeScript blocks and missing files.
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** This edition's directory (effect4/), whose README.md and docs/ are checked. */
const root = join(dirname(fileURLToPath(import.meta.url)), "..")
/** The check, at the repository's root: plain Node, the same for both editions. */
const script = join(root, "..", "scripts", "docs.mjs")

const run = (...args: Array<string>) => {
  const result = spawnSync(process.execPath, [script, ...args], { encoding: "utf8" })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

/** A throw-away project with the given files; removed after `use`. */
const withProject = (files: Record<string, string>, use: (dir: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), "docs-check-"))
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true })
      writeFileSync(join(dir, path), text)
    }
    use(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const example = `import { Analytics } from "../../src/index.js"\nimport * as Testing from "../../src/Testing.js"\n\nexport const x = [Analytics, Testing]\n`
const rendered = "```ts\nimport { Analytics } from \"analytics-effect\"\nimport * as Testing from \"analytics-effect/Testing\"\n\nexport const x = [Analytics, Testing]\n```"
const included = (block: string) =>
  `# Title\n\n<!-- include: examples/docs/x.ts -->\n${block}\n<!-- /include -->\n\n\`\`\`sh\nnpm test\n\`\`\`\n`

describe("docs", () => {
  it("README.md and docs/*.md match the examples they include", () => {
    const result = run("--check", "--root", root)
    assert.strictEqual(result.status, 0, result.output)
    assert.match(result.output, /docs check: \d+ markdown files in sync/)
  })

  it("the README keeps the two set-up commands", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8")
    assert.include(readme, "npm ci && npm run demo")
    assert.include(readme, "npm ci && npm test")
  })

  it("the README's link to the way from the Effect 3 edition lands on a section of the migration guide", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8")
    assert.include(readme, "(docs/migration.md#from-the-effect-3-edition-0x)")
    const migration = readFileSync(join(root, "docs", "migration.md"), "utf8")
    assert.include(migration.split("\n"), "## From the Effect 3 edition (0.x)")
  })

  it("--check passes on blocks in sync, with imports rewritten to the package's", () => {
    withProject({ "examples/docs/x.ts": example, "docs/a.md": included(rendered) }, (dir) => {
      const result = run("--check", "--root", dir)
      assert.strictEqual(result.status, 0, result.output)
    })
  })

  it("--check fails when a block differs from its file, and --write repairs it", () => {
    const stale = rendered.replace("export const x", "export const y")
    withProject({ "examples/docs/x.ts": example, "README.md": included(stale) }, (dir) => {
      const check = run("--check", "--root", dir)
      assert.strictEqual(check.status, 1)
      assert.include(check.output, "README.md:3: the block differs from examples/docs/x.ts")

      const write = run("--write", "--root", dir)
      assert.strictEqual(write.status, 0, write.output)
      assert.strictEqual(readFileSync(join(dir, "README.md"), "utf8"), included(rendered))
      assert.strictEqual(run("--check", "--root", dir).status, 0)
    })
  })

  it("--write fills an empty include", () => {
    withProject({ "examples/docs/x.ts": example, "docs/a.md": "<!-- include: examples/docs/x.ts -->\n<!-- /include -->\n" }, (dir) => {
      assert.strictEqual(run("--write", "--root", dir).status, 0)
      assert.strictEqual(
        readFileSync(join(dir, "docs/a.md"), "utf8"),
        `<!-- include: examples/docs/x.ts -->\n${rendered}\n<!-- /include -->\n`
      )
    })
  })

  it("--check fails on a TypeScript block outside include markers", () => {
    for (const lang of ["ts", "typescript"]) {
      withProject({ "docs/nested/b.md": `# B\n\n\`\`\`${lang}\nconst a = 1\n\`\`\`\n` }, (dir) => {
        const result = run("--check", "--root", dir)
        assert.strictEqual(result.status, 1)
        assert.include(result.output, `docs/nested/b.md:3: a \`\`\`${lang} block is not covered`)
      })
    }
  })

  it("--check ignores fences inside other fences, and shell blocks", () => {
    const md = "````md\n```ts\nnot code of ours\n```\n````\n\n```sh\nnpm ci\n```\n"
    withProject({ "docs/c.md": md }, (dir) => {
      const result = run("--check", "--root", dir)
      assert.strictEqual(result.status, 0, result.output)
    })
  })

  it("--check fails when an included file is missing or a marker is unclosed", () => {
    withProject({ "docs/d.md": included(rendered) }, (dir) => {
      const result = run("--check", "--root", dir)
      assert.strictEqual(result.status, 1)
      assert.include(result.output, "examples/docs/x.ts (included by docs/d.md) does not exist")
    })
    withProject({ "examples/docs/x.ts": example, "docs/e.md": "<!-- include: examples/docs/x.ts -->\n" }, (dir) => {
      const result = run("--check", "--root", dir)
      assert.strictEqual(result.status, 1)
      assert.include(result.output, "is never closed")
    })
  })
})
