import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, PubSub, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Analytics, MemoryTransport, Testing } from "../../src/index.js"

// The recipe: script the transport's answers, fork what waits on the clock (flush waits for retries),
// move the TestClock, then join and read what was attempted. No real time passes.
describe("delivery under failure", () => {
  it.effect("a 429 with Retry-After pauses sending for that long", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* memory.setScript([MemoryTransport.retryAfter(429, "30")])
      yield* Analytics.track({ userId: "u1", event: "Report Exported" })

      const flushing = yield* Effect.forkChild(Analytics.flush)
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual((yield* memory.requests).length, 1) // still paused
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(flushing)

      const [first, second] = yield* memory.requests
      assert.strictEqual(second!.at - first!.at, 30_000)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("a request that times out is retried", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* memory.setScript([MemoryTransport.timeout("10 seconds")])
      yield* Analytics.track({ userId: "u1", event: "Report Exported" })

      const flushing = yield* Effect.forkChild(Analytics.flush)
      yield* TestClock.adjust("11 seconds") // the 10-second timeout, then a backoff of at most 1 s
      yield* Fiber.join(flushing)

      const requests = yield* memory.requests
      assert.deepStrictEqual(requests.map((r) => r.attempt), [0, 1])
      assert.strictEqual((yield* memory.delivered).length, 1)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("gives up after maxRetries, with the reason and the last error", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* memory.setFallback(MemoryTransport.status(500))
      const outcomes = yield* Analytics.subscribe
      const messageId = yield* Analytics.track({ userId: "u1", event: "Report Exported" })

      const flushing = yield* Effect.forkChild(Analytics.flush)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(flushing)

      const outcome = yield* PubSub.take(outcomes)
      assert.strictEqual(outcome._tag, "Failed")
      if (outcome._tag !== "Failed") return
      assert.strictEqual(outcome.reason, "RetriesExhausted")
      assert.strictEqual(outcome.attempts, 3) // the first attempt and 2 retries
      assert.strictEqual(outcome.messages[0]?.messageId, messageId)
      assert.strictEqual(outcome.error?.reason._tag, "Status")
    }).pipe(Effect.provide(Testing.layer({ maxRetries: 2 }))))

  it.effect("closing gives up after shutdownTimeout when the collector never answers", () =>
    Effect.gen(function*() {
      // Build the client in a scope of our own, to close it while the test goes on.
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Testing.layer({ shutdownTimeout: "5 seconds" }), scope)
      const analytics = Context.get(context, Analytics.Analytics)
      const memory = Context.get(context, MemoryTransport.MemoryTransport)
      yield* memory.setFallback(MemoryTransport.hang)
      // The outcomes stream ends by itself when the client has closed: collect it in a fiber.
      const outcomes = yield* Effect.forkChild(Stream.runCollect(analytics.outcomes))
      const messageId = yield* analytics.track({ userId: "u1", event: "Report Exported" })

      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(closing)

      const [outcome] = yield* Fiber.join(outcomes)
      assert.strictEqual(outcome?._tag, "Failed")
      assert.strictEqual(outcome?._tag === "Failed" ? outcome.reason : undefined, "ShutdownTimeout")
      assert.strictEqual(outcome?.messages[0]?.messageId, messageId)
      // Calls after closing fail with ClientClosed.
      const error = yield* Effect.flip(analytics.track({ userId: "u1", event: "Too Late" }))
      assert.strictEqual(error._tag, "ClientClosed")
    }))
})
