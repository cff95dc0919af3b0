import { Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

const AnalyticsLive = Analytics.AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))

// A client per invocation: the layer is built when the effect starts and closed when it ends, and
// closing delivers everything. Simple, and nothing can be left in a queue between invocations, at
// the cost of building a client on every invocation.
export const handler = (event: { readonly userId: string }) =>
  Effect.runPromise(
    Effect.gen(function*() {
      yield* Analytics.track({ userId: event.userId, event: "Report Generated" }).pipe(
        Effect.catch((error) => Effect.logWarning(`not tracked: ${error.message}`))
      )
      return { statusCode: 200 }
    }).pipe(Effect.provide(AnalyticsLive))
  )
