/**
 * The `analytics-effect` command line, run as a child process (`node dist/bin.js`, built first) against
 * a local collector on 127.0.0.1.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Ndjson from "../src/internal/cli/ndjson.js"
import { moveDashLast } from "../src/internal/cli/main.js"
import { type CliCollector, startCliCollector } from "./support/cliCollector.js"

const root = Path.resolve(import.meta.dirname, "..")
const bin = Path.join(root, "dist", "bin.js")

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

const run = (
  args: ReadonlyArray<string>,
  options: { stdin?: string; env?: Record<string, string>; nodeArgs?: ReadonlyArray<string> } = {}
) =>
  new Promise<Result>((resolve, reject) => {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith("ANALYTICS_") && k !== "DEBUG") env[k] = v
    }
    const started = performance.now()
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), bin, ...args], {
      env: { ...env, ...options.env },
      cwd: root
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, millis: performance.now() - started })
    })
    child.stdin.end(options.stdin ?? "")
  })

let collector: CliCollector
let dir: string
let host: Array<string>

beforeAll(async () => {
  // Build the binary under test: the CLI bundle that the package ships (scripts/build.mjs).
  spawnSync(process.execPath, [Path.join(root, "scripts", "build.mjs")], { cwd: root, stdio: "ignore" })
  assert.isTrue(Fs.existsSync(bin), "dist/bin.js was not built")
  collector = await startCliCollector()
  dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "analytics-cli-"))
  host = ["--write-key", "cli-test-key", "--host", collector.url]
}, 120_000)

afterAll(async () => {
  await collector?.close()
  if (dir) Fs.rmSync(dir, { recursive: true, force: true })
})

const readNdjson = (file: string): Array<Record<string, any>> =>
  Fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))

describe("send", () => {
  it("sends each of the six calls, flushed before exit, with the given fields", async () => {
    collector.clear()
    const calls: Array<[string, Array<string>]> = [
      ["identify", ["--userId", "u1", "--traits", "{\"plan\":\"Enterprise\",\"friends\":42}"]],
      ["track", [
        "--userId",
        "u1",
        "--event",
        "Signed Up",
        "--properties",
        "{\"plan\":\"Pro\"}",
        "--messageId",
        "cli-track-1",
        "--timestamp",
        "2024-02-29T13:45:00.000Z",
        "--context",
        "{\"ip\":\"10.0.0.1\"}",
        "--integrations",
        "{\"All\":false,\"Mixpanel\":true}"
      ]],
      ["page", ["--anonymousId", "a1", "--name", "Home", "--category", "Docs", "--properties", "{\"path\":\"/\"}"]],
      ["screen", ["--userId", "u1", "--name", "Settings"]],
      ["group", ["--userId", "u1", "--groupId", "g1", "--traits", "{\"name\":\"Initech\"}"]],
      ["alias", ["--userId", "u1", "--previousId", "a1"]]
    ]
    const results = await Promise.all(calls.map(([type, args]) => run(["send", type, ...args, ...host])))
    for (const [i, result] of results.entries()) {
      assert.strictEqual(result.code, 0, `${calls[i]![0]}: ${result.stderr}`)
      assert.match(result.stdout, new RegExp(`^${calls[i]![0]} \\S+ delivered \\(HTTP 200, 1 attempt\\)`))
    }
    const byType = new Map(collector.messages.map((m) => [m.type as string, m]))
    assert.deepStrictEqual([...byType.keys()].sort(), ["alias", "group", "identify", "page", "screen", "track"])
    assert.deepStrictEqual(byType.get("identify")!.traits, { plan: "Enterprise", friends: 42 })
    const track = byType.get("track")!
    assert.strictEqual(track.event, "Signed Up")
    assert.strictEqual(track.messageId, "cli-track-1")
    assert.strictEqual(track.timestamp, "2024-02-29T13:45:00.000Z")
    assert.deepStrictEqual(track.properties, { plan: "Pro" })
    assert.deepStrictEqual(track.integrations, { All: false, Mixpanel: true })
    assert.strictEqual((track.context as any).ip, "10.0.0.1")
    assert.strictEqual((track.context as any).library.name, "analytics-effect")
    assert.include(byType.get("page")!, { anonymousId: "a1", name: "Home", category: "Docs" })
    assert.include(byType.get("screen")!, { userId: "u1", name: "Settings" })
    assert.include(byType.get("group")!, { userId: "u1", groupId: "g1" })
    assert.include(byType.get("alias")!, { userId: "u1", previousId: "a1" })
    const auth = collector.requests[0]!.headers.authorization
    assert.strictEqual(auth, `Basic ${Buffer.from("cli-test-key:").toString("base64")}`)
  }, 60_000)

  it("reads the write key and host from the environment, and gzips on request", async () => {
    collector.clear()
    const result = await run(["send", "track", "--userId", "u2", "--event", "E", "--gzip"], {
      env: { ANALYTICS_WRITE_KEY: "env-key", ANALYTICS_HOST: collector.url }
    })
    assert.strictEqual(result.code, 0, result.stderr)
    assert.strictEqual(collector.messages.length, 1)
    assert.strictEqual(collector.requests[0]!.headers["content-encoding"], "gzip")
    assert.strictEqual(collector.requests[0]!.headers.authorization, `Basic ${Buffer.from("env-key:").toString("base64")}`)
  }, 30_000)

  it("exits 1 with a readable message on an invalid call, and sends nothing", async () => {
    collector.clear()
    const result = await run(["send", "track", "--userId", "u1", ...host])
    assert.strictEqual(result.code, 1)
    assert.include(result.stderr, "InvalidMessage: Invalid track message at event")
    assert.strictEqual(collector.requests.length, 0)
  }, 30_000)

  it("exits 1 when the message fails (400), naming the reason", async () => {
    collector.clear()
    collector.failWith(400)
    try {
      const result = await run(["send", "identify", "--userId", "u1", ...host])
      assert.strictEqual(result.code, 1)
      assert.match(result.stderr, /failed: NotRetryable \(HTTP 400/)
    } finally {
      collector.failWith(200)
    }
  }, 30_000)

  it("exits 2 on usage and configuration errors", async () => {
    const badJson = await run(["send", "track", "--userId", "u1", "--event", "E", "--properties", "{bad", ...host])
    assert.strictEqual(badJson.code, 2)
    assert.include(badJson.stderr, "--properties must be a JSON object")
    const noKey = await run(["send", "track", "--userId", "u1", "--event", "E", "--host", collector.url])
    assert.strictEqual(noKey.code, 2)
    assert.include(noKey.stderr, "no write key")
    const badType = await run(["send", "purchase", "--userId", "u1", ...host])
    assert.strictEqual(badType.code, 2)
    const missingFile = await run(["import", Path.join(dir, "nope.ndjson"), ...host])
    assert.strictEqual(missingFile.code, 2)
  }, 60_000)
})

describe("import", () => {
  it("imports 100,000 lines: 99,990 delivered, the 10 bad lines reported by line number", async () => {
    collector.clear()
    const file = Path.join(dir, "big.ndjson")
    const failedOut = Path.join(dir, "big-failed.ndjson")
    const bad = new Map<number, string>()
    const lines: Array<string> = []
    for (let n = 1; n <= 100_000; n++) {
      if (n % 10_000 === 7) {
        const kind = bad.size % 5
        const text = kind === 0
          ? "{\"type\":\"track\",\"userId\":" // truncated JSON
          : kind === 1
          ? JSON.stringify({ type: "track", userId: `u${n}` }) // no event
          : kind === 2
          ? JSON.stringify({ type: "purchase", userId: `u${n}` }) // unknown type
          : kind === 3
          ? JSON.stringify({ type: "identify", userId: `u${n}`, nickname: "x" }) // unknown field
          : "[1,2,3]" // not an object
        bad.set(n, text)
        lines.push(text)
        continue
      }
      lines.push(JSON.stringify({
        type: n % 3 === 0 ? "identify" : "track",
        userId: `user-${n % 997}`,
        ...(n % 3 === 0 ? { traits: { n } } : { event: "Order Completed", properties: { revenue: n, currency: "EUR" } }),
        messageId: `big-${n}`,
        timestamp: "2023-06-01T12:00:00.000Z",
        // Segment export fields the library does not take: stripped by the CLI.
        sentAt: "2023-06-01T12:00:01.000Z",
        receivedAt: "2023-06-01T12:00:02.000Z",
        channel: "server",
        version: 2
      }))
    }
    Fs.writeFileSync(file, lines.join("\n") + "\n")
    // A 64 MB heap: the import streams the file and forgets delivered lines, so its memory does not grow
    // with the file (a version whose memory grew per line ran out of heap before line 100,000).
    const result = await run(["import", file, "--json", "--failed-out", failedOut, ...host], {
      nodeArgs: ["--max-old-space-size=64"]
    })
    assert.strictEqual(result.code, 1, result.stderr.slice(-2000))
    const summary = JSON.parse(result.stdout)
    assert.deepInclude(summary, { read: 100_000, invalid: 10, accepted: 99_990, delivered: 99_990, failed: 0, dropped: 0 })
    assert.strictEqual(collector.messages.length, 99_990)
    const ids = new Set(collector.messages.map((m) => m.messageId))
    assert.strictEqual(ids.size, 99_990)
    assert.isTrue(ids.has("big-1") && ids.has("big-100000"))
    const sample = collector.messages.find((m) => m.messageId === "big-2")!
    assert.strictEqual(sample.timestamp, "2023-06-01T12:00:00.000Z")
    assert.notProperty(sample, "receivedAt")
    assert.notProperty(sample, "channel")
    for (const n of bad.keys()) assert.match(result.stderr, new RegExp(`^line ${n}: `, "m"))
    assert.match(result.stderr, /^line \d+: Invalid track message at event/m)
    assert.match(result.stderr, /^line \d+: type: expected one of identify/m)
    assert.match(result.stderr, /^line \d+: invalid JSON/m)
    assert.match(result.stderr, /^progress: read \d+\/100000/m)
    const failures = readNdjson(failedOut)
    assert.deepStrictEqual(failures.map((f) => f.line), [...bad.keys()])
    for (const failure of failures) {
      assert.isString(failure.reason)
      const original = bad.get(failure.line)!
      assert.deepStrictEqual(failure.message, original.startsWith("{\"type\":\"track\",\"userId\":") && !original.endsWith("}") ? original : JSON.parse(original))
    }
    const wallSeconds = result.millis / 1000
    console.log(
      `import throughput: ${summary.linesPerSecond} lines/s (import phase, ${summary.elapsedMs} ms); ` +
        `${Math.round(100_000 / wallSeconds)} lines/s wall clock including process start (${wallSeconds.toFixed(2)} s)`
    )
  }, 60_000)

  it("writes every undelivered line to the failures file, and re-importing it delivers exactly those", async () => {
    collector.clear()
    const file = Path.join(dir, "outage.ndjson")
    const failed1 = Path.join(dir, "outage-failed-1.ndjson")
    const failed2 = Path.join(dir, "outage-failed-2.ndjson")
    const lines: Array<string> = []
    for (let n = 1; n <= 300; n++) {
      // Half the lines have no messageId: the CLI gives them one and keeps it in the failures file.
      const message = { type: "track", userId: `u${n}`, event: "Imported", properties: { n } }
      lines.push(JSON.stringify(n % 2 === 0 ? { ...message, messageId: `outage-${n}` } : message))
    }
    lines.splice(10, 0, "this is not json")
    Fs.writeFileSync(file, lines.join("\n"))
    collector.failWith(500)
    const first = await run(["import", file, "--failed-out", failed1, "--max-retries", "1", "--flush-at", "50", ...host])
    assert.strictEqual(first.code, 1)
    assert.match(first.stdout, /failed\s+300/)
    assert.match(first.stdout, /delivered\s+0/)
    assert.strictEqual(collector.messages.length, 0)
    assert.isAbove(collector.requests.length, 0)
    assert.isTrue(collector.requests.every((r) => r.status === 500))
    const failures = readNdjson(failed1)
    assert.strictEqual(failures.length, 301)
    const invalid = failures.find((f) => f.line === 11)!
    assert.strictEqual(invalid.message, "this is not json")
    const deliveryFailures = failures.filter((f) => f.line !== 11)
    for (const f of deliveryFailures) {
      assert.match(f.reason, /RetriesExhausted \(HTTP 500/)
      assert.isString(f.message.messageId)
    }
    const expectedIds = new Set(deliveryFailures.map((f) => f.message.messageId as string))
    assert.strictEqual(expectedIds.size, 300)

    // The collector recovers: re-import the failures file (the bad line stays bad, the rest goes).
    collector.failWith(200)
    const second = await run(["import", failed1, "--json", "--failed-out", failed2, ...host])
    assert.strictEqual(second.code, 1, second.stderr)
    assert.deepInclude(JSON.parse(second.stdout), { read: 301, invalid: 1, accepted: 300, delivered: 300, failed: 0 })
    assert.deepStrictEqual(new Set(collector.messages.map((m) => m.messageId)), expectedIds)
    assert.strictEqual(collector.messages.length, 300)
    const remaining = readNdjson(failed2)
    assert.deepStrictEqual(remaining.map((f) => f.message), ["this is not json"])

    // Without the invalid line, the failures file imports cleanly: exit code 0.
    const onlyDelivery = Path.join(dir, "outage-delivery.ndjson")
    Fs.writeFileSync(onlyDelivery, deliveryFailures.map((f) => JSON.stringify(f)).join("\n") + "\n")
    collector.clear()
    const third = await run(["import", onlyDelivery, "--quiet", ...host])
    assert.strictEqual(third.code, 0, third.stderr)
    assert.strictEqual(collector.messages.length, 300)
  }, 60_000)

  it("reads standard input, with --dry-run sending nothing, and --strict stopping at the first bad line", async () => {
    collector.clear()
    const input = [
      JSON.stringify({ type: "page", anonymousId: "a", name: "Home", originalTimestamp: "2022-01-01T00:00:00.000Z" }),
      "",
      JSON.stringify({ type: "alias", userId: "u", previousId: "a" }),
      "{oops",
      JSON.stringify({ type: "group", userId: "u", groupId: "g" })
    ].join("\n")
    const dry = await run(["import", "-", "--dry-run", "--json"], { stdin: input })
    assert.strictEqual(dry.code, 1)
    assert.deepInclude(JSON.parse(dry.stdout), { read: 4, invalid: 1, accepted: 3, dryRun: true })
    assert.include(dry.stderr, "line 4: invalid JSON")
    assert.strictEqual(collector.requests.length, 0)

    const strict = await run(["import", "-", "--strict", "--json", ...host], { stdin: input })
    assert.strictEqual(strict.code, 1)
    assert.deepInclude(JSON.parse(strict.stdout), { read: 3, invalid: 1, accepted: 2, delivered: 2 })
    assert.deepStrictEqual(collector.messages.map((m) => m.type), ["page", "alias"])
    // originalTimestamp (a Segment export field) becomes the timestamp when there is none.
    assert.strictEqual(collector.messages[0]!.timestamp, "2022-01-01T00:00:00.000Z")

    collector.clear()
    const ok = await run(["import", "-", "--quiet", ...host], { stdin: input.replace("{oops", "") })
    assert.strictEqual(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /delivered\s+3/)
    assert.strictEqual(collector.messages.length, 3)
  }, 60_000)
})

describe("interruption", () => {
  it("on SIGINT exits 130 and writes every message without an outcome to the failures file", async () => {
    collector.clear()
    collector.failWith(503)
    const file = Path.join(dir, "interrupt.ndjson")
    const failedOut = Path.join(dir, "interrupt-failed.ndjson")
    const lines = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({ type: "track", userId: `u${i}`, event: "E", messageId: `int-${i + 1}` }))
    Fs.writeFileSync(file, lines.join("\n") + "\n")
    try {
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("ANALYTICS_")) env[k] = v
      const child = spawn(process.execPath, [bin, "import", file, "--failed-out", failedOut, "--quiet", ...host], { env })
      let stderr = ""
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
      const code = await new Promise<number | null>((resolve) => {
        const killer = setTimeout(() => child.kill("SIGKILL"), 40_000)
        child.on("close", (c) => {
          clearTimeout(killer)
          resolve(c)
        })
        // Interrupt once the first (failing) request arrived: the messages are in flight, retrying.
        const poll = setInterval(() => {
          if (collector.requests.length > 0) {
            clearInterval(poll)
            child.kill("SIGINT")
          }
        }, 20)
      })
      assert.strictEqual(code, 130, stderr)
      assert.include(stderr, "interrupted after line 200: 200 messages without an outcome")
      const failures = readNdjson(failedOut)
      assert.deepStrictEqual(failures.map((f) => f.message.messageId).sort(), lines.map((_, i) => `int-${i + 1}`).sort())
      assert.isTrue(failures.every((f) => f.reason === "interrupted before its outcome was known"))
    } finally {
      collector.failWith(200)
    }
  }, 60_000)
})

describe("line parsing (in process)", () => {
  it("strips Segment-only fields, maps originalTimestamp, unwraps failures-file lines", () => {
    const parsed = Ndjson.parseLine(JSON.stringify({
      type: "track",
      userId: "u",
      event: "E",
      originalTimestamp: "2020-01-01T00:00:00.000Z",
      sentAt: "x",
      receivedAt: "x",
      channel: "server",
      version: 2,
      writeKey: "secret",
      _metadata: {}
    }))
    assert.strictEqual(parsed._tag, "Message")
    if (parsed._tag !== "Message") return
    assert.deepStrictEqual(parsed.message, { type: "track", userId: "u", event: "E", timestamp: "2020-01-01T00:00:00.000Z" })

    const wrapped = Ndjson.parseLine(Ndjson.failureLine(7, "failed: x", JSON.stringify({ type: "alias", userId: "u", previousId: "p", messageId: "m" }), false))
    assert.strictEqual(wrapped._tag, "Message")
    if (wrapped._tag === "Message") assert.strictEqual(wrapped.messageId, "m")

    const raw = Ndjson.parseLine(Ndjson.failureLine(3, "invalid JSON", "{nope", true))
    assert.deepInclude(raw, { _tag: "Invalid", original: "{nope", raw: true })

    assert.deepInclude(Ndjson.parseLine("[1]"), { _tag: "Invalid", reason: "expected a JSON object" })
    assert.deepInclude(Ndjson.parseLine("{\"type\":\"purchase\"}"), { _tag: "Invalid" })
    assert.deepStrictEqual(Ndjson.parseLine("   "), { _tag: "Blank" })
    // A message that merely has a `line` field is not mistaken for a failures-file line.
    assert.isFalse(Ndjson.isFailureRecord({ line: 1, message: "m", type: "track" }))
  })

  it("accepts options after a bare - (standard input)", () => {
    assert.deepStrictEqual(moveDashLast(["node", "bin", "import", "-", "--dry-run"]), ["node", "bin", "import", "--dry-run", "-"])
    assert.deepStrictEqual(moveDashLast(["node", "bin", "import", "f.ndjson"]), ["node", "bin", "import", "f.ndjson"])
  })
})
