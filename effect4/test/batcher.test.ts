/**
 * The batcher through the public API: flush ordering, overlapping flushes and flushes racing the
 * close, transports that die, the 413 split, redirects, outcome streams, and the warning at close.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Logger, References, Stream } from "effect"
import { TestClock } from "effect/testing"
import { AnalyticsError, MemoryTransport, Outcome, Transport } from "../src/index.js"
import * as Analytics from "../src/Analytics.js"
import { openClient, takeAll } from "./support/client.js"

const ids = (outcomes: ReadonlyArray<Outcome.Outcome>) => outcomes.flatMap((o) => o.messages.map((m) => m.messageId))

describe("flush", () => {
  it.effect("waits for exactly the messages accepted before it, and their outcomes", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* openClient({ maxInFlight: 4 })
      yield* memory.setScript([
        MemoryTransport.status(200, { delay: "1 second" }),
        MemoryTransport.status(200, { delay: "5 seconds" })
      ])
      const before = [yield* analytics.track({ userId: "u", event: "before" })]
      const first = yield* Effect.forkChild(analytics.flush)
      yield* memory.awaitRequests(1)
      const after = yield* analytics.track({ userId: "u", event: "after" })
      const second = yield* Effect.forkChild(analytics.flush)
      yield* memory.awaitRequests(2)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(first) // the first request is answered; the second is still in flight
      assert.strictEqual(second.pollUnsafe(), undefined, "the later flush waits for the later message")
      assert.deepStrictEqual(ids(yield* takeAll(outcomes)), before)
      yield* TestClock.adjust(Duration.seconds(4))
      yield* Fiber.join(second)
      assert.deepStrictEqual(ids(yield* takeAll(outcomes)), [after])
    }))

  it.effect("overlapping flushes each complete, in order, when their own messages have outcomes", () =>
    Effect.gen(function*() {
      const { analytics, memory } = yield* openClient({ maxInFlight: 1 })
      yield* memory.setFallback(MemoryTransport.status(200, { delay: "1 second" }))
      const done: Array<number> = []
      const flushes: Array<Fiber.Fiber<void>> = []
      for (let i = 0; i < 3; i++) {
        yield* analytics.track({ userId: "u", event: `e${i}` })
        flushes.push(yield* Effect.forkChild(Effect.tap(analytics.flush, () => Effect.sync(() => done.push(i)))))
        yield* Effect.yieldNow // the flush puts its marker in the queue before the next call
      }
      for (let s = 0; s < 3; s++) {
        yield* memory.awaitRequests(s + 1)
        yield* TestClock.adjust(Duration.seconds(1))
        yield* Fiber.join(flushes[s]!)
        assert.deepStrictEqual(done, Array.from({ length: s + 1 }, (_, i) => i))
      }
    }))

  it.effect("a flush racing the close completes once the close has delivered; a flush after close returns at once", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* openClient()
      yield* memory.setFallback(MemoryTransport.status(200, { delay: "2 seconds" }))
      const sent = [yield* analytics.track({ userId: "u", event: "one" }), yield* analytics.track({ userId: "u", event: "two" })]
      const closing = yield* Effect.forkChild(close)
      const flushing = yield* Effect.forkChild(analytics.flush)
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      assert.strictEqual(flushing.pollUnsafe(), undefined)
      yield* TestClock.adjust(Duration.seconds(2))
      yield* Fiber.join(flushing)
      yield* Fiber.join(closing)
      yield* analytics.flush // the client is closed: nothing to wait for
      assert.deepStrictEqual(ids(yield* takeAll(outcomes)), sent)
    }))
})

describe("a transport that dies", () => {
  const dying = (how: "die" | "throw") =>
    Effect.gen(function*() {
      let attempts = 0
      const transport = Layer.succeed(Transport.Transport, {
        send: (request) => {
          attempts++
          if (attempts === 1) {
            if (how === "throw") throw new Error("transport bug")
            return Effect.die(new Error("transport bug"))
          }
          return Effect.succeed({ status: 200, bodyBytes: request.messages.length })
        }
      })
      const logs: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        logs.push(`${logLevel} ${String(message)}`)
      })
      const result = yield* Effect.gen(function*() {
        const analytics = yield* Analytics.Analytics
        const subscription = yield* analytics.subscribe
        const first = yield* analytics.track({ userId: "u", event: "lost" })
        yield* analytics.flush // must not hang until shutdownTimeout: no clock adjustment here
        const second = yield* analytics.track({ userId: "u", event: "next" })
        yield* analytics.flush
        return { first, second, outcomes: yield* takeAll(subscription) }
      }).pipe(
        Effect.provide(Analytics.layerWithoutTransport({ writeKey: "k" }).pipe(Layer.provide(transport))),
        Effect.provide(Logger.layer([capture]))
      )
      return { ...result, logs }
    })

  for (const how of ["die", "throw"] as const) {
    it.effect(`(${how}) fails its batch with TransportDefect, logs the cause, and the client goes on`, () =>
      Effect.gen(function*() {
        const { first, logs, outcomes, second } = yield* dying(how)
        assert.strictEqual(outcomes.length, 2)
        const [failed, delivered] = outcomes
        assert.strictEqual(failed?._tag === "Failed" && failed.reason, "TransportDefect")
        assert.deepStrictEqual(failed?.messages.map((m) => m.messageId), [first])
        assert.strictEqual(delivered?._tag, "Delivered")
        assert.deepStrictEqual(delivered?.messages.map((m) => m.messageId), [second])
        assert.isTrue(logs.some((l) => l.startsWith("Error") && l.includes("transport died")), logs.join("\n"))
      }))
  }
})

describe("413: the batch is halved and each half retried, down to one message", () => {
  it.effect("each message gets exactly one outcome; a single message refused fails with the 413", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* openClient({ flushAt: 8 })
      // 8 → 413; 4 + 4: the first 4 → 413, 2 + 2: both ok; the second 4 → ok
      yield* memory.setScript([MemoryTransport.status(413), MemoryTransport.status(413)])
      const sent: Array<string> = []
      for (let i = 0; i < 8; i++) sent.push(yield* analytics.track({ userId: "u", event: `e${i}` }))
      yield* analytics.flush
      const requests = yield* memory.requests
      assert.deepStrictEqual(requests.map((r) => r.messages.length), [8, 4, 2, 2, 4])
      const got = yield* takeAll(outcomes)
      assert.deepStrictEqual(Outcome.count(got), { delivered: 8, failed: 0, dropped: 0 })
      assert.deepStrictEqual(ids(got), sent)

      yield* memory.setFallback(MemoryTransport.status(413))
      const single = yield* analytics.track({ userId: "u", event: "always too large" })
      const pair = [single, yield* analytics.track({ userId: "u", event: "also" })]
      yield* analytics.flush
      const failed = yield* takeAll(outcomes)
      assert.deepStrictEqual(failed.map((o) => o._tag), ["Failed", "Failed"])
      assert.deepStrictEqual(ids(failed), pair)
      for (const o of failed) {
        assert.strictEqual(o._tag === "Failed" && o.reason, "NotRetryable")
        assert.strictEqual(o._tag === "Failed" && o.error?.reason._tag === "Status" && o.error.reason.status, 413)
      }
    }))
})

describe("redirects", () => {
  for (const status of [301, 302, 303, 307, 308]) {
    it.effect(`a ${status} is a failure, not retried and never counted as delivered`, () =>
      Effect.gen(function*() {
        const { analytics, memory, outcomes } = yield* openClient()
        yield* memory.setFallback(MemoryTransport.status(status))
        const id = yield* analytics.track({ userId: "u", event: "e" })
        yield* analytics.flush
        yield* TestClock.adjust(Duration.minutes(10))
        assert.strictEqual((yield* memory.requests).length, 1)
        const [outcome] = yield* takeAll(outcomes)
        assert.strictEqual(outcome?._tag === "Failed" && outcome.reason, "NotRetryable")
        assert.deepStrictEqual(outcome?.messages.map((m) => m.messageId), [id])
      }))
  }
})

describe("outcome streams", () => {
  it.effect("subscribeStream subscribes at once: a stream forked just before a call misses nothing", () =>
    Effect.gen(function*() {
      const { analytics, close } = yield* openClient({ flushAt: 1 })
      const stream = yield* analytics.subscribeStream
      const collected = yield* Effect.forkChild(Stream.runCollect(stream))
      const id = yield* analytics.track({ userId: "u", event: "at once" })
      yield* analytics.flush
      yield* close // the stream ends once the client has closed and it has read everything
      const got = yield* Fiber.join(collected)
      assert.deepStrictEqual(ids(got), [id])
    }))

  it.effect("outcomes ends after close; a stream started after close is empty", () =>
    Effect.gen(function*() {
      const { analytics, close } = yield* openClient()
      const reading = yield* Effect.forkChild(Stream.runCollect(analytics.outcomes))
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow // let the stream subscribe
      const id = yield* analytics.track({ userId: "u", event: "e" })
      yield* close
      assert.deepStrictEqual(ids(yield* Fiber.join(reading)), [id])
      assert.strictEqual((yield* Stream.runCollect(analytics.outcomes)).length, 0)
    }))
})

describe("the warning at close", () => {
  it.effect("one warning with the totals by reason when anything was dropped or failed; none otherwise", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push(String(message))
      })
      yield* Effect.gen(function*() {
        const clean = yield* openClient()
        yield* clean.analytics.track({ userId: "u", event: "ok" })
        yield* clean.close
        assert.isFalse(warnings.some((w) => w.includes("closed with")))

        const lossy = yield* openClient({ overflow: "dropNewest", maxQueueSize: 20, maxInFlight: 1, maxRetries: 0 })
        yield* lossy.memory.setScript([MemoryTransport.status(400)])
        yield* lossy.analytics.track({ userId: "u", event: "refused" })
        yield* lossy.analytics.flush
        for (let i = 0; i < 23; i++) yield* lossy.analytics.track({ userId: "u", event: "burst" })
        yield* lossy.close
      }).pipe(Effect.provide(Logger.layer([capture])), Effect.provideService(References.MinimumLogLevel, "All"))
      const closing = warnings.filter((w) => w.includes("closed with"))
      assert.deepStrictEqual(closing, [
        "analytics client closed with 4 messages not delivered: 1 Failed (NotRetryable), 3 Dropped (QueueFull)"
      ])
    }))
})

describe("options are checked when the layer is built", () => {
  it.effect("shutdownTimeout: 0 fails the layer with InvalidOptions instead of failing everything queued", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(
          Analytics.layerWithoutTransport({ writeKey: "k", shutdownTimeout: 0 }).pipe(
            Layer.provide(MemoryTransport.layer())
          )
        ))
      )
      assert.instanceOf(error, AnalyticsError.InvalidOptions)
      assert.strictEqual(error.option, "shutdownTimeout")
    }))
})

// Effect 4 starts forks interruptible, even from an uninterruptible region (a finalizer), and a
// timeout inside one fires. The close's timeout and the delivery's handling of its interruption rest
// on that: every message still gets exactly one outcome, and the close ends at shutdownTimeout.
describe("interruption at the close's timeout", () => {
  it.effect("a 413 split whose first half hangs: both halves fail at shutdownTimeout, each message once", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* openClient({ flushAt: 4, shutdownTimeout: "2 seconds" })
      // 4 → 413; the first half (2) hangs; the second half is never attempted.
      yield* memory.setScript([MemoryTransport.status(413), MemoryTransport.hang])
      const sent: Array<string> = []
      for (let i = 0; i < 4; i++) sent.push(yield* analytics.track({ userId: "u", event: `e${i}` }))
      yield* memory.awaitRequests(2)
      const closing = yield* Effect.forkChild(close)
      yield* TestClock.adjust(Duration.millis(1_999))
      assert.isUndefined(closing.pollUnsafe(), "the close waits for the hung half")
      yield* TestClock.adjust(Duration.millis(1))
      yield* Fiber.join(closing)
      const got = yield* takeAll(outcomes)
      assert.deepStrictEqual(Outcome.count(got), { delivered: 0, failed: 4, dropped: 0 })
      assert.deepStrictEqual(ids(got).sort(), [...sent].sort())
      for (const o of got) assert.strictEqual(o._tag === "Failed" && o.reason, "ShutdownTimeout")
      assert.deepStrictEqual((yield* memory.requests).map((r) => r.messages.length), [4, 2])
    }))

  it.effect("a batch waiting out a Retry-After pause fails at shutdownTimeout with the 429, not after the pause", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* openClient({ flushAt: 1, shutdownTimeout: "3 seconds" })
      yield* memory.setFallback(MemoryTransport.retryAfter(429, "60"))
      const id = yield* analytics.track({ userId: "u", event: "limited" })
      yield* memory.awaitRequests(1)
      const closing = yield* Effect.forkChild(close)
      yield* TestClock.adjust(Duration.seconds(3))
      yield* Fiber.join(closing)
      const [outcome] = yield* takeAll(outcomes)
      assert.strictEqual(outcome?._tag === "Failed" && outcome.reason, "ShutdownTimeout")
      assert.deepStrictEqual(outcome?.messages.map((m) => m.messageId), [id])
      assert.strictEqual(
        outcome?._tag === "Failed" && outcome.error?.reason._tag === "Status" && outcome.error.reason.status,
        429
      )
      assert.strictEqual((yield* memory.requests).length, 1, "no retry during the pause")
    }))

  it.effect("batches waiting for a slot when the close times out fail at once, without an attempt", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* openClient({
        flushAt: 1,
        maxInFlight: 1,
        shutdownTimeout: "1 second"
      })
      yield* memory.setFallback(MemoryTransport.hang)
      const sent: Array<string> = []
      for (let i = 0; i < 3; i++) sent.push(yield* analytics.track({ userId: "u", event: `e${i}` }))
      yield* memory.awaitRequests(1)
      const closing = yield* Effect.forkChild(close)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(closing)
      const got = yield* takeAll(outcomes)
      assert.deepStrictEqual(ids(got).sort(), [...sent].sort())
      const failed = got.filter((o): o is Outcome.Failed => o._tag === "Failed")
      assert.deepStrictEqual(failed.map((o) => [o.reason, o.attempts]), [
        ["ShutdownTimeout", 1],
        ...failed.slice(1).map(() => ["ShutdownTimeout", 0])
      ])
      assert.strictEqual((yield* memory.requests).length, 1, "only the hung batch was attempted")
    }))
})
