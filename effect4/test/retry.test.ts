import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, type PubSub, Pull, Random, Result, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { Analytics, MemoryTransport, Outcome } from "../src/index.js"
import { openClient, takeAll } from "./support/client.js"

const open = (options: Partial<Analytics.Options> = {}) => openClient({ flushAt: 1, ...options })


/** Advances the test clock in small steps until `done` holds (bounded). */
const advanceUntil = (done: Effect.Effect<boolean>, step: Duration.Input, maxSteps = 10_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < maxSteps; i++) {
      if (yield* done) return
      yield* TestClock.adjust(step)
    }
    assert.fail("condition not reached")
  })

/** Advances the test clock until an outcome is published, and returns what was published. */
const advanceUntilOutcome = (outcomes: PubSub.Subscription<Outcome.Outcome>, step: Duration.Input) =>
  Effect.gen(function*() {
    const seen: Array<Outcome.Outcome> = []
    yield* advanceUntil(
      Effect.map(takeAll(outcomes), (o) => {
        seen.push(...o)
        return seen.length > 0
      }),
      step
    )
    return seen
  })

const gaps = (requests: ReadonlyArray<MemoryTransport.RecordedRequest>) =>
  requests.slice(1).map((r, i) => r.at - requests[i]!.at)

describe("which statuses are retried", () => {
  const cases: Array<[number, boolean]> = [
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [408, true],
    [410, true],
    [413, false],
    [422, false],
    [429, true],
    [460, true],
    [500, true],
    [501, false],
    [502, true],
    [503, true],
    [504, true],
    [505, false],
    [599, true]
  ]
  for (const [status, retried] of cases) {
    it.effect(`${status} is ${retried ? "" : "not "}retried`, () =>
      Effect.gen(function*() {
        const { analytics, memory, outcomes } = yield* open({ maxRetries: 2 })
        yield* memory.setScript([MemoryTransport.status(status)])
        yield* analytics.track({ userId: "u", event: "e" })
        yield* advanceUntil(Effect.map(takeAll(outcomes), (o) => o.length > 0), "100 millis")
        const requests = yield* memory.requests
        assert.strictEqual(requests.length, retried ? 2 : 1)
        if (retried) {
          assert.strictEqual(requests[1]!.headers["x-retry-count"], "1")
          assert.deepStrictEqual(requests[1]!.messages, requests[0]!.messages)
        }
      }))
  }

  it.effect("400 is never retried and fails with NotRetryable carrying the status", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* open()
      yield* memory.setFallback(MemoryTransport.status(400))
      const id = yield* analytics.track({ userId: "u", event: "e" })
      yield* analytics.flush
      yield* TestClock.adjust(Duration.minutes(30))
      assert.strictEqual((yield* memory.requests).length, 1)
      const [outcome] = yield* takeAll(outcomes)
      assert.strictEqual(outcome?._tag, "Failed")
      if (outcome?._tag === "Failed") {
        assert.strictEqual(outcome.reason, "NotRetryable")
        assert.deepStrictEqual(outcome.messages.map((m) => m.messageId), [id])
        assert.strictEqual(outcome.error?.reason._tag === "Status" && outcome.error.reason.status, 400)
      }
    }))

  it.effect("network errors and timeouts are retried", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* open()
      yield* memory.setScript([MemoryTransport.network("ECONNREFUSED"), MemoryTransport.timeout("10 seconds")])
      yield* analytics.track({ userId: "u", event: "e" })
      yield* advanceUntil(Effect.map(memory.requests, (r) => r.length >= 3), "500 millis")
      yield* analytics.flush
      const requests = yield* memory.requests
      assert.deepStrictEqual(requests.map((r) => r.attempt), [0, 1, 2])
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 1, failed: 0, dropped: 0 })
    }))
})

