import { NodeHttpClient } from "@effect/platform-node"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { AnalyticsError, MemoryTransport } from "../src/index.js"
import * as Collector from "../src/Collector.js"
import * as PromiseClient from "../src/PromiseClient.js"

const writeKey = "promise-test-key"

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

/** A collector on an ephemeral loopback port, closed after the test. */
const startCollector = async (): Promise<Collector.CollectorService> => {
  const scope = Effect.runSync(Scope.make())
  cleanups.push(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  return Effect.runPromise(Collector.make({ writeKey }).pipe(Scope.provide(scope)))
}

/** A memory transport whose companion the test keeps, to read what was sent. */
const memoryTransport = (script: ReadonlyArray<MemoryTransport.Step> = []) => {
  const context = Effect.runSync(MemoryTransport.make({ script }))
  const memory = Context.get(context, MemoryTransport.MemoryTransport)
  return {
    layer: Layer.succeedContext(context),
    delivered: () => Effect.runPromise(memory.delivered),
    requests: () => Effect.runPromise(memory.requests)
  }
}

/** Resolves with the rejection of `promise`, failing the test if it resolves. */
const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  assert.fail("expected the promise to reject")
}

const identify = {
  userId: "019mr8mf4r",
  traits: { name: "Michael Bolton", email: "mbolton@example.com", plan: "Enterprise", friends: 42 }
} as const

