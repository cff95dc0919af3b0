// The Effect 4 edition (1.x): configuration errors, and errors out of Effect.runPromise.
import { Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

const AnalyticsLive = Analytics.AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))

export const program = Analytics.track({ userId: "f4ca124298", event: "Signed Up" }).pipe(
  Effect.provide(AnalyticsLive),
  // One ConfigError class, `_tag: "ConfigError"` (0.x: a ConfigError union of MissingData,
  // InvalidData, ...). Its message names the variable: SchemaError(<what is wrong>\n  at ["KEY"]).
  Effect.catchTag("ConfigError", (error) => Effect.logError(`analytics is not configured: ${error.message}`))
)

// Effect.runPromise rejects with the error itself (0.x: a FiberFailure wrapping it), so the typed
// error's `_tag` and fields can be read in the rejection handler.
export const run = () =>
  Effect.runPromise(program).catch((error: unknown) => {
    if (error instanceof Error && error.name === "InvalidMessage") console.error(error.message)
    throw error
  })