describe("backoff", () => {
  it.effect("grows exponentially with jitter in [0.5, 1] and is capped near 60 s; maxRetries exhausts", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* open({ maxRetries: 10, retryBudget: "1 hour" })
      yield* memory.setFallback(MemoryTransport.status(503))
      const id = yield* analytics.track({ userId: "u", event: "e" })
      yield* advanceUntil(Effect.map(memory.requests, (r) => r.length >= 11), "250 millis")
      yield* TestClock.adjust(Duration.minutes(2))
      const requests = yield* memory.requests
      assert.strictEqual(requests.length, 11, "1 attempt + 10 retries, then no more")
      assert.deepStrictEqual(requests.map((r) => r.attempt), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      const delays = gaps(requests)
      delays.forEach((gap, i) => {
        const base = Math.min(1_000 * 2 ** i, 60_000)
        // the clock moves in 250 ms steps: allow one step of slack above the jittered delay
        assert.isAtLeast(gap, base * 0.5, `retry ${i + 1}`)
        assert.isAtMost(gap, base + 250, `retry ${i + 1}`)
      })
      assert.isAtLeast(delays[9]!, 30_000)
      assert.isAtMost(delays[9]!, 60_250)
      // sentAt is refreshed per attempt, ids stay the same
      assert.strictEqual(new Set(requests.map((r) => r.sentAt)).size, 11)
      for (const request of requests) assert.strictEqual(request.batch[0]!.messageId, id)
      const [outcome] = yield* takeAll(outcomes)
      assert.strictEqual(outcome?._tag, "Failed")
      if (outcome?._tag === "Failed") {
        assert.strictEqual(outcome.reason, "RetriesExhausted")
        assert.strictEqual(outcome.attempts, 11)
        assert.strictEqual(outcome.error?.reason._tag === "Status" && outcome.error.reason.status, 503)
      }
    }), { timeout: 60_000 })

  it.effect("jitter stays within [0.5, 1] of the capped exponential delay over many seeds", () =>
    Effect.gen(function*() {
      const byRetry: Array<Array<number>> = Array.from({ length: 10 }, () => [])
      for (let seed = 0; seed < 300; seed++) {
        const delays = yield* scheduleDelays(Analytics.retrySchedule(10), 10).pipe(Random.withSeed(seed))
        delays.forEach((d, i) => byRetry[i]!.push(d))
      }
      byRetry.forEach((delays, i) => {
        const base = Math.min(1_000 * 2 ** i, 60_000)
        assert.isAtLeast(Math.min(...delays), base * 0.5, `retry ${i + 1}`)
        assert.isAtMost(Math.max(...delays), base, `retry ${i + 1}`)
        assert.isAbove(new Set(delays).size, 50, `retry ${i + 1}: delays are spread, not constant`)
      })
    }))

  it.effect("a replacement schedule is used", () =>
    Effect.gen(function*() {
      const { analytics, memory } = yield* open({
        retrySchedule: Schedule.max([Schedule.spaced("3 seconds"), Schedule.recurs(2)])
      })
      yield* memory.setFallback(MemoryTransport.status(500))
      yield* analytics.track({ userId: "u", event: "e" })
      yield* advanceUntil(Effect.map(memory.requests, (r) => r.length >= 3), "1 second")
      yield* TestClock.adjust(Duration.minutes(1))
      const requests = yield* memory.requests
      assert.strictEqual(requests.length, 3)
      assert.deepStrictEqual(gaps(requests), [3_000, 3_000])
    }))

  it.effect("the retry budget ends retries of a batch", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* open({ maxRetries: 100, retryBudget: "10 seconds" })
      yield* memory.setFallback(MemoryTransport.status(500))
      yield* analytics.track({ userId: "u", event: "e" })
      yield* advanceUntil(Effect.map(takeAll(outcomes), (o) => o.some((x) => x._tag === "Failed")), "500 millis", 400)
      const requests = yield* memory.requests
      assert.isBelow(requests.length, 10)
      assert.isAtMost(requests[requests.length - 1]!.at, 10_000 + 16_000)
    }))
})

