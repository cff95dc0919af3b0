/**
 * analytics-effect driver. Variant `<http>-<overflow>`:
 * - `<http>`: `fetch` (`FetchHttpClient.layer`) or `undici` (`NodeHttpClient.layerUndici`);
 * - `<overflow>`: `default` (every option at its default, so a burst that outruns the network drops
 *   messages with `dropNewest`) or `suspend` (`overflow: "suspend"`: the call waits for room).
 *
 * The burst runs inside one Effect; the layer's scope closes at the end, which flushes everything
 * accepted before the clock stops.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Analytics from "../../src/Analytics.js"
import { fail, makeEvent, readSettings, report, signalStart, startMeter } from "./common.js"

const settings = readSettings()
const [http = "fetch", overflow = "default"] = settings.variant.split("-")

// Deep imports, and only the HTTP client in use: the process loads what an application would.
const httpLayer = http === "undici"
  ? (await import("@effect/platform-node/NodeHttpClient")).layerUndici
  : (await import("@effect/platform/FetchHttpClient")).layer
const options: Analytics.Options = overflow === "suspend"
  ? { writeKey: settings.writeKey, host: settings.url, overflow: "suspend" }
  : { writeKey: settings.writeKey, host: settings.url }

const AnalyticsLive = Analytics.layer(options).pipe(Layer.provide(httpLayer))

let callErrors = 0

const program = Effect.gen(function*() {
  const analytics = yield* Analytics.Analytics
  const { count, size } = settings
  for (let i = 0; i < count; i++) {
    yield* analytics.track(makeEvent(i, size)).pipe(
      Effect.catchAll(() =>
        Effect.sync(() => {
          callErrors++
        })
      )
    )
  }
}).pipe(Effect.provide(AnalyticsLive))

signalStart()
const meter = startMeter()
Effect.runPromise(program).then(
  () => {
    const m = meter.stop()
    report({
      type: "result",
      driver: "analytics-effect",
      variant: settings.variant,
      produced: settings.count,
      callErrors,
      deliveryErrors: 0,
      ...m
    })
  },
  (error) => fail("analytics-effect", error)
)
