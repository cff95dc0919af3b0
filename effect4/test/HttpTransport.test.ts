import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as Undici from "@effect/platform-node/Undici"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, Result } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { gunzipSync } from "node:zlib"
import { Analytics, type AnalyticsError, HttpTransport, type Message, type Transport } from "../src/index.js"
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

type Target = Partial<HttpTransport.Options> & { readonly host: string }

const transport = (options: Target) => HttpTransport.make({ writeKey: Redacted.make(writeKey), ...options })

const sendOnce = (options: Target, request: Transport.BatchRequest) =>
  Effect.flatMap(transport(options), (t) => Effect.result(t.send(request)))

const at = (iso: string) => TestClock.setTime(Date.parse(iso))

/** The Status reason of a failed send, or a test failure. */
const statusReason = (
  result: Result.Result<Transport.Delivery, AnalyticsError.TransportError>
): AnalyticsError.StatusReason => {
  if (Result.isSuccess(result)) return assert.fail(`expected a failure, got HTTP ${result.success.status}`)
  if (result.failure.reason._tag !== "Status") {
    return assert.fail(`expected a Status reason, got ${result.failure.reason._tag}`)
  }
  return result.failure.reason
}

/** Every text a failure can be shown as: its message, its string, its JSON, its reason's fields. */
const renderings = (error: AnalyticsError.TransportError): ReadonlyArray<string> => [
  error.message,
  String(error),
  JSON.stringify(error),
  JSON.stringify(error.reason),
  ...Object.values(error.reason).filter((v): v is string => typeof v === "string")
]

