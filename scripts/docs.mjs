// Keeps the code blocks of README.md and docs/*.md identical to type-checked files under examples/.
//
// In the markdown, a block is tied to a file by markers:
//
//   <!-- include: examples/docs/getting-started.ts -->
//   ```ts
//   ...the file's contents...
//   ```
//   <!-- /include -->
//
//   node scripts/docs.mjs --write   copies each included file into the block between its markers
//   node scripts/docs.mjs --check   exits 1 if a block differs from its file, if an included file is
//                                   missing, or if a ts/typescript block is not inside include markers
//   --root <dir>                    works on another directory (the project root by default)
//
// The examples import the library through relative paths into src/ (so that they type-check without a
// build); in the markdown those imports read as a user writes them: "../src/index.js" becomes
// "analytics-effect" and "../src/Collector.js" becomes "analytics-effect/Collector".
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const packageName = "analytics-effect"
const typescriptFences = new Set(["ts", "typescript", "tsx", "mts", "cts"])

const includeOpen = /^<!--\s*include:\s*(\S+)\s*-->\s*$/
const includeClose = /^<!--\s*\/include\s*-->\s*$/
const fenceLine = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/

/** The markdown files the check covers: README.md and every .md under docs/. */
export const markdownFiles = (root) => {
  const files = []
  if (existsSync(join(root, "README.md"))) files.push("README.md")
  const walk = (dir) => {
    const full = join(root, dir)
    if (!existsSync(full)) return
    for (const entry of readdirSync(full, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = `${dir}/${entry.name}`
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith(".md")) files.push(path)
    }
  }
  walk("docs")
  return files
}

/** Rewrites `from "../src/X.js"` (any depth) into the package import a user writes. */
export const toPackageImports = (source) =>
  source.replace(/(["'])(?:\.\.\/)+src\/([A-Za-z0-9_]+)\.js\1/g, (_match, quote, module) =>
    module === "index" ? `${quote}${packageName}${quote}` : `${quote}${packageName}/${module}${quote}`
  )

/** The fenced block a file is shown as. */
export const renderBlock = (source) => {
  const body = toPackageImports(source).replace(/\s+$/, "")
  // A fence longer than any backtick run inside the file.
  const longest = Math.max(2, ...Array.from(body.matchAll(/`+/g), (m) => m[0].length))
  const fence = "`".repeat(Math.max(3, longest + 1))
  return `${fence}ts\n${body}\n${fence}`
}

/**
 * Parses one markdown text. Returns its include regions (with the line range they cover), every
 * TypeScript fence outside an include region, and structural problems (unclosed markers or fences).
 */
export const parseMarkdown = (text) => {
  const lines = text.split("\n")
  const includes = []
  const uncovered = []
  const problems = []
  let open = undefined // the include region being read
  let fence = undefined // the fence being read
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (fence !== undefined) {
      const close = line.match(/^\s*(`{3,}|~{3,})\s*$/)
      if (close && close[1][0] === fence.marker[0] && close[1].length >= fence.marker.length) fence = undefined
      continue
    }
    const opening = line.match(fenceLine)
    if (opening) {
      const lang = opening[3].toLowerCase()
      fence = { marker: opening[2], line: i + 1 }
      if (open === undefined && typescriptFences.has(lang)) uncovered.push({ line: i + 1, lang })
      continue
    }
    const start = line.match(includeOpen)
    if (start) {
      if (open !== undefined) problems.push(`line ${i + 1}: include inside the include opened at line ${open.start + 1}`)
      open = { path: start[1], start: i }
      continue
    }
    if (includeClose.test(line)) {
      if (open === undefined) problems.push(`line ${i + 1}: <!-- /include --> without an opening marker`)
      else includes.push({ path: open.path, start: open.start, end: i, current: lines.slice(open.start + 1, i).join("\n") })
      open = undefined
    }
  }
  if (fence !== undefined) problems.push(`line ${fence.line}: code fence is never closed`)
  if (open !== undefined) problems.push(`line ${open.start + 1}: include of ${open.path} is never closed`)
  return { lines, includes, uncovered, problems }
}

const readSource = (root, markdownPath, includePath) => {
  // Include paths are relative to the project root, so the same marker works in README.md and docs/.
  const full = resolve(root, includePath)
  const rel = relative(resolve(root), full)
  if (rel.startsWith("..")) return { error: `${includePath} is outside the project` }
  if (!existsSync(full)) return { error: `${includePath} (included by ${markdownPath}) does not exist` }
  return { source: readFileSync(full, "utf8") }
}

/** Checks every markdown file; returns a list of problems (empty when the docs are in sync). */
export const check = (root) => {
  const problems = []
  for (const file of markdownFiles(root)) {
    const parsed = parseMarkdown(readFileSync(join(root, file), "utf8"))
    for (const problem of parsed.problems) problems.push(`${file}: ${problem}`)
    for (const block of parsed.uncovered) {
      problems.push(
        `${file}:${block.line}: a \`\`\`${block.lang} block is not covered by <!-- include: examples/... --> markers`
      )
    }
    for (const include of parsed.includes) {
      const read = readSource(root, file, include.path)
      if (read.error) {
        problems.push(`${file}:${include.start + 1}: ${read.error}`)
        continue
      }
      if (include.current.trim() !== renderBlock(read.source)) {
        problems.push(`${file}:${include.start + 1}: the block differs from ${include.path} (run node scripts/docs.mjs --write)`)
      }
    }
  }
  return problems
}

/** Copies each included file into its block. Returns the markdown files it changed. */
export const write = (root) => {
  const changed = []
  const problems = []
  for (const file of markdownFiles(root)) {
    const text = readFileSync(join(root, file), "utf8")
    const parsed = parseMarkdown(text)
    if (parsed.problems.length > 0) {
      for (const problem of parsed.problems) problems.push(`${file}: ${problem}`)
      continue
    }
    const out = []
    let next = 0
    for (const include of parsed.includes) {
      out.push(...parsed.lines.slice(next, include.start + 1))
      const read = readSource(root, file, include.path)
      if (read.error) {
        problems.push(`${file}:${include.start + 1}: ${read.error}`)
        out.push(...parsed.lines.slice(include.start + 1, include.end))
      } else {
        out.push(renderBlock(read.source))
      }
      next = include.end
    }
    out.push(...parsed.lines.slice(next))
    const result = out.join("\n")
    if (result !== text) {
      writeFileSync(join(root, file), result)
      changed.push(file)
    }
  }
  return { changed, problems }
}

const main = (argv) => {
  const rootIndex = argv.indexOf("--root")
  const root = rootIndex >= 0 && argv[rootIndex + 1]
    ? resolve(argv[rootIndex + 1])
    : resolve(dirname(fileURLToPath(import.meta.url)), "..")
  if (argv.includes("--write")) {
    const { changed, problems } = write(root)
    for (const file of changed) console.log(`updated ${file}`)
    for (const problem of problems) console.error(problem)
    if (problems.length > 0) return 1
  }
  if (argv.includes("--check") || !argv.includes("--write")) {
    const problems = check(root)
    for (const problem of problems) console.error(problem)
    if (problems.length > 0) {
      console.error(`docs check: ${problems.length} problem(s)`)
      return 1
    }
    console.log(`docs check: ${markdownFiles(root).length} markdown files in sync with their examples`)
  }
  return 0
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2))
}
