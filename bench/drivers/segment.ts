/**
 * @segment/analytics-node driver, with its defaults (flushAt 15, flushInterval 10 s, the global
 * `fetch`), pointed at the loopback collector. A synchronous burst of `track` calls (or, variant
 * `paced`, calls at `BENCH_RATE` per second), then `closeAndFlush()`.
 */
import { Analytics } from "@segment/analytics-node"
import { fail, makeEvent, paced, readSettings, report, signalStart, startMeter } from "./common.js"

const settings = readSettings()

const main = async () => {
  signalStart()
  const meter = startMeter()
  const analytics = new Analytics({ writeKey: settings.writeKey, host: settings.url, path: "/v1/batch" })
  let deliveryErrors = 0
  analytics.on("error", () => {
    deliveryErrors++
  })
  let callErrors = 0
  const { count, size } = settings
  const track = (i: number) => {
    try {
      analytics.track(makeEvent(i, size))
    } catch {
      callErrors++
    }
  }
  if (settings.variant === "paced") await paced(settings, track)
  else for (let i = 0; i < count; i++) track(i)
  // Its default is max(60 s, flushInterval) * 1.25; the parent's hard limit still applies.
  await analytics.closeAndFlush({ timeout: 120_000 })
  const m = meter.stop()
  report({
    type: "result",
    driver: "analytics-node",
    variant: settings.variant,
    produced: count,
    callErrors,
    deliveryErrors,
    ...m
  })
}

main().catch((error) => fail("analytics-node", error))
