import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Random, Redacted, Result } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { gunzipSync } from "node:zlib"
import { Analytics, type AnalyticsError, HttpTransport, MemoryTransport, type Message, Transport } from "../src/index.js"
import * as Encode from "../src/internal/encode.js"
import * as Version from "../src/internal/version.js"
import * as TestServer from "./support/httpServer.js"

const encoder = Encode.makeEncoder({ maxMessageBytes: 32_000, defaultContext: undefined, defaultIntegrations: undefined })

const messages = (n: number) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
    encoder("track", {
      userId: "u1",
      event: `Event ${i}`,
      messageId: `m-${i}`,
      properties: { i, label: "déjà vu – 5 € 🎉" }
    }))

const request = (batch: ReadonlyArray<Message.EncodedMessage>, attempt = 0): Transport.BatchRequest => ({
  messages: batch,
  attempt
})

/** Runs `effect` with a memory transport and its companion. */
const withMemory = (options: MemoryTransport.Options = {}) => Effect.provide(MemoryTransport.layer(options))

const statusOf = (result: Result.Result<Transport.Delivery, AnalyticsError.TransportError>) =>
  Result.isSuccess(result)
    ? result.success.status
    : result.failure.reason._tag === "Status"
    ? result.failure.reason.status
    : result.failure.reason._tag

/** Whether a forked fiber is still running (Effect 4 polls a fiber synchronously). */
const running = (fiber: Fiber.Fiber<unknown, unknown>) => fiber.pollUnsafe() === undefined