describe("negative delays (Effect 4 durations can be negative)", () => {
  it.effect("a schedule's negative delay counts as no wait against the retry budget", () =>
    Effect.gen(function*() {
      // Delays of -10 s, then 6 s, 6 s: counted as they are they would add up to 2 s, within a budget of
      // 10 s; counted as 0, 6, 12 s, the third retry is past the budget.
      let n = 0
      const { analytics, memory, outcomes } = yield* open({
        retryBudget: "10 seconds",
        retrySchedule: Schedule.recurs(5).pipe(
          Schedule.modifyDelay(() => Effect.sync(() => n++ === 0 ? Duration.seconds(-10) : Duration.seconds(6)))
        )
      })
      yield* memory.setFallback(MemoryTransport.status(503))
      yield* analytics.track({ userId: "u", event: "e" })
      const seen = yield* advanceUntilOutcome(outcomes, "1 second")
      const requests = yield* memory.requests
      assert.deepStrictEqual(gaps(requests), [0, 6_000], "the negative delay retried at once")
      assert.strictEqual(seen[0]?._tag === "Failed" && seen[0].reason, "RetryBudgetExhausted")
    }))

  it.effect("a Retry-After in the past does not shorten the schedule's own delay", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00.000Z"))
      const { analytics, memory } = yield* open({ retrySchedule: Schedule.max([Schedule.spaced("2 seconds"), Schedule.recurs(1)]) })
      yield* memory.setScript([MemoryTransport.retryAfter(429, "Mon, 01 Jan 2001 00:00:00 GMT")])
      yield* analytics.track({ userId: "u", event: "e" })
      yield* advanceUntil(Effect.map(memory.requests, (r) => r.length >= 2), "100 millis")
      assert.deepStrictEqual(gaps(yield* memory.requests), [2_000])
    }))
})

