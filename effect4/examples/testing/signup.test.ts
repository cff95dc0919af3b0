import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, PubSub } from "effect"
import { TestClock } from "effect/testing"
import { Analytics, MemoryTransport, Testing } from "../../src/index.js"
import { signUp } from "./signup.js"

const alice = { id: "u-alice", email: "alice@example.com", plan: "Pro" } as const

describe("signUp", () => {
  // A fresh client per test: provide Testing.layer() to each one.
  it.effect("identifies the user and tracks the sign-up", () =>
    Effect.gen(function*() {
      yield* signUp(alice)

      // `sent` flushes, then returns the messages of the request bodies, as the API would get them.
      const [identify] = yield* Testing.sentOf("identify")
      const [track] = yield* Testing.sentOf("track")
      assert.deepStrictEqual(identify?.traits, { email: "alice@example.com", plan: "Pro" })
      assert.strictEqual(track?.event, "Signed Up")
      assert.deepStrictEqual(track?.properties, { plan: "Pro" })
      // Under it.effect the clock is a TestClock, standing at 0 unless the test moves it.
      assert.strictEqual(track?.timestamp, "1970-01-01T00:00:00.000Z")
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("rejects an invalid user before anything is queued", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(signUp({ ...alice, id: "" }))
      assert.strictEqual(error._tag, "InvalidMessage")
      assert.deepStrictEqual(error._tag === "InvalidMessage" ? error.path : [], ["userId"])
      assert.deepStrictEqual(yield* Testing.sent, [])
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("sends on the interval when fewer than flushAt messages wait", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* signUp(alice)
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual((yield* memory.requests).length, 0) // 2 messages < flushAt (20), no tick yet
      yield* TestClock.adjust("1 second") // the 5-second tick
      const [request] = yield* memory.awaitRequests(1)
      assert.strictEqual(request?.batch.length, 2)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("retries a 503 with the same message ids", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* memory.setScript([MemoryTransport.status(503)]) // then 200, the fallback
      yield* signUp(alice)

      // flush waits for the retry, which waits on the clock: run it in a fiber and move the clock.
      const flushing = yield* Effect.forkChild(Analytics.flush)
      yield* TestClock.adjust("1 second") // the first retry waits 0.5 to 1 s
      yield* Fiber.join(flushing)

      const [first, retry] = yield* memory.requests
      assert.strictEqual(first?.headers["x-retry-count"], undefined)
      assert.strictEqual(retry?.headers["x-retry-count"], "1")
      assert.deepStrictEqual(
        retry?.messages.map((m) => m.messageId),
        first?.messages.map((m) => m.messageId)
      )
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("reports a failure as an outcome, not as an error of the call", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* memory.setScript([MemoryTransport.status(400)]) // never retried
      const outcomes = yield* Analytics.subscribe
      yield* signUp(alice)
      yield* Analytics.flush
      const outcome = yield* PubSub.take(outcomes)
      assert.strictEqual(outcome._tag, "Failed")
      assert.strictEqual(outcome._tag === "Failed" ? outcome.reason : undefined, "NotRetryable")
      assert.strictEqual(outcome.messages.length, 2)
    }).pipe(Effect.provide(Testing.layer())))
})
