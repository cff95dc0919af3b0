import { assert, describe, it } from "@effect/vitest"
import {
  ConfigProvider,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Metric,
  Redacted,
  References
} from "effect"
import { HttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { Analytics, MemoryTransport, Outcome } from "../src/index.js"
import { openClient, takeAll } from "./support/client.js"

const open = openClient


describe("Analytics batching", () => {
  it.effect("19 tracks wait for the interval; the request goes at 5 s with 19 messages", () =>
    Effect.gen(function*() {
      const { analytics, memory } = yield* open()
      for (let i = 0; i < 19; i++) yield* analytics.track({ userId: "u", event: `e${i}` })
      yield* TestClock.adjust(Duration.millis(4_900))
      assert.strictEqual((yield* memory.requests).length, 0)
      yield* TestClock.adjust(Duration.millis(100))
      const requests = yield* memory.awaitRequests(1)
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(requests[0]!.batch.length, 19)
      assert.deepStrictEqual(requests[0]!.batch.map((m) => m.event), Array.from({ length: 19 }, (_, i) => `e${i}`))
    }))

  it.effect("20 tracks make one request at once, before any clock adjustment", () =>
    Effect.gen(function*() {
      const { analytics, memory } = yield* open()
      for (let i = 0; i < 20; i++) yield* analytics.track({ userId: "u", event: `e${i}` })
      const requests = yield* memory.awaitRequests(1)
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(requests[0]!.batch.length, 20)
      assert.strictEqual(requests[0]!.at, 0, "sent at clock time 0: no interval involved")
    }))

  it.effect("flushAt: 1 sends each call as its own request, in order", () =>
    Effect.gen(function*() {
      const { analytics, memory } = yield* open({ flushAt: 1 })
      const sent: Array<string> = []
      for (let i = 0; i < 5; i++) {
        sent.push(yield* analytics.track({ userId: "u", event: `e${i}` }))
        yield* memory.awaitRequests(i + 1)
      }
      const requests = yield* memory.requests
      assert.strictEqual(requests.length, 5)
      for (const request of requests) assert.strictEqual(request.batch.length, 1)
      assert.deepStrictEqual(requests.map((r) => r.batch[0]!.messageId), sent)
    }))

  it.effect("10,000 messages of ~20 KB: every body <= 500,000 bytes and <= 2,500 messages, all once, in order", () =>
    Effect.gen(function*() {
      const { analytics, memory, close } = yield* open({ overflow: "suspend" })
      const blob = "x".repeat(20_000)
      const sent: Array<string> = []
      for (let i = 0; i < 10_000; i++) {
        sent.push(yield* analytics.track({ userId: `user-${i}`, event: "Big", properties: { i, blob } }))
      }
      yield* close
      const requests = yield* memory.requests
      let maxBody = 0
      for (const request of requests) {
        assert.isAtMost(request.bodyBytes, 500_000)
        assert.isAtMost(request.messages.length, 2_500)
        assert.strictEqual(new TextEncoder().encode(request.body).length, request.bodyBytes)
        maxBody = Math.max(maxBody, request.bodyBytes)
      }
      assert.isAbove(maxBody, 450_000, "batches are filled close to the byte limit")
      const delivered = requests.flatMap((r) => r.messages.map((m) => m.messageId))
      assert.strictEqual(delivered.length, 10_000)
      assert.deepStrictEqual(delivered, sent)
    }), { timeout: 120_000 })

  it.effect("a burst of 100,000 small messages makes fewer than 200 requests", () =>
    Effect.gen(function*() {
      const { analytics, memory, close } = yield* open({ overflow: "suspend" })
      for (let i = 0; i < 100_000; i++) yield* analytics.track({ userId: "u", event: "Burst", properties: { i } })
      yield* close
      const requests = yield* memory.requests
      const delivered = requests.reduce((n, r) => n + r.messages.length, 0)
      assert.strictEqual(delivered, 100_000)
      assert.isBelow(requests.length, 200)
    }), { timeout: 120_000 })

  it.effect("a trickle still goes out within flushInterval", () =>
    Effect.gen(function*() {
      const { analytics, memory } = yield* open()
      yield* analytics.track({ userId: "u", event: "one" })
      yield* TestClock.adjust(Duration.seconds(5))
      yield* memory.awaitRequests(1)
      yield* analytics.track({ userId: "u", event: "two" })
      yield* TestClock.adjust(Duration.seconds(5))
      const requests = yield* memory.awaitRequests(2)
      assert.deepStrictEqual(requests.map((r) => r.batch.map((m) => m.event)), [["one"], ["two"]])
    }))
})

describe("Analytics call errors", () => {
  it.effect("a 32,001-byte message fails with MessageTooLarge; nothing is sent or dropped", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open()
      const base = { userId: "u", event: "Big", messageId: "m-1", timestamp: "2024-01-01T00:00:00.000Z" }
      const error = yield* Effect.flip(analytics.track({ ...base, properties: { pad: "x".repeat(40_000) } }))
      assert.strictEqual(error._tag, "MessageTooLarge")
      if (error._tag === "MessageTooLarge") {
        assert.strictEqual(error.limit, 32_000)
        assert.isAbove(error.size, 32_000)
        assert.strictEqual(error.messageId, "m-1")
      }
      const invalid = yield* Effect.flip(analytics.track({ userId: "u", event: "" }))
      assert.strictEqual(invalid._tag, "InvalidMessage")
      yield* analytics.flush
      yield* close
      assert.strictEqual((yield* memory.requests).length, 0)
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 0, failed: 0, dropped: 0 })
    }))
})

