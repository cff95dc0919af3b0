import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, PubSub, Schedule } from "effect"
import { FetchHttpClient } from "effect/http"
import * as Collector from "../../src/Collector.js"
import { Analytics } from "../../src/index.js"
import { signUp } from "./signup.js"

const alice = { id: "u-alice", email: "alice@example.com", plan: "Pro" } as const

// The real client over HTTP, retrying every 100 ms (up to 30 times) so that the tests take a second.
const clientAt = (collector: Collector.CollectorService) =>
  Analytics.layer({
    writeKey: "test-key",
    host: collector.url,
    retrySchedule: Schedule.max([Schedule.spaced("100 millis"), Schedule.recurs(30)])
  }).pipe(Layer.provide(FetchHttpClient.layer))

describe("signUp against a collector that misbehaves", () => {
  it.live("is delivered after two 503s and a 429 with Retry-After: 1", () =>
    Effect.gen(function*() {
      const collector = yield* Collector.make({ writeKey: "test-key" })
      // The next requests get these answers, in order; then the collector accepts again.
      yield* collector.setScript([...Collector.times(2, Collector.status(503)), Collector.retryAfter(429, "1")])

      yield* Effect.scoped(Effect.gen(function*() {
        const outcomes = yield* Analytics.subscribe
        yield* signUp(alice)
        yield* Analytics.flush
        // Flushed: every outcome is published; take them without waiting for more.
        const settled = yield* PubSub.takeUpTo(outcomes, Number.POSITIVE_INFINITY)
        assert.isTrue(settled.length > 0 && settled.every((o) => o._tag === "Delivered"))
      }).pipe(Effect.provide(clientAt(collector))))

      // What the collector saw: every attempt, what it answered, and the ids it accepted (once each).
      const requests = yield* collector.requests
      assert.deepStrictEqual(requests.slice(0, 3).map((r) => r.result), [503, 503, 429])
      const stats = yield* collector.stats
      assert.strictEqual(stats.uniqueMessageIds, 2)
      assert.strictEqual(stats.duplicates, 0)
    }).pipe(Effect.scoped))

  it.live("retries while the collector refuses connections, and delivers once it is back", () =>
    Effect.gen(function*() {
      const collector = yield* Collector.make()
      yield* collector.down("refuse") // connections refused until `up`
      const delivered = yield* Effect.forkChild(
        Effect.scoped(Effect.gen(function*() {
          yield* signUp(alice)
          yield* Analytics.flush
        }).pipe(Effect.provide(clientAt(collector))))
      )
      yield* Effect.sleep("1 second")
      yield* collector.up // on the same port
      yield* Fiber.await(delivered)
      assert.strictEqual((yield* collector.messages).length, 2)
    }).pipe(Effect.scoped))
})
