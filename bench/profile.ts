/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per file,
 * optionally only for samples inside a time window (the driver's measured part, without start-up).
 *
 * Run alone: `npx tsx bench/profile.ts <file.cpuprofile> [top]`.
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export interface ProfileEntry {
  readonly name: string
  readonly location: string
  readonly selfMs: number
  /** Share of the non-idle samples. */
  readonly share: number
}

export interface ProfileSummary {
  readonly windowMs: number
  readonly idleMs: number
  readonly gcMs: number
  readonly busyMs: number
  readonly functions: ReadonlyArray<ProfileEntry>
  readonly files: ReadonlyArray<ProfileEntry>
  readonly topFunctionsTable: string
  readonly topFilesTable: string
  /** Whether the window could be applied (the profile's clock matched the driver's). */
  readonly windowed: boolean
}

const base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Decodes a source map's `mappings` into, per generated line, `[column, source, line]` triples. */
const decodeMappings = (mappings: string): Array<Array<[number, number, number]>> => {
  const lines: Array<Array<[number, number, number]>> = []
  let source = 0
  let origLine = 0
  let origCol = 0
  for (const lineText of mappings.split(";")) {
    const segments: Array<[number, number, number]> = []
    let col = 0
    for (const segment of lineText.split(",")) {
      if (segment === "") continue
      const fields: Array<number> = []
      let value = 0
      let shift = 0
      for (const ch of segment) {
        const digit = base64.indexOf(ch)
        value += (digit & 31) << shift
        if (digit & 32) shift += 5
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1)
          value = 0
          shift = 0
        }
      }
      col += fields[0] ?? 0
      if (fields.length >= 4) {
        source += fields[1]!
        origLine += fields[2]!
        origCol += fields[3]!
        segments.push([col, source, origLine])
      }
    }
    lines.push(segments)
  }
  return lines
}

/** Maps a frame of transpiled code (under `outDir`) back to its `.ts` file and line, via its source map. */
export type FrameMapper = (url: string, line: number, column: number) => string | undefined

export const sourceMapMapper = (outDir: string, root: string): FrameMapper => {
  const cache = new Map<string, { sources: ReadonlyArray<string>; lines: Array<Array<[number, number, number]>> } | null>()
  return (url, line, column) => {
    if (!url.startsWith("file://")) return undefined
    const file = fileURLToPath(url)
    if (!file.startsWith(outDir + path.sep)) return undefined
    let map = cache.get(file)
    if (map === undefined) {
      try {
        const raw = JSON.parse(readFileSync(file + ".map", "utf8")) as { sources: Array<string>; mappings: string }
        map = {
          sources: raw.sources.map((s) => path.relative(root, path.resolve(path.dirname(file), s))),
          lines: decodeMappings(raw.mappings)
        }
      } catch {
        map = null
      }
      cache.set(file, map)
    }
    const fallback = path.relative(outDir, file).replace(/\.js$/, ".ts")
    if (map === null) return `${fallback} (js line ${line + 1})`
    const segments = map.lines[line] ?? []
    let best: [number, number, number] | undefined
    for (const s of segments) {
      if (s[0] <= column) best = s
      else break
    }
    best ??= segments[0]
    if (best === undefined) return `${fallback} (js line ${line + 1})`
    return `${map.sources[best[1]] ?? fallback}:${best[2] + 1}`
  }
}

/** Shortens a script URL to a path relative to the project (never an absolute path of this machine). */
const shorten = (url: string, root: string): string => {
  if (url === "") return "(native)"
  let p = url
  if (p.startsWith("file://")) {
    try {
      p = fileURLToPath(p)
    } catch {
      // keep as is
    }
  }
  const nm = p.lastIndexOf("node_modules/")
  if (nm >= 0) return p.slice(nm)
  if (path.isAbsolute(p)) {
    const rel = path.relative(root, p)
    return rel.startsWith("..") ? path.basename(p) : rel
  }
  return p
}