describe("MemoryTransport scripts", () => {
  it.effect("answers from the script, then 200", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const memory = yield* MemoryTransport.MemoryTransport
      yield* memory.setScript([
        MemoryTransport.status(500),
        MemoryTransport.status(500),
        MemoryTransport.retryAfter(429, "3"),
        MemoryTransport.status(200)
      ])
      const batch = yield* messages(2)
      const results = []
      for (let attempt = 0; attempt < 5; attempt++) {
        results.push(yield* Effect.result(transport.send(request(batch, attempt))))
      }
      assert.deepStrictEqual(results.map(statusOf), [500, 500, 429, 200, 200])
      const limited = results[2]!
      assert.isTrue(Result.isFailure(limited))
      if (Result.isFailure(limited) && limited.failure.reason._tag === "Status") {
        assert.strictEqual(limited.failure.reason.retryAfterMillis, 3000)
        assert.strictEqual(limited.failure.attempt, 2)
        assert.strictEqual(limited.failure.messages, 2)
      }
      const requests = yield* memory.requests
      assert.deepStrictEqual(requests.map((r) => r.index), [0, 1, 2, 3, 4])
      assert.deepStrictEqual(requests.map((r) => r.attempt), [0, 1, 2, 3, 4])
      assert.deepStrictEqual(requests.map((r) => r.headers["x-retry-count"]), [undefined, "1", "2", "3", "4"])
      assert.deepStrictEqual(requests.map((r) => r.step._tag), ["Status", "Status", "Status", "Status", "Status"])
    }).pipe(withMemory()))

  it.effect("the script can be given at construction, and the fallback changed", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const memory = yield* MemoryTransport.MemoryTransport
      const batch = yield* messages(1)
      yield* memory.setFallback(MemoryTransport.status(503))
      const results = []
      for (let i = 0; i < 3; i++) results.push(yield* Effect.result(transport.send(request(batch))))
      assert.deepStrictEqual(results.map(statusOf), [204, 503, 503])
    }).pipe(withMemory({ script: [MemoryTransport.status(204)] })))

  it.effect("Retry-After as an HTTP date is read against the Clock", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00.000Z"))
      const batch = yield* messages(1)
      const result = yield* Effect.result(transport.send(request(batch)))
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result) && result.failure.reason._tag === "Status") {
        assert.strictEqual(result.failure.reason.retryAfterMillis, 5000)
      } else assert.fail("expected a Status reason")
    }).pipe(withMemory({ script: [MemoryTransport.retryAfter(429, "Tue, 01 Jan 2030 00:00:05 GMT")] })))

  it.effect("network: a Network reason", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const batch = yield* messages(1)
      const first = yield* Effect.result(transport.send(request(batch)))
      const second = yield* Effect.result(transport.send(request(batch, 1)))
      for (const [result, description] of [[first, "ECONNRESET"], [second, "ECONNREFUSED"]] as const) {
        assert.isTrue(Result.isFailure(result))
        if (Result.isFailure(result)) {
          assert.strictEqual(result.failure._tag, "TransportError")
          assert.deepStrictEqual(result.failure.reason._tag, "Network")
          if (result.failure.reason._tag === "Network") assert.strictEqual(result.failure.reason.description, description)
        }
      }
    }).pipe(withMemory({ script: [MemoryTransport.network(), MemoryTransport.network("ECONNREFUSED")] })))

  it.effect("timeout: fails with a Timeout reason after the delay, on the TestClock", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const memory = yield* MemoryTransport.MemoryTransport
      const batch = yield* messages(1)
      const fiber = yield* Effect.forkChild(Effect.result(transport.send(request(batch))))
      yield* memory.awaitRequests(1)
      yield* TestClock.adjust("1999 millis")
      assert.isTrue(running(fiber), "still waiting before the timeout")
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure.reason._tag, "Timeout")
        if (result.failure.reason._tag === "Timeout") assert.strictEqual(result.failure.reason.timeoutMillis, 2000)
      }
      // the default timeout step waits 10 seconds
      yield* memory.setScript([MemoryTransport.timeout()])
      const slow = yield* Effect.forkChild(Effect.result(transport.send(request(batch))))
      yield* memory.awaitRequests(2)
      yield* TestClock.adjust("9999 millis")
      assert.isTrue(running(slow))
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Result.isFailure(yield* Fiber.join(slow)))
    }).pipe(withMemory({ script: [MemoryTransport.timeout(Duration.seconds(2))] })))

  it.effect("a status step with a delay answers after it", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const memory = yield* MemoryTransport.MemoryTransport
      const batch = yield* messages(1)
      const fiber = yield* Effect.forkChild(Effect.result(transport.send(request(batch))))
      yield* memory.awaitRequests(1)
      yield* TestClock.adjust("299 millis")
      assert.isTrue(running(fiber))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(statusOf(yield* Fiber.join(fiber)), 502)
    }).pipe(withMemory({ script: [MemoryTransport.status(502, { delay: "300 millis" })] })))

  const slowOk = MemoryTransport.status(200, { delay: "1 second" })

  it.effect("a delayed 2xx counts as delivered only once it has answered", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const memory = yield* MemoryTransport.MemoryTransport
      const [a, b] = yield* messages(2)
      const interrupted = yield* Effect.forkChild(transport.send(request([a!])))
      const answered = yield* Effect.forkChild(transport.send(request([b!])))
      yield* memory.awaitRequests(2)
      assert.deepStrictEqual(yield* memory.delivered, [], "no answer yet")
      yield* Fiber.interrupt(interrupted)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(answered)
      assert.deepStrictEqual((yield* memory.delivered).map((m) => m.messageId), ["m-1"])
    }).pipe(withMemory({ script: [slowOk, slowOk] })))

  it.effect("hang: never answers until interrupted", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const memory = yield* MemoryTransport.MemoryTransport
      const batch = yield* messages(1)
      const fiber = yield* Effect.forkChild(transport.send(request(batch)))
      yield* memory.awaitRequests(1)
      yield* TestClock.adjust("1 hour")
      assert.isTrue(running(fiber))
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.hasInterrupts(exit))
      assert.strictEqual((yield* memory.requests)[0]!.step._tag, "Hang")
    }).pipe(withMemory({ script: [MemoryTransport.hang] })))
})

