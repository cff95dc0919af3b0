// Runs the examples users copy, so that they cannot rot.
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Logger, PubSub, References, Scope } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpServer } from "effect/http"
import { TestClock } from "effect/testing"
import { execFile } from "node:child_process"
import { createServer } from "node:http"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { ReportProblems, summarize, trackAndConfirm } from "../examples/docs/delivery-outcomes.js"
import { FixedRetries } from "../examples/docs/delivery-retry.js"
import { App, compose } from "../examples/http-server.js"
import { makeHandler } from "../examples/lambda.js"
import * as Collector from "../src/Collector.js"
import { Analytics, MemoryTransport, PromiseClient, Testing, Transport } from "../src/index.js"

// The user's test suites of examples/testing register their tests in this file.
import "../examples/testing/collector-faults.test.js"
import "../examples/testing/collector.test.js"
import "../examples/testing/retries.test.js"
import "../examples/testing/signup.test.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")

// A server on 127.0.0.1 and an ephemeral port (NodeHttpServer.layerTest would listen on every
// interface), with an HttpClient whose relative URLs go to it.
const LoopbackServer = NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })
const LoopbackTestServer = HttpServer.layerTestClient.pipe(
  Layer.provide(FetchHttpClient.layer),
  Layer.provideMerge(LoopbackServer)
)

describe("examples/http-server.ts", () => {
  // The example's App, on the loopback test server and the testing kit's client.
  const TestApp = App.pipe(
    Layer.provideMerge(LoopbackTestServer),
    Layer.provideMerge(Testing.layer())
  )

  const post = (path: string, body: unknown) =>
    HttpClientRequest.post(path).pipe(HttpClientRequest.bodyJsonUnsafe(body), HttpClient.execute)

  it.live("tracks a sign-up and delivers it when the app's scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(TestApp, scope)
      const memory = Context.get(context, MemoryTransport.MemoryTransport)
      const address = HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)
      assert.match(address, /^http:\/\/127\.0\.0\.1:\d+$/)

      const response = yield* post("/signup", { userId: "u1", plan: "Pro" }).pipe(Effect.provide(context))
      assert.strictEqual(response.status, 201)
      const invalid = yield* post("/signup", { plan: "Gold" }).pipe(Effect.provide(context))
      assert.strictEqual(invalid.status, 400)
      const page = yield* HttpClient.get("/products/p-42", { headers: { "x-anonymous-id": "a1" } }).pipe(
        Effect.provide(context)
      )
      assert.strictEqual(page.status, 200)

      // 3 messages < flushAt (20) and no interval tick yet: nothing sent while the app runs.
      assert.strictEqual((yield* memory.requests).length, 0)
      yield* Scope.close(scope, Exit.void)
      const sent = (yield* memory.requests).flatMap((request) => request.batch)
      assert.deepStrictEqual(sent.map((m) => m.type), ["identify", "track", "page"])
      assert.strictEqual(sent[1]?.event, "Signed Up")
      assert.deepStrictEqual(sent[2]?.properties, { productId: "p-42" })
      assert.strictEqual(sent[2]?.anonymousId, "a1")
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Warn")))

  it.live("stops the server before the client's final flush", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const server = LoopbackServer.pipe(
        Layer.merge(Layer.effectDiscard(Effect.addFinalizer(() => Effect.sync(() => events.push("server closed")))))
      )
      const recording = Layer.succeed(Transport.Transport, {
        send: (request) => Effect.sync(() => (events.push("batch sent"), { status: 200, bodyBytes: request.messages.length }))
      })
      const analytics = Analytics.layerWithoutTransport({ writeKey: "k" }).pipe(Layer.provide(recording))
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Layer.merge(compose(server, analytics), analytics), scope)
      yield* Context.get(context, Analytics.Analytics).track({ userId: "u1", event: "Signed Up" })
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(events, ["server closed", "batch sent"])
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Warn")))
})