export const summarizeProfile = (
  file: string,
  root: string,
  window: { readonly fromUs?: number | undefined; readonly toUs?: number | undefined } = {},
  top = 10,
  mapFrame?: FrameMapper
): ProfileSummary => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile
  const byId = new Map<number, ProfileNode>()
  for (const node of profile.nodes) byId.set(node.id, node)
  // The window applies only if the profile's clock is the driver's (both monotonic microseconds).
  const windowed = window.fromUs !== undefined && window.toUs !== undefined &&
    window.fromUs >= profile.startTime - 1_000_000 && window.fromUs <= profile.endTime
  const from = windowed ? window.fromUs! : Number.NEGATIVE_INFINITY
  const to = windowed ? window.toUs! : Number.POSITIVE_INFINITY
  const self = new Map<number, number>()
  let t = profile.startTime
  let windowUs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    t += delta
    if (t < from || t > to) continue
    const id = profile.samples[i]!
    self.set(id, (self.get(id) ?? 0) + delta)
    windowUs += delta
  }
  let idleUs = 0
  let gcUs = 0
  const functions = new Map<string, { name: string; location: string; us: number }>()
  const files = new Map<string, number>()
  for (const [id, us] of self) {
    const node = byId.get(id)!
    const { columnNumber, functionName, url, lineNumber } = node.callFrame
    if (functionName === "(idle)") {
      idleUs += us
      continue
    }
    if (functionName === "(garbage collector)") gcUs += us
    const mapped = mapFrame?.(url, lineNumber, columnNumber)
    const location = mapped ?? (url === "" ? "" : `${shorten(url, root)}:${lineNumber + 1}`)
    const name = functionName === "" ? "(anonymous)" : functionName
    const key = `${name} ${location}`
    const entry = functions.get(key)
    if (entry) entry.us += us
    else functions.set(key, { name, location, us })
    const fileKey = url === ""
      ? name.startsWith("(") ? name : "(native)"
      : mapped !== undefined
      ? mapped.replace(/:\d+$/, "").replace(/ \(js line \d+\)$/, "")
      : shorten(url, root)
    files.set(fileKey, (files.get(fileKey) ?? 0) + us)
  }
  const busyUs = windowUs - idleUs
  const fns = [...functions.values()].sort((a, b) => b.us - a.us).map((e) => ({
    name: e.name,
    location: e.location,
    selfMs: e.us / 1000,
    share: busyUs > 0 ? e.us / busyUs : 0
  }))
  const fileEntries = [...files.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({
    name,
    location: "",
    selfMs: us / 1000,
    share: busyUs > 0 ? us / busyUs : 0
  }))
  const pct = (n: number) => `${(n * 100).toFixed(1)}%`
  const fnTable = [
    "| # | function | where | self ms | share of busy |",
    "| ---: | --- | --- | ---: | ---: |",
    ...fns.slice(0, top).map((e, i) =>
      `| ${i + 1} | \`${e.name}\` | ${e.location === "" ? "" : `\`${e.location}\``} | ${e.selfMs.toFixed(0)} | ${pct(e.share)} |`
    )
  ].join("\n")
  const fileTable = [
    "| file | self ms | share of busy |",
    "| --- | ---: | ---: |",
    ...fileEntries.slice(0, top).map((e) => `| \`${e.name}\` | ${e.selfMs.toFixed(0)} | ${pct(e.share)} |`)
  ].join("\n")
  return {
    windowMs: windowUs / 1000,
    idleMs: idleUs / 1000,
    gcMs: gcUs / 1000,
    busyMs: busyUs / 1000,
    functions: fns,
    files: fileEntries,
    topFunctionsTable: fnTable,
    topFilesTable: fileTable,
    windowed
  }
}

if (process.argv[1] !== undefined && /profile\.[jt]s$/.test(process.argv[1])) {
  const file = process.argv[2]
  if (file === undefined) {
    console.error("usage: tsx bench/profile.ts <file.cpuprofile> [top]")
    process.exit(1)
  }
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
  const outDir = path.join(root, "node_modules", ".cache", "analytics-effect-bench")
  const summary = summarizeProfile(file, root, {}, Number(process.argv[3] ?? "25"), sourceMapMapper(outDir, root))
  console.log(`busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms, GC ${summary.gcMs.toFixed(0)} ms`)
  console.log(summary.topFunctionsTable)
  console.log(summary.topFilesTable)
}