describe("Retry-After", () => {
  it.effect("429 with Retry-After in seconds waits that long; every retry counts against maxRetries", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* open({ maxRetries: 3 })
      yield* memory.setScript([
        MemoryTransport.retryAfter(429, "3"),
        MemoryTransport.retryAfter(429, "3"),
        MemoryTransport.status(500)
      ])
      yield* analytics.track({ userId: "u", event: "e" })
      yield* advanceUntil(Effect.map(memory.requests, (r) => r.length >= 4), "100 millis")
      const requests = yield* memory.requests
      const delays = gaps(requests)
      // The backoff delays (0.5-1 s, then 1-2 s) are shorter than the 3 s asked for: 3 s wins.
      assert.deepStrictEqual(delays.slice(0, 2), [3_000, 3_000])
      assert.deepStrictEqual(requests.map((r) => r.headers["x-retry-count"]), [undefined, "1", "2", "3"])
      yield* analytics.flush
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 1, failed: 0, dropped: 0 })
    }))

  it.effect("a rate limit that never lifts ends the batch after maxRetries, with the 429", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* open({ maxRetries: 2 })
      yield* memory.setFallback(MemoryTransport.retryAfter(429, "1"))
      yield* analytics.track({ userId: "u", event: "e" })
      const seen = yield* advanceUntilOutcome(outcomes, "100 millis")
      yield* TestClock.adjust(Duration.minutes(1))
      assert.strictEqual((yield* memory.requests).length, 3, "1 attempt and 2 retries, then no more")
      const [outcome] = seen
      assert.strictEqual(outcome?._tag === "Failed" && outcome.reason, "RetriesExhausted")
      assert.strictEqual(outcome?._tag === "Failed" && outcome.attempts, 3)
      assert.strictEqual(
        outcome?._tag === "Failed" && outcome.error?.reason._tag === "Status" && outcome.error.reason.status,
        429
      )
    }))

  it.effect("Retry-After as an HTTP date", () =>
    Effect.gen(function*() {
      // Set the clock before building the client: a jump of years would run every interval tick.
      yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00.000Z"))
      const { analytics, memory } = yield* open()
      yield* memory.setScript([MemoryTransport.retryAfter(429, "Tue, 01 Jan 2030 00:00:07 GMT")])
      yield* analytics.track({ userId: "u", event: "e" })
      yield* advanceUntil(Effect.map(memory.requests, (r) => r.length >= 2), "500 millis")
      const requests = yield* memory.requests
      assert.strictEqual(gaps(requests)[0], 7_000)
    }))

  it.effect("Retry-After is capped by maxRetryAfter", () =>
    Effect.gen(function*() {
      const { analytics, memory } = yield* open({ maxRetryAfter: "5 seconds" })
      yield* memory.setScript([MemoryTransport.retryAfter(429, "3600")])
      yield* analytics.track({ userId: "u", event: "e" })
      yield* advanceUntil(Effect.map(memory.requests, (r) => r.length >= 2), "500 millis")
      assert.strictEqual(gaps(yield* memory.requests)[0], 5_000)
    }))

  it.effect("a 429 pauses every sender, not just the rate-limited batch", () =>
    Effect.gen(function*() {
      const { analytics, memory, outcomes } = yield* open({ maxInFlight: 4 })
      yield* memory.setScript([MemoryTransport.retryAfter(429, "10")])
      yield* analytics.track({ userId: "u", event: "limited" })
      yield* memory.awaitRequests(1)
      yield* TestClock.adjust(Duration.seconds(1))
      // new batches during the pause wait for it to end
      yield* analytics.track({ userId: "u", event: "a" })
      yield* analytics.track({ userId: "u", event: "b" })
      yield* TestClock.adjust(Duration.seconds(8))
      assert.strictEqual((yield* memory.requests).length, 1, "nothing is sent during the pause")
      yield* TestClock.adjust(Duration.seconds(1))
      yield* analytics.flush
      const requests = yield* memory.requests
      // the retry of "limited", then "a" and "b" (in one or two requests), all after the pause
      assert.isAtLeast(requests.length, 3)
      for (const request of requests.slice(1)) assert.isAtLeast(request.at, 10_000)
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 3, failed: 0, dropped: 0 })
    }))
})

describe("rate limits that would make a tight loop", () => {
  for (const value of ["0", "-1", "Mon, 01 Jan 2001 00:00:00 GMT", "soon"]) {
    it.effect(`429 with Retry-After: ${value} waits the backoff delay, and maxRetries caps the attempts`, () =>
      Effect.gen(function*() {
        // Real time, so that 2001 is in the past (set before the client is built).
        yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00.000Z"))
        const { analytics, memory, outcomes } = yield* open({ maxRetries: 3 })
        yield* memory.setFallback(MemoryTransport.retryAfter(429, value))
        yield* analytics.track({ userId: "u", event: "e" })
        const seen = yield* advanceUntilOutcome(outcomes, "50 millis")
        yield* TestClock.adjust(Duration.minutes(5))
        const requests = yield* memory.requests
        assert.strictEqual(requests.length, 4, "1 attempt + maxRetries, then no more")
        gaps(requests).forEach((gap, i) => assert.isAtLeast(gap, 500 * 2 ** i, `retry ${i + 1}`))
        assert.strictEqual(seen[0]?._tag === "Failed" && seen[0].reason, "RetriesExhausted")
      }))
  }

  it.effect("a backwards wall-clock step does not stretch a Retry-After pause", () =>
    Effect.gen(function*() {
      const testClock = yield* TestClock.testClockWith(Effect.succeed)
      // The wall clock a real machine might have: it jumps back 60 s after the 429 arrives; sleeps
      // are relative, as a real timer is, and so is the monotonic time.
      let offset = 0
      const stepping: Clock.Clock = {
        currentTimeMillisUnsafe: () => testClock.currentTimeMillisUnsafe() - offset,
        currentTimeMillis: Effect.sync(() => testClock.currentTimeMillisUnsafe() - offset),
        currentTimeNanosUnsafe: () => testClock.currentTimeNanosUnsafe() - BigInt(offset) * 1_000_000n,
        currentTimeNanos: Effect.sync(() => testClock.currentTimeNanosUnsafe() - BigInt(offset) * 1_000_000n),
        monotonicTimeNanosUnsafe: () => testClock.monotonicTimeNanosUnsafe(),
        monotonicTimeNanos: testClock.monotonicTimeNanos,
        sleep: (duration) => testClock.sleep(duration)
      }
      yield* Effect.gen(function*() {
        const { analytics, memory, outcomes } = yield* open({ maxInFlight: 2 })
        yield* memory.setScript([MemoryTransport.retryAfter(429, "1")])
        yield* analytics.track({ userId: "u", event: "limited" })
        yield* memory.awaitRequests(1)
        offset = 60_000
        yield* analytics.track({ userId: "u", event: "during the pause" })
        yield* testClock.adjust(Duration.millis(999))
        assert.strictEqual((yield* memory.requests).length, 1, "paused for the full second")
        yield* testClock.adjust(Duration.millis(1))
        yield* analytics.flush
        assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 2, failed: 0, dropped: 0 })
        assert.strictEqual((yield* memory.requests).length, 3, "both went out at 1 s, not 61 s")
      }).pipe(Effect.provideService(Clock.Clock, stepping))
    }))
})