for (const [clientName, client] of TestServer.clients) {
  describe(`HttpTransport against a real server (${clientName})`, () => {
    it.effect("POSTs the batch body, byte for byte, with the Segment headers", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start()
        const messages = yield* encodeAll
        yield* at("2024-03-01T10:00:00.000Z")
        const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
        assert.isTrue(Result.isSuccess(result))
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
        if (Result.isSuccess(result)) {
          assert.strictEqual(result.success.status, 200)
          assert.strictEqual(result.success.bodyBytes, received.body.length)
          assert.strictEqual(Wire.bodyBytes(Wire.makeEnvelope(Redacted.make(writeKey)), messages), received.body.length)
        }
      }).pipe(Effect.provide(client)))

    it.effect("uses a custom host and path", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start()
        const messages = yield* encodeAll
        yield* sendOnce({ host: server.origin + "/", path: "collect/v2" }, { messages, attempt: 0 })
        yield* sendOnce({ host: server.origin, path: "/a/b?x=1" }, { messages, attempt: 0 })
        assert.deepStrictEqual(server.received.map((r) => r.url), ["/collect/v2", "/a/b?x=1"])
      }).pipe(Effect.provide(client)))

    it.effect("every attempt sends the same bytes but a fresh sentAt, and X-Retry-Count on retries", () =>
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
      }).pipe(Effect.provide(client)))

    it.effect("a batch refused with 307 and 308 is sent again whole: no detached buffer, same bytes", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start(TestServer.sequence(
          TestServer.redirect(307, "/elsewhere"),
          TestServer.redirect(308, "/elsewhere"),
          TestServer.ok
        ))
        const messages = yield* encodeAll
        const t = yield* transport({ host: server.origin, gzip: true })
        const results = []
        for (let attempt = 0; attempt < 3; attempt++) results.push(yield* Effect.result(t.send({ messages, attempt })))
        assert.deepStrictEqual(results.map((r) => Result.isSuccess(r) ? r.success.status : statusReason(r).status), [
          307,
          308,
          200
        ])
        // Three POSTs to our path, none to the Location, each with the whole body.
        assert.deepStrictEqual(server.received.map((r) => `${r.method} ${r.url}`), [
          "POST /v1/batch",
          "POST /v1/batch",
          "POST /v1/batch"
        ])
        for (const received of server.received) {
          assert.strictEqual(gunzipSync(received.body).toString("utf8"), expectedBody(messages, "1970-01-01T00:00:00.000Z"))
        }
      }).pipe(Effect.provide(client)))

    it.effect("gzip: Content-Encoding gzip, and the server gunzips the same JSON", () =>
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
        assert.isTrue(Result.isSuccess(result) && result.success.bodyBytes === Buffer.byteLength(text))
      }).pipe(Effect.provide(client)))

    it.effect("2xx is success", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start()
        const messages = yield* encodeAll
        for (const status of [200, 201, 202, 204]) {
          server.setHandler(TestServer.respond(status))
          const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
          assert.isTrue(Result.isSuccess(result) && result.success.status === status, `status ${status}`)
        }
      }).pipe(Effect.provide(client)))

    it.effect("non-2xx statuses, 413 included, are TransportErrors with a Status reason and the body", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start()
        const messages = yield* encodeAll
        for (const status of [400, 401, 413, 429, 500, 503]) {
          server.setHandler(TestServer.respond(status, { "content-type": "text/plain" }, `nope ${status}`))
          const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 1 })
          assert.isTrue(Result.isFailure(result), `status ${status}`)
          if (Result.isFailure(result)) {
            assert.strictEqual(result.failure._tag, "TransportError")
            assert.strictEqual(result.failure.attempt, 1)
            assert.strictEqual(result.failure.messages, 2)
          }
          const reason = statusReason(result)
          assert.strictEqual(reason.status, status)
          assert.strictEqual(reason.body, `nope ${status}`)
          assert.isUndefined(reason.retryAfterMillis)
          assert.isUndefined(reason.location)
        }
      }).pipe(Effect.provide(client)))

    it.effect("redirects are not followed: every 3xx is a failure with its status and Location", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start()
        // Where the collector says it moved: a real server, that must see nothing.
        const elsewhere = yield* TestServer.start()
        const messages = yield* encodeAll
        for (const status of [300, 301, 302, 303, 307, 308]) {
          server.setHandler(TestServer.redirect(status, `${elsewhere.origin}/v1/batch`))
          const reason = statusReason(yield* sendOnce({ host: server.origin }, { messages, attempt: 0 }))
          assert.strictEqual(reason.status, status)
          assert.strictEqual(reason.location, `${elsewhere.origin}/v1/batch`)
        }
        assert.strictEqual(server.received.length, 6)
        assert.isTrue(server.received.every((r) => r.method === "POST"))
        assert.strictEqual(elsewhere.received.length, 0)
      }).pipe(Effect.provide(client)))

    it.effect("a relative Location is reported as sent; the failure says it was not followed", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start(TestServer.redirect(301, "/v2/batch"))
        const messages = yield* encodeAll
        const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
        assert.strictEqual(statusReason(result).location, "/v2/batch")
        assert.isTrue(Result.isFailure(result) && result.failure.message.includes("redirecting to /v2/batch (not followed)"))
        assert.deepStrictEqual(server.received.map((r) => r.url), ["/v1/batch"])
      }).pipe(Effect.provide(client)))

    it.effect("Retry-After in seconds or as an HTTP date", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start()
        const messages = yield* encodeAll
        const now = Date.parse("2030-05-06T07:08:09.000Z")
        yield* TestClock.setTime(now)
        const cases: ReadonlyArray<readonly [string, number]> = [
          ["3", 3000],
          ["0", 0],
          [new Date(now + 5000).toUTCString(), 5000]
        ]
        for (const [header, expected] of cases) {
          server.setHandler(TestServer.respond(429, { "retry-after": header }))
          const reason = statusReason(yield* sendOnce({ host: server.origin }, { messages, attempt: 0 }))
          assert.strictEqual(reason.status, 429)
          assert.strictEqual(reason.retryAfterMillis, expected, header)
        }
      }).pipe(Effect.provide(client)))

    it.effect("X-RateLimit-Reset: delay seconds, Unix time, HTTP date; with Retry-After the longer wins", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start()
        const messages = yield* encodeAll
        const now = Date.parse("2030-05-06T07:08:09.000Z")
        yield* TestClock.setTime(now)
        const cases: ReadonlyArray<readonly [Record<string, string>, number]> = [
          [{ "x-ratelimit-reset": "7" }, 7000],
          [{ "x-ratelimit-reset": String(now / 1000 + 12) }, 12_000],
          [{ "x-ratelimit-reset": String(now + 1500) }, 1500],
          [{ "x-ratelimit-reset": new Date(now + 9000).toUTCString() }, 9000],
          [{ "x-ratelimit-reset": String(now / 1000 - 60) }, 0],
          [{ "x-ratelimit-reset": "soon" }, -1],
          [{ "x-ratelimit-reset": "4", "retry-after": "2" }, 4000],
          [{ "x-ratelimit-reset": "2", "retry-after": "6" }, 6000]
        ]
        for (const [headers, expected] of cases) {
          server.setHandler(TestServer.respond(429, headers))
          const reason = statusReason(yield* sendOnce({ host: server.origin }, { messages, attempt: 0 }))
          assert.strictEqual(reason.status, 429)
          assert.strictEqual(reason.retryAfterMillis ?? -1, expected, JSON.stringify(headers))
        }
      }).pipe(Effect.provide(client)))

    it.live("a server that never answers: Timeout reason after the configured timeout", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start(() => {
          // never answer
        })
        const messages = yield* encodeAll
        const result = yield* sendOnce({ host: server.origin, timeout: "200 millis" }, { messages, attempt: 0 })
        assert.isTrue(Result.isFailure(result))
        if (Result.isFailure(result)) {
          assert.deepStrictEqual(result.failure.reason._tag, "Timeout")
          if (result.failure.reason._tag === "Timeout") assert.strictEqual(result.failure.reason.timeoutMillis, 200)
        }
        assert.strictEqual(server.received.length, 1)
      }).pipe(Effect.provide(client)))

    it.live("a 2xx whose body stalls past the timeout is a success, sent once", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start(TestServer.stalledBody(200))
        const messages = yield* encodeAll
        const result = yield* sendOnce({ host: server.origin, timeout: "200 millis" }, { messages, attempt: 0 })
        assert.isTrue(Result.isSuccess(result) && result.success.status === 200)
        assert.strictEqual(server.received.length, 1)
      }).pipe(Effect.provide(client)))

    it.live("an error whose body stalls keeps its status and what arrived of the body", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start(TestServer.stalledBody(503))
        const messages = yield* encodeAll
        const reason = statusReason(
          yield* sendOnce({ host: server.origin, timeout: "200 millis" }, { messages, attempt: 0 })
        )
        assert.strictEqual(reason.status, 503)
        assert.strictEqual(reason.body, "{\"success\":")
      }).pipe(Effect.provide(client)))

    it.effect("a 2xx with a 2 GB body: a success, and the body is not read", () =>
      Effect.gen(function*() {
        const stats: TestServer.StreamStats = { written: 0, aborted: false }
        const server = yield* TestServer.start(TestServer.hugeBody(200, 2 * 1024 ** 3, stats))
        const messages = yield* encodeAll
        const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
        assert.isTrue(Result.isSuccess(result) && result.success.status === 200)
        // The client read at most 16 KB and dropped the connection: the server's writes stopped once the
        // socket buffers were full, a few megabytes at most.
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
        assert.isBelow(stats.written, 64 * 1024 * 1024, `${stats.written} bytes written`)
        assert.isTrue(stats.aborted)
      }).pipe(Effect.provide(client)))

    it.effect("an error with a 2 GB body: the reason holds its first 512 characters only", () =>
      Effect.gen(function*() {
        const stats: TestServer.StreamStats = { written: 0, aborted: false }
        const server = yield* TestServer.start(TestServer.hugeBody(500, 2 * 1024 ** 3, stats))
        const messages = yield* encodeAll
        const reason = statusReason(yield* sendOnce({ host: server.origin }, { messages, attempt: 0 }))
        assert.strictEqual(reason.status, 500)
        assert.strictEqual(reason.body, "x".repeat(512) + "…")
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
        assert.isBelow(stats.written, 64 * 1024 * 1024, `${stats.written} bytes written`)
      }).pipe(Effect.provide(client)))

    it.effect("connection refused: Network reason", () =>
      Effect.gen(function*() {
        const port = yield* TestServer.closedPort
        const messages = yield* encodeAll
        const result = yield* sendOnce({ host: `http://127.0.0.1:${port}` }, { messages, attempt: 0 })
        assert.isTrue(Result.isFailure(result))
        if (Result.isFailure(result)) {
          assert.strictEqual(result.failure.reason._tag, "Network")
          if (result.failure.reason._tag === "Network") assert.include(result.failure.reason.description, "ECONNREFUSED")
          assert.notInclude(String(result.failure), writeKey)
        }
      }).pipe(Effect.provide(client)))

    it.effect("the write key never appears in an error, in any form the server echoes it", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start()
        const messages = yield* encodeAll
        for (const [formName, form] of Object.entries(TestServer.echoForms)) {
          for (const status of [400, 302]) {
            server.setHandler(TestServer.echo(status, form))
            const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
            const reason = statusReason(result)
            assert.include(reason.body ?? "", "<redacted>", `${formName} ${status}`)
            if (status === 302) assert.include(reason.location ?? "", "<redacted>", formName)
            const echoed = form(writeKey).toLowerCase()
            for (const text of renderings((result as Result.Failure<never, AnalyticsError.TransportError>).failure)) {
              const lower = text.toLowerCase()
              assert.notInclude(lower, echoed, `${formName} ${status}`)
              assert.notInclude(lower, writeKey.toLowerCase(), `${formName} ${status}`)
              assert.notInclude(lower, basic.slice(6).toLowerCase(), `${formName} ${status}`)
            }
          }
        }
      }).pipe(Effect.provide(client)))

    it.effect("the server echoing the whole request, Authorization and body", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start((request, res) => {
          res.writeHead(400, { "content-type": "text/plain" })
          res.end(`bad request from ${request.headers["authorization"]}: ${request.body.toString("utf8")}`)
        })
        const messages = yield* encodeAll
        const result = yield* sendOnce({ host: server.origin }, { messages, attempt: 0 })
        assert.include(statusReason(result).body ?? "", "<redacted>")
        for (const text of renderings((result as Result.Failure<never, AnalyticsError.TransportError>).failure)) {
          assert.notInclude(text, writeKey)
          assert.notInclude(text, basic.slice("Basic ".length))
        }
      }).pipe(Effect.provide(client)))

    it.effect("a client wrapped with filterStatusOk still reports the status", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start(TestServer.respond(503, { "retry-after": "7" }))
        const messages = yield* encodeAll
        const reason = statusReason(yield* sendOnce({ host: server.origin }, { messages, attempt: 0 }))
        assert.strictEqual(reason.status, 503)
        assert.strictEqual(reason.retryAfterMillis, 7000)
      }).pipe(
        Effect.provide(
          Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, HttpClient.filterStatusOk)).pipe(
            Layer.provide(client)
          )
        )
      ))

    it.effect("region picks Segment's host; a custom host wins", () =>
      Effect.gen(function*() {
        const server = yield* TestServer.start()
        const messages = yield* encodeAll
        const origins: Array<string> = []
        const rerouted = TestServer.reroutedClients.find(([name]) => name === clientName)![1](server, origins)
        const sendWith = (options: Partial<HttpTransport.Options>) =>
          HttpTransport.make({ writeKey: Redacted.make(writeKey), ...options }).pipe(
            Effect.flatMap((t) => t.send({ messages, attempt: 0 })),
            Effect.provide(rerouted)
          )
        yield* sendWith({})
        yield* sendWith({ region: "us" })
        yield* sendWith({ region: "eu" })
        yield* sendWith({ region: "eu", host: "https://collector.internal" })
        assert.deepStrictEqual(origins, [
          "https://api.segment.io",
          "https://api.segment.io",
          "https://events.eu1.segmentapis.com",
          "https://collector.internal"
        ])
        assert.deepStrictEqual(server.received.map((r) => r.url), Array(4).fill("/v1/batch"))
      }))

    it.effect("end to end: Analytics.layer delivers to the configured host", () =>
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
      }).pipe(Effect.provide(client)))
  })
}

