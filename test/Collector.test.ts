import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Encoding, Layer, type Scope } from "effect"
import * as Zlib from "node:zlib"
import { Analytics } from "../src/index.js"
import * as Collector from "../src/Collector.js"

const writeKey = "collector-test-key"
const basic = (key: string) => `Basic ${Encoding.encodeBase64(key + ":")}`

interface Answer {
  readonly status: number
  readonly body: { readonly success?: boolean; readonly code?: string; readonly message?: string }
}

/** POSTs raw bytes to the collector and reads the JSON answer. */
const post = (
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string> = { authorization: basic(writeKey) }
): Effect.Effect<Answer, unknown, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body
    const response = yield* client.execute(
      HttpClientRequest.post(url).pipe(
        HttpClientRequest.setHeaders(headers),
        HttpClientRequest.bodyUint8Array(bytes, "application/json")
      )
    )
    const json = (yield* response.json) as Answer["body"]
    return { status: response.status, body: json }
  })

const track = (i: number, extra: Record<string, unknown> = {}) => ({
  type: "track",
  userId: "u" + i,
  event: "Event " + i,
  messageId: "m" + i,
  ...extra
})

const batchBody = (messages: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ batch: messages, sentAt: "2026-01-01T00:00:00.000Z", writeKey, ...extra })

/** Each test starts its own collector (on an ephemeral loopback port) and closes it at the end. */
const withCollector = <A, E>(
  f: (collector: Collector.CollectorService) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>,
  options: Collector.Options = { writeKey }
) =>
  Effect.gen(function*() {
    const collector = yield* Collector.make(options)
    return yield* f(collector)
  }).pipe(Effect.provide(FetchHttpClient.layer), Effect.timeout(Duration.seconds(20)))

const expectRefused = (
  collector: Collector.CollectorService,
  answer: Answer,
  status: number,
  code: Collector.RejectionCode
) =>
  Effect.gen(function*() {
    assert.strictEqual(answer.status, status)
    assert.strictEqual(answer.body.success, false)
    assert.strictEqual(answer.body.code, code)
    assert.isString(answer.body.message)
    // A refused request stores nothing, and is listed in `rejected`.
    assert.deepStrictEqual(yield* collector.messages, [])
    const rejected = yield* collector.rejected
    assert.strictEqual(rejected.length, 1)
    assert.strictEqual(rejected[0]!.status, status)
    assert.strictEqual(rejected[0]!.code, code)
  })

