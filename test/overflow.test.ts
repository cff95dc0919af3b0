import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Logger, LogLevel, TestClock } from "effect"
import { Analytics, MemoryTransport, Outcome } from "../src/index.js"
import { openClient, takeAll } from "./support/client.js"

const open = (options: Partial<Analytics.Options> = {}) => openClient({ maxInFlight: 1, ...options })


const droppedIds = (outcomes: ReadonlyArray<Outcome.Outcome>) =>
  outcomes.flatMap((o) => o._tag === "Dropped" && o.reason === "QueueFull" ? o.messages.map((m) => m.messageId) : [])

/**
 * One message is sent first and hangs in flight (maxInFlight 1), so the queue alone holds what
 * follows: 1,000 calls against a queue of 100.
 */
const overflowRun = (overflow: "dropNewest" | "dropOldest") =>
  Effect.gen(function*() {
    const { analytics, close, memory, outcomes } = yield* open({
      overflow,
      maxQueueSize: 100,
      shutdownTimeout: "1 second"
    })
    yield* memory.setFallback(MemoryTransport.hang)
    const first = yield* analytics.track({ userId: "u", event: "first" })
    const flushing = yield* Effect.fork(analytics.flush)
    yield* memory.awaitRequests(1)
    const ids: Array<string> = []
    for (let i = 0; i < 1_000; i++) ids.push(yield* analytics.track({ userId: "u", event: "e", properties: { i } }))
    const beforeClose = yield* takeAll(outcomes)
    const closing = yield* Effect.fork(close)
    yield* TestClock.adjust(Duration.seconds(1))
    yield* Fiber.join(closing)
    yield* Fiber.interrupt(flushing)
    const all = [...beforeClose, ...(yield* takeAll(outcomes))]
    return { first, ids, all, requests: yield* memory.requests }
  })