describe("MemoryTransport records", () => {
  it.effect("every attempt: time, sentAt, headers, body, size and parsed batch", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const memory = yield* MemoryTransport.MemoryTransport
      const batch = yield* messages(3)
      yield* TestClock.adjust("1234 millis")
      yield* transport.send(request(batch, 0))
      const [recorded] = yield* memory.requests
      assert.strictEqual(recorded!.at, 1234)
      assert.strictEqual(recorded!.sentAt, "1970-01-01T00:00:01.234Z")
      assert.strictEqual(recorded!.messages, batch)
      assert.strictEqual(
        recorded!.body,
        `{"batch":[${batch.map((m) => m.json).join(",")}],"sentAt":"1970-01-01T00:00:01.234Z","writeKey":"wk"}`
      )
      assert.strictEqual(recorded!.bodyBytes, Buffer.byteLength(recorded!.body, "utf8"))
      assert.deepStrictEqual(recorded!.batch, batch.map((m) => JSON.parse(m.json)))
      assert.deepStrictEqual(recorded!.headers, {
        "content-type": "application/json",
        "authorization": `Basic ${Buffer.from("wk:").toString("base64")}`,
        "user-agent": `analytics-effect/${Version.version}`
      })
    }).pipe(withMemory({ writeKey: Redacted.make("wk") })))

  it.effect("awaitRequests waits for the count; delivered holds the 2xx batches only; clear forgets", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.Transport
      const memory = yield* MemoryTransport.MemoryTransport
      const [a, b] = yield* messages(2)
      const waiting = yield* Effect.forkChild(memory.awaitRequests(2))
      yield* Effect.result(transport.send(request([a!], 0))) // 500
      yield* Effect.yieldNow
      assert.isTrue(running(waiting), "one attempt is not two")
      yield* Effect.result(transport.send(request([a!], 1))) // 200
      const two = yield* Fiber.join(waiting)
      assert.strictEqual(two.length, 2)
      yield* Effect.result(transport.send(request([b!], 0))) // 200
      const delivered = yield* memory.delivered
      assert.deepStrictEqual(delivered.map((m) => m.messageId), ["m-0", "m-1"])
      assert.strictEqual((yield* memory.awaitRequests(3)).length, 3, "already there: returns at once")

      yield* memory.clear
      assert.deepStrictEqual(yield* memory.requests, [])
      assert.deepStrictEqual(yield* memory.delivered, [])
      const next = yield* Effect.forkChild(memory.awaitRequests(1))
      yield* Effect.yieldNow
      assert.isTrue(running(next), "clear resets the count")
      yield* transport.send(request([b!], 0))
      const after = yield* Fiber.join(next)
      assert.deepStrictEqual(after.map((r) => r.index), [0])
    }).pipe(withMemory({ script: [MemoryTransport.status(500)] })))

  it.effect("awaitRequests sees the client's interval flush (19 messages, under flushAt 20)", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      for (let i = 0; i < 19; i++) yield* Analytics.track({ userId: "u1", event: `e${i}` })
      yield* TestClock.adjust("4900 millis")
      assert.strictEqual((yield* memory.requests).length, 0)
      yield* TestClock.adjust("100 millis")
      const requests = yield* memory.awaitRequests(1)
      assert.strictEqual(requests.length, 1)
      assert.deepStrictEqual(requests[0]!.batch.map((m) => m.event), Array.from({ length: 19 }, (_, i) => `e${i}`))
      assert.strictEqual(requests[0]!.at, 5000)
    }).pipe(
      Effect.provide(
        Analytics.layerWithoutTransport({ writeKey: "test-write-key" }).pipe(
          Layer.provideMerge(MemoryTransport.layer())
        )
      )
    ))

  it.effect("drives the client's retries: [500, 500, 429 Retry-After 3, 200]", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* memory.setScript([
        MemoryTransport.status(500),
        MemoryTransport.status(500),
        MemoryTransport.retryAfter(429, "3"),
        MemoryTransport.status(200)
      ])
      yield* Analytics.track({ userId: "u1", event: "Retried", messageId: "r-1" })
      const flushed = yield* Effect.forkChild(Analytics.flush)
      for (let i = 0; i < 30 && (yield* memory.requests).length < 4; i++) yield* TestClock.adjust("1 second")
      yield* Fiber.join(flushed)
      const requests = yield* memory.requests
      assert.deepStrictEqual(requests.map((r) => r.attempt), [0, 1, 2, 3])
      assert.deepStrictEqual(requests.map((r) => r.headers["x-retry-count"]), [undefined, "1", "2", "3"])
      // the same message, with the same id, on every attempt; sentAt anew on each
      for (const r of requests) assert.deepStrictEqual(r.batch.map((m) => m.messageId), ["r-1"])
      assert.strictEqual(new Set(requests.map((r) => r.sentAt)).size, 4)
      // (the jittered backoff makes the clock's times fractional: allow for float rounding)
      assert.isAtLeast(requests[3]!.at - requests[2]!.at, 3000 - 1e-6, "the 429 pause is honoured")
      assert.deepStrictEqual((yield* memory.delivered).map((m) => m.messageId), ["r-1"])
    }).pipe(
      Effect.provide(
        Analytics.layerWithoutTransport({ writeKey: "test-write-key" }).pipe(
          Layer.provideMerge(MemoryTransport.layer())
        )
      ),
      // the backoff's jitter, seeded: the same delays on every run
      Random.withSeed(20261127)
    ))
})

