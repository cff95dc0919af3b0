/**
 * The `analytics-effect` command line, run as a child process (`node dist/bin.js`, built by the global
 * setup, test/support/build.ts) against the library's local collector on 127.0.0.1. Every file is made
 * by the test in a temporary folder.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { type ChildProcess, spawn } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Collector from "../src/Collector.js"
import * as Import from "../src/internal/cli/import.js"
import { defaultNamespace } from "../src/internal/core/lineIds.js"
import { type CliCollector, startCliCollector } from "./support/cliCollector.js"

const root = Path.resolve(import.meta.dirname, "..")
const bin = Path.join(root, "dist", "bin.js")

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

interface RunOptions {
  readonly stdin?: string | Buffer
  readonly env?: Record<string, string>
  readonly nodeArgs?: ReadonlyArray<string>
  /** Called with the child once it runs (to signal it). */
  readonly onSpawn?: (child: ChildProcess, output: { stdout: string; stderr: string }) => void
}

const cleanEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("ANALYTICS_") && k !== "DEBUG" && k !== "FORCE_COLOR") env[k] = v
  }
  return env
}

const run = (args: ReadonlyArray<string>, options: RunOptions = {}) =>
  new Promise<Result>((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), bin, ...args], {
      env: { ...cleanEnv(), ...options.env },
      cwd: root
    })
    const output = { stdout: "", stderr: "" }
    child.stdout.on("data", (d: Buffer) => (output.stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (output.stderr += d.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: output.stdout, stderr: output.stderr, millis: performance.now() - started })
    })
    child.stdin.on("error", () => undefined)
    child.stdin.end(options.stdin ?? "")
    options.onSpawn?.(child, output)
  })

/** Resolves once `check` holds, polling every 20 ms (bounded by the test's timeout). */
const until = (check: () => boolean) =>
  new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll)
        resolve()
      }
    }, 20)
  })

let collector: CliCollector
let dir: string
let host: Array<string>

