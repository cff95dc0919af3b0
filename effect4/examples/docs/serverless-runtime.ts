import { Effect, Layer, ManagedRuntime } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

// Built once per container, on the first invocation; reused while the container stays warm.
const runtime = ManagedRuntime.make(
  Analytics.layer({ writeKey: process.env.ANALYTICS_WRITE_KEY ?? "", flushAt: 1, retryBudget: "20 seconds" }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )
)

export const handler = (event: { readonly userId: string }) =>
  runtime.runPromise(
    Effect.gen(function*() {
      yield* Analytics.track({ userId: event.userId, event: "Report Generated" }).pipe(
        Effect.catch((error) => Effect.logWarning(`not tracked: ${error.message}`))
      )
      // Before returning: deliver what this invocation tracked.
      yield* Analytics.flush
      return { statusCode: 200 }
    })
  )