describe("MemoryTransport records what HttpTransport sends", () => {
  const writeKey = Redacted.make("wk_same-key")

  const compare = (gzip: boolean) =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const batch = yield* messages(3)
      yield* TestClock.setTime(Date.parse("2024-05-06T07:08:09.010Z"))
      const http = yield* HttpTransport.make({ writeKey, host: server.origin, gzip })
      yield* http.send(request(batch, 2))
      const recorded = yield* Effect.gen(function*() {
        const transport = yield* Transport.Transport
        const memory = yield* MemoryTransport.MemoryTransport
        yield* transport.send(request(batch, 2))
        return (yield* memory.requests)[0]!
      }).pipe(withMemory({ writeKey, gzip }))
      const received = server.received[0]!
      const body = gzip ? gunzipSync(received.body) : received.body
      assert.strictEqual(recorded.body, body.toString("utf8"))
      assert.strictEqual(recorded.bodyBytes, body.length)
      for (const [name, value] of Object.entries(recorded.headers)) {
        assert.strictEqual(received.headers[name], value, name)
      }
      assert.deepStrictEqual(
        Object.keys(recorded.headers).sort(),
        ["authorization", "content-type", "user-agent", "x-retry-count", ...(gzip ? ["content-encoding"] : [])].sort()
      )
    }).pipe(Effect.provide(FetchHttpClient.layer))

  it.effect("same body and headers, byte for byte", () => compare(false))
  it.effect("same with gzip (the memory transport records the uncompressed body)", () => compare(true))
})

describe("MemoryTransport fails as HttpTransport does for the same answer", () => {
  const now = Date.parse("2030-01-01T00:00:00.000Z")
  const cases: ReadonlyArray<readonly [string, MemoryTransport.Step, TestServer.Handler]> = [
    ["a redirect", MemoryTransport.redirect("https://moved.example/v1/batch"), TestServer.redirect(301, "https://moved.example/v1/batch")],
    ["a 308 redirect", MemoryTransport.redirect("/v2/batch", 308), TestServer.redirect(308, "/v2/batch")],
    ["413", MemoryTransport.payloadTooLarge, TestServer.respond(413)],
    ["429 with X-RateLimit-Reset in seconds", MemoryTransport.rateLimitReset("30"), TestServer.respond(429, { "x-ratelimit-reset": "30" })],
    [
      "429 with X-RateLimit-Reset as a Unix time",
      MemoryTransport.rateLimitReset(String(now / 1000 + 45)),
      TestServer.respond(429, { "x-ratelimit-reset": String(now / 1000 + 45) })
    ],
    ["429 with Retry-After", MemoryTransport.retryAfter(429, "3"), TestServer.respond(429, { "retry-after": "3" })]
  ]

  for (const [clientName, client] of TestServer.clients) {
    for (const [name, step, handler] of cases) {
      it.effect(`${name} (${clientName})`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(now)
          const batch = yield* messages(2)
          const server = yield* TestServer.start(handler)
          const http = yield* HttpTransport.make({ writeKey: Redacted.make("test-write-key"), host: server.origin })
          const overHttp = yield* Effect.flip(http.send(request(batch, 1)))
          const inMemory = yield* Effect.flip(
            Effect.flatMap(Transport.Transport, (t) => t.send(request(batch, 1))).pipe(withMemory({ script: [step] }))
          )
          assert.strictEqual(inMemory.reason._tag, "Status")
          assert.deepStrictEqual(
            [inMemory.message, inMemory.messages, inMemory.attempt, { ...inMemory.reason }],
            [overHttp.message, overHttp.messages, overHttp.attempt, { ...overHttp.reason }]
          )
        }).pipe(Effect.provide(client)))
    }
  }

  it.effect("the steps' reasons", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now)
      const transport = yield* Transport.Transport
      const batch = yield* messages(1)
      const reasons = []
      for (let i = 0; i < 4; i++) reasons.push((yield* Effect.flip(transport.send(request(batch)))).reason)
      assert.deepStrictEqual(reasons.map((r) => r._tag === "Status" ? [r.status, r.location, r.retryAfterMillis] : r._tag), [
        [302, "https://eu.example/v1/batch", undefined],
        [413, undefined, undefined],
        [429, undefined, 12_000],
        [429, undefined, 9_000]
      ])
    }).pipe(withMemory({
      script: [
        MemoryTransport.redirect("https://eu.example/v1/batch", 302),
        MemoryTransport.payloadTooLarge,
        MemoryTransport.rateLimitReset("12"),
        MemoryTransport.rateLimitReset(new Date(now + 9000).toUTCString())
      ]
    })))
})
