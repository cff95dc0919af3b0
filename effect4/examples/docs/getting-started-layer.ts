import { Effect, Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

// Options in code. A plain string write key is accepted too; it is wrapped in `Redacted` at once.
export const AnalyticsLive = Analytics.layer({
  writeKey: Redacted.make("YOUR_WRITE_KEY"),
  flushAt: 20,
  flushInterval: "5 seconds"
}).pipe(Layer.provide(FetchHttpClient.layer))

// Use the accessors (`Analytics.track(...)`) or take the service and call its methods.
export const signUp = (userId: string, plan: string) =>
  Effect.gen(function*() {
    const analytics = yield* Analytics.Analytics
    const messageId = yield* analytics.track({ userId, event: "Signed Up", properties: { plan } })
    yield* Effect.logDebug(`queued ${messageId}`)
  })

// Provide the layer once, at the edge of the application.
export const main = signUp("f4ca124298", "Enterprise").pipe(Effect.provide(AnalyticsLive))