describe("HttpTransport: what a user's HttpClient setup cannot change", () => {
  it.effect("an undici dispatcher that follows redirects does not follow ours", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const elsewhere = yield* TestServer.start()
      server.setHandler(TestServer.redirect(307, `${elsewhere.origin}/v1/batch`))
      const messages = yield* encodeAll
      const reason = statusReason(yield* sendOnce({ host: server.origin }, { messages, attempt: 0 }))
      assert.strictEqual(reason.status, 307)
      assert.strictEqual(elsewhere.received.length, 0)
      // The same dispatcher does follow other requests: the test would catch a transport that stopped
      // turning redirects off.
      const followed = yield* HttpClient.get(server.origin + "/other").pipe(
        Effect.flatMap((response) => response.text),
        Effect.result
      )
      assert.isTrue(Result.isSuccess(followed))
      assert.deepStrictEqual(elsewhere.received.map((r) => r.method), ["GET"])
    }).pipe(Effect.provide(TestServer.undiciFollowingRedirects)))

  it.effect("fetch options given to the transport are kept, with redirects off on top", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start(TestServer.redirect(302, "/moved"))
      const messages = yield* encodeAll
      const reason = statusReason(
        yield* sendOnce({ host: server.origin }, { messages, attempt: 0 }).pipe(
          Effect.provideService(FetchHttpClient.RequestInit, { redirect: "follow", headers: { "x-gateway": "kept" } })
        )
      )
      assert.strictEqual(reason.status, 302)
      assert.deepStrictEqual(server.received.map((r) => [r.method, r.url, r.headers["x-gateway"]]), [
        ["POST", "/v1/batch", "kept"]
      ])
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.effect("undici options given to the transport are kept, with redirects off on top", () =>
    Effect.gen(function*() {
      const server = yield* TestServer.start()
      const elsewhere = yield* TestServer.start()
      server.setHandler(TestServer.redirect(301, `${elsewhere.origin}/v1/batch`))
      const messages = yield* encodeAll
      const reason = statusReason(
        yield* sendOnce({ host: server.origin }, { messages, attempt: 0 }).pipe(
          // `maxRedirections` is not in undici's request types, but its redirect interceptor reads it.
          Effect.provideService(
            NodeHttpClient.UndiciOptions,
            { maxRedirections: 3, reset: true } as Partial<Undici.Dispatcher.RequestOptions<null>>
          )
        )
      )
      assert.strictEqual(reason.status, 301)
      assert.strictEqual(elsewhere.received.length, 0)
    }).pipe(Effect.provide(TestServer.undiciFollowingRedirects)))
})

