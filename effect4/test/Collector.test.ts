import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, PubSub, Result, type Scope } from "effect"
import { Base64 } from "effect/encoding"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { TestClock } from "effect/testing"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Zlib from "node:zlib"
import * as Collector from "../src/Collector.js"
import { Analytics } from "../src/index.js"

const writeKey = "collector-test-key"
const basic = (key: string) => `Basic ${Base64.encode(key + ":")}`

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
  it.live("listens on 127.0.0.1 on an ephemeral port", () =>
    withCollector((collector) =>
      Effect.sync(() => {
        assert.match(collector.url, /^http:\/\/127\.0\.0\.1:\d+$/)
        assert.notStrictEqual(collector.url, "http://127.0.0.1:0")
        assert.strictEqual(collector.endpoint, collector.url + "/v1/batch")
      })
    ))

  it.live("stores a good batch, with its headers, and answers 200 { success: true }", () =>
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

  it.live("awaitMessages waits for messages still to come", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const waiting = yield* Effect.forkChild(collector.awaitMessages(2))
        yield* post(collector.endpoint, batchBody([track(1)]))
        yield* post(collector.endpoint, batchBody([track(2)]))
        const messages = yield* Fiber.join(waiting)
        assert.deepStrictEqual(messages.map((m) => m.messageId), ["m1", "m2"])
      })
    ))

  it.live("accepts a gzip body (Content-Encoding: gzip)", () =>
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

  it.live("401 when the Basic auth is not the write key", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const answer = yield* post(collector.endpoint, batchBody([track(1)]), { authorization: basic("wrong-key") })
        yield* expectRefused(collector, answer, 401, "unauthorized")
      })
    ))

  it.live("401 when the Authorization header is not Basic auth", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const answer = yield* post(collector.endpoint, batchBody([track(1)]), { authorization: `Bearer ${writeKey}` })
        yield* expectRefused(collector, answer, 401, "unauthorized")
      })
    ))

  it.live("without an Authorization header, the body's writeKey must match", () =>
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

  it.live("without a writeKey option, any key is accepted", () =>
    withCollector(
      (collector) =>
        Effect.gen(function*() {
          const answer = yield* post(collector.endpoint, batchBody([track(1)]), { authorization: basic("anything") })
          assert.strictEqual(answer.status, 200)
        }),
      {}
    ))

  it.live("400 invalid_json on a body that is not JSON", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const answer = yield* post(collector.endpoint, "{\"batch\": [")
        yield* expectRefused(collector, answer, 400, "invalid_json")
      })
    ))

  it.live("400 invalid_batch on a body of the wrong shape", () =>
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

  it.live("400 invalid_message on an unknown type or a message that is not an object", () =>
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

  it.live("400 too_many_messages over 2,500 messages; exactly 2,500 is accepted", () =>
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

  it.live("413 too_large on a body over 500,000 bytes; exactly the limit is accepted", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        // 20 messages of about 30 KB: each under the message limit, together over the body limit.
        const big = Array.from({ length: 20 }, (_, i) => track(i, { properties: { pad: "x".repeat(30_000) } }))
        const over = yield* post(collector.endpoint, batchBody(big))
        yield* expectRefused(collector, over, 413, "too_large")
        // Content-Length says it all: not one byte of the body was read.
        assert.strictEqual((yield* collector.rejected)[0]!.bytesRead, 0)

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

  it.live("the body limit is measured after gunzip", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const big = Array.from({ length: 20 }, (_, i) => track(i, { properties: { pad: "x".repeat(30_000) } }))
        const compressed = Zlib.gzipSync(batchBody(big))
        assert.isBelow(compressed.length, 50_000)
        const answer = yield* post(collector.endpoint, compressed, {
          authorization: basic(writeKey),
          "content-encoding": "gzip"
        })
        yield* expectRefused(collector, answer, 413, "too_large")
      })
    ))

  it.live("400 invalid_encoding on a corrupt gzip body or an unsupported encoding", () =>
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

  it.live("400 message_too_large on a message over 32,000 bytes", () =>
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

  it.live("limits and path are configurable", () =>
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

  it.live("404 on another path or method", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const get = yield* client.execute(HttpClientRequest.get(collector.endpoint))
        assert.strictEqual(get.status, 404)
        const other = yield* client.execute(HttpClientRequest.post(collector.url + "/v1/track"))
        assert.strictEqual(other.status, 404)
      })
    ))

  it.live("receives what the Analytics client sends, gzip on, with the client's headers", () =>
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

  it.live("Collector.layer provides the service and stops the server with its scope", () =>
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
      const after = yield* Effect.result(post(endpoint, batchBody([track(2)])))
      assert.isTrue(Result.isFailure(after))
    }).pipe(Effect.provide(FetchHttpClient.layer), Effect.timeout(Duration.seconds(20))))
})