describe("examples/lambda.ts", () => {
  it.live("delivers the tracked event before the handler returns", () =>
    Effect.gen(function*() {
      const collector = yield* Collector.make({ writeKey: "lambda-key" })
      // The example's handler, with a client pointed at the local collector (default flushAt: 20, so
      // only the handler's flush() can have sent the message).
      const client = PromiseClient.createClient({ writeKey: "lambda-key", host: collector.url })
      yield* Effect.addFinalizer(() => Effect.promise(() => client.closeAndFlush()))
      const handler = makeHandler(client)

      const response = yield* Effect.promise(() => handler({ userId: "u1", orderId: "o-1", total: 42.5 }))
      assert.strictEqual(response.statusCode, 200)
      const messages = yield* collector.messages
      assert.strictEqual(messages.length, 1)
      assert.strictEqual(messages[0]?.event, "Order Completed")
      assert.deepStrictEqual(messages[0]?.properties, { orderId: "o-1", total: 42.5 })

      // An invalid call does not fail the handler.
      const invalid = yield* Effect.promise(() => handler({ userId: "", orderId: "o-2", total: 1 }))
      assert.strictEqual(invalid.statusCode, 200)
      assert.strictEqual((yield* collector.messages).length, 1)
    }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Error")))
})

describe("examples/docs/delivery-outcomes.ts", () => {
  it.effect("trackAndConfirm waits for the message's own outcome", () =>
    Effect.gen(function*() {
      assert.isTrue(yield* trackAndConfirm("u1"))
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("summarize counts the outcomes of a run", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* memory.setScript([MemoryTransport.status(400)])
      const counts = yield* summarize(
        Effect.andThen(
          Analytics.track({ userId: "u1", event: "A" }),
          Effect.andThen(Analytics.flush, Analytics.track({ userId: "u1", event: "B" }))
        )
      )
      assert.deepStrictEqual(counts, { delivered: 1, failed: 1, dropped: 0 })
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("ReportProblems logs failures, including those of the final flush", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const capture = Logger.layer([
        Logger.make(({ logLevel, message }) => {
          if (logLevel === "Warn") logs.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
        })
      ])
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        ReportProblems.pipe(Layer.provideMerge(Testing.layer()), Layer.provide(capture)),
        scope
      )
      yield* Context.get(context, MemoryTransport.MemoryTransport).setFallback(MemoryTransport.status(400))
      // Let the reporting fiber start (and subscribe), as it does long before the first batch in an app.
      yield* TestClock.adjust(0)
      yield* Context.get(context, Analytics.Analytics).track({ userId: "u1", event: "A" })
      yield* Scope.close(scope, Exit.void) // the final flush sends the message, and it fails
      yield* TestClock.adjust(0) // and let the reporting fiber log it
      assert.isTrue(logs.includes("1 failed (NotRetryable: HTTP 400)"), logs.join("\n"))
    }))
})

describe("examples/docs/delivery-retry.ts", () => {
  // FixedRetries sends with fetch: here the fetch answers with the given statuses, in order, and
  // counts its calls (nothing leaves the process).
  const answering = (statuses: ReadonlyArray<number>) => {
    const calls: Array<string | null> = []
    const fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
      calls.push(new Headers(init?.headers).get("x-retry-count"))
      const status = statuses[Math.min(calls.length, statuses.length) - 1] ?? 200
      return Promise.resolve(new Response(status === 200 ? "{\"success\":true}" : "", { status }))
    }
    return { calls, layer: FixedRetries.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, fetch as typeof globalThis.fetch))) }
  }

  const deliver = (layer: Layer.Layer<Analytics.Analytics, unknown>) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(layer, scope)
      const analytics = Context.get(context, Analytics.Analytics)
      const outcomes = yield* analytics.subscribe
      yield* analytics.track({ userId: "u1", event: "Report Generated" })
      const flushing = yield* Effect.forkChild(analytics.flush)
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(flushing)
      const [outcome] = yield* PubSub.takeUpTo(outcomes, Number.POSITIVE_INFINITY)
      yield* Scope.close(scope, Exit.void)
      return outcome
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))

  it.effect("retries every 2 seconds, at most 5 times", () =>
    Effect.gen(function*() {
      const { calls, layer } = answering([500])
      const outcome = yield* deliver(layer)
      assert.strictEqual(outcome?._tag, "Failed")
      assert.strictEqual(outcome?._tag === "Failed" ? outcome.reason : undefined, "RetriesExhausted")
      assert.deepStrictEqual(calls, [null, "1", "2", "3", "4", "5"])
    }))

  it.effect("stops at a 503", () =>
    Effect.gen(function*() {
      const { calls, layer } = answering([500, 503])
      const outcome = yield* deliver(layer)
      assert.strictEqual(outcome?._tag, "Failed")
      assert.strictEqual(outcome?._tag === "Failed" ? outcome.attempts : undefined, 2)
      assert.deepStrictEqual(calls, [null, "1"])
    }))

  it.effect("delivers once the collector recovers", () =>
    Effect.gen(function*() {
      const { calls, layer } = answering([500, 500, 200])
      const outcome = yield* deliver(layer)
      assert.strictEqual(outcome?._tag, "Delivered")
      assert.strictEqual(calls.length, 3)
    }))
})

