import { FetchHttpClient, HttpClient } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted, TestClock } from "effect"
import { gunzipSync } from "node:zlib"
import { Analytics, HttpTransport, type Message, type Transport } from "../src/index.js"
import * as Encode from "../src/internal/encode.js"
import * as Version from "../src/internal/version.js"
import * as Wire from "../src/internal/wire.js"
import * as TestServer from "./support/httpServer.js"

const writeKey = "wk_Secret-Key_0123456789"
const basic = `Basic ${Buffer.from(writeKey + ":").toString("base64")}`

const encoder = Encode.makeEncoder({ maxMessageBytes: 32_000, defaultContext: undefined, defaultIntegrations: undefined })

const encodeAll = Effect.all([
  encoder("track", {
    userId: "u1",
    event: "Order Completed",
    messageId: "m-1",
    timestamp: "2024-02-29T13:45:00.000Z",
    properties: { total: 12.5, note: "crème brûlée – 3 € 😀", tags: ["a", "b"] }
  }),
  encoder("identify", { anonymousId: "a1", messageId: "m-2", timestamp: "2024-02-29T13:45:01.000Z", traits: { n: 1 } })
])

// The exact text the transport must send for `messages` at `sentAt`.
const expectedBody = (messages: ReadonlyArray<Message.EncodedMessage>, sentAt: string) =>
  `{"batch":[${messages.map((m) => m.json).join(",")}],"sentAt":"${sentAt}","writeKey":${JSON.stringify(writeKey)}}`

const transport = (options: Partial<HttpTransport.Options> & { readonly host: string }) =>
  HttpTransport.make({ writeKey: Redacted.make(writeKey), ...options })

const sendOnce = (
  options: Partial<HttpTransport.Options> & { readonly host: string },
  request: Transport.BatchRequest
) => Effect.flatMap(transport(options), (t) => Effect.either(t.send(request)))

const at = (iso: string) => TestClock.setTime(Date.parse(iso))

