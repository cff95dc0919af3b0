/**
 * Micro-benchmark of the call path: validate + enrich + serialize + enqueue, in nanoseconds per call.
 *
 * `analytics.track` is called in a loop inside one Effect, on a client built with
 * `MemoryTransport.layer()` (a real, enabled client: the message is queued) whose `flushAt`,
 * `maxQueueSize`, `maxBatchMessages` and `maxBatchBytes` are so large that nothing is sent and nothing
 * blocks while the loop runs; the layer's scope (and its final flush) closes outside the timed part.
 *
 * The floor is `JSON.stringify` of the same input object. Two stages are timed on their own to show
 * where the rest goes: the Schema decode of the input (validation only), and the internal encoder
 * (the one pass that validates, enriches and serializes, without the queue).
 *
 * A last reference, `JSON.stringify` + keep, also keeps every string in an array, as any queue of
 * serialized messages does: it shows what keeping the messages alive costs the garbage collector,
 * which the full call path pays and the bare floor does not. The targets are against the floor.
 *
 * Each stage is timed twice: wall time (`process.hrtime`), and CPU time (`process.cpuUsage`, all of the
 * process's threads, the garbage collector's included). On a machine shared with other work, wall
 * time counts the moments another process held the core; CPU time does not, so its ratios are the
 * steadier ones. Both are reported.
 *
 * Run alone: `npx tsx bench/callpath.ts [--quick]`; `run.ts` runs it as a child process and includes
 * the results in RESULTS.md.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import * as Analytics from "../src/Analytics.js"
import * as MemoryTransport from "../src/MemoryTransport.js"
import * as Message from "../src/Message.js"
import * as Encode from "../src/internal/encode.js"
import * as Ids from "../src/internal/ids.js"
import { makeEvent, type TrackEvent } from "./drivers/common.js"

const quick = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1"

export interface CallpathRow {
  readonly size: "small" | "large"
  readonly bytes: number
  readonly calls: number
  readonly rounds: number
  /** Median wall ns per call of each stage. */
  readonly stringifyNs: number
  readonly decodeNs: number
  readonly encoderNs: number
  readonly trackNs: number
  /** trackNs / stringifyNs. */
  readonly ratio: number
  /** encoderNs / stringifyNs. */
  readonly encoderRatio: number
  /** Median wall ns per call of JSON.stringify with every string kept (a queue's garbage collection). */
  readonly stringifyKeptNs: number
  /** trackNs / stringifyKeptNs. */
  readonly keptRatio: number
  /** Median CPU ns per call of the floor, the encoder and the full call. */
  readonly stringifyCpuNs: number
  readonly encoderCpuNs: number
  readonly trackCpuNs: number
  /** Medians of the per-round CPU ratios to the floor. */
  readonly encoderCpuRatio: number
  readonly trackCpuRatio: number
}

/** Wall and CPU nanoseconds per call of one timed stage. */
interface Timing {
  readonly wall: number
  readonly cpu: number
}

const cpuNow = (): number => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) * 1000
}

const timed = (n: number, body: () => void): Timing => {
  const c0 = cpuNow()
  const t0 = process.hrtime.bigint()
  body()
  const wall = Number(process.hrtime.bigint() - t0) / n
  return { wall, cpu: (cpuNow() - c0) / n }
}

const pool = (size: "small" | "large"): ReadonlyArray<TrackEvent> =>
  Array.from({ length: 1024 }, (_, i) => makeEvent(i, size))

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

let sink = 0

const timeStringify = (inputs: ReadonlyArray<TrackEvent>, n: number): Timing =>
  timed(n, () => {
    for (let i = 0; i < n; i++) sink += JSON.stringify(inputs[i & 1023]).length
  })

const timeStringifyKept = (inputs: ReadonlyArray<TrackEvent>, n: number): Timing => {
  const kept: Array<string> = []
  const timing = timed(n, () => {
    for (let i = 0; i < n; i++) kept.push(JSON.stringify(inputs[i & 1023]))
  })
  sink += kept.length
  return timing
}

const decodeTrack = ParseResult.decodeUnknownEither(
  Message.schemas.track as Schema.Schema<Message.Message, Message.Message>,
  { errors: "first", onExcessProperty: "error" }
)

const timeDecode = (inputs: ReadonlyArray<TrackEvent>, n: number): Timing =>
  timed(n, () => {
    for (let i = 0; i < n; i++) {
      const result = decodeTrack({ ...inputs[i & 1023], type: "track" })
      if (result._tag === "Left") throw new Error("decode failed")
    }
  })

// The client's own encoder: synchronous, ids from a generator seeded once (as the client does).
const encode = Either.getOrThrow(Encode.makeEncodeSync(
  { maxMessageBytes: 32_000, defaultContext: undefined, defaultIntegrations: undefined },
  Effect.runSync(Ids.make)
))

const timeEncoder = (inputs: ReadonlyArray<TrackEvent>, n: number): Timing =>
  timed(n, () => {
    for (let i = 0; i < n; i++) {
      const m = encode("track", inputs[i & 1023])
      if (Effect.isEffect(m)) throw new Error("encode failed")
      sink += m.bytes
    }
  })