describe("shutdown under faults", () => {
  it.effect("retries in progress continue until shutdownTimeout, then fail with the last error", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open({ shutdownTimeout: "20 seconds", maxRetries: 50 })
      yield* memory.setFallback(MemoryTransport.status(503))
      const id = yield* analytics.track({ userId: "u", event: "e" })
      yield* memory.awaitRequests(1)
      const closing = yield* Effect.forkChild(close)
      yield* advanceUntil(Effect.sync(() => closing.pollUnsafe() !== undefined), "500 millis")
      const requests = yield* memory.requests
      assert.isAtLeast(requests.length, 4, "it kept retrying while closing")
      const [outcome] = yield* takeAll(outcomes)
      assert.strictEqual(outcome?._tag, "Failed")
      if (outcome?._tag === "Failed") {
        assert.strictEqual(outcome.reason, "ShutdownTimeout")
        assert.deepStrictEqual(outcome.messages.map((m) => m.messageId), [id])
        assert.strictEqual(outcome.error?.reason._tag === "Status" && outcome.error.reason.status, 503)
      }
    }))

  it.effect("a retry that succeeds before shutdownTimeout delivers", () =>
    Effect.gen(function*() {
      const { analytics, close, memory, outcomes } = yield* open({ shutdownTimeout: "20 seconds" })
      yield* memory.setScript([MemoryTransport.status(503), MemoryTransport.status(503)])
      yield* analytics.track({ userId: "u", event: "e" })
      yield* memory.awaitRequests(1)
      const closing = yield* Effect.forkChild(close)
      yield* advanceUntil(Effect.sync(() => closing.pollUnsafe() !== undefined), "250 millis")
      assert.deepStrictEqual(Outcome.count(yield* takeAll(outcomes)), { delivered: 1, failed: 0, dropped: 0 })
    }))
})

/** The delays a schedule chooses for its first `n` recurrences, read without sleeping. */
const scheduleDelays = (schedule: Schedule.Schedule<unknown, unknown>, n: number) =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(schedule)
    const out: Array<number> = []
    for (let i = 0; i < n; i++) {
      // A step ends the schedule by failing with `Cause.Done`.
      const delay = yield* Effect.result(Pull.catchDone(Effect.map(step(0, undefined), ([, d]) => Duration.toMillis(d)), () => Effect.fail("done" as const)))
      if (Result.isFailure(delay)) break
      out.push(delay.success)
    }
    return out
  })
