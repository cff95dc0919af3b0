/**
 * analytics-effect driver. Variant `<http>-<mode>`:
 * - `<http>`: `fetch` (`FetchHttpClient.layer`) or `undici` (`NodeHttpClient.layerUndici`);
 * - `<mode>`: `default` (every option at its default: a burst that outruns the network waits for
 *   room, `overflow: "wait"`), `suspend` (`overflow: "suspend"`), or `paced` (defaults, calls at
 *   `BENCH_RATE` events per second, as a server handling requests makes them).
 *
 * The calls run inside one Effect; the layer's scope closes at the end, which flushes everything
 * accepted before the clock stops.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Analytics from "../../src/Analytics.js"
import { fail, makeEvent, paceTickMs, readSettings, report, signalStart, startMeter } from "./common.js"

const settings = readSettings()
const [http = "fetch", mode = "default"] = settings.variant.split("-")

// Deep imports, and only the HTTP client in use: the process loads what an application would.
const httpLayer = http === "undici"
  ? (await import("@effect/platform-node/NodeHttpClient")).layerUndici
  : (await import("@effect/platform/FetchHttpClient")).layer
const options: Analytics.Options = mode === "suspend"
  ? { writeKey: settings.writeKey, host: settings.url, overflow: "suspend" }
  : { writeKey: settings.writeKey, host: settings.url }

const AnalyticsLive = Analytics.layer(options).pipe(Layer.provide(httpLayer))

let callErrors = 0

const program = Effect.gen(function*() {
  const analytics = yield* Analytics.Analytics
  const { count, size } = settings
  const track = (i: number) =>
    analytics.track(makeEvent(i, size)).pipe(
      Effect.catchAll(() =>
        Effect.sync(() => {
          callErrors++
        })
      )
    )
  if (mode !== "paced") {
    for (let i = 0; i < count; i++) yield* track(i)
    return
  }
  const start = performance.now()
  for (let i = 0; i < count;) {
    const due = Math.min(count, Math.floor(((performance.now() - start) / 1000) * settings.rate) + 1)
    for (; i < due; i++) yield* track(i)
    if (i < count) yield* Effect.sleep(Duration.millis(paceTickMs))
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