describe("Collector", () => {
  it.scopedLive("listens on 127.0.0.1 on an ephemeral port", () =>
    withCollector((collector) =>
      Effect.sync(() => {
        assert.match(collector.url, /^http:\/\/127\.0\.0\.1:\d+$/)
        assert.notStrictEqual(collector.url, "http://127.0.0.1:0")
        assert.strictEqual(collector.endpoint, collector.url + "/v1/batch")
      })
    ))

  it.scopedLive("stores a good batch, with its headers, and answers 200 { success: true }", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const answer = yield* post(collector.endpoint, batchBody([track(1), track(2)]), {
          authorization: basic(writeKey),
          "x-retry-count": "3"
        })
        assert.deepStrictEqual(answer, { status: 200, body: { success: true } })
        yield* post(collector.endpoint, batchBody([track(3)]))

        const received = yield* collector.received
        assert.strictEqual(received.length, 2)
        assert.strictEqual(received[0]!.index, 0)
        assert.strictEqual(received[0]!.sentAt, "2026-01-01T00:00:00.000Z")
        assert.strictEqual(received[0]!.writeKey, writeKey)
        assert.strictEqual(received[0]!.gzip, false)
        assert.strictEqual(received[0]!.headers["authorization"], basic(writeKey))
        assert.strictEqual(received[0]!.headers["x-retry-count"], "3")
        assert.strictEqual(received[0]!.bodyBytes, new TextEncoder().encode(batchBody([track(1), track(2)])).length)
        assert.deepStrictEqual(received[0]!.messages, [track(1), track(2)])

        assert.deepStrictEqual((yield* collector.messages).map((m) => m.messageId), ["m1", "m2", "m3"])
        assert.deepStrictEqual((yield* collector.awaitMessages(3)).length, 3)
        assert.deepStrictEqual(yield* collector.rejected, [])

        yield* collector.clear
        assert.deepStrictEqual(yield* collector.received, [])
        assert.deepStrictEqual(yield* collector.messages, [])
      })
    ))

  it.scopedLive("awaitMessages waits for messages still to come", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const waiting = yield* Effect.fork(collector.awaitMessages(2))
        yield* post(collector.endpoint, batchBody([track(1)]))
        yield* post(collector.endpoint, batchBody([track(2)]))
        const messages = yield* waiting.await.pipe(Effect.flatten)
        assert.deepStrictEqual(messages.map((m) => m.messageId), ["m1", "m2"])
      })
    ))

  it.scopedLive("accepts a gzip body (Content-Encoding: gzip)", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const body = batchBody([track(1), track(2)])
        const answer = yield* post(collector.endpoint, Zlib.gzipSync(body), {
          authorization: basic(writeKey),
          "content-encoding": "gzip"
        })
        assert.strictEqual(answer.status, 200)
        const [batch] = yield* collector.received
        assert.strictEqual(batch!.gzip, true)
        assert.strictEqual(batch!.bodyBytes, new TextEncoder().encode(body).length)
        assert.deepStrictEqual(batch!.messages, [track(1), track(2)])
      })
    ))

  it.scopedLive("401 when the Basic auth is not the write key", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const answer = yield* post(collector.endpoint, batchBody([track(1)]), { authorization: basic("wrong-key") })
        yield* expectRefused(collector, answer, 401, "unauthorized")
      })
    ))

  it.scopedLive("401 when the Authorization header is not Basic auth", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const answer = yield* post(collector.endpoint, batchBody([track(1)]), { authorization: `Bearer ${writeKey}` })
        yield* expectRefused(collector, answer, 401, "unauthorized")
      })
    ))

  it.scopedLive("without an Authorization header, the body's writeKey must match", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const wrong = yield* post(collector.endpoint, batchBody([track(1)], { writeKey: "wrong-key" }), {})
        yield* expectRefused(collector, wrong, 401, "unauthorized")
        const missing = yield* post(collector.endpoint, JSON.stringify({ batch: [track(1)] }), {})
        assert.strictEqual(missing.status, 401)
        const right = yield* post(collector.endpoint, batchBody([track(2)]), {})
        assert.strictEqual(right.status, 200)
        assert.deepStrictEqual((yield* collector.messages).map((m) => m.messageId), ["m2"])
      })
    ))

  it.scopedLive("without a writeKey option, any key is accepted", () =>
    withCollector(
      (collector) =>
        Effect.gen(function*() {
          const answer = yield* post(collector.endpoint, batchBody([track(1)]), { authorization: basic("anything") })
          assert.strictEqual(answer.status, 200)
        }),
      {}
    ))

  it.scopedLive("400 invalid_json on a body that is not JSON", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const answer = yield* post(collector.endpoint, "{\"batch\": [")
        yield* expectRefused(collector, answer, 400, "invalid_json")
      })
    ))

  it.scopedLive("400 invalid_batch on a body of the wrong shape", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        for (const body of ["[]", "{\"batch\":{}}", "{\"messages\":[]}", "{\"batch\":[],\"sentAt\":5}"]) {
          const answer = yield* post(collector.endpoint, body)
          assert.strictEqual(answer.status, 400, body)
          assert.strictEqual(answer.body.code, "invalid_batch", body)
        }
        assert.strictEqual((yield* collector.rejected).length, 4)
        assert.deepStrictEqual(yield* collector.received, [])
      })
    ))

  it.scopedLive("400 invalid_message on an unknown type or a message that is not an object", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const unknown = yield* post(collector.endpoint, batchBody([track(1), { type: "purchase", userId: "u" }]))
        yield* expectRefused(collector, unknown, 400, "invalid_message")
        assert.include(unknown.body.message, "batch[1]")
        const missing = yield* post(collector.endpoint, batchBody([{ userId: "u" }]))
        assert.strictEqual(missing.body.code, "invalid_message")
        const notObject = yield* post(collector.endpoint, batchBody(["track"]))
        assert.strictEqual(notObject.body.code, "invalid_message")
      })
    ))

  it.scopedLive("400 too_many_messages over 2,500 messages; exactly 2,500 is accepted", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const small = (n: number) => Array.from({ length: n }, () => ({ type: "track", userId: "u", event: "e" }))
        const over = yield* post(collector.endpoint, batchBody(small(2_501)))
        yield* expectRefused(collector, over, 400, "too_many_messages")
        const atLimit = yield* post(collector.endpoint, batchBody(small(2_500)))
        assert.strictEqual(atLimit.status, 200)
        assert.strictEqual((yield* collector.messages).length, 2_500)
      })
    ))

  it.scopedLive("400 too_large (not 413) on a body over 500,000 bytes; exactly the limit is accepted", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        // 20 messages of about 30 KB: each under the message limit, together over the body limit.
        const big = Array.from({ length: 20 }, (_, i) => track(i, { properties: { pad: "x".repeat(30_000) } }))
        const over = yield* post(collector.endpoint, batchBody(big))
        yield* expectRefused(collector, over, 400, "too_large")

        // A body of exactly 500,000 bytes passes the size check.
        const base = batchBody([track(0, { properties: { pad: "" } })])
        const fill = 500_000 - new TextEncoder().encode(base).length
        const exact = batchBody([track(0, { properties: { pad: "" } })]).replace("\"pad\":\"\"", `"pad":"${" ".repeat(fill)}"`)
        assert.strictEqual(new TextEncoder().encode(exact).length, 500_000)
        const collectorAtLimit = yield* Collector.make({ writeKey, maxMessageBytes: 600_000 })
        const atLimit = yield* post(collectorAtLimit.endpoint, exact)
        assert.strictEqual(atLimit.status, 200)
      })
    ))

  it.scopedLive("the body limit is measured after gunzip", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const big = Array.from({ length: 20 }, (_, i) => track(i, { properties: { pad: "x".repeat(30_000) } }))
        const compressed = Zlib.gzipSync(batchBody(big))
        assert.isBelow(compressed.length, 50_000)
        const answer = yield* post(collector.endpoint, compressed, {
          authorization: basic(writeKey),
          "content-encoding": "gzip"
        })
        yield* expectRefused(collector, answer, 400, "too_large")
      })
    ))

  it.scopedLive("400 invalid_encoding on a corrupt gzip body or an unsupported encoding", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const corrupt = yield* post(collector.endpoint, batchBody([track(1)]), {
          authorization: basic(writeKey),
          "content-encoding": "gzip"
        })
        yield* expectRefused(collector, corrupt, 400, "invalid_encoding")
        const brotli = yield* post(collector.endpoint, batchBody([track(1)]), {
          authorization: basic(writeKey),
          "content-encoding": "br"
        })
        assert.strictEqual(brotli.status, 400)
        assert.strictEqual(brotli.body.code, "invalid_encoding")
      })
    ))

  it.scopedLive("400 message_too_large on a message over 32,000 bytes", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const answer = yield* post(
          collector.endpoint,
          batchBody([track(1), track(2, { properties: { pad: "x".repeat(32_000) } })])
        )
        yield* expectRefused(collector, answer, 400, "message_too_large")
        assert.include(answer.body.message, "batch[1]")
      })
    ))

  it.scopedLive("limits and path are configurable", () =>
    withCollector(
      (collector) =>
        Effect.gen(function*() {
          assert.strictEqual(collector.endpoint, collector.url + "/ingest")
          const three = yield* post(collector.endpoint, batchBody([track(1), track(2), track(3)]), {})
          assert.strictEqual(three.body.code, "too_many_messages")
          const big = yield* post(collector.endpoint, batchBody([track(1, { properties: { pad: "x".repeat(200) } })]), {})
          assert.strictEqual(big.body.code, "message_too_large")
          const ok = yield* post(collector.endpoint, batchBody([track(1)]), {})
          assert.strictEqual(ok.status, 200)
          const client = yield* HttpClient.HttpClient
          const elsewhere = yield* client.execute(HttpClientRequest.post(collector.url + "/v1/batch"))
          assert.strictEqual(elsewhere.status, 404)
        }),
      { path: "ingest", maxBatchMessages: 2, maxMessageBytes: 200 }
    ))

  it.scopedLive("404 on another path or method", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const get = yield* client.execute(HttpClientRequest.get(collector.endpoint))
        assert.strictEqual(get.status, 404)
        const other = yield* client.execute(HttpClientRequest.post(collector.url + "/v1/track"))
        assert.strictEqual(other.status, 404)
      })
    ))

  it.scopedLive("receives what the Analytics client sends, gzip on, with the client's headers", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const layer = Analytics.layer({ writeKey, host: collector.url, gzip: true }).pipe(
          Layer.provide(FetchHttpClient.layer)
        )
        yield* Effect.gen(function*() {
          yield* Analytics.identify({ userId: "019mr8mf4r", traits: { plan: "Enterprise" } })
          yield* Analytics.track({ userId: "f4ca124298", event: "Signed Up" })
        }).pipe(Effect.provide(layer))
        const [batch] = yield* collector.received
        assert.strictEqual(batch!.gzip, true)
        assert.strictEqual(batch!.headers["authorization"], basic(writeKey))
        assert.match(batch!.headers["user-agent"]!, /^analytics-effect\//)
        assert.strictEqual(batch!.writeKey, writeKey)
        assert.deepStrictEqual(batch!.messages.map((m) => m.type), ["identify", "track"])
        assert.deepStrictEqual(batch!.messages[0]!.traits, { plan: "Enterprise" })
        assert.deepStrictEqual(yield* collector.rejected, [])
      })
    ))

  it.scopedLive("Collector.layer provides the service and stops the server with its scope", () =>
    Effect.gen(function*() {
      const endpoint = yield* Effect.scoped(
        Effect.gen(function*() {
          const collector = yield* Collector.Collector
          const answer = yield* post(collector.endpoint, batchBody([track(1)]))
          assert.strictEqual(answer.status, 200)
          return collector.endpoint
        }).pipe(Effect.provide(Collector.layer({ writeKey })))
      )
      // The server is closed: the connection is refused.
      const after = yield* Effect.either(post(endpoint, batchBody([track(2)])))
      assert.isTrue(after._tag === "Left")
    }).pipe(Effect.provide(FetchHttpClient.layer), Effect.timeout(Duration.seconds(20))))
})