describe("examples/otel.ts", () => {
  // Run as a user runs it (npx tsx examples/otel.ts), in its own process: Effect's metric registry is
  // global to a process, and the example prints absolute counts.
  const tsx = Path.join(root, "node_modules", "tsx", "dist", "cli.mjs")
  const run = (): Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }> =>
    new Promise((resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env }
      for (const key of Object.keys(env)) if (key.startsWith("ANALYTICS_") || key.startsWith("OTEL_") || key === "DEBUG") delete env[key]
      execFile(process.execPath, [tsx, "examples/otel.ts"], { cwd: root, env, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
    })

  it("exports the client's metrics and spans through the OpenTelemetry SDK", { timeout: 90_000 }, async () => {
    const { code, stderr, stdout } = await run()
    assert.strictEqual(code, 0, `${stdout}\n${stderr}`)
    const lines = stdout.split("\n")
    assert.include(lines, "delivered 25, failed (not retryable) 3")
    // Effect's metrics, as the OpenTelemetry reader collects them.
    for (
      const line of [
        "metric analytics_messages_accepted_total{} = 28",
        "metric analytics_messages_delivered_total{} = 25",
        "metric analytics_messages_failed_total{\"reason\":\"NotRetryable\"} = 3",
        "metric analytics_requests_total{\"result\":\"200\"} = 1",
        "metric analytics_requests_total{\"result\":\"401\"} = 1",
        "metric analytics_batch_messages{} = count=2 sum=28"
      ]
    ) assert.include(lines, line, stdout)
    // The spans, as the SDK's exporter received them: one delivery attempt per client (status 1 is OK,
    // 2 is an error), each inside its flush.
    const spans = lines.filter((line) => line.startsWith("span "))
    assert.isTrue(
      spans.some((s) =>
        s.startsWith(
          "span HttpTransport.send {\"analytics.messages\":25,\"analytics.attempt\":0,\"http.response.status_code\":200} status=1 "
        )
      ),
      stdout
    )
    assert.isTrue(
      spans.some((s) =>
        s.startsWith(
          "span HttpTransport.send {\"analytics.messages\":3,\"analytics.attempt\":0,\"http.response.status_code\":401} status=2 "
        )
      ),
      stdout
    )
    assert.strictEqual(spans.filter((s) => s.startsWith("span Analytics.flush {} status=1 ")).length, 2, stdout)
    // The client with the wrong key logged its failed batch (Effect's default logger writes to the console).
    assert.include(stdout, "batch of 3 messages failed (NotRetryable): HTTP 401")
  })
})