describe("HttpTransport options", () => {
  const invalid = (options: Partial<HttpTransport.Options>) =>
    HttpTransport.make({ writeKey: Redacted.make(writeKey), ...options }).pipe(
      Effect.flip,
      Effect.provide(FetchHttpClient.layer)
    )

  it.effect("an unknown region, a host that is not http(s), a non-positive timeout: InvalidOptions", () =>
    Effect.gen(function*() {
      const region = yield* invalid({ region: "ap" as HttpTransport.Region })
      assert.strictEqual(region._tag, "InvalidOptions")
      assert.strictEqual(region.option, "region")
      assert.include(region.message, "\"ap\"")
      const host = yield* invalid({ host: "api.segment.io" })
      assert.strictEqual(host.option, "host")
      const ftp = yield* invalid({ host: "ftp://api.segment.io" })
      assert.strictEqual(ftp.option, "host")
      const timeout = yield* invalid({ timeout: 0 })
      assert.strictEqual(timeout.option, "timeout")
      // Effect 4 has negative durations (Effect 3 read them as zero): refused all the same.
      for (const negative of [-5, "-1 seconds", Duration.millis(-1)] as const) {
        assert.strictEqual((yield* invalid({ timeout: negative })).option, "timeout", String(negative))
      }
    }))

  it.effect("Analytics.layer fails to build with the transport's InvalidOptions", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(Analytics.layer({ writeKey, region: "mars" as HttpTransport.Region })).pipe(
          Effect.provide(FetchHttpClient.layer)
        )
      )
      assert.strictEqual(error._tag, "InvalidOptions")
      assert.strictEqual(error.option, "region")
    }))
})