// --- raw clients: what a hostile or broken client does, at the socket ---

interface RawAnswer {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** A plain node:http POST (a fresh connection each time). Fails with the socket error's code. */
const rawPost = (url: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  Effect.callback<RawAnswer, string>((resume) => {
    const request = Http.request(url, { method: "POST", headers: { connection: "close", ...headers }, agent: false }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (d: string) => (text += d))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: text })))
      res.on("error", (e: NodeJS.ErrnoException) => resume(Effect.fail(e.code ?? e.message)))
    })
    request.on("error", (e: NodeJS.ErrnoException) => resume(Effect.fail(e.code ?? e.message)))
    request.end(body)
  })

/** Opens a socket, writes `text`, and collects everything the server sends until it closes. */
const rawSocket = (port: number, text: string) =>
  Effect.acquireRelease(
    Effect.callback<Net.Socket>((resume) => {
      const socket = Net.connect(port, "127.0.0.1", () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  ).pipe(Effect.tap((socket) => Effect.sync(() => socket.write(text))))

const readUntilClosed = (socket: Net.Socket) =>
  Effect.callback<string>((resume) => {
    let text = ""
    socket.on("data", (d: Buffer) => (text += d.toString()))
    socket.once("close", () => resume(Effect.succeed(text)))
  })

/** Lets the event loop run (I/O, not time) until `check` holds. */
const eventually = (check: Effect.Effect<boolean>): Effect.Effect<void> =>
  Effect.flatMap(check, (ok) =>
    ok ? Effect.void : Effect.andThen(Effect.promise(() => new Promise((r) => setImmediate(r))), eventually(check)))

const ids = (n: number, prefix = "m") => Array.from({ length: n }, (_, i) => track(i, { messageId: `${prefix}${i}` }))

describe("Collector limits while streaming", () => {
  it.live("answers 413 as soon as a streamed body passes the limit, without reading the rest", () =>
    Effect.gen(function*() {
      const collector = yield* Collector.make({ writeKey })
      // A chunked upload (no Content-Length) that would go on for 1 GB.
      const result = yield* Effect.callback<{ status: number; written: number }, string>((resume) => {
        let written = 0
        const chunk = Buffer.alloc(64 * 1024, " ")
        const request = Http.request(collector.endpoint, {
          method: "POST",
          agent: false,
          headers: { "content-type": "application/json", authorization: basic(writeKey), "transfer-encoding": "chunked" }
        }, (res) => {
          res.resume()
          resume(Effect.succeed({ status: res.statusCode ?? 0, written }))
          request.destroy()
        })
        request.on("error", (e: NodeJS.ErrnoException) => resume(Effect.fail(e.code ?? e.message)))
        request.write("{\"batch\":[")
        const pump = () => {
          while (written < 1_000_000_000) {
            written += chunk.length
            if (!request.write(chunk)) return void request.once("drain", pump)
          }
          request.end()
        }
        pump()
      })
      assert.strictEqual(result.status, 413)
      // The client got its answer after a few hundred kilobytes, not a gigabyte.
      assert.isBelow(result.written, 20_000_000)
      const [rejection] = yield* collector.rejected
      assert.strictEqual(rejection!.code, "too_large")
      assert.isAbove(rejection!.bytesRead, 500_000)
      assert.isBelow(rejection!.bytesRead, 500_000 + 2 * 64 * 1024)
    }).pipe(Effect.timeout(Duration.seconds(20))))

  it.effect("answers 408 body_timeout to a body that trickles in (on Effect's clock), and closes the connection", () =>
    Effect.gen(function*() {
      const collector = yield* Collector.make({ writeKey, bodyTimeout: "10 seconds" })
      const socket = yield* rawSocket(
        collector.port,
        `POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"batch":[`
      )
      const answer = yield* Effect.forkChild(readUntilClosed(socket))
      yield* eventually(Effect.map(collector.stats, (s) => s.requests === 1))
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual((yield* collector.rejected).length, 0)
      yield* TestClock.adjust("1 second")
      const text = yield* Fiber.join(answer)
      assert.match(text, /^HTTP\/1\.1 408 /)
      assert.include(text, "body_timeout")
      const [rejection] = yield* collector.rejected
      assert.strictEqual(rejection!.status, 408)
      assert.strictEqual(rejection!.bytesRead, 10)
    }))

  it.live("answers 408 to headers that never complete (headersTimeout)", () =>
    Effect.gen(function*() {
      const collector = yield* Collector.make({ headersTimeout: "300 millis" })
      const socket = yield* rawSocket(collector.port, "POST /v1/batch HTTP/1.1\r\nHost: x\r\nX-Slow: ")
      const text = yield* readUntilClosed(socket)
      assert.match(text, /^HTTP\/1\.1 408 /)
    }).pipe(Effect.timeout(Duration.seconds(10))))

  it.live("refuses a body nested 100,000 levels deep with 400 too_deep, and records it", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const deep = `{"batch":[{"type":"track","userId":"u","event":"e","properties":{"a":${"[".repeat(100_000)}${
          "]".repeat(100_000)
        }}}]}`
        const answer = yield* post(collector.endpoint, deep)
        yield* expectRefused(collector, answer, 400, "too_deep")
        assert.include(answer.body.message, "deeper than 128 levels")
        // What the client library may send (64 levels inside a message) passes.
        let nested: unknown = 1
        for (let i = 0; i < 63; i++) nested = { n: nested }
        const ok = yield* post(collector.endpoint, batchBody([track(1, { properties: nested })]))
        assert.strictEqual(ok.status, 200)
      })
    ))
})

