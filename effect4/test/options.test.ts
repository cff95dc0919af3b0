/**
 * Options are checked when the layer is built, with an error that names the option; `layerConfig`
 * reports the same problems as a `ConfigError` that names the variable once.
 *
 * (Effect 4's `ConfigError` renders as a Schema issue, `SchemaError(<what is wrong>\n  at ["KEY"])`,
 * where Effect 3 wrote `Invalid data at KEY: "<what is wrong>"`: the tests check the meaning, the
 * variable named once and what is wrong with it, not Effect's wording around it.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Layer, Option } from "effect"
import * as HttpClient from "effect/http/HttpClient"
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

/**
 * The message of the error building `layerConfig` fails with. (`Cause.pretty` of it repeats the
 * message as the error's own `cause`, a Schema issue: the error's message is what names the variable.)
 */
const fromConfig = (entries: ReadonlyArray<[string, string]>, render: "message" | "pretty" = "message") =>
  Layer.build(Analytics.layerConfig()).pipe(
    Effect.scoped,
    Effect.provide(Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.never))),
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: Object.fromEntries(entries) })),
    Effect.exit,
    Effect.map((exit) => {
      if (Exit.isSuccess(exit)) return "ok"
      if (render === "pretty") return Cause.pretty(exit.cause)
      return Option.match(Cause.findErrorOption(exit.cause), {
        onNone: () => Cause.pretty(exit.cause),
        onSome: (error) => `${error._tag}: ${error.message}`
      })
    })
  )

/** The error names `key` exactly once, and says `what` is wrong (at that key). */
const assertProblemAt = (text: string, key: string, what: string) => {
  assert.strictEqual(text.split(key).length - 1, 1, `${key} named once in:\n${text}`)
  assert.include(text, what)
  assert.include(text, `\n  at ["${key}"]`)
}

describe("layerConfig errors name the variable once and say what is wrong with its value", () => {
  it.effect("a missing write key", () =>
    Effect.gen(function*() {
      const text = yield* fromConfig([])
      assertProblemAt(text, "ANALYTICS_WRITE_KEY", "not set: it must hold the write key of your Segment source")
      assert.match(text, /^ConfigError: /)
      assert.notInclude(yield* fromConfig([], "pretty"), "<redacted>")
    }))

  it.effect("an empty write key", () =>
    Effect.gen(function*() {
      assertProblemAt(
        yield* fromConfig([["ANALYTICS_WRITE_KEY", " "]]),
        "ANALYTICS_WRITE_KEY",
        "is empty: it must hold the write key of your Segment source"
      )
    }))

  it.effect("a bad default context", () =>
    Effect.gen(function*() {
      for (const value of ["[1]", "{oops"]) {
        const text = yield* fromConfig([["ANALYTICS_WRITE_KEY", "k"], ["ANALYTICS_DEFAULT_CONTEXT", value]])
        assertProblemAt(text, "ANALYTICS_DEFAULT_CONTEXT", "JSON object such as {\"app\":{\"name\":\"shop\"}}")
      }
    }))

  it.effect("a value out of range, checked after reading", () =>
    Effect.gen(function*() {
      const text = yield* fromConfig([["ANALYTICS_WRITE_KEY", "k"], ["ANALYTICS_FLUSH_AT", "0"]])
      assertProblemAt(text, "ANALYTICS_FLUSH_AT", "must be at least 1, got 0")
      const queue = yield* fromConfig([["ANALYTICS_WRITE_KEY", "k"], ["ANALYTICS_MAX_QUEUE_SIZE", "5"]])
      assertProblemAt(queue, "ANALYTICS_MAX_QUEUE_SIZE", "must be at least flushAt (20), got 5")
      const host = yield* fromConfig([["ANALYTICS_WRITE_KEY", "k"], ["ANALYTICS_HOST", "segment"]])
      assertProblemAt(host, "ANALYTICS_HOST", "must be an http")
    }))

  it.effect("a value of the wrong type, rejected while reading", () =>
    Effect.gen(function*() {
      // Effect's own message for an integer that is not one; the variable is named once.
      const text = yield* fromConfig([["ANALYTICS_WRITE_KEY", "k"], ["ANALYTICS_FLUSH_AT", "zero"]])
      assert.strictEqual(text.split("ANALYTICS_FLUSH_AT").length - 1, 1, text)
      assert.match(text, /Expected .*number/)
    }))

  it.effect("the write key's value never appears in an error", () =>
    Effect.gen(function*() {
      const entries: Array<[string, string]> = [["ANALYTICS_WRITE_KEY", "secret-key-value"], ["ANALYTICS_FLUSH_AT", "0"]]
      assert.notInclude(yield* fromConfig(entries), "secret-key-value")
      assert.notInclude(yield* fromConfig(entries, "pretty"), "secret-key-value")
    }))
})
