/**
 * The Effect 4 edition's driver for the root's delivery benchmark (`npm run bench` at the repository
 * root runs it beside the Effect 3 edition's `bench/drivers/effect.ts`, on Node 22, which Effect 4
 * needs). Variant `<http>-default`: `fetch` (`FetchHttpClient.layer` of `effect/http`) or `undici`
 * (`NodeHttpClient.layerUndici` of `@effect/platform-node`), every client option at its default.
 *
 * The calls run inside one Effect; the layer's scope closes at the end, which flushes everything
 * accepted before the clock stops: the same program as the Effect 3 driver, in Effect 4's names.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fail, makeEvent, readSettings, report, signalStart, startMeter } from "../../bench/drivers/common.js"
import * as Analytics from "../src/Analytics.js"

const settings = readSettings()
const [http = "fetch", mode = "default"] = settings.variant.split("-")
if (mode !== "default") throw new Error(`effect4/bench/driver.ts: unknown mode ${mode}`)

// Deep imports, and only the HTTP client in use: the process loads what an application would.
const httpLayer = http === "undici"
  ? (await import("@effect/platform-node/NodeHttpClient")).layerUndici
  : (await import("effect/http/FetchHttpClient")).layer

const AnalyticsLive = Analytics.layer({ writeKey: settings.writeKey, host: settings.url }).pipe(Layer.provide(httpLayer))

let callErrors = 0

const program = Effect.gen(function*() {
  const analytics = yield* Analytics.Analytics
  const { count, size } = settings
  for (let i = 0; i < count; i++) {
    yield* analytics.track(makeEvent(i, size)).pipe(
      Effect.catch(() =>
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
      driver: "analytics-effect (Effect 4)",
      variant: settings.variant,
      produced: settings.count,
      callErrors,
      deliveryErrors: 0,
      ...m
    })
  },
  (error) => fail("analytics-effect (Effect 4)", error)
)
