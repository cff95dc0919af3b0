import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Logger, References } from "effect"
import { TestClock } from "effect/testing"
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
    const flushing = yield* Effect.forkChild(analytics.flush)
    yield* memory.awaitRequests(1)
    const ids: Array<string> = []
    for (let i = 0; i < 1_000; i++) ids.push(yield* analytics.track({ userId: "u", event: "e", properties: { i } }))
    const beforeClose = yield* takeAll(outcomes)
    const closing = yield* Effect.forkChild(close)
    yield* TestClock.adjust(Duration.seconds(1))
    yield* Fiber.join(closing)
    yield* Fiber.interrupt(flushing)
    const all = [...beforeClose, ...(yield* takeAll(outcomes))]
    return { first, ids, all, requests: yield* memory.requests }
  })

describe("overflow policies with the transport hung and maxQueueSize 100", () => {
  it.effect("dropNewest: exactly 900 dropped, the newest ones; the rest fail at shutdown", () =>
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

  it.effect("dropOldest: exactly 900 dropped, the oldest ones; the newest 100 are kept", () =>
    Effect.gen(function*() {
      const { all, first, ids } = yield* overflowRun("dropOldest")
      const dropped = droppedIds(all)
      assert.strictEqual(dropped.length, 900)
      assert.deepStrictEqual(dropped, ids.slice(0, 900))
      const failed = all.flatMap((o) => o._tag === "Failed" ? o.messages.map((m) => m.messageId) : [])
      assert.deepStrictEqual(failed.sort(), [first, ...ids.slice(900)].sort())
      assert.deepStrictEqual(Outcome.count(all), { delivered: 0, failed: 101, dropped: 900 })
    }))

  it.effect("dropped messages after recovery: the kept ones are delivered, in order", () =>
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

  it.effect("the queue is also bounded in bytes: maxQueueBytes drops what would not fit", () =>
    Effect.gen(function*() {
      // maxQueueBytes is never below maxBatchBytes, so lower both: 20 messages of ~10 KB fit 200 KB.
      const { analytics, close, memory, outcomes } = yield* open({
        overflow: "dropNewest",
        maxQueueBytes: 200_000,
        maxBatchBytes: 200_000,
        shutdownTimeout: "1 second"
      })
      yield* memory.setFallback(MemoryTransport.hang)
      yield* analytics.track({ userId: "u", event: "first" })
      const flushing = yield* Effect.forkChild(analytics.flush)
      yield* memory.awaitRequests(1)
      const blob = "x".repeat(10_000)
      const ids: Array<string> = []
      for (let i = 0; i < 100; i++) ids.push(yield* analytics.track({ userId: "u", event: "big", properties: { blob } }))
      const dropped = droppedIds([...(yield* takeAll(outcomes))])
      const kept = 100 - dropped.length
      assert.isAtLeast(kept, 15)
      assert.isAtMost(kept * 10_000, 200_000, "the queue never held more than maxQueueBytes")
      assert.deepStrictEqual(dropped, ids.slice(kept), "the newest were dropped")
      const closing = yield* Effect.forkChild(close)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(closing)
      yield* Fiber.interrupt(flushing)
    }))

  it.effect("drop warnings are rate-limited, not one per message", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push(String(message))
      })
      yield* overflowRun("dropNewest").pipe(Effect.provide(Logger.layer([capture])))
      const dropWarnings = warnings.filter((w) => w.includes("queue full"))
      assert.isAtLeast(dropWarnings.length, 1)
      assert.isAtMost(dropWarnings.length, 2)
      assert.match(dropWarnings[0]!, /dropped \d+ messages/)
    }).pipe(Effect.provideService(References.MinimumLogLevel, "All")))

  it.effect("suspend: the caller waits for room instead of dropping", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open({ overflow: "suspend", maxQueueSize: 100, flushAt: 1 })
      yield* memory.setScript([MemoryTransport.status(200, { delay: "10 seconds" })])
      yield* analytics.track({ userId: "u", event: "first" })
      yield* memory.awaitRequests(1)
      let accepted = 0
      const producer = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 150 }, (_, i) => i), (i) =>
          Effect.tap(analytics.track({ userId: "u", event: "e", properties: { i } }), () =>
            Effect.sync(() => {
              accepted++
            })))
      )
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow
      assert.strictEqual(accepted, 100, "the queue is full: the 101st call waits")
      assert.strictEqual(producer.pollUnsafe(), undefined)
      yield* TestClock.adjust(Duration.seconds(10))
      yield* Fiber.join(producer)
      assert.strictEqual(accepted, 150)
      yield* analytics.flush
      yield* close
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 151, failed: 0, dropped: 0 })
      assert.strictEqual((yield* memory.delivered).length, 151)
    }))

  it.effect("suspend: a caller still waiting when the close runs out of time gets its id, and its message fails", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open({
        overflow: "suspend",
        maxQueueSize: 5,
        shutdownTimeout: "1 second",
        flushAt: 1
      })
      yield* memory.setFallback(MemoryTransport.hang)
      yield* analytics.track({ userId: "u", event: "first" })
      yield* memory.awaitRequests(1)
      for (let i = 0; i < 5; i++) yield* analytics.track({ userId: "u", event: "e" })
      const waiting = yield* Effect.forkChild(analytics.track({ userId: "u", event: "blocked" }))
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      assert.strictEqual(waiting.pollUnsafe(), undefined)
      const closing = yield* Effect.forkChild(close)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(closing)
      const id = yield* Fiber.join(waiting) // the call was made before the close: it was accepted
      const all = yield* takeAll(outcomes)
      const failed = all.filter((o): o is Outcome.Failed => o._tag === "Failed")
      const mine = failed.find((o) => o.messages.some((m) => m.messageId === id))
      assert.strictEqual(mine?.reason, "ShutdownTimeout")
      assert.strictEqual(mine?.attempts, 0)
      assert.deepStrictEqual(Outcome.count(all), { delivered: 0, failed: 7, dropped: 0 })
    }))
})

