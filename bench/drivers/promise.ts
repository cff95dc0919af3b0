/**
 * analytics-effect's Promise client, as Node code calls it, every option at its default (the global
 * `fetch`). Variants:
 * - `ff`: a loop of `track` calls, none awaited (fire and forget), then `closeAndFlush()`;
 * - `awaited`: a loop that awaits each `track`, then `closeAndFlush()`;
 * - `paced`: calls at `BENCH_RATE` events per second, none awaited, then `closeAndFlush()`.
 */
import * as PromiseClient from "../../src/PromiseClient.js"
import { fail, makeEvent, paced, readSettings, report, signalStart, startMeter } from "./common.js"

const settings = readSettings()
const analytics = PromiseClient.createClient({ writeKey: settings.writeKey, host: settings.url })

let callErrors = 0
const count = (promise: Promise<string>): Promise<unknown> =>
  promise.catch(() => {
    callErrors++
  })

const main = async () => {
  signalStart()
  const meter = startMeter()
  const { size } = settings
  switch (settings.variant) {
    case "awaited":
      for (let i = 0; i < settings.count; i++) await count(analytics.track(makeEvent(i, size)))
      break
    case "paced":
      await paced(settings, (i) => void count(analytics.track(makeEvent(i, size))))
      break
    default:
      for (let i = 0; i < settings.count; i++) void count(analytics.track(makeEvent(i, size)))
  }
  await analytics.closeAndFlush()
  const m = meter.stop()
  report({
    type: "result",
    driver: "promise-client",
    variant: settings.variant,
    produced: settings.count,
    callErrors,
    deliveryErrors: 0,
    ...m
  })
}

main().catch((error) => fail("promise-client", error))