describe("HttpTransport against a real server (fetch)", () => {
  it.scoped("POSTs the batch body, byte for byte, with the Segment headers", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const messages = yield* encodeAll
      yield* at("2024-03-01T10:00:00.000Z")
      const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
      assert.isTrue(Either.isRight(result))
      assert.strictEqual(server.received.length, 1)
      const received = server.received[0]!
      assert.strictEqual(received.method, "POST")
      assert.strictEqual(received.url, "/v1/batch")
      assert.strictEqual(received.headers["authorization"], basic)
      assert.strictEqual(received.headers["content-type"], "application/json")
      assert.strictEqual(received.headers["user-agent"], `analytics-effect/${Version.version}`)
      assert.isUndefined(received.headers["x-retry-count"])
      assert.isUndefined(received.headers["content-encoding"])
      // send runs in a span: the client's trace propagation would add these, but it is turned off
      assert.isUndefined(received.headers["traceparent"])
      assert.isUndefined(received.headers["b3"])
      const text = received.body.toString("utf8")
      assert.strictEqual(text, expectedBody(messages, "2024-03-01T10:00:00.000Z"))
      const parsed = JSON.parse(text)
      assert.deepStrictEqual(Object.keys(parsed), ["batch", "sentAt", "writeKey"])
      assert.strictEqual(parsed.writeKey, writeKey)
      assert.deepStrictEqual(parsed.batch, messages.map((m) => JSON.parse(m.json)))
      if (Either.isRight(result)) {
        assert.strictEqual(result.right.status, 200)
        assert.strictEqual(result.right.bodyBytes, received.body.length)
        assert.strictEqual(Wire.bodyBytes(Wire.makeEnvelope(Redacted.make(writeKey)), messages), received.body.length)
      }
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("uses a custom host and path", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const messages = yield* encodeAll
      yield* sendOnce({ host: server.origin + "/", path: "collect/v2" }, { messages, attempt: 0 })
      yield* sendOnce({ host: server.origin, path: "/a/b?x=1" }, { messages, attempt: 0 })
      assert.deepStrictEqual(server.received.map((r) => r.url), ["/collect/v2", "/a/b?x=1"])
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("sets sentAt anew on each attempt, and X-Retry-Count on retries", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const messages = yield* encodeAll
      const t = yield* transport({ host: server.origin })
      yield* at("2024-03-01T10:00:00.000Z")
      yield* t.send({ messages, attempt: 0 })
      yield* at("2024-03-01T10:00:03.250Z")
      yield* t.send({ messages, attempt: 2 })
      const [first, second] = server.received
      assert.isUndefined(first!.headers["x-retry-count"])
      assert.strictEqual(second!.headers["x-retry-count"], "2")
      assert.strictEqual(JSON.parse(first!.body.toString()).sentAt, "2024-03-01T10:00:00.000Z")
      assert.strictEqual(JSON.parse(second!.body.toString()).sentAt, "2024-03-01T10:00:03.250Z")
      // Everything but sentAt is identical: the same messages with the same ids.
      assert.strictEqual(first!.body.toString(), expectedBody(messages, "2024-03-01T10:00:00.000Z"))
      assert.strictEqual(second!.body.toString(), expectedBody(messages, "2024-03-01T10:00:03.250Z"))
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("gzip: Content-Encoding gzip, and the server gunzips the same JSON", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const messages = yield* encodeAll
      const result = yield* sendOnce({ host: server.origin, gzip: true }, { messages, attempt: 0 })
      const received = server.received[0]!
      assert.strictEqual(received.headers["content-encoding"], "gzip")
      assert.strictEqual(received.headers["content-type"], "application/json")
      const text = gunzipSync(received.body).toString("utf8")
      assert.strictEqual(text, expectedBody(messages, "1970-01-01T00:00:00.000Z"))
      assert.notStrictEqual(received.body.toString("utf8"), text)
      // The reported size is the uncompressed one (limits are measured on the JSON).
      assert.isTrue(Either.isRight(result) && result.right.bodyBytes === Buffer.byteLength(text))
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("2xx is success", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const messages = yield* encodeAll
      for (const status of [200, 204]) {
        server.setHandler(TestServer.respond(status))
        const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
        assert.isTrue(Either.isRight(result) && result.right.status === status, `status ${status}`)
      }
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("non-2xx statuses are TransportErrors with a Status reason", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const messages = yield* encodeAll
      for (const status of [400, 429, 500, 503]) {
        server.setHandler(TestServer.respond(status, { "content-type": "text/plain" }, `nope ${status}`))
        const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 1 })
        assert.isTrue(Either.isLeft(result), `status ${status}`)
        if (Either.isLeft(result)) {
          const error = result.left
          assert.strictEqual(error._tag, "TransportError")
          assert.strictEqual(error.attempt, 1)
          assert.strictEqual(error.messages, 2)
          assert.strictEqual(error.reason._tag, "Status")
          if (error.reason._tag === "Status") {
            assert.strictEqual(error.reason.status, status)
            assert.strictEqual(error.reason.body, `nope ${status}`)
            assert.isUndefined(error.reason.retryAfterMillis)
          }
        }
      }
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("Retry-After in seconds or as an HTTP date", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const messages = yield* encodeAll
      const now = Date.parse("2030-05-06T07:08:09.000Z")
      yield* TestClock.setTime(now)
      const cases: ReadonlyArray<readonly [string, number]> = [
        ["3", 3000],
        [new Date(now + 5000).toUTCString(), 5000]
      ]
      for (const [header, expected] of cases) {
        server.setHandler(TestServer.respond(429, { "retry-after": header }))
        const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result) && result.left.reason._tag === "Status") {
          assert.strictEqual(result.left.reason.status, 429)
          assert.strictEqual(result.left.reason.retryAfterMillis, expected, header)
        } else assert.fail("expected a Status reason")
      }
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("a server that never answers: Timeout reason after the configured timeout", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start(() => {
        // never answer
      })
      const messages = yield* encodeAll
      const started = performance.now()
      const result = yield* sendOnce({ host: server.origin, timeout: "200 millis" }, { messages, attempt: 0 })
      const elapsed = performance.now() - started
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.deepStrictEqual(result.left.reason._tag, "Timeout")
        if (result.left.reason._tag === "Timeout") assert.strictEqual(result.left.reason.timeoutMillis, 200)
      }
      assert.isAtLeast(elapsed, 150)
      assert.isBelow(elapsed, 5_000)
      assert.strictEqual(server.received.length, 1)
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.effect("connection refused: Network reason", () =>
    Effect.gen(function*() {
      const port = yield* TestServer.closedPort
      const messages = yield* encodeAll
      const result = yield* sendOnce({ host: `http://127.0.0.1:${port}` }, { messages, attempt: 0 })
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason._tag, "Network")
        if (result.left.reason._tag === "Network") assert.include(result.left.reason.description, "ECONNREFUSED")
        assert.notInclude(String(result.left), writeKey)
      }
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("the write key never appears in the error, even when the server echoes the request", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start((request, res) => {
        res.writeHead(400, { "content-type": "text/plain" })
        res.end(`bad request from ${request.headers["authorization"]}: ${request.body.toString("utf8")}`)
      })
      const messages = yield* encodeAll
      const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        const error = result.left
        const base64 = basic.slice("Basic ".length)
        assert.strictEqual(error.reason._tag, "Status")
        for (const text of [error.message, String(error), JSON.stringify(error), describeBody(error.reason)]) {
          assert.notInclude(text, writeKey)
          assert.notInclude(text, base64)
        }
        assert.include(describeBody(error.reason), "<redacted>")
      }
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("a client wrapped with filterStatusOk still reports the status", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start(TestServer.respond(503, { "retry-after": "7" }))
      const messages = yield* encodeAll
      const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason._tag, "Status")
        if (result.left.reason._tag === "Status") {
          assert.strictEqual(result.left.reason.status, 503)
          assert.strictEqual(result.left.reason.retryAfterMillis, 7000)
        }
      }
    }).pipe(
      Effect.provide(
        Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, HttpClient.filterStatusOk)).pipe(
          Layer.provide(FetchHttpClient.layer)
        )
      )
    ))

  it.scoped("end to end: Analytics.layer delivers to the configured host", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      yield* Effect.gen(function*() {
        yield* Analytics.track({ userId: "u1", event: "Signed Up", messageId: "e2e-1" })
        yield* Analytics.flush
      }).pipe(Effect.provide(Analytics.layer({ writeKey, host: server.origin, path: "/ingest" })))
      assert.strictEqual(server.received.length, 1)
      assert.strictEqual(server.received[0]!.url, "/ingest")
      const body = JSON.parse(server.received[0]!.body.toString("utf8"))
      assert.deepStrictEqual(body.batch.map((m: { messageId: string }) => m.messageId), ["e2e-1"])
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})