const huge = 1_000_000_000

const timeTrack = (inputs: ReadonlyArray<TrackEvent>, n: number): Promise<Timing> => {
  const ClientLive = Analytics.layerWithoutTransport({
    writeKey: "bench-write-key",
    flushAt: huge,
    flushInterval: "1 hour",
    maxQueueSize: huge,
    maxQueueBytes: huge * 1000,
    maxBatchMessages: huge,
    maxBatchBytes: huge * 1000
  }).pipe(Layer.provide(MemoryTransport.layer()))
  const program = Effect.gen(function*() {
    const analytics = yield* Analytics.Analytics
    const c0 = cpuNow()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) {
      yield* analytics.track(inputs[i & 1023]!)
    }
    const wall = Number(process.hrtime.bigint() - t0) / n
    return { wall, cpu: (cpuNow() - c0) / n }
  })
  return Effect.runPromise(program.pipe(Effect.provide(ClientLive)))
}

const measure = async (size: "small" | "large"): Promise<CallpathRow> => {
  const inputs = pool(size)
  const calls = size === "small" ? (quick ? 30_000 : 100_000) : (quick ? 1_500 : 5_000)
  const rounds = quick ? 3 : 5
  // One message as the library would send it, to report its size.
  const sample = encode("track", inputs[0])
  if (Effect.isEffect(sample)) throw new Error("encode failed")
  // Warm-up: let the JIT settle on every stage.
  timeStringify(inputs, calls)
  timeDecode(inputs, Math.min(calls, 20_000))
  timeEncoder(inputs, Math.min(calls, 20_000))
  await timeTrack(inputs, Math.min(calls, 20_000))
  const s: Array<Timing> = []
  const d: Array<Timing> = []
  const e: Array<Timing> = []
  const t: Array<Timing> = []
  const k: Array<Timing> = []
  // Interleaved rounds, so drift (GC, frequency, other processes) hits every stage alike.
  for (let r = 0; r < rounds; r++) {
    s.push(timeStringify(inputs, calls))
    k.push(timeStringifyKept(inputs, calls))
    d.push(timeDecode(inputs, calls))
    e.push(timeEncoder(inputs, calls))
    t.push(await timeTrack(inputs, calls))
  }
  const wall = (xs: ReadonlyArray<Timing>) => median(xs.map((x) => x.wall))
  const cpu = (xs: ReadonlyArray<Timing>) => median(xs.map((x) => x.cpu))
  const cpuRatio = (xs: ReadonlyArray<Timing>) => median(xs.map((x, i) => x.cpu / s[i]!.cpu))
  const stringifyNs = wall(s)
  const trackNs = wall(t)
  const encoderNs = wall(e)
  return {
    size,
    bytes: sample.bytes,
    calls,
    rounds,
    stringifyNs,
    decodeNs: wall(d),
    encoderNs,
    trackNs,
    ratio: trackNs / stringifyNs,
    encoderRatio: encoderNs / stringifyNs,
    stringifyKeptNs: wall(k),
    keptRatio: trackNs / wall(k),
    stringifyCpuNs: cpu(s),
    encoderCpuNs: cpu(e),
    trackCpuNs: cpu(t),
    encoderCpuRatio: cpuRatio(e),
    trackCpuRatio: cpuRatio(t)
  }
}

export const formatCallpath = (rows: ReadonlyArray<CallpathRow>): string => {
  const f = (n: number) => Math.round(n).toLocaleString("en-US")
  const x = (n: number | undefined) => n === undefined ? "n/a" : `${n.toFixed(2)}×`
  const lines = [
    "| message | wire bytes | calls × rounds | JSON.stringify (floor) | JSON.stringify + keep | Schema decode only | encoder (validate+enrich+serialize) | `analytics.track` (full call path) | encoder ÷ stringify | track ÷ stringify | track ÷ (stringify + keep) | CPU: encoder ÷ stringify | CPU: track ÷ stringify |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  ]
  for (const r of rows) {
    lines.push(
      `| ${r.size} | ${f(r.bytes)} | ${f(r.calls)} × ${r.rounds} | ${f(r.stringifyNs)} ns | ${
        r.stringifyKeptNs === undefined ? "n/a" : `${f(r.stringifyKeptNs)} ns`
      } | ${f(r.decodeNs)} ns | ${f(r.encoderNs)} ns | ${f(r.trackNs)} ns | ${x(r.encoderRatio)} | ${x(r.ratio)} | ${
        x(r.keptRatio)
      } | ${x(r.encoderCpuRatio)} | ${x(r.trackCpuRatio)} |`
    )
  }
  return lines.join("\n")
}

const main = async () => {
  const rows = [await measure("small"), await measure("large")]
  if (sink === -1) console.log(sink)
  if (process.send) {
    process.send({ type: "callpath", rows }, () => process.exit(0))
  } else {
    console.log(formatCallpath(rows))
  }
}

// Run only when executed (run.ts imports `formatCallpath` from here).
if (process.argv[1] !== undefined && /callpath\.[jt]s$/.test(process.argv[1])) {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
