import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { startCliCollector } from "./support/cliCollector.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
// tsx's command line, run by the Node of this test (the edition's Node 22), as `npm run demo` runs it.
const tsx = Path.join(root, "node_modules", "tsx", "dist", "cli.mjs")

interface DemoRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly result: any
}

/**
 * Runs the demo as `npm run demo -- ARGS` does, with only `env` of the ANALYTICS_* variables, and
 * reads the result it writes with `--json-out`.
 */
const runDemo = (args: ReadonlyArray<string> = [], extraEnv: Record<string, string> = {}): Promise<DemoRun> => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv }
  for (const key of ["ANALYTICS_WRITE_KEY", "ANALYTICS_HOST", "DEBUG"]) if (!(key in extraEnv)) delete env[key]
  const out = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "analytics-demo-")), "result.json")
  return new Promise((resolve) => {
    execFile(process.execPath, [tsx, "examples/demo.ts", ...args, "--json-out", out], { cwd: root, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
      const result = Fs.existsSync(out) ? JSON.parse(Fs.readFileSync(out, "utf8")) : undefined
      Fs.rmSync(Path.dirname(out), { recursive: true, force: true })
      resolve({ code, stdout, stderr, result })
    })
  })
}

type Msg = Record<string, any>

interface DemoResult {
  readonly mode: string
  readonly endpoint: string
  readonly requests: ReadonlyArray<{ readonly messages: number; readonly userAgent: string }>
  readonly rejected: number
  readonly messages: ReadonlyArray<Msg>
  readonly outcomes: ReadonlyArray<{ readonly _tag: string; readonly messages: number }>
  readonly oversize: { readonly _tag: string; readonly messageType: string; readonly size: number; readonly limit: number }
}

const michaelTraits = { name: "Michael Bolton", email: "mbolton@example.com", plan: "Enterprise", friends: 42 }