beforeAll(async () => {
  // The binary under test is the CLI bundle that the package ships, built by the global setup
  // (test/support/build.ts) before any file runs: a build here would empty dist/ while other files of
  // the same run read it.
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

const file = (name: string, content: string | Buffer) => {
  const path = Path.join(dir, name)
  Fs.writeFileSync(path, content)
  return path
}

const track = (n: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: "track", userId: `u${n}`, event: "Imported", properties: { n }, ...extra })

// Terminal escapes and C1 controls: what must never reach a terminal from a file or a request.
const rawControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/

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
    const byType = new Map(collector.messages().map((m) => [m.type as string, m]))
    assert.deepStrictEqual([...byType.keys()].sort(), ["alias", "group", "identify", "page", "screen", "track"])
    assert.deepStrictEqual(byType.get("identify")!.traits, { plan: "Enterprise", friends: 42 })
    const track = byType.get("track")!
    assert.strictEqual(track.event, "Signed Up")
    assert.strictEqual(track.messageId, "cli-track-1")
    assert.strictEqual(track.timestamp, "2024-02-29T13:45:00.000Z")
    assert.deepStrictEqual(track.properties, { plan: "Pro" })
    assert.deepStrictEqual(track.integrations, { All: false, Mixpanel: true })
    assert.strictEqual(track.context.ip, "10.0.0.1")
    assert.strictEqual(track.context.library.name, "analytics-effect")
    assert.include(byType.get("page")!, { anonymousId: "a1", name: "Home", category: "Docs" })
    assert.include(byType.get("screen")!, { userId: "u1", name: "Settings" })
    assert.include(byType.get("group")!, { userId: "u1", groupId: "g1" })
    assert.include(byType.get("alias")!, { userId: "u1", previousId: "a1" })
    const auth = collector.received()[0]!.headers.authorization
    assert.strictEqual(auth, `Basic ${Buffer.from("cli-test-key:").toString("base64")}`)
  }, 60_000)

  it("reads the write key and host from the environment, and gzips on request", async () => {
    collector.clear()
    const result = await run(["send", "track", "--userId", "u2", "--event", "E", "--gzip"], {
      env: { ANALYTICS_WRITE_KEY: "env-key", ANALYTICS_HOST: collector.url }
    })
    assert.strictEqual(result.code, 0, result.stderr)
    assert.strictEqual(collector.messages().length, 1)
    const [request] = collector.received()
    assert.strictEqual(request!.headers["content-encoding"], "gzip")
    assert.strictEqual(request!.headers.authorization, `Basic ${Buffer.from("env-key:").toString("base64")}`)
  }, 30_000)

  it("exits 1 with a readable message on an invalid call, and sends nothing", async () => {
    collector.clear()
    const result = await run(["send", "track", "--userId", "u1", ...host])
    assert.strictEqual(result.code, 1)
    assert.include(result.stderr, "InvalidMessage: Invalid track message at event")
    assert.strictEqual(collector.requests().length, 0)
  }, 30_000)

  it("exits 1 when the message fails, naming the reason once (a 401 is not reported twice)", async () => {
    const keyed = await startCliCollector({ writeKey: "the-right-key" })
    try {
      const result = await run(["send", "identify", "--userId", "u1", "--write-key", "wrong", "--host", keyed.url])
      assert.strictEqual(result.code, 1)
      assert.match(result.stderr, /failed: NotRetryable \(HTTP 401/)
      // (counted as "HTTP 401": a random messageId can hold the digits 401, as in 1715-4016-a187)
      assert.strictEqual(result.stderr.match(/HTTP 401/g)?.length, 1, result.stderr)
      assert.strictEqual(result.stdout, "")
    } finally {
      await keyed.close()
    }
  }, 30_000)

  it("exits 2 on usage and configuration errors", async () => {
    const [badJson, noKey, badType, missingFile, directory] = await Promise.all([
      run(["send", "track", "--userId", "u1", "--event", "E", "--properties", "{bad", ...host]),
      run(["send", "track", "--userId", "u1", "--event", "E", "--host", collector.url]),
      run(["send", "purchase", "--userId", "u1", ...host]),
      run(["import", Path.join(dir, "nope.ndjson"), ...host]),
      run(["import", dir, ...host])
    ])
    assert.strictEqual(badJson.code, 2)
    assert.include(badJson.stderr, "--properties must be a JSON object")
    assert.strictEqual(noKey.code, 2)
    assert.include(noKey.stderr, "no write key")
    assert.strictEqual(badType.code, 2)
    assert.strictEqual(missingFile.code, 2)
    assert.include(missingFile.stderr, "no such file")
    // A directory is unreadable input (2), not an all-zero import (it used to exit 3).
    assert.strictEqual(directory.code, 2)
    assert.include(directory.stderr, "it is a directory")
    assert.strictEqual(directory.stdout, "")
  }, 60_000)
})

describe("help and output", () => {
  it("prints usage and exits 2 with no command; help is short, plain in a pipe, with the right defaults", async () => {
    const [none, rootHelp, sendHelp, importHelp, unknown] = await Promise.all([
      run([]),
      run(["--help"]),
      run(["send", "--help"]),
      run(["import", "-h"]),
      run(["send", "track", "--nope"])
    ])
    assert.strictEqual(none.code, 2)
    assert.match(none.stderr, /^Usage: analytics-effect send/)
    assert.strictEqual(rootHelp.code, 0)
    assert.strictEqual(sendHelp.code, 0)
    assert.match(sendHelp.stdout, /^Usage: analytics-effect send <type>/)
    assert.isBelow(sendHelp.stdout.split("\n").length, 45)
    assert.match(sendHelp.stdout.replace(/\s+/g, " "), /--max-retries N [^-]*\(default 3\)/)
    assert.match(importHelp.stdout.replace(/\s+/g, " "), /--max-retries N [^-]*\(default 10\)/)
    for (const result of [none, rootHelp, sendHelp, importHelp, unknown]) {
      assert.notMatch(result.stdout + result.stderr, /\x1b/, "no terminal escapes in a pipe")
      for (const line of (result.stdout + result.stderr).split("\n")) if (result !== unknown) assert.isAtMost(line.length, 80)
    }
    assert.strictEqual(unknown.code, 2)
  }, 60_000)
})