describe("Collector fault answers", () => {
  it.live("answers a status with Retry-After, X-RateLimit-Reset, Location and a body; a script, then the fallback", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        yield* collector.setScript([
          ...Collector.times(2, Collector.status(500)),
          Collector.status(429, { retryAfter: "1", rateLimitReset: "1700000000", body: "slow down" }),
          Collector.status(307, { location: "http://127.0.0.1:1/elsewhere" })
        ])
        const answers = []
        for (let i = 0; i < 5; i++) answers.push(yield* rawPost(collector.endpoint, batchBody(ids(1, `s${i}-`))))
        assert.deepStrictEqual(answers.map((a) => a.status), [500, 500, 429, 307, 200])
        assert.strictEqual(answers[2]!.headers["retry-after"], "1")
        assert.strictEqual(answers[2]!.headers["x-ratelimit-reset"], "1700000000")
        assert.strictEqual(answers[2]!.body, "slow down")
        assert.strictEqual(answers[3]!.headers.location, "http://127.0.0.1:1/elsewhere")
        // Only the 2xx answer counts as received; every request is in the log.
        assert.deepStrictEqual((yield* collector.messages).map((m) => m.messageId), ["s4-0"])
        const log = yield* collector.requests
        assert.deepStrictEqual(log.map((r) => r.result), [500, 500, 429, 307, 200])
        assert.deepStrictEqual(log.map((r) => r.answer), ["Status", "Status", "Status", "Status", "Accept"])
        // Until changed: the fallback.
        yield* collector.setFallback(Collector.status(503))
        assert.strictEqual((yield* rawPost(collector.endpoint, batchBody(ids(1)))).status, 503)
        yield* collector.setFallback(Collector.accept)
        assert.strictEqual((yield* rawPost(collector.endpoint, batchBody(ids(1)))).status, 200)
      }), {}
    ))

  it.effect("answers after a delay on Effect's clock", () =>
    Effect.gen(function*() {
      const collector = yield* Collector.make()
      yield* collector.setFallback(Collector.delay("200 millis"))
      const answer = yield* Effect.forkChild(rawPost(collector.endpoint, batchBody(ids(2))))
      yield* eventually(Effect.map(collector.stats, (s) => s.requests === 1))
      yield* TestClock.adjust("199 millis")
      assert.strictEqual((yield* collector.stats).okRequests, 0)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* Fiber.join(answer)).status, 200)
      assert.strictEqual((yield* collector.stats).messages, 2)
    }))

  it.live("hangs (ids taken, never answered), stalls a body after its headers, streams a huge body, resets", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        // Hang: the client gives up; the collector took the ids without answering.
        yield* collector.setScript([Collector.hang])
        const hung = yield* Effect.timeoutOption(rawPost(collector.endpoint, batchBody(ids(3, "h"))), "300 millis")
        assert.isTrue(Option.isNone(hung))
        yield* eventually(Effect.map(collector.stats, (s) => s.taken.size === 3))
        assert.deepStrictEqual([...(yield* collector.stats).taken.keys()], ["h0", "h1", "h2"])

        // Stall: status and headers arrive, the body never ends.
        yield* collector.setScript([Collector.stallBody(200)])
        const stalled = yield* Effect.callback<{ status: number; first: string }>((resume) => {
          const request = Http.request(collector.endpoint, { method: "POST", agent: false }, (res) => {
            res.once("data", (d: Buffer) => {
              resume(Effect.succeed({ status: res.statusCode ?? 0, first: d.toString() }))
              request.destroy()
            })
          })
          request.end(batchBody(ids(1, "st")))
        })
        assert.deepStrictEqual(stalled, { status: 200, first: "{" })

        // Huge: 20 MB streamed as the client reads it.
        yield* collector.setScript([Collector.hugeBody(20_000_000, 500)])
        const huge = yield* Effect.callback<{ status: number; bytes: number }>((resume) => {
          const request = Http.request(collector.endpoint, { method: "POST", agent: false }, (res) => {
            let bytes = 0
            res.on("data", (d: Buffer) => (bytes += d.length))
            res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, bytes })))
          })
          request.end(batchBody(ids(1, "hg")))
        })
        assert.deepStrictEqual(huge, { status: 500, bytes: 20_000_000 })

        // Reset: the connection is cut when the headers arrive.
        yield* collector.setScript([Collector.reset])
        const cut = yield* Effect.flip(rawPost(collector.endpoint, batchBody(ids(1, "r"))))
        assert.include(["ECONNRESET", "socket hang up"], cut)
        const log = yield* collector.requests
        assert.deepStrictEqual(log.map((r) => r.result), ["hang", 200, 500, "reset"])
      }), {}
    ))

  it.live("goes down (connections refused, or 503) and comes back on the same port", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        assert.strictEqual((yield* rawPost(collector.endpoint, batchBody(ids(1, "a")))).status, 200)
        yield* collector.down("refuse")
        assert.strictEqual(yield* Effect.flip(rawPost(collector.endpoint, batchBody(ids(1, "b")))), "ECONNREFUSED")
        yield* collector.up
        assert.strictEqual((yield* rawPost(collector.endpoint, batchBody(ids(1, "c")))).status, 200)
        yield* collector.down("503")
        const down = yield* rawPost(collector.endpoint, batchBody(ids(1, "d")))
        assert.strictEqual(down.status, 503)
        assert.strictEqual(JSON.parse(down.body).code, "down")
        yield* collector.up
        // The same id again: a duplicate, counted as one.
        assert.strictEqual((yield* rawPost(collector.endpoint, batchBody(ids(1, "a")))).status, 200)
        const stats = yield* collector.stats
        assert.deepStrictEqual(Object.fromEntries(stats.accepted), { a0: 2, c0: 1 })
        assert.strictEqual(stats.duplicates, 1)
        assert.strictEqual(stats.uniqueMessageIds, 2)
        assert.strictEqual(stats.okRequests, 3)
        assert.strictEqual(stats.rejectedRequests, 1)
        // The refused connection never reached it.
        assert.strictEqual(stats.requests, 4)
      }), {}
    ))

  it.live("with retain: \"counts\", keeps only the counters", () =>
    withCollector((collector) =>
      Effect.gen(function*() {
        const events = yield* collector.subscribe
        assert.strictEqual((yield* rawPost(collector.endpoint, batchBody(ids(5)))).status, 200)
        const stats = yield* collector.stats
        assert.strictEqual(stats.messages, 5)
        assert.strictEqual(stats.accepted.size, 0)
        assert.deepStrictEqual(yield* collector.received, [])
        assert.deepStrictEqual(yield* collector.requests, [])
        // The events still carry the messages (the CLI prints them).
        const event = yield* PubSub.take(events)
        assert.strictEqual(event._tag === "Received" ? event.messages.length : 0, 5)
      }), { retain: "counts" }
    ))
})
