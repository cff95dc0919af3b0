/**
 * The import benchmark's baseline: the library's own send rate on the same messages, in its own
 * process, with the options `analytics-effect import` uses (`overflow: "suspend"`, `flushAt: 500`,
 * undici). The lines are parsed before the clock starts: what is measured is `Analytics.send` of
 * every message and the final flush, the part of an import the CLI cannot make faster.
 *
 * Settings come from the environment (bench code): `BENCH_URL`, `BENCH_FILE`.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Analytics from "../src/Analytics.js"
import type * as Message from "../src/Message.js"
import { fail, report, startMeter } from "./drivers/common.js"

const url = process.env.BENCH_URL ?? ""
const file = process.env.BENCH_FILE ?? ""
const messages = Fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Message.Message)

const AnalyticsLive = Analytics.layer({ writeKey: "bench-write-key", host: url, overflow: "suspend", flushAt: 500 }).pipe(
  Layer.provide(NodeHttpClient.layerUndici)
)

let callErrors = 0
const program = Effect.gen(function*() {
  const analytics = yield* Analytics.Analytics
  for (const message of messages) {
    yield* analytics.send(message).pipe(Effect.catchAll(() => Effect.sync(() => void callErrors++)))
  }
}).pipe(Effect.provide(AnalyticsLive))

const meter = startMeter()
Effect.runPromise(program).then(
  () =>
    report({
      type: "result",
      driver: "analytics-effect send",
      variant: "import options",
      produced: messages.length,
      callErrors,
      deliveryErrors: 0,
      ...meter.stop()
    }),
  (error) => fail("analytics-effect send", error)
)