describe("import", () => {
  it("imports 100,000 lines: 99,990 delivered, the 10 bad lines reported by line number", async () => {
    collector.clear()
    const path = Path.join(dir, "big.ndjson")
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
    Fs.writeFileSync(path, lines.join("\n") + "\n")
    // A 64 MB heap: the import streams the file and forgets delivered lines, so its memory does not grow
    // with the file (a version whose memory grew per line ran out of heap before line 100,000).
    const result = await run(["import", path, "--json", "--failed-out", failedOut, ...host], {
      nodeArgs: ["--max-old-space-size=64"]
    })
    assert.strictEqual(result.code, 1, result.stderr.slice(-2000))
    const summary = JSON.parse(result.stdout)
    assert.deepInclude(summary, { read: 100_000, invalid: 10, accepted: 99_990, delivered: 99_990, failed: 0, dropped: 0 })
    const messages = collector.messages()
    assert.strictEqual(messages.length, 99_990)
    const ids = new Set(messages.map((m) => m.messageId))
    assert.strictEqual(ids.size, 99_990)
    assert.isTrue(ids.has("big-1") && ids.has("big-100000"))
    const sample = messages.find((m) => m.messageId === "big-2")!
    assert.strictEqual(sample.timestamp, "2023-06-01T12:00:00.000Z")
    assert.notProperty(sample, "receivedAt")
    assert.notProperty(sample, "channel")
    for (const n of bad.keys()) assert.match(result.stderr, new RegExp(`^line ${n}: `, "m"))
    assert.match(result.stderr, /^line \d+: Invalid track message at event/m)
    assert.match(result.stderr, /^line \d+: type: expected one of identify/m)
    assert.match(result.stderr, /^line \d+: invalid JSON/m)
    const failures = readNdjson(failedOut)
    assert.deepStrictEqual(failures.map((f) => f.line), [...bad.keys()])
    for (const failure of failures) {
      assert.isString(failure.reason)
      const original = bad.get(failure.line)!
      assert.deepStrictEqual(failure.message, original.endsWith(":") ? original : JSON.parse(original))
    }
    assert.include(result.stderr, `10 lines were not delivered; they are in ${failedOut}. Retry them with:`)
    console.log(
      `import throughput: ${summary.linesPerSecond} lines/s (import phase, ${summary.elapsedMs} ms); ` +
        `${Math.round(100_000 / (result.millis / 1000))} lines/s wall clock including process start`
    )
  }, 60_000)

  it("writes every undelivered line to the failures file in line order, and re-importing it delivers exactly those", async () => {
    collector.clear()
    const path = Path.join(dir, "outage.ndjson")
    const failed1 = Path.join(dir, "outage-failed-1.ndjson")
    const failed2 = Path.join(dir, "outage-failed-2.ndjson")
    const lines: Array<string> = []
    // Half the lines have no messageId: the CLI gives them one and keeps it in the failures file.
    for (let n = 1; n <= 300; n++) lines.push(n % 2 === 0 ? track(n, { messageId: `outage-${n}` }) : track(n))
    lines.splice(10, 0, "this is not json")
    Fs.writeFileSync(path, lines.join("\n"))
    // The first request's answer comes last: outcomes arrive out of line order.
    collector.failWith(500)
    collector.script([Collector.delay("400 millis", Collector.status(500))])
    const first = await run(["import", path, "--failed-out", failed1, "--max-retries", "0", "--flush-at", "50", ...host])
    assert.strictEqual(first.code, 1, first.stderr)
    assert.match(first.stdout, /failed\s+300/)
    assert.match(first.stdout, /delivered\s+0/)
    assert.strictEqual(collector.messages().length, 0)
    assert.isTrue(collector.requests().every((r) => r.result === 500))
    // The kind of failure is reported once, not once per batch.
    assert.strictEqual(first.stderr.match(/failed: NotRetryable|failed: RetriesExhausted/g)?.length, 1, first.stderr)
    const failures = readNdjson(failed1)
    assert.deepStrictEqual(failures.map((f) => f.line), Array.from({ length: 301 }, (_, i) => i + 1))
    assert.strictEqual(failures[10]!.message, "this is not json")
    const deliveryFailures = failures.filter((f) => f.line !== 11)
    for (const f of deliveryFailures) {
      assert.match(f.reason, /HTTP 500/)
      assert.isString(f.message.messageId)
    }
    const expectedIds = new Set(deliveryFailures.map((f) => f.message.messageId as string))
    assert.strictEqual(expectedIds.size, 300)

    // The collector recovers: re-import the failures file (the bad line stays bad, the rest goes).
    collector.failWith(200)
    const second = await run(["import", failed1, "--json", "--failed-out", failed2, ...host])
    assert.strictEqual(second.code, 1, second.stderr)
    assert.deepInclude(JSON.parse(second.stdout), { read: 301, invalid: 1, accepted: 300, delivered: 300, failed: 0 })
    assert.deepStrictEqual(new Set(collector.messages().map((m) => m.messageId)), expectedIds)
    assert.strictEqual(collector.messages().length, 300)
    assert.deepStrictEqual(readNdjson(failed2).map((f) => f.message), ["this is not json"])

    // Without the invalid line, the failures file imports cleanly: exit code 0.
    const onlyDelivery = file("outage-delivery.ndjson", deliveryFailures.map((f) => JSON.stringify(f)).join("\n") + "\n")
    collector.clear()
    const third = await run(["import", onlyDelivery, "--quiet", ...host])
    assert.strictEqual(third.code, 0, third.stderr)
    assert.strictEqual(collector.messages().length, 300)
  }, 60_000)

  it("gives lines without a messageId the same id on every run, so a re-run does not duplicate", async () => {
    collector.clear()
    const path = file("ids.ndjson", Array.from({ length: 50 }, (_, i) => track(i)).join("\n") + "\n")
    const once = await run(["import", path, "--quiet", ...host])
    assert.strictEqual(once.code, 0, once.stderr)
    const firstIds = collector.messages().map((m) => m.messageId)
    collector.clear()
    // Resumed from line 21: the lines keep the ids of their position.
    const again = await run(["import", path, "--quiet", "--from-line", "21", ...host])
    assert.strictEqual(again.code, 0, again.stderr)
    assert.deepStrictEqual(collector.messages().map((m) => m.messageId), firstIds.slice(20))
    collector.clear()
    const otherNamespace = await run(["import", path, "--quiet", "--id-namespace", "batch-2", ...host])
    assert.strictEqual(otherNamespace.code, 0)
    const otherIds = new Set(collector.messages().map((m) => m.messageId))
    assert.strictEqual(otherIds.size, 50)
    for (const id of firstIds) assert.isFalse(otherIds.has(id))
    assert.strictEqual(new Set(firstIds).size, 50)
    for (const id of firstIds) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    // The UUID v5 (SHA-1) of "<line>:<bytes>" in the default namespace, computed here independently.
    const digest = Crypto.createHash("sha1")
      .update(Buffer.from(defaultNamespace.replace(/-/g, ""), "hex"))
      .update("1:")
      .update(track(0))
      .digest()
    digest[6] = (digest[6]! & 0x0f) | 0x50
    digest[8] = (digest[8]! & 0x3f) | 0x80
    const hex = digest.subarray(0, 16).toString("hex")
    assert.strictEqual(firstIds[0], `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`)
  }, 60_000)

  it("reads any file safely: __proto__ keys, invalid UTF-8, CR and CRLF endings, control sequences", async () => {
    collector.clear()
    const failedOut = Path.join(dir, "hostile-failed.ndjson")
    const lines: Array<Buffer> = [
      Buffer.from(track(1)),
      // Each fails validation; each must be in the failures file (a __proto__ key used to set the
      // line's prototype, and one of three such lines went missing from --failed-out).
      Buffer.from("{\"type\":\"track\",\"userId\":\"p1\",\"event\":\"E\",\"__proto__\":{\"messageId\":\"x\"}}"),
      Buffer.from("{\"type\":\"identify\",\"userId\":\"p2\",\"__proto__\":{\"traits\":{}},\"sentAt\":\"s\"}"),
      Buffer.from("{\"type\":\"track\",\"__proto__\":{\"userId\":\"p3\",\"event\":\"E\"}}"),
      // Latin-1 café: invalid UTF-8, an invalid line (it used to arrive as caf\ufffd).
      Buffer.concat([Buffer.from("{\"type\":\"track\",\"userId\":\"u\",\"event\":\"caf"), Buffer.from([0xe9]), Buffer.from("\"}")]),
      // Terminal escapes in a line that is not JSON: echoed escaped, never raw.
      Buffer.from("\x1b[2J\x1b[8m{not json \u009b31m"),
      Buffer.from(track(7))
    ]
    // Mixed line endings: CRLF, CR alone, LF.
    const endings = ["\r\n", "\r", "\n", "\r\n", "\r", "\n", "\r"]
    const content = Buffer.concat(lines.flatMap((line, i) => [line, Buffer.from(endings[i]!)]))
    const path = file("hostile.ndjson", content)
    const result = await run(["import", path, "--json", "--failed-out", failedOut, ...host])
    assert.strictEqual(result.code, 1, result.stderr)
    assert.deepInclude(JSON.parse(result.stdout), { read: 7, invalid: 5, accepted: 2, delivered: 2 })
    assert.deepStrictEqual(collector.messages().map((m) => m.userId), ["u1", "u7"])
    const failures = readNdjson(failedOut)
    assert.deepStrictEqual(failures.map((f) => f.line), [2, 3, 4, 5, 6])
    assert.match(failures[3]!.reason, /^invalid UTF-8 at byte 41/)
    assert.match(failures[4]!.reason, /^invalid JSON/)
    assert.strictEqual(failures[4]!.message, "\x1b[2J\x1b[8m{not json \u009b31m")
    for (const f of failures.slice(0, 3)) assert.isTrue(Object.hasOwn(f.message, "__proto__"))
    // Nothing a terminal would act on reaches standard error, nor the failures file's text.
    assert.notMatch(result.stderr, rawControl)
    assert.include(result.stderr, "\\x1b[2J")
    assert.notMatch(Fs.readFileSync(failedOut, "utf8").replace(/\n/g, ""), rawControl)
  }, 60_000)

  it("reports a line over the length cap as invalid, without holding it, and reads the next line", async () => {
    collector.clear()
    const path = Path.join(dir, "long-line.ndjson")
    // 64 MB on one line, between two good lines; the heap is capped at 64 MB, so the line cannot be
    // held (reading it whole used to end the import with "internal error" and no summary).
    const fd = Fs.openSync(path, "w")
    Fs.writeSync(fd, track(1) + "\n{\"type\":\"track\",\"userId\":\"big\",\"event\":\"E\",\"properties\":{\"pad\":\"")
    const block = Buffer.alloc(1 << 20, "x")
    for (let i = 0; i < 64; i++) Fs.writeSync(fd, block)
    Fs.writeSync(fd, "\"}}\n" + track(3) + "\n")
    Fs.closeSync(fd)
    const failedOut = Path.join(dir, "long-line-failed.ndjson")
    const result = await run(["import", path, "--json", "--failed-out", failedOut, ...host], {
      nodeArgs: ["--max-old-space-size=64"]
    })
    assert.strictEqual(result.code, 1, result.stderr.slice(-2000))
    assert.deepInclude(JSON.parse(result.stdout), { read: 3, invalid: 1, delivered: 2 })
    assert.match(result.stderr, /^line 2: the line is 6710\d{4} bytes, over the limit of 1048576 \(--max-line-bytes\)/m)
    assert.deepStrictEqual(collector.messages().map((m) => m.userId), ["u1", "u3"])
    assert.deepStrictEqual(readNdjson(failedOut).map((f) => [f.line, f.message]), [[2, null]])
    // The cap is an option.
    collector.clear()
    const small = file("small-cap.ndjson", track(1) + "\n" + track(2, { properties: { pad: "y".repeat(500) } }) + "\n")
    const capped = await run(["import", small, "--json", "--max-line-bytes", "200", ...host])
    assert.deepInclude(JSON.parse(capped.stdout), { read: 2, invalid: 1, delivered: 1 })
  }, 60_000)

  it("does not echo a binary file's bytes", async () => {
    collector.clear()
    const bytes = Buffer.alloc(64 * 1024)
    let seed = 42
    for (let i = 0; i < bytes.length; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
    const result = await run(["import", file("binary.bin", bytes), ...host])
    assert.strictEqual(result.code, 1)
    assert.notMatch(result.stderr, rawControl)
    assert.match(result.stderr, /^line 1: /m)
    assert.strictEqual(collector.requests().length, 0)
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
    assert.strictEqual(collector.requests().length, 0)

    const strict = await run(["import", "-", "--strict", "--json", ...host], { stdin: input })
    assert.strictEqual(strict.code, 1)
    assert.deepInclude(JSON.parse(strict.stdout), { read: 3, invalid: 1, accepted: 2, delivered: 2 })
    assert.deepStrictEqual(collector.messages().map((m) => m.type), ["page", "alias"])
    assert.include(strict.stderr, "stopped at line 4 (--strict)")
    assert.include(strict.stderr, "--from-line 4")
    // originalTimestamp (a Segment export field) becomes the timestamp when there is none.
    assert.strictEqual(collector.messages()[0]!.timestamp, "2022-01-01T00:00:00.000Z")

    collector.clear()
    const ok = await run(["import", "-", "--quiet", ...host], { stdin: input.replace("{oops", "") })
    assert.strictEqual(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /delivered\s+3/)
    assert.strictEqual(collector.messages().length, 3)
  }, 60_000)

  it("prints progress lines without terminal escapes when standard error is not a terminal", async () => {
    collector.clear()
    collector.failWith(200)
    collector.script(Collector.times(3, Collector.delay("1 second")))
    const path = file("progress.ndjson", Array.from({ length: 3_000 }, (_, i) => track(i)).join("\n"))
    // Three requests of 1,000 lines, one at a time, each answered after a second: a 3-second import.
    const result = await run(["import", path, "--flush-at", "1000", "--max-in-flight", "1", ...host])
    assert.strictEqual(result.code, 0, result.stderr)
    assert.match(result.stderr, /^progress: \d+% {2}line [\d,]+ {2}delivered [\d,]+ {2}failed 0 {2}invalid 0 {2}[\d,]+ lines\/s/m)
    assert.notMatch(result.stderr, /\x1b|\r/)
  }, 60_000)
})

describe("interruption", () => {
  it("on SIGINT exits 130 and prints the command that resumes it; running that command completes the import", async () => {
    collector.clear()
    collector.failWith(503)
    const lines = Array.from({ length: 200 }, (_, i) => track(i + 1))
    const path = file("interrupt.ndjson", lines.join("\n") + "\n")
    const failedOut = Path.join(dir, "interrupt-failed.ndjson")
    try {
      const first = await run(["import", path, "--failed-out", failedOut, "--quiet", "--flush-at", "50", ...host], {
        onSpawn: (child) => {
          // Interrupt once the first (failing) request arrived: the messages are in flight, retrying.
          void until(() => collector.requests().length > 0).then(() => child.kill("SIGINT"))
        }
      })
      assert.strictEqual(first.code, 130, first.stderr)
      assert.match(first.stderr, /^interrupted at line \d+: the lines before line 1 are done/m)
      // Nothing settled: the failures file is empty, and the resumed run starts at line 1.
      assert.deepStrictEqual(readNdjson(failedOut), [])
      const resume = /^resume with:\n {2}(.+)$/m.exec(first.stderr)
      assert.isNotNull(resume, first.stderr)
      const command = resume![1]!
      assert.include(command, `analytics-effect import ${path} --from-line 1 --failed-out`)
      assert.notInclude(command, "cli-test-key", "the write key is never printed")

      collector.failWith(200)
      const args = command.split(" ").slice(1)
      const second = await run([...args, "--write-key", "cli-test-key"])
      assert.strictEqual(second.code, 0, second.stderr)
      const ids = collector.messages().map((m) => m.messageId)
      assert.strictEqual(new Set(ids).size, 200)
      assert.strictEqual(ids.length, 200)
    } finally {
      collector.failWith(200)
    }
  }, 60_000)
})

describe("read errors", () => {
  // Reading a process's own memory from offset 0 fails with EIO: a real I/O error in the middle of a run.
  it.runIf(process.platform === "linux")("exit 3 on an I/O error while reading, with the command that resumes it", async () => {
    const result = await run(["import", "/proc/self/mem", "--json", ...host])
    assert.strictEqual(result.code, 3, result.stderr)
    assert.deepInclude(JSON.parse(result.stdout), { read: 0, delivered: 0 })
    assert.match(result.stderr, /^error: reading \/proc\/self\/mem after line 0: EIO/m)
    assert.match(result.stderr, /^resume with:\n {2}analytics-effect import \/proc\/self\/mem --from-line 1 /m)
  }, 30_000)
})

describe("collector command", () => {
  it("prints each message it receives as one line, refuses a wrong key with the reason, and stops on Ctrl-C with exit 0", async () => {
    const jsonOutput = { stdout: "", stderr: "" }
    let url = ""
    let sent: Promise<Array<Result>> | undefined
    const result = await run(["collector", "--json", "--write-key", "dev-key"], {
      onSpawn: (child, output) => {
        void until(() => /listening on (http:\/\/127\.0\.0\.1:\d+)\/v1\/batch/.test(output.stderr)).then(async () => {
          url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stderr)![1]!
          sent = Promise.all([
            run(["send", "track", "--userId", "u1", "--event", "Signed \x1b[2JUp", "--write-key", "dev-key", "--host", url]),
            run(["send", "identify", "--userId", "u2", "--write-key", "wrong", "--host", url])
          ])
          await sent
          await until(() => output.stdout.includes("Signed") && output.stderr.includes("refused 401"))
          Object.assign(jsonOutput, output)
          child.kill("SIGINT")
        })
      }
    })
    const [good, wrong] = await sent!
    assert.strictEqual(good!.code, 0, good!.stderr)
    assert.strictEqual(wrong!.code, 1)
    assert.strictEqual(result.code, 0, result.stderr)
    const printed = result.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
    assert.strictEqual(printed.length, 1)
    assert.include(printed[0], { type: "track", userId: "u1", event: "Signed \x1b[2JUp" })
    assert.notMatch(result.stdout + result.stderr, rawControl)
    assert.match(result.stderr, /refused 401 unauthorized: the write key does not match/)
    assert.match(result.stderr, /stopped: 2 requests, 1 messages accepted, 1 refused/)
  }, 60_000)

  it("prints readable lines by default, listening on the port it is given", async () => {
    const port = await (async () => {
      const probe = await startCliCollector()
      const p = probe.service.port
      await probe.close()
      return p
    })()
    const url = `http://127.0.0.1:${port}`
    const result = await run(["collector", "--port", String(port)], {
      onSpawn: (child, output) => {
        void until(() => output.stderr.includes(`listening on ${url}/v1/batch`)).then(async () => {
          await run(["send", "page", "--anonymousId", "a1", "--name", "Home", "--category", "Docs", "--write-key", "k", "--host", url])
          await until(() => output.stdout.includes("Home"))
          child.kill("SIGTERM")
        })
      }
    })
    assert.strictEqual(result.code, 0, result.stderr)
    assert.match(result.stdout, /^\d\d:\d\d:\d\d\.\d{3} {2}page {6}anon a1 {2}Docs \/ Home$/m)
  }, 60_000)
})

describe("argument handling (in process)", () => {
  // The Effect 3 edition moved a bare - to the end (@effect/cli stopped reading options after it);
  // effect/cli reads options on both sides of it. The import command's own flags, parsed in process.
  it.effect("accepts options after a bare - (standard input)", () =>
    Effect.gen(function*() {
      const parsed: Array<{ readonly input: string; readonly dryRun: boolean; readonly json: boolean }> = []
      const probe = Import.command.pipe(
        Command.withHandler((flags) => Effect.sync(() => void parsed.push({ input: flags.input, dryRun: flags.dryRun, json: flags.json })))
      )
      const parse = Command.runWith(probe, { version: "test" })
      yield* parse(["-", "--dry-run"])
      yield* parse(["--json", "-", "--dry-run"])
      yield* parse(["f.ndjson"])
      assert.deepStrictEqual(parsed, [
        { input: "-", dryRun: true, json: false },
        { input: "-", dryRun: true, json: true },
        { input: "f.ndjson", dryRun: false, json: false }
      ])
    }).pipe(Effect.provide(NodeServices.layer)))
})