describe("overflow policies with the transport hung and maxQueueSize 100", () => {
  it.scoped("dropNewest: exactly 900 dropped, the newest ones; the rest fail at shutdown", () =>
    Effect.gen(function*() {
      const { all, first, ids, requests } = yield* overflowRun("dropNewest")
      const dropped = droppedIds(all)
      assert.strictEqual(dropped.length, 900)
      assert.deepStrictEqual(dropped, ids.slice(100))
      assert.strictEqual(requests.length, 1, "only the first, hung request was attempted")
      const counts = Outcome.count(all)
      assert.deepStrictEqual(counts, { delivered: 0, failed: 101, dropped: 900 })
      const failed = all.flatMap((o) => o._tag === "Failed" ? o.messages.map((m) => m.messageId) : [])
      assert.deepStrictEqual(failed.sort(), [first, ...ids.slice(0, 100)].sort())
    }))

  it.scoped("dropOldest: exactly 900 dropped, the oldest ones; the newest 100 are kept", () =>
    Effect.gen(function*() {
      const { all, first, ids } = yield* overflowRun("dropOldest")
      const dropped = droppedIds(all)
      assert.strictEqual(dropped.length, 900)
      assert.deepStrictEqual(dropped, ids.slice(0, 900))
      const failed = all.flatMap((o) => o._tag === "Failed" ? o.messages.map((m) => m.messageId) : [])
      assert.deepStrictEqual(failed.sort(), [first, ...ids.slice(900)].sort())
      assert.deepStrictEqual(Outcome.count(all), { delivered: 0, failed: 101, dropped: 900 })
    }))

  it.scoped("dropped messages after recovery: the kept ones are delivered, in order", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open({ overflow: "dropOldest", maxQueueSize: 10, flushAt: 1 })
      yield* memory.setScript([MemoryTransport.status(200, { delay: "5 seconds" })])
      yield* analytics.track({ userId: "u", event: "first" })
      yield* memory.awaitRequests(1)
      const ids: Array<string> = []
      for (let i = 0; i < 50; i++) ids.push(yield* analytics.track({ userId: "u", event: `e${i}` }))
      yield* TestClock.adjust(Duration.seconds(5))
      yield* analytics.flush
      yield* close
      const delivered = (yield* memory.delivered).map((m) => m.messageId)
      assert.deepStrictEqual(delivered.slice(1), ids.slice(40))
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 11, failed: 0, dropped: 40 })
    }))

  it.scoped("the queue is also bounded in bytes: maxQueueBytes drops what would not fit", () =>
    Effect.gen(function*() {
      // maxQueueBytes is never below maxBatchBytes, so lower both: 20 messages of ~10 KB fit 200 KB.
      const { analytics, close, memory, outcomes } = yield* open({
        maxQueueBytes: 200_000,
        maxBatchBytes: 200_000,
        shutdownTimeout: "1 second"
      })
      yield* memory.setFallback(MemoryTransport.hang)
      yield* analytics.track({ userId: "u", event: "first" })
      const flushing = yield* Effect.fork(analytics.flush)
      yield* memory.awaitRequests(1)
      const blob = "x".repeat(10_000)
      const ids: Array<string> = []
      for (let i = 0; i < 100; i++) ids.push(yield* analytics.track({ userId: "u", event: "big", properties: { blob } }))
      // drops are published in groups, at the latest on the next interval tick
      yield* TestClock.adjust(Duration.seconds(5))
      const dropped = droppedIds([...(yield* takeAll(outcomes))])
      const kept = 100 - dropped.length
      assert.isAtLeast(kept, 15)
      assert.isAtMost(kept * 10_000, 200_000, "the queue never held more than maxQueueBytes")
      assert.deepStrictEqual(dropped, ids.slice(kept), "the newest were dropped")
      const closing = yield* Effect.fork(close)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(closing)
      yield* Fiber.interrupt(flushing)
    }))

  it.scoped("drop warnings are rate-limited, not one per message", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(message))
      })
      yield* overflowRun("dropNewest").pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      const dropWarnings = warnings.filter((w) => w.includes("queue full"))
      assert.isAtLeast(dropWarnings.length, 1)
      assert.isAtMost(dropWarnings.length, 2)
      assert.match(dropWarnings[0]!, /dropped \d+ messages/)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.All)))

  it.scoped("suspend: the caller waits for room instead of dropping", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open({ overflow: "suspend", maxQueueSize: 100, flushAt: 1 })
      yield* memory.setScript([MemoryTransport.status(200, { delay: "10 seconds" })])
      yield* analytics.track({ userId: "u", event: "first" })
      yield* memory.awaitRequests(1)
      let accepted = 0
      const producer = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 150 }, (_, i) => i), (i) =>
          Effect.tap(analytics.track({ userId: "u", event: "e", properties: { i } }), () => {
            accepted++
          }))
      )
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      assert.strictEqual(accepted, 100, "the queue is full: the 101st call waits")
      assert.strictEqual((yield* Fiber.poll(producer))._tag, "None")
      yield* TestClock.adjust(Duration.seconds(10))
      yield* Fiber.join(producer)
      assert.strictEqual(accepted, 150)
      yield* analytics.flush
      yield* close
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 151, failed: 0, dropped: 0 })
      assert.strictEqual((yield* memory.delivered).length, 151)
    }))

  it.scoped("suspend: a caller waiting at close fails with ClientClosed", () =>
    Effect.gen(function*() {
      const { analytics, close, memory } = yield* open({ overflow: "suspend", maxQueueSize: 5, shutdownTimeout: "1 second", flushAt: 1 })
      yield* memory.setFallback(MemoryTransport.hang)
      yield* analytics.track({ userId: "u", event: "first" })
      yield* memory.awaitRequests(1)
      for (let i = 0; i < 5; i++) yield* analytics.track({ userId: "u", event: "e" })
      const waiting = yield* Effect.fork(Effect.either(analytics.track({ userId: "u", event: "blocked" })))
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
      assert.strictEqual((yield* Fiber.poll(waiting))._tag, "None")
      const closing = yield* Effect.fork(close)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(closing)
      const result = yield* Fiber.join(waiting)
      assert.strictEqual(result._tag === "Left" && result.left._tag, "ClientClosed")
    }))
})