describe("Analytics flush and shutdown", () => {
  it.effect("flush sends what is waiting and completes when each message has its outcome", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* open({}, { script: [MemoryTransport.status(200, { delay: "2 seconds" })] })
      for (let i = 0; i < 3; i++) yield* analytics.track({ userId: "u", event: `e${i}` })
      const flushing = yield* Effect.forkChild(analytics.flush)
      yield* memory.awaitRequests(1)
      yield* TestClock.adjust(Duration.seconds(1))
      assert.isUndefined(flushing.pollUnsafe(), "the flush waits for the answer")
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(flushing)
      const got = yield* takeAll(outcomes)
      assert.deepStrictEqual(Outcome.count(got), { delivered: 3, failed: 0, dropped: 0 })
    }))

  it.effect("closing the scope delivers queued messages and the request in flight", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open({ flushAt: 5 }, {
        script: [MemoryTransport.status(200, { delay: "1 second" })]
      })
      const sent: Array<string> = []
      for (let i = 0; i < 5; i++) sent.push(yield* analytics.track({ userId: "u", event: `first${i}` }))
      yield* memory.awaitRequests(1) // in flight, answering after 1 s
      for (let i = 0; i < 3; i++) sent.push(yield* analytics.track({ userId: "u", event: `queued${i}` }))
      const closing = yield* Effect.forkChild(close)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(closing)
      const delivered = (yield* memory.delivered).map((m) => m.messageId)
      assert.deepStrictEqual(delivered, sent)
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 8, failed: 0, dropped: 0 })
    }))

  it.effect("with a hung transport, shutdown ends at shutdownTimeout and the messages fail with their ids", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open(
        { flushAt: 2, maxInFlight: 1, shutdownTimeout: "10 seconds" },
        {}
      )
      yield* memory.setFallback(MemoryTransport.hang)
      const sent: Array<string> = []
      for (let i = 0; i < 5; i++) sent.push(yield* analytics.track({ userId: "u", event: `e${i}` }))
      yield* memory.awaitRequests(1)
      const closing = yield* Effect.forkChild(close)
      yield* TestClock.adjust(Duration.seconds(9))
      assert.strictEqual(closing.pollUnsafe(), undefined)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(closing)
      const got = yield* takeAll(outcomes)
      const failed = got.filter((o): o is Outcome.Failed => o._tag === "Failed")
      assert.deepStrictEqual(Outcome.count(got), { delivered: 0, failed: 5, dropped: 0 })
      assert.deepStrictEqual(
        failed.flatMap((o) => o.messages.map((m) => m.messageId)).sort(),
        [...sent].sort()
      )
      for (const outcome of failed) assert.strictEqual(outcome.reason, "ShutdownTimeout")
    }))

  it.effect("calls after close fail with ClientClosed", () =>
    Effect.gen(function*() {
      const { analytics, close } = yield* open()
      yield* close
      const error = yield* Effect.flip(analytics.track({ userId: "u", event: "late" }))
      assert.strictEqual(error._tag, "ClientClosed")
      const alias = yield* Effect.flip(analytics.alias({ userId: "u", previousId: "p" }))
      assert.strictEqual(alias._tag, "ClientClosed")
    }))

  it.effect("enabled: false validates, reports Dropped(Disabled) and sends nothing", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open({ enabled: false })
      yield* analytics.track({ userId: "u", event: "e" })
      yield* analytics.identify({ userId: "u", traits: { a: 1 } })
      const invalid = yield* Effect.flip(analytics.track({ userId: "u", event: "" }))
      assert.strictEqual(invalid._tag, "InvalidMessage")
      yield* analytics.flush
      yield* TestClock.adjust(Duration.seconds(10))
      yield* close
      assert.strictEqual((yield* memory.requests).length, 0)
      const got = yield* takeAll(outcomes)
      assert.deepStrictEqual(Outcome.count(got), { delivered: 0, failed: 0, dropped: 2 })
      for (const outcome of got) assert.strictEqual(outcome._tag === "Dropped" && outcome.reason, "Disabled")
    }))

  it.effect("no fiber outlives the scope", () =>
    Effect.gen(function*() {
      // Effect 4 has no Supervisor: the fibers started and ended while the client runs are counted
      // through the runtime's fiber metrics hook.
      let running = 0
      const counting: Metric.FiberRuntimeMetricsService = {
        recordFiberStart: () => {
          running++
        },
        recordFiberEnd: () => {
          running--
        }
      }
      yield* Effect.gen(function*() {
        const { analytics, close, memory } = yield* open()
        yield* memory.setFallback(MemoryTransport.status(200, { delay: "1 second" }))
        for (let i = 0; i < 50; i++) yield* analytics.track({ userId: "u", event: "e" })
        yield* memory.awaitRequests(1)
        // One more, carried until the interval: the ticker is armed.
        yield* analytics.track({ userId: "u", event: "carried" })
        for (let i = 0; i < 5; i++) yield* Effect.yieldNow
        // the consumer, the ticker and at least one sender are alive while the client is open
        assert.isAtLeast(running, 3)
        const closing = yield* Effect.forkChild(close)
        yield* TestClock.adjust(Duration.seconds(2))
        yield* Fiber.join(closing)
        // (the test's own fiber, which forked `closing`, has ended too)
        assert.strictEqual(running, 0)
      }).pipe(Effect.provideService(Metric.FiberRuntimeMetrics, counting))
    }))
})

