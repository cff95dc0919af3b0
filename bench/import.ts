/**
 * `npm run bench:import`: the throughput of `analytics-effect import`, 100,000 lines into the local
 * collector (in its own process), against the library's own send rate on the same messages measured
 * in the same run (`importBaseline.ts`). Run it under the machine's heavy-job lock.
 *
 * Two inputs: lines without a `messageId` (the CLI derives one per line: the worst case), and the
 * same lines with one (a Segment export). Each repetition runs baseline, then each input, on a fresh
 * collector each time; the report gives medians and the ratio to the baseline of the same repetition.
 *
 * Children run as plain `node` on JavaScript transpiled by `build.ts`, as a deployed CLI would.
 * Options: `--reps N` (default 3), `--lines N` (default 100,000), `--out FILE`.
 */
import { type ChildProcess, execFile, fork } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { buildBench } from "./build.js"
import type { CollectorStats } from "./collector.js"
import { makeEvent } from "./drivers/common.js"
import type { DriverReport } from "./drivers/common.js"

const benchDir = Path.dirname(fileURLToPath(import.meta.url))
const root = Path.resolve(benchDir, "..")
const argv = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const reps = Number(option("--reps") ?? 3)
const lineCount = Number(option("--lines") ?? 100_000)
const outFile = option("--out")

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** The first IPC message of `type` from `child`. */
const nextMessage = <A>(child: ChildProcess, type: string, limitMs: number): Promise<A> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${type}`)), limitMs)
    child.on("message", (message: { type?: string; message?: string }) => {
      if (message.type === type) {
        clearTimeout(timer)
        resolve(message as A)
      } else if (message.type === "error") {
        clearTimeout(timer)
        reject(new Error(message.message))
      }
    })
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before ${type}`)))
  })

const main = async () => {
  const out = await buildBench(root)
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "analytics-bench-import-"))
  const lines = (withIds: boolean) =>
    Array.from({ length: lineCount }, (_, i) =>
      JSON.stringify({
        type: "track",
        ...makeEvent(i, "small"),
        timestamp: "2024-05-01T12:00:00.000Z",
        ...(withIds ? { messageId: `import-bench-${i}` } : {})
      })).join("\n") + "\n"
  const inputs = {
    "no messageId": Path.join(dir, "without-ids.ndjson"),
    "with messageId": Path.join(dir, "with-ids.ndjson")
  }
  Fs.writeFileSync(inputs["no messageId"], lines(false))
  Fs.writeFileSync(inputs["with messageId"], lines(true))

  const startCollector = async () => {
    const collector = fork(Path.join(out, "bench", "collector.js"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const { port } = await nextMessage<{ port: number }>(collector, "ready", 30_000)
    const configured = nextMessage(collector, "configure", 10_000)
    collector.send({ type: "configure", delayMs: 0 })
    await configured
    return { collector, url: `http://127.0.0.1:${port}` }
  }
  const stopCollector = async (collector: ChildProcess) => {
    const stats = nextMessage<CollectorStats>(collector, "stats", 10_000)
    collector.send({ type: "stats" })
    const result = await stats
    collector.kill("SIGKILL")
    return result
  }

  const baseline = async () => {
    const { collector, url } = await startCollector()
    const driver = fork(Path.join(out, "bench", "importBaseline.js"), [], {
      env: { ...process.env, BENCH_URL: url, BENCH_FILE: inputs["with messageId"] },
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const report = await nextMessage<DriverReport>(driver, "result", 120_000)
    const stats = await stopCollector(collector)
    return { perSecond: (stats.uniqueMessageIds * 1000) / report.wallMs, delivered: stats.uniqueMessageIds }
  }

  const cli = async (input: string) => {
    const { collector, url } = await startCollector()
    const started = performance.now()
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [Path.join(out, "src", "bin.js"), "import", input, "--json", "--quiet", "--write-key", "bench-write-key", "--host", url],
        { cwd: root, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout))
      )
    )
    const wallMs = performance.now() - started
    const summary = JSON.parse(stdout) as { delivered: number; elapsedMs: number; linesPerSecond: number }
    const stats = await stopCollector(collector)
    return {
      perSecond: summary.linesPerSecond,
      wallPerSecond: (lineCount * 1000) / wallMs,
      delivered: stats.uniqueMessageIds,
      duplicates: stats.duplicates
    }
  }

  const rows: Record<string, Array<{ perSecond: number; wallPerSecond: number; ratio: number }>> = {}
  const baselines: Array<number> = []
  for (let rep = 1; rep <= reps; rep++) {
    const base = await baseline()
    if (base.delivered !== lineCount) throw new Error(`baseline delivered ${base.delivered} of ${lineCount}`)
    baselines.push(base.perSecond)
    for (const [name, input] of Object.entries(inputs)) {
      const run = await cli(input)
      if (run.delivered !== lineCount || run.duplicates !== 0) {
        throw new Error(`${name}: delivered ${run.delivered} of ${lineCount}, ${run.duplicates} duplicates`)
      }
      ;(rows[name] ??= []).push({ ...run, ratio: run.perSecond / base.perSecond })
      process.stdout.write(
        `rep ${rep} ${name}: ${Math.round(run.perSecond)} lines/s (${Math.round(run.wallPerSecond)} with process start), ` +
          `library ${Math.round(base.perSecond)} sends/s, ratio ${(run.perSecond / base.perSecond).toFixed(2)}\n`
      )
    }
  }
  Fs.rmSync(dir, { recursive: true, force: true })

  const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
  const table = [
    `# Import benchmark`,
    "",
    `\`npm run bench:import\`, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC: ${fmt(lineCount)} lines ` +
      `(~300 B track events on the wire) into the local collector, ${reps} repetition(s), medians; ` +
      `${Os.cpus().length} cores, load average ${Os.loadavg()[0]!.toFixed(2)} at the end, node ${process.version}.`,
    "",
    "| input | import lines/s | with process start | library sends/s (same run) | import ÷ library |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...Object.entries(rows).map(([name, runs]) =>
      `| ${name} | ${fmt(median(runs.map((r) => r.perSecond)))} | ${fmt(median(runs.map((r) => r.wallPerSecond)))} | ${
        fmt(median(baselines))
      } | ${median(runs.map((r) => r.ratio)).toFixed(2)}× |`
    ),
    "",
    "import lines/s: the CLI's own `linesPerSecond` (first line read to last outcome); with process start: " +
      "100,000 ÷ the wall time of the whole `node bin.js import` process. library sends/s: `Analytics.send` of the " +
      "same messages, pre-parsed, with the CLI's options (`suspend`, `flushAt: 500`, undici), final flush included.",
    ""
  ].join("\n")
  process.stdout.write("\n" + table)
  if (outFile !== undefined) Fs.writeFileSync(Path.resolve(root, outFile), table)
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