describe("HttpTransport against a real server (undici)", () => {
  it.scoped("same request through NodeHttpClient.layerUndici", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const messages = yield* encodeAll
      yield* at("2024-03-01T10:00:00.000Z")
      const result = yield* sendOnce({ host: server.origin, path: "/v1/batch" }, { messages, attempt: 3 })
      assert.isTrue(Either.isRight(result))
      const received = server.received[0]!
      assert.strictEqual(received.method, "POST")
      assert.strictEqual(received.url, "/v1/batch")
      assert.strictEqual(received.headers["authorization"], basic)
      assert.strictEqual(received.headers["content-type"], "application/json")
      assert.strictEqual(received.headers["user-agent"], `analytics-effect/${Version.version}`)
      assert.strictEqual(received.headers["x-retry-count"], "3")
      assert.strictEqual(received.body.toString("utf8"), expectedBody(messages, "2024-03-01T10:00:00.000Z"))
      server.setHandler(TestServer.respond(500))
      const failed = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
      assert.isTrue(Either.isLeft(failed) && failed.left.reason._tag === "Status" && failed.left.reason.status === 500)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.effect("connection refused through undici: Network reason", () =>
    Effect.gen(function*() {
      const port = yield* TestServer.closedPort
      const messages = yield* encodeAll
      const result = yield* sendOnce({ host: `http://127.0.0.1:${port}` }, { messages, attempt: 0 })
      assert.isTrue(Either.isLeft(result) && result.left.reason._tag === "Network")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

const describeBody = (reason: { readonly _tag: string; readonly body?: string | undefined }): string =>
  reason.body ?? ""
