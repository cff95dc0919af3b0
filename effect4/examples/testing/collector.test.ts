import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import * as Collector from "../../src/Collector.js"
import { Analytics } from "../../src/index.js"
import { signUp } from "./signup.js"

const alice = { id: "u-alice", email: "alice@example.com", plan: "Pro" } as const

// The real client (HTTP, fetch, gzip) pointed at the collector in context.
const AnalyticsAtCollector = Layer.unwrap(
  Effect.map(Collector.Collector, (collector) =>
    Analytics.layer({ writeKey: "test-key", host: collector.url, gzip: true }).pipe(
      Layer.provide(FetchHttpClient.layer)
    ))
)

// A local collector on 127.0.0.1 and an ephemeral port, checking the write key like the API does.
const CollectorLive = Collector.layer({ writeKey: "test-key" })

describe("signUp, end to end", () => {
  // Real sockets: use it.live, so that the real clock runs.
  it.live("delivers over HTTP when flushed", () =>
    Effect.gen(function*() {
      const collector = yield* Collector.Collector
      yield* signUp(alice)
      yield* Analytics.flush
      const [request] = yield* collector.received
      assert.isTrue(request?.gzip)
      assert.strictEqual(request?.headers["authorization"], `Basic ${btoa("test-key:")}`)
      assert.deepStrictEqual(request?.messages.map((m) => m.type), ["identify", "track"])
      assert.deepStrictEqual(yield* collector.rejected, [])
    }).pipe(Effect.provide(AnalyticsAtCollector.pipe(Layer.provideMerge(CollectorLive)))))

  it.live("delivers everything when the client's scope closes", () =>
    Effect.gen(function*() {
      const collector = yield* Collector.Collector
      // The client lives only as long as this effect: closing it flushes.
      yield* signUp(alice).pipe(Effect.provide(AnalyticsAtCollector))
      const messages = yield* collector.messages
      assert.deepStrictEqual(messages.map((m) => m.userId), ["u-alice", "u-alice"])
    }).pipe(Effect.provide(CollectorLive)))
})