describe("npm run demo", () => {
  it("runs every seed example against the local collector and exits 0", { timeout: 90_000 }, async () => {
    const run = await runDemo()
    assert.strictEqual(run.code, 0, `demo failed:\n${run.stdout}\n${run.stderr}`)

    const result = run.result as DemoResult
    assert.isDefined(result, "the demo writes its result with --json-out")
    assert.strictEqual(result.mode, "local")
    assert.match(result.endpoint, /^http:\/\/127\.0\.0\.1:\d+\/v1\/batch$/)
    assert.strictEqual(result.rejected, 0, "the collector refused nothing")
    assert.isTrue(result.requests.every((r) => r.userAgent.startsWith("analytics-effect/")))
    assert.deepStrictEqual(result.outcomes.map((o) => o._tag), result.outcomes.map(() => "Delivered"))

    const messages = result.messages
    assert.strictEqual(messages.length, 10)
    assert.strictEqual(result.requests.reduce((n, r) => n + r.messages, 0), 10)
    assert.strictEqual(result.outcomes.reduce((n, o) => n + o.messages, 0), 10)

    // Every message is enriched the same way.
    assert.strictEqual(new Set(messages.map((m) => m.messageId)).size, 10)
    for (const m of messages) {
      assert.isString(m.messageId)
      assert.isFalse(Number.isNaN(Date.parse(m.timestamp)), m.timestamp)
      assert.strictEqual(m.context?.library?.name, "analytics-effect")
    }

    // Identify (twice: at first, and again after the alias).
    const identifies = messages.filter((m) => m.type === "identify")
    assert.strictEqual(identifies.length, 2)
    for (const m of identifies) {
      assert.strictEqual(m.userId, "019mr8mf4r")
      assert.deepStrictEqual(m.traits, michaelTraits)
    }

    // Track
    const signedUp = messages.find((m) => m.event === "Signed Up")!
    assert.strictEqual(signedUp.type, "track")
    assert.strictEqual(signedUp.userId, "f4ca124298")
    assert.deepStrictEqual(signedUp.properties, { plan: "Enterprise" })

    // Page
    const page = messages.find((m) => m.type === "page")!
    assert.strictEqual(page.userId, "f4ca124298")
    assert.strictEqual(page.name, "Go library")
    assert.strictEqual(page.category, "Docs")
    assert.deepStrictEqual(page.properties, { url: "https://segment.com/libraries/go/" })

    // Group
    const group = messages.find((m) => m.type === "group")!
    assert.strictEqual(group.userId, "019mr8mf4r")
    assert.strictEqual(group.groupId, "56")
    assert.deepStrictEqual(group.traits, { name: "Initech", description: "Accounting Software" })

    // Alias flow, in order: anonymous event, alias, identify, identified event.
    const index = (predicate: (m: Msg) => boolean) => messages.findIndex(predicate)
    const anonymous = messages[index((m) => m.event === "Anonymous Event")]!
    assert.strictEqual(anonymous.type, "track")
    assert.isUndefined(anonymous.userId)
    assert.isString(anonymous.anonymousId)
    const alias = messages.find((m) => m.type === "alias")!
    assert.strictEqual(alias.previousId, anonymous.anonymousId)
    assert.strictEqual(alias.userId, "019mr8mf4r")
    const itemViewed = messages.find((m) => m.event === "Item Viewed")!
    assert.strictEqual(itemViewed.userId, "019mr8mf4r")
    assert.deepStrictEqual(itemViewed.properties, { item: "lamp" })
    const order = [
      index((m) => m.event === "Anonymous Event"),
      index((m) => m.type === "alias"),
      messages.lastIndexOf(identifies[1]!),
      index((m) => m.event === "Item Viewed")
    ]
    assert.deepStrictEqual(order, [...order].sort((a, b) => a - b))
    assert.isAbove(order[0]!, -1)

    // Selecting destinations
    const upgraded = messages.find((m) => m.event === "Membership Upgraded")!
    assert.strictEqual(upgraded.userId, "019mr8mf4r")
    assert.deepStrictEqual(upgraded.integrations, { All: false, Mixpanel: true })

    // Historical import: the past timestamp is sent as given.
    const historical = messages.filter((m) => m.timestamp === "2015-02-23T22:28:55.111Z")
    assert.strictEqual(historical.length, 1)
    assert.strictEqual(historical[0]!.type, "track")

    // The oversize call is a typed error, and never reached the collector.
    assert.strictEqual(result.oversize._tag, "MessageTooLarge")
    assert.strictEqual(result.oversize.messageType, "track")
    assert.strictEqual(result.oversize.limit, 32_000)
    assert.isAbove(result.oversize.size, 32_000)
    assert.isUndefined(messages.find((m) => m.event === "Report Uploaded"))

    // The human-readable part: a table of what was received, and the handled error.
    assert.match(run.stdout, /^#\s+type\s+user\s+/m)
    assert.match(run.stdout, /^10\s+track\s+019mr8mf4r\s+Item Purchased\s+.*2015-02-23T22:28:55\.111Z$/m)
    assert.match(run.stdout, /rejected\s+MessageTooLarge: /)

    // Its last lines are for people: no JSON on the terminal.
    assert.notInclude(run.stdout, "DEMO_RESULT")
    const last = run.stdout.trimEnd().split("\n").slice(-2)
    assert.match(last[0]!, /^done: 10 messages delivered to the local collector; .*Nothing was sent to Segment\.$/)
    assert.include(last[1]!, "npm run demo -- --segment")
    for (const line of last) assert.isBelow(line.length, 200)
  })

  it("never sends to a real endpoint because a write key is in the environment", { timeout: 90_000 }, async () => {
    // A write key and host exported for something else: the demo still uses its own local collector.
    const elsewhere = await startCliCollector()
    try {
      const run = await runDemo([], { ANALYTICS_WRITE_KEY: "someone-elses-key", ANALYTICS_HOST: elsewhere.url })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.strictEqual(run.result.mode, "local")
      assert.strictEqual(run.result.messages.length, 10)
      assert.deepStrictEqual(elsewhere.requests(), [])
    } finally {
      await elsewhere.close()
    }
  })

  it("sends to ANALYTICS_HOST with ANALYTICS_WRITE_KEY only with --segment, and refuses --segment without a key", async () => {
    const endpoint = await startCliCollector({ writeKey: "the-source-key" })
    try {
      const run = await runDemo(["--segment"], { ANALYTICS_WRITE_KEY: "the-source-key", ANALYTICS_HOST: endpoint.url })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.strictEqual(run.result.mode, "remote")
      assert.strictEqual(endpoint.messages().length, 10)
      assert.match(run.stdout.trimEnd().split("\n").at(-1)!, /^done: 10 messages of 10 messages delivered to http:\/\/127\.0\.0\.1:\d+;/)
      const noKey = await runDemo(["--segment"], { ANALYTICS_HOST: endpoint.url })
      assert.strictEqual(noKey.code, 2)
      assert.include(noKey.stderr, "set ANALYTICS_WRITE_KEY")
      assert.strictEqual(endpoint.messages().length, 10)
    } finally {
      await endpoint.close()
    }
  }, 90_000)
})
