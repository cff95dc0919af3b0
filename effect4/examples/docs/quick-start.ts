import { Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

// The client, configured from the environment (ANALYTICS_WRITE_KEY, ...), sending with fetch.
const AnalyticsLive = Analytics.AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))

const program = Effect.gen(function*() {
  yield* Analytics.identify({
    userId: "019mr8mf4r",
    traits: { name: "Michael Bolton", email: "mbolton@example.com", plan: "Enterprise" }
  })
  yield* Analytics.track({ userId: "019mr8mf4r", event: "Signed Up", properties: { plan: "Enterprise" } })
})

// The calls return as soon as their messages are queued. When the program ends, the layer's scope
// closes and the client delivers everything it accepted before the promise settles.
Effect.runPromise(program.pipe(Effect.provide(AnalyticsLive)))
