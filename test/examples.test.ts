// Runs the examples users copy, so that they cannot rot.
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Logger, LogLevel, Scope, TestClock } from "effect"
import { App, compose } from "../examples/http-server.js"
import { ReportProblems, summarize, trackAndConfirm } from "../examples/docs/delivery-outcomes.js"
import { makeHandler } from "../examples/lambda.js"
import * as Collector from "../src/Collector.js"
import { Analytics, MemoryTransport, PromiseClient, Testing, Transport } from "../src/index.js"

// The user's test suites of examples/testing register their tests in this file.
import "../examples/testing/collector-faults.test.js"
import "../examples/testing/collector.test.js"
import "../examples/testing/retries.test.js"
import "../examples/testing/signup.test.js"

describe("examples/http-server.ts", () => {
  // The example's App, on a test server (ephemeral port on loopback) and the testing kit's client.
  const TestApp = App.pipe(
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provideMerge(Testing.layer())
  )

  const post = (path: string, body: unknown) =>
    HttpClientRequest.post(path).pipe(HttpClientRequest.bodyUnsafeJson(body), HttpClient.execute)

  it.live("tracks a sign-up and delivers it when the app's scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(TestApp, scope)
      const memory = Context.get(context, MemoryTransport.MemoryTransport)

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
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)))

  it.live("stops the server before the client's final flush", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const server = NodeHttpServer.layerTest.pipe(
        Layer.merge(Layer.scopedDiscard(Effect.addFinalizer(() => Effect.sync(() => events.push("server closed")))))
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
    }))
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
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Error)))
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
        Effect.zipRight(
          Analytics.track({ userId: "u1", event: "A" }),
          Effect.zipRight(Analytics.flush, Analytics.track({ userId: "u1", event: "B" }))
        )
      )
      assert.deepStrictEqual(counts, { delivered: 1, failed: 1, dropped: 0 })
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("ReportProblems logs failures, including those of the final flush", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ logLevel, message }) => {
          if (logLevel._tag === "Warning") logs.push(String(message))
        })
      )
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