describe("PromiseClient", () => {
  it("closeAndFlush delivers pending messages to a real collector before it resolves", async () => {
    const collector = await startCollector()
    // The default HttpClient (fetch); batches wait for 20 messages or a minute, so only closing sends.
    const analytics = PromiseClient.createClient({ writeKey, host: collector.url, flushInterval: "1 minute" })
    const ids = [
      await analytics.identify(identify),
      await analytics.track({ userId: "f4ca124298", event: "Signed Up", properties: { plan: "Enterprise" } }),
      await analytics.page({ userId: "f4ca124298", name: "Go library", category: "Docs" }),
      await analytics.screen({ userId: "f4ca124298", name: "Home" }),
      await analytics.group({ userId: "019mr8mf4r", groupId: "56", traits: { name: "Initech" } }),
      await analytics.alias({ userId: "019mr8mf4r", previousId: "anon-1" })
    ]
    assert.deepStrictEqual(await Effect.runPromise(collector.messages), [])

    await analytics.closeAndFlush()

    const messages = await Effect.runPromise(collector.messages)
    assert.deepStrictEqual(messages.map((m) => m.type), ["identify", "track", "page", "screen", "group", "alias"])
    assert.deepStrictEqual(messages.map((m) => m.messageId), ids)
    assert.deepStrictEqual(messages[0]!.traits, identify.traits)
    assert.deepStrictEqual(await Effect.runPromise(collector.rejected), [])
  })

  it("closeAndFlush delivers calls that were not awaited (memory transport)", async () => {
    const memory = memoryTransport()
    const analytics = PromiseClient.createClient({ writeKey, transport: memory.layer })
    // Fire and forget, as a request handler would.
    void analytics.track({ userId: "u1", event: "A" })
    void analytics.track({ userId: "u1", event: "B" })
    void analytics.track({ userId: "u1", event: "C" })
    await analytics.closeAndFlush()
    assert.deepStrictEqual((await memory.delivered()).map((m) => m.event), ["A", "B", "C"])
  })

  it("flush resolves once what was accepted is delivered, and the client keeps working", async () => {
    const collector = await startCollector()
    const analytics = PromiseClient.createClient({
      writeKey,
      host: collector.url,
      flushInterval: "1 minute",
      httpClient: NodeHttpClient.layerUndici
    })
    cleanups.push(() => analytics.closeAndFlush())
    await analytics.track({ userId: "u1", event: "First" })
    await analytics.flush()
    assert.deepStrictEqual((await Effect.runPromise(collector.messages)).map((m) => m.event), ["First"])
    await analytics.track({ userId: "u1", event: "Second" })
    await analytics.flush()
    assert.deepStrictEqual((await Effect.runPromise(collector.messages)).map((m) => m.event), ["First", "Second"])
  })

  it("rejects with the InvalidMessage instance itself", async () => {
    const memory = memoryTransport()
    const analytics = PromiseClient.createClient({ writeKey, transport: memory.layer })
    cleanups.push(() => analytics.closeAndFlush())
    const error = await rejection(analytics.track({ userId: "u1", event: "" }))
    assert.instanceOf(error, AnalyticsError.InvalidMessage)
    assert.strictEqual((error as AnalyticsError.InvalidMessage)._tag, "InvalidMessage")
    assert.strictEqual((error as AnalyticsError.InvalidMessage).field, "event")
    const invalidTraits = await rejection(
      analytics.identify({ userId: "u1", traits: { score: Number.NaN } })
    )
    assert.instanceOf(invalidTraits, AnalyticsError.InvalidMessage)
  })

  it("rejects with the MessageTooLarge instance itself, carrying size and limit", async () => {
    const memory = memoryTransport()
    const analytics = PromiseClient.createClient({ writeKey, transport: memory.layer })
    const error = await rejection(
      analytics.track({ userId: "u1", event: "Report Uploaded", properties: { blob: "x".repeat(40_000) } })
    )
    assert.instanceOf(error, AnalyticsError.MessageTooLarge)
    const tooLarge = error as AnalyticsError.MessageTooLarge
    assert.strictEqual(tooLarge._tag, "MessageTooLarge")
    assert.strictEqual(tooLarge.limit, 32_000)
    assert.isAbove(tooLarge.size, 40_000)
    await analytics.closeAndFlush()
    assert.deepStrictEqual(await memory.requests(), [], "the oversize message was never queued")
  })

  it("after closeAndFlush: calls reject with ClientClosed, flush and closeAndFlush resolve", async () => {
    const memory = memoryTransport()
    const analytics = PromiseClient.createClient({ writeKey, transport: memory.layer })
    await analytics.track({ userId: "u1", event: "Before" })
    const closing = analytics.closeAndFlush()
    assert.strictEqual(analytics.closeAndFlush(), closing, "a second close returns the same promise")
    await closing
    const error = await rejection(analytics.track({ userId: "u1", event: "After" }))
    assert.instanceOf(error, AnalyticsError.ClientClosed)
    assert.strictEqual((error as AnalyticsError.ClientClosed).messageType, "track")
    const aliasError = await rejection(analytics.alias({ userId: "u1", previousId: "u0" }))
    assert.strictEqual((aliasError as AnalyticsError.ClientClosed).messageType, "alias")
    await analytics.flush()
    await analytics.closeAndFlush()
    assert.deepStrictEqual((await memory.delivered()).map((m) => m.event), ["Before"])
  })

  it("a rejected call that nobody awaits is not an unhandled rejection", async () => {
    const unhandled: Array<unknown> = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on("unhandledRejection", onUnhandled)
    try {
      const analytics = PromiseClient.createClient({ writeKey, transport: memoryTransport().layer })
      void analytics.track({ userId: "u1", event: "" })
      await analytics.closeAndFlush()
      void analytics.track({ userId: "u1", event: "After close" })
      // Unhandled rejections are reported once the microtask queue drains: let it drain twice.
      await new Promise((resolve) => setImmediate(resolve))
      await new Promise((resolve) => setImmediate(resolve))
      assert.deepStrictEqual(unhandled, [])
    } finally {
      process.off("unhandledRejection", onUnhandled)
    }
  })

  it("closeAndFlush({ timeout }) resolves after the timeout when the collector does not answer", async () => {
    const memory = memoryTransport([MemoryTransport.hang])
    const analytics = PromiseClient.createClient({ writeKey, transport: memory.layer, shutdownTimeout: "1 second" })
    await analytics.track({ userId: "u1", event: "Stuck" })
    const start = performance.now()
    await analytics.closeAndFlush({ timeout: "50 millis" })
    const elapsed = performance.now() - start
    assert.isBelow(elapsed, 900, "resolved before the client's own shutdown timeout")
    assert.strictEqual((await memory.requests()).length, 1, "the request was attempted")
    assert.deepStrictEqual(await memory.delivered(), [])
    const error = await rejection(analytics.track({ userId: "u1", event: "After" }))
    assert.instanceOf(error, AnalyticsError.ClientClosed)
  })

  it("a loop of calls at the defaults, awaited or not, loses nothing", async () => {
    const memory = memoryTransport()
    const analytics = PromiseClient.createClient({ writeKey, transport: memory.layer })
    const ids: Array<Promise<string>> = []
    for (let i = 0; i < 15_000; i++) ids.push(analytics.track({ userId: "u", event: "Loop", properties: { i } }))
    for (let i = 0; i < 15_000; i++) await analytics.track({ userId: "u", event: "Awaited", properties: { i } })
    await analytics.closeAndFlush()
    const delivered = await memory.delivered()
    assert.strictEqual(delivered.length, 30_000)
    assert.deepStrictEqual(delivered.slice(0, 15_000).map((m) => m.messageId), await Promise.all(ids))
  })

  it("reads the options it was not given from the environment; explicit options win", async () => {
    const saved = { ...process.env }
    try {
      process.env.ANALYTICS_WRITE_KEY = "from-env"
      process.env.ANALYTICS_FLUSH_AT = "2"
      const memory = memoryTransport()
      const analytics = PromiseClient.createClient({ transport: memory.layer, flushInterval: "1 hour" })
      await analytics.track({ userId: "u", event: "one" })
      await analytics.track({ userId: "u", event: "two" })
      // flushAt 2 from the environment: the request goes without a flush or the interval
      for (let i = 0; i < 50 && (await memory.requests()).length === 0; i++) await new Promise((r) => setTimeout(r, 5))
      const [request] = await memory.requests()
      assert.strictEqual(request?.messages.length, 2)
      await analytics.closeAndFlush()

      process.env.ANALYTICS_FLUSH_AT = "zero"
      assert.throws(() => PromiseClient.createClient({ transport: memory.layer }), /ANALYTICS_FLUSH_AT/)
      process.env.ANALYTICS_FLUSH_AT = "0"
      assert.throws(() => PromiseClient.createClient({ transport: memory.layer }), /flushAt: must be at least 1/)
      delete process.env.ANALYTICS_FLUSH_AT
      delete process.env.ANALYTICS_WRITE_KEY
      assert.throws(() => PromiseClient.createClient({ transport: memory.layer }), /ANALYTICS_WRITE_KEY/)
    } finally {
      process.env = saved
    }
  })

  it("logs through the given logger; DEBUG=analytics turns on debug logs; a rejection is not logged", async () => {
    const saved = { ...process.env }
    try {
      const lines: Array<[string, string]> = []
      const logger: PromiseClient.Logger = {
        debug: (m) => lines.push(["debug", m]),
        info: (m) => lines.push(["info", m]),
        warn: (m) => lines.push(["warn", m]),
        error: (m) => lines.push(["error", m])
      }
      process.env.DEBUG = "express,analytics"
      const memory = memoryTransport([MemoryTransport.status(400)])
      const analytics = PromiseClient.createClient({ writeKey, transport: memory.layer, logger })
      await rejection(analytics.track({ userId: "u", event: "" }))
      await analytics.track({ userId: "u", event: "refused" })
      await analytics.flush()
      await analytics.track({ userId: "u", event: "ok" })
      await analytics.closeAndFlush()
      assert.isTrue(lines.some(([level, m]) => level === "warn" && m.includes("failed (NotRetryable)")), JSON.stringify(lines))
      assert.isTrue(lines.some(([level, m]) => level === "debug" && m === "batch delivered"), JSON.stringify(lines))
      assert.isFalse(lines.some(([level, m]) => level !== "debug" && m.includes("rejected")), "no warning for a rejection")
      assert.isFalse(lines.some(([, m]) => m.includes("Invalid track message")), "the caller got that error")
    } finally {
      process.env = saved
    }
  })

  it("a script that never calls closeAndFlush ends on its own, and its events arrive", async () => {
    const collector = await startCollector()
    const entry = pathToFileURL(path.join(process.cwd(), "dist", "index.js")).href
    // A plain Node script, as a user writes it: track, then fall off the end.
    const script = [
      `import { PromiseClient } from ${JSON.stringify(entry)}`,
      `const analytics = PromiseClient.createClient({ host: ${JSON.stringify(collector.url)} })`,
      `for (let i = 0; i < 3; i++) analytics.track({ userId: "u", event: "Script Ran", properties: { i } })`,
      `await analytics.identify({ userId: "u", traits: { script: true } })`
    ].join("\n")
    const started = performance.now()
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, ANALYTICS_WRITE_KEY: writeKey, ANALYTICS_FLUSH_INTERVAL: "1 second" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        resolve(null)
      }, 20_000)
      child.on("exit", (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    assert.strictEqual(code, 0, `the script ended by itself (output: ${output})`)
    assert.isBelow(performance.now() - started, 15_000)
    const messages = await Effect.runPromise(collector.messages)
    assert.deepStrictEqual(messages.map((m) => m.type).sort(), ["identify", "track", "track", "track"])
  }, 30_000)

  it("an idle client does not keep a script alive", async () => {
    const entry = pathToFileURL(path.join(process.cwd(), "dist", "index.js")).href
    const script = [
      `import { PromiseClient } from ${JSON.stringify(entry)}`,
      `const analytics = PromiseClient.createClient({ host: "http://127.0.0.1:9" })`,
      `await analytics.flush()`
    ].join("\n")
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, ANALYTICS_WRITE_KEY: writeKey },
      stdio: "ignore"
    })
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        resolve(null)
      }, 10_000)
      child.on("exit", (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    assert.strictEqual(code, 0, "exited without closeAndFlush")
  }, 20_000)

  it("a default context that cannot be used: the calls reject with the InvalidOptions itself", async () => {
    const analytics = PromiseClient.createClient({
      writeKey,
      transport: memoryTransport().layer,
      defaultContext: { app: { version: 1n } as never }
    })
    const error = await rejection(analytics.track({ userId: "u", event: "e" }))
    assert.instanceOf(error, AnalyticsError.InvalidOptions)
    assert.strictEqual((error as AnalyticsError.InvalidOptions).option, "defaultContext")
    await analytics.closeAndFlush()
  })
})
