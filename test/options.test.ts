/**
 * Options are checked when the layer is built, with an error that names the option; `layerConfig`
 * reports the same problems as a `ConfigError` that names the variable once.
 */
import { assert, describe, it } from "@effect/vitest"
import * as HttpClient from "@effect/platform/HttpClient"
import { Cause, ConfigProvider, Effect, Exit, Layer } from "effect"
import { Analytics, AnalyticsError, MemoryTransport, PromiseClient } from "../src/index.js"

const build = (options: Partial<Analytics.Options>) =>
  Effect.scoped(Layer.build(
    Analytics.layerWithoutTransport({ writeKey: "k", ...options }).pipe(Layer.provide(MemoryTransport.layer()))
  ))

const cases: Array<[string, Partial<Analytics.Options>, string, RegExp]> = [
  ["flushAt 0", { flushAt: 0 }, "flushAt", /at least 1, got 0/],
  ["flushAt 1.5", { flushAt: 1.5 }, "flushAt", /integer/],
  ["flushAt NaN", { flushAt: Number.NaN }, "flushAt", /integer/],
  ["flushInterval 0", { flushInterval: 0 }, "flushInterval", /greater than zero/],
  ["flushInterval text", { flushInterval: "soon" as never }, "flushInterval", /duration/],
  ["timeout 0", { timeout: "0 millis" }, "timeout", /greater than zero/],
  ["host not a URL", { host: "api.segment.io" }, "host", /http or https URL/],
  ["host ftp", { host: "ftp://example.com" }, "host", /scheme/],
  ["host with a query", { host: "https://example.com/?x=1" }, "host", /query/],
  ["empty write key", { writeKey: "" }, "writeKey", /non-empty/],
  ["blank write key", { writeKey: "   " }, "writeKey", /non-empty/],
  ["queue smaller than flushAt", { maxQueueSize: 10 }, "maxQueueSize", /at least flushAt \(20\), got 10/],
  ["queue bytes below a request", { maxQueueBytes: 1_000 }, "maxQueueBytes", /at least maxBatchBytes \(500000\)/],
  ["maxBatchMessages 0", { maxBatchMessages: 0 }, "maxBatchMessages", /at least 1/],
  ["maxInFlight 0", { maxInFlight: 0 }, "maxInFlight", /at least 1/],
  ["message larger than a request", { maxMessageBytes: 600_000 }, "maxMessageBytes", /envelope/],
  ["shutdownTimeout 0", { shutdownTimeout: 0 }, "shutdownTimeout", /greater than zero/],
  ["maxRetries -1", { maxRetries: -1 }, "maxRetries", /at least 0/],
  ["retryBudget 0", { retryBudget: 0 }, "retryBudget", /greater than zero/],
  ["overflowTimeout negative", { overflowTimeout: -1 }, "overflowTimeout", /zero or more/],
  ["unknown overflow policy", { overflow: "block" as never }, "overflow", /one of wait, suspend, dropNewest, dropOldest/]
]

describe("bad options fail the layer with InvalidOptions naming the option", () => {
  for (const [name, options, option, reason] of cases) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(build(options))
        assert.instanceOf(error, AnalyticsError.InvalidOptions)
        assert.strictEqual(error.option, option)
        assert.match(error.reason, reason)
        assert.match(error.message, new RegExp(`^Invalid analytics option ${option}: `))
        assert.deepStrictEqual(Analytics.checkOptions({ writeKey: "k", ...options })?.option, option)
      }))
  }

  it.effect("the defaults and the edges of each range are accepted", () =>
    Effect.gen(function*() {
      assert.isUndefined(Analytics.checkOptions({ writeKey: "k" }))
      yield* build({ flushAt: 1, maxQueueSize: 1, maxInFlight: 1, maxRetries: 0, overflowTimeout: 0, maxBatchMessages: 1 })
      yield* build({ maxQueueBytes: 500_000, flushInterval: "1 millis", host: "http://127.0.0.1:1" })
    }))

  it("the Promise client throws the same error at once", () => {
    assert.throws(() => PromiseClient.createClient({ writeKey: "k", flushInterval: 0 }), /flushInterval/)
    try {
      PromiseClient.createClient({ writeKey: "" })
      assert.fail("no error")
    } catch (error) {
      assert.instanceOf(error, AnalyticsError.InvalidOptions)
    }
  })
})

const fromConfig = (entries: ReadonlyArray<[string, string]>) =>
  Layer.build(Analytics.layerConfig()).pipe(
    Effect.scoped,
    Effect.provide(Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.never))),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries))),
    Effect.exit,
    Effect.map((exit) => (Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "ok"))
  )

describe("layerConfig errors name the variable once and say what is wrong with its value", () => {
  it.effect("a missing write key", () =>
    Effect.gen(function*() {
      const text = yield* fromConfig([])
      assert.include(text, "Missing data at ANALYTICS_WRITE_KEY: \"not set: it must hold the write key of your Segment source\"")
      assert.notInclude(text, "<redacted>")
    }))

  it.effect("an empty write key", () =>
    Effect.gen(function*() {
      assert.include(yield* fromConfig([["ANALYTICS_WRITE_KEY", " "]]), "Invalid data at ANALYTICS_WRITE_KEY: \"is empty")
    }))

  it.effect("a bad default context", () =>
    Effect.gen(function*() {
      for (const value of ["[1]", "{oops"]) {
        const text = yield* fromConfig([["ANALYTICS_WRITE_KEY", "k"], ["ANALYTICS_DEFAULT_CONTEXT", value]])
        assert.include(text, "Invalid data at ANALYTICS_DEFAULT_CONTEXT: ")
        assert.notInclude(text, "ANALYTICS_DEFAULT_CONTEXT.ANALYTICS_DEFAULT_CONTEXT")
        assert.include(text, "JSON object")
      }
    }))

  it.effect("a value out of range, checked after reading", () =>
    Effect.gen(function*() {
      const text = yield* fromConfig([["ANALYTICS_WRITE_KEY", "k"], ["ANALYTICS_FLUSH_AT", "0"]])
      assert.include(text, "Invalid data at ANALYTICS_FLUSH_AT: \"must be at least 1, got 0\"")
      const queue = yield* fromConfig([["ANALYTICS_WRITE_KEY", "k"], ["ANALYTICS_MAX_QUEUE_SIZE", "5"]])
      assert.include(queue, "Invalid data at ANALYTICS_MAX_QUEUE_SIZE: \"must be at least flushAt (20), got 5\"")
      const host = yield* fromConfig([["ANALYTICS_WRITE_KEY", "k"], ["ANALYTICS_HOST", "segment"]])
      assert.include(host, "Invalid data at ANALYTICS_HOST: ")
    }))

  it.effect("the write key's value never appears in an error", () =>
    Effect.gen(function*() {
      const text = yield* fromConfig([["ANALYTICS_WRITE_KEY", "secret-key-value"], ["ANALYTICS_FLUSH_AT", "0"]])
      assert.notInclude(text, "secret-key-value")
    }))
})