describe("Analytics configuration", () => {
  it.effect("layerConfig reads every option from a ConfigProvider", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromEnv({
        env: Object.fromEntries([
          ["ANALYTICS_WRITE_KEY", "from-config"],
          ["ANALYTICS_HOST", "http://127.0.0.1:1"],
          ["ANALYTICS_PATH", "/custom/batch"],
          ["ANALYTICS_GZIP", "true"],
          ["ANALYTICS_TIMEOUT", "3 seconds"],
          ["ANALYTICS_FLUSH_AT", "3"],
          ["ANALYTICS_FLUSH_INTERVAL", "2 seconds"],
          ["ANALYTICS_MAX_QUEUE_SIZE", "50"],
          ["ANALYTICS_MAX_QUEUE_BYTES", "2000000"],
          ["ANALYTICS_OVERFLOW", "dropOldest"],
          ["ANALYTICS_MAX_MESSAGE_BYTES", "1000"],
          ["ANALYTICS_MAX_BATCH_BYTES", "4000"],
          ["ANALYTICS_MAX_BATCH_MESSAGES", "7"],
          ["ANALYTICS_MAX_IN_FLIGHT", "2"],
          ["ANALYTICS_SHUTDOWN_TIMEOUT", "4 seconds"],
          ["ANALYTICS_ENABLED", "true"],
          ["ANALYTICS_MAX_RETRIES", "2"],
          ["ANALYTICS_RETRY_BUDGET", "1 minute"],
          ["ANALYTICS_MAX_RETRY_AFTER", "20 seconds"],
          ["ANALYTICS_DEFAULT_CONTEXT", "{\"app\":{\"name\":\"shop\"}}"],
          ["ANALYTICS_DEFAULT_INTEGRATIONS", "{\"All\":false}"],
          ["DEBUG", "express,analytics"]
        ])
      })
      const options = yield* Effect.provideService(Analytics.config, ConfigProvider.ConfigProvider, provider)
      assert.strictEqual(Redacted.value(options.writeKey as Redacted.Redacted<string>), "from-config")
      assert.strictEqual(options.host, "http://127.0.0.1:1")
      assert.strictEqual(options.path, "/custom/batch")
      assert.strictEqual(options.gzip, true)
      assert.isTrue(Duration.equals(Duration.fromInputUnsafe(options.timeout!), Duration.seconds(3)))
      assert.strictEqual(options.flushAt, 3)
      assert.isTrue(Duration.equals(Duration.fromInputUnsafe(options.flushInterval!), Duration.seconds(2)))
      assert.strictEqual(options.maxQueueSize, 50)
      assert.strictEqual(options.maxQueueBytes, 2_000_000)
      assert.strictEqual(options.overflow, "dropOldest")
      assert.strictEqual(options.maxMessageBytes, 1000)
      assert.strictEqual(options.maxBatchBytes, 4000)
      assert.strictEqual(options.maxBatchMessages, 7)
      assert.strictEqual(options.maxInFlight, 2)
      assert.isTrue(Duration.equals(Duration.fromInputUnsafe(options.shutdownTimeout!), Duration.seconds(4)))
      assert.strictEqual(options.enabled, true)
      assert.strictEqual(options.maxRetries, 2)
      assert.isTrue(Duration.equals(Duration.fromInputUnsafe(options.retryBudget!), Duration.minutes(1)))
      assert.isTrue(Duration.equals(Duration.fromInputUnsafe(options.maxRetryAfter!), Duration.seconds(20)))
      assert.deepStrictEqual(options.defaultContext, { app: { name: "shop" } })
      assert.deepStrictEqual(options.defaultIntegrations, { All: false })
      assert.strictEqual(options.debug, true)

      // The options drive a working client: flushAt 3, batches of at most 7, default context merged.
      const { analytics, memory, close } = yield* open({ ...options, host: undefined })
      for (let i = 0; i < 10; i++) yield* analytics.track({ userId: "u", event: `e${i}` })
      yield* close
      const requests = yield* memory.requests
      assert.isAtLeast(requests.length, 2)
      for (const request of requests) assert.isAtMost(request.messages.length, 7)
      const first = requests[0]!.batch[0]!
      assert.deepStrictEqual((first.context as any).app, { name: "shop" })
      assert.deepStrictEqual(first.integrations, { All: false })
    }))

  it.effect("layerConfig fails with a ConfigError when the write key is missing", () =>
    Effect.gen(function*() {
      const exit = yield* Layer.build(Analytics.layerConfig()).pipe(
        Effect.scoped,
        Effect.provide(Layer.succeed(HttpClient.HttpClient, undefined as never)),
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: {} })),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /ANALYTICS_WRITE_KEY/)
    }))

  it.effect("the write key never appears in log output, even at debug level with failures", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ fiber, logLevel, message }) => {
        lines.push(`${logLevel} ${JSON.stringify(message)} ${JSON.stringify(fiber.getRef(References.CurrentLogAnnotations))}`)
      })
      const secret = "super-secret-write-key-123"
      yield* Effect.gen(function*() {
        const { analytics, close, memory } = yield* open(
          { writeKey: secret, debug: true, maxRetries: 1, flushAt: 1 },
          { writeKey: Redacted.make(secret) }
        )
        yield* memory.setScript([MemoryTransport.status(500), MemoryTransport.status(200), MemoryTransport.status(400)])
        yield* analytics.track({ userId: "u", event: "one" })
        yield* TestClock.adjust(Duration.seconds(2))
        yield* analytics.track({ userId: "u", event: "two" })
        yield* analytics.flush
        yield* close
      }).pipe(
        Effect.provide(Logger.layer([capture])),
        Effect.provideService(References.MinimumLogLevel, "All")
      )
      assert.isAbove(lines.length, 2, "the client logged its sends, retries and failures")
      assert.isTrue(lines.some((l) => l.startsWith("Debug ")))
      assert.isTrue(lines.some((l) => l.startsWith("Warn ")))
      for (const line of lines) {
        assert.notInclude(line, secret)
        assert.notInclude(line, Buffer.from(`${secret}:`).toString("base64"))
      }
    }))
})