describe("the default overflow policy: wait for room while the queue drains", () => {
  /** A client whose first request is in flight until `firstAnswer` has passed, with 20 more queued. */
  const full = (firstAnswer: Duration.Input, options: Partial<Analytics.Options> = {}) =>
    Effect.gen(function*() {
      const client = yield* openClient({
        maxInFlight: 1,
        maxQueueSize: 20,
        flushAt: 20,
        shutdownTimeout: "1 second",
        ...options
      })
      yield* client.memory.setScript([MemoryTransport.status(200, { delay: firstAnswer })])
      const ids: Array<string> = []
      for (let i = 0; i < 20; i++) ids.push(yield* client.analytics.track({ userId: "u", event: "in flight", properties: { i } }))
      yield* client.memory.awaitRequests(1)
      for (let i = 0; i < 20; i++) ids.push(yield* client.analytics.track({ userId: "u", event: "queued", properties: { i } }))
      return { ...client, ids }
    })

  it.effect("a caller that finds the queue full waits, and gets in when room appears", () =>
    Effect.gen(function*() {
      const { analytics, close, ids, memory, outcomes } = yield* full("3 seconds")
      const waiting = yield* Effect.forkChild(analytics.track({ userId: "u", event: "waited" }))
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      assert.strictEqual(waiting.pollUnsafe(), undefined, "the call waits")
      yield* TestClock.adjust(Duration.seconds(2))
      assert.strictEqual(waiting.pollUnsafe(), undefined, "still waiting at 2 s")
      yield* TestClock.adjust(Duration.seconds(1)) // the first request is answered: the queue drains
      const id = yield* Fiber.join(waiting)
      yield* analytics.flush
      yield* close
      assert.deepStrictEqual((yield* memory.delivered).map((m) => m.messageId), [...ids, id])
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 41, failed: 0, dropped: 0 })
    }))

  it.effect("when the queue makes no room for overflowTimeout, the waiting callers' messages are dropped; later callers drop at once until room appears", () =>
    Effect.gen(function*() {
      const { analytics, close, ids, memory, outcomes } = yield* full("60 seconds")
      const waiting = yield* Effect.forkChild(analytics.track({ userId: "u", event: "too late" }))
      yield* TestClock.adjust(Duration.millis(9_999))
      assert.strictEqual(waiting.pollUnsafe(), undefined, "waits until the deadline")
      yield* TestClock.adjust(Duration.millis(1))
      const late = yield* Fiber.join(waiting) // the call succeeds: its message has an outcome
      const [dropped] = yield* takeAll(outcomes)
      assert.strictEqual(dropped?._tag === "Dropped" && dropped.reason, "QueueFull")
      assert.deepStrictEqual(dropped?.messages.map((m) => m.messageId), [late])

      // The collector is not keeping up: the next caller does not wait again.
      const next = yield* Effect.forkChild(analytics.track({ userId: "u", event: "at once" }))
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      assert.isDefined(next.pollUnsafe(), "dropped without waiting")
      const [again] = yield* takeAll(outcomes)
      assert.strictEqual(again?._tag === "Dropped" && again.reason, "QueueFull")

      // Room appears (the first request is answered): calls are accepted again.
      yield* TestClock.adjust(Duration.seconds(50))
      yield* analytics.flush
      const after = yield* analytics.track({ userId: "u", event: "accepted again" })
      yield* analytics.flush
      yield* close
      const delivered = (yield* memory.delivered).map((m) => m.messageId)
      assert.deepStrictEqual(delivered, [...ids, after])
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 41, failed: 0, dropped: 0 })
    }))

  it.effect("callers waiting for room when the client closes get in, and the final flush delivers them", () =>
    Effect.gen(function*() {
      const { analytics, close, ids, memory, outcomes } = yield* full("2 seconds", { shutdownTimeout: "30 seconds" })
      const waiting = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => i),
        (i) => Effect.forkChild(analytics.track({ userId: "u", event: "waiting at close", properties: { i } }))
      )
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      const closing = yield* Effect.forkChild(close)
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      // A call made after the close started is refused.
      const late = yield* Effect.flip(analytics.track({ userId: "u", event: "after close" }))
      assert.strictEqual(late._tag, "ClientClosed")
      yield* TestClock.adjust(Duration.seconds(2))
      const waited = yield* Effect.forEach(waiting, Fiber.join)
      yield* Fiber.join(closing)
      assert.deepStrictEqual((yield* memory.delivered).map((m) => m.messageId), [...ids, ...waited])
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 70, failed: 0, dropped: 0 })
    }))

  it.effect("a backlog that keeps draining is never dropped, however long the line", () =>
    Effect.gen(function*() {
      // 300 callers at once against a queue of 20 and one request at a time, each answered after 3 s:
      // the last caller waits ~45 s, far past overflowTimeout, but room appears every 3 s.
      const { analytics, close, memory, outcomes } = yield* openClient({ maxInFlight: 1, maxQueueSize: 20 })
      yield* memory.setFallback(MemoryTransport.status(200, { delay: "3 seconds" }))
      const calls = yield* Effect.forkChild(
        Effect.forEach(
          Array.from({ length: 300 }, (_, i) => i),
          (i) => analytics.track({ userId: "u", event: "backlog", properties: { i } }),
          { concurrency: "unbounded" }
        )
      )
      for (let i = 0; i < 40 && calls.pollUnsafe() === undefined; i++) {
        yield* TestClock.adjust(Duration.seconds(3))
      }
      const ids = yield* Fiber.join(calls)
      const flushing = yield* Effect.forkChild(analytics.flush)
      yield* TestClock.adjust(Duration.seconds(6))
      yield* Fiber.join(flushing)
      yield* close
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 300, failed: 0, dropped: 0 })
      assert.deepStrictEqual((yield* memory.delivered).map((m) => m.messageId), ids)
    }))

  it.effect("waiting callers are served in arrival order", () =>
    Effect.gen(function*() {
      const { analytics, close, ids, memory } = yield* full("1 second")
      const waiters = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => i),
        (i) => Effect.forkChild(analytics.track({ userId: "u", event: "waiter", properties: { i } }))
      )
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      // A caller arriving while others wait does not overtake them, even once room appears.
      yield* TestClock.adjust(Duration.seconds(1))
      const waited = yield* Effect.forEach(waiters, Fiber.join)
      yield* analytics.flush
      yield* close
      assert.deepStrictEqual((yield* memory.delivered).map((m) => m.messageId), [...ids, ...waited])
    }))

  it.effect("the byte bound makes callers wait too, and nothing is lost", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* openClient({
        maxInFlight: 1,
        maxQueueBytes: 200_000,
        maxBatchBytes: 200_000
      })
      yield* memory.setFallback(MemoryTransport.status(200, { delay: "100 millis" }))
      const blob = "x".repeat(10_000)
      const producer = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) =>
          analytics.track({ userId: "u", event: "big", properties: { i, blob } }))
      )
      for (let i = 0; i < 20 && producer.pollUnsafe() === undefined; i++) {
        yield* TestClock.adjust(Duration.millis(100))
      }
      const ids = yield* Fiber.join(producer)
      const flushing = yield* Effect.forkChild(analytics.flush)
      yield* TestClock.adjust(Duration.seconds(1)) // the last request's answer
      yield* Fiber.join(flushing)
      yield* close
      const requests = yield* memory.requests
      for (const request of requests) assert.isAtMost(request.bodyBytes, 200_000)
      assert.deepStrictEqual((yield* memory.delivered).map((m) => m.messageId), ids)
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 100, failed: 0, dropped: 0 })
    }))

  it.effect("the overflow warning names the bound that was reached", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push(String(message))
      })
      yield* Effect.gen(function*() {
        const bytes = yield* openClient({
          overflow: "dropNewest",
          maxInFlight: 1,
          maxQueueBytes: 200_000,
          maxBatchBytes: 200_000,
          shutdownTimeout: "1 second"
        })
        yield* bytes.memory.setFallback(MemoryTransport.hang)
        yield* bytes.analytics.track({ userId: "u", event: "first" })
        yield* bytes.analytics.flush.pipe(Effect.forkChild)
        yield* bytes.memory.awaitRequests(1)
        for (let i = 0; i < 30; i++) {
          yield* bytes.analytics.track({ userId: "u", event: "big", properties: { blob: "x".repeat(10_000) } })
        }
        const count = yield* openClient({ overflow: "dropNewest", maxInFlight: 1, maxQueueSize: 20, shutdownTimeout: "1 second" })
        yield* count.memory.setFallback(MemoryTransport.hang)
        yield* count.analytics.track({ userId: "u", event: "first" })
        yield* count.analytics.flush.pipe(Effect.forkChild)
        yield* count.memory.awaitRequests(1)
        for (let i = 0; i < 30; i++) yield* count.analytics.track({ userId: "u", event: "small" })
        yield* Effect.forkChild(bytes.close)
        yield* Effect.forkChild(count.close)
        yield* TestClock.adjust(Duration.seconds(1))
      }).pipe(Effect.provide(Logger.layer([capture])), Effect.provideService(References.MinimumLogLevel, "All"))
      const full = warnings.filter((w) => w.includes("queue full"))
      assert.isTrue(full.some((w) => w.includes("maxQueueBytes, 200000 bytes")), full.join("\n"))
      assert.isTrue(full.some((w) => w.includes("maxQueueSize, 20 messages")), full.join("\n"))
    }))
})
