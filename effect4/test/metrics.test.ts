/**
 * The metrics (src/Metrics.ts) agree with the outcomes: after a run where some messages are delivered,
 * some fail with a 400 and some are dropped by a full queue, each counter moved by exactly the number
 * of messages in the matching outcomes.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Layer, Metric, Schedule, Tracer } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import * as Metrics from "../src/Metrics.js"
import { Analytics, MemoryTransport, Outcome } from "../src/index.js"
import { takeAll } from "./support/client.js"

const snapshot = Effect.gen(function*() {
  const count = (metric: Metric.Counter<number>) => Effect.map(Metric.value(metric), (s) => s.count)
  return {
    accepted: yield* count(Metrics.accepted),
    delivered: yield* count(Metrics.delivered),
    failedNotRetryable: yield* count(Metric.withAttributes(Metrics.failed, { reason: "NotRetryable" })),
    droppedQueueFull: yield* count(Metric.withAttributes(Metrics.dropped, { reason: "QueueFull" })),
    requests200: yield* count(Metric.withAttributes(Metrics.requests, { result: "200" })),
    requests400: yield* count(Metric.withAttributes(Metrics.requests, { result: "400" })),
    batches: (yield* Metric.value(Metrics.batchMessages)).count,
    batchMessagesSum: (yield* Metric.value(Metrics.batchMessages)).sum,
    batchBytes: (yield* Metric.value(Metrics.batchBytes)).count,
    durations: (yield* Metric.value(Metrics.requestDuration)).count,
    queueDepth: (yield* Metric.value(Metrics.queueDepth)).value
  }
})

const layer = Analytics.layerWithoutTransport({
  writeKey: "k",
  // A queue of 10 that drops what does not fit: a loop of 15 calls that does not yield drops 5.
  flushAt: 10,
  maxQueueSize: 10,
  overflow: "dropNewest",
  maxRetries: 0
}).pipe(Layer.provideMerge(MemoryTransport.layer({ script: [MemoryTransport.status(200), MemoryTransport.status(400)] })))

it.effect("metrics count exactly the outcomes: delivered, failed (400) and dropped (queue full)", () =>
  Effect.gen(function*() {
    const before = yield* snapshot
    const analytics = yield* Analytics.Analytics
    const memory = yield* MemoryTransport.MemoryTransport
    const outcomes = yield* analytics.subscribe
    const track = (i: number) => analytics.track({ userId: "u", event: `e${i}`, properties: { i } })

    // 5 messages, answered 200.
    for (let i = 0; i < 5; i++) yield* track(i)
    yield* analytics.flush
    // 5 messages, answered 400: never retried, failed.
    for (let i = 5; i < 10; i++) yield* track(i)
    yield* analytics.flush
    // 15 messages into a queue of 10: 5 dropped (dropNewest), then 10 delivered.
    for (let i = 10; i < 25; i++) yield* track(i)
    yield* analytics.flush

    const seen = Outcome.count(yield* takeAll(outcomes))
    assert.deepStrictEqual(seen, { delivered: 15, failed: 5, dropped: 5 })
    const requests = yield* memory.requests
    // The last 10 may go in one request or, if the consumer ran in the middle of the loop, in two.
    const sizes = requests.map((r) => r.messages.length)
    assert.deepStrictEqual(sizes.slice(0, 2), [5, 5])
    assert.strictEqual(sizes.reduce((a, b) => a + b, 0), 20)

    const after = yield* snapshot
    assert.strictEqual(after.accepted - before.accepted, 25)
    assert.strictEqual(after.delivered - before.delivered, seen.delivered)
    assert.strictEqual(after.failedNotRetryable - before.failedNotRetryable, seen.failed)
    assert.strictEqual(after.droppedQueueFull - before.droppedQueueFull, seen.dropped)
    assert.strictEqual(after.requests200 - before.requests200, requests.length - 1)
    assert.strictEqual(after.requests400 - before.requests400, 1)
    assert.strictEqual(after.batches - before.batches, requests.length)
    assert.strictEqual(after.batchMessagesSum - before.batchMessagesSum, 20)
    assert.strictEqual(after.batchBytes - before.batchBytes, requests.length)
    assert.strictEqual(after.durations - before.durations, requests.length)
    assert.strictEqual(after.queueDepth, 0)
  }).pipe(Effect.provide(layer)))

it.effect("failed messages are counted under their reason only", () =>
  Effect.gen(function*() {
    const before = yield* snapshot
    const analytics = yield* Analytics.Analytics
    const memory = yield* MemoryTransport.MemoryTransport
    yield* memory.setScript([MemoryTransport.status(400)])
    yield* analytics.identify({ userId: "u", traits: { a: 1 } })
    yield* analytics.flush
    const after = yield* snapshot
    assert.strictEqual(after.failedNotRetryable - before.failedNotRetryable, 1)
    assert.strictEqual(after.delivered - before.delivered, 0)
    assert.strictEqual(after.droppedQueueFull - before.droppedQueueFull, 0)
    assert.strictEqual(after.requests400 - before.requests400, 1)
  }).pipe(Effect.provide(layer)))

// Spans: `Analytics.flush` around a flush, `HttpTransport.send` around each attempt, with only the
// message count and attempt number as attributes (never the write key or message contents).
it.effect("spans: Analytics.flush and HttpTransport.send, without the write key or message contents", () =>
  Effect.gen(function*() {
    const native = yield* Effect.tracer
    const spans: Array<Tracer.Span> = []
    const recording = Tracer.make({
      span(options) {
        const span = native.span(options)
        spans.push(span)
        return span
      },
      ...(native.context === undefined ? {} : { context: native.context })
    })
    const writeKey = "secret-write-key-123"
    let attempts = 0
    const fakeHttp = HttpClient.make((request) =>
      Effect.sync(() =>
        HttpClientResponse.fromWeb(request, new Response("{}", { status: attempts++ === 0 ? 500 : 200 }))
      )
    )
    const live = Analytics.layer({ writeKey, maxRetries: 1, retrySchedule: Schedule.recurs(1) }).pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, fakeHttp))
    )
    yield* Effect.gen(function*() {
      const analytics = yield* Analytics.Analytics
      yield* analytics.track({ userId: "user-secret-id", event: "Secret Event", properties: { card: "4111-secret" } })
      yield* analytics.flush
    }).pipe(Effect.provide(live), Effect.withTracer(recording))

    const ours = spans.filter((s) => s.name === "Analytics.flush" || s.name === "HttpTransport.send")
    assert.deepStrictEqual(ours.map((s) => s.name), ["Analytics.flush", "HttpTransport.send", "HttpTransport.send"])
    const sends = ours.filter((s) => s.name === "HttpTransport.send")
    // Effect itself adds `code.stacktrace` (a source location) to a span that ends in failure.
    const own = (span: Tracer.Span) => Object.fromEntries([...span.attributes].filter(([k]) => k !== "code.stacktrace"))
    assert.deepStrictEqual(sends.map(own), [
      { "analytics.messages": 1, "analytics.attempt": 0, "http.response.status_code": 500 },
      { "analytics.messages": 1, "analytics.attempt": 1, "http.response.status_code": 200 }
    ])
    const exits = sends.map((s) => s.status._tag === "Ended" ? s.status.exit._tag : "open")
    assert.deepStrictEqual(exits, ["Failure", "Success"])
    // Effect's own HTTP client span would record every response header unredacted: the transport
    // turns it off for its requests.
    assert.isFalse(spans.some((s) => s.name.startsWith("http.client")))
    for (const span of spans) {
      const text = JSON.stringify([span.name, ...span.attributes])
      for (const secret of [writeKey, Buffer.from(`${writeKey}:`).toString("base64"), "user-secret-id", "Secret Event", "4111-secret"]) {
        assert.notInclude(text, secret, `span ${span.name} leaks ${secret}`)
      }
    }
  }))
