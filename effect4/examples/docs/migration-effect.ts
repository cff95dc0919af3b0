// After, in an Effect application: the service, its layer, and outcomes instead of on("error").
import { Effect, Layer, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

const ClientLive = Analytics.layer({
  writeKey: process.env.SEGMENT_WRITE_KEY ?? "",
  flushAt: 20,
  flushInterval: "5 seconds",
  maxRetries: 3,
  timeout: "10 seconds",
  enabled: process.env.NODE_ENV !== "test"
}).pipe(Layer.provide(FetchHttpClient.layer))

// The equivalent of analytics.on("error", ...): every Failed or Dropped outcome, with its reason.
const OnProblem = Layer.effectDiscard(
  Analytics.outcomes.pipe(
    Stream.filter((outcome) => outcome._tag !== "Delivered"),
    Stream.runForEach((outcome) => Effect.logError(`analytics: ${outcome.messages.length} ${outcome._tag}`)),
    Effect.forkDetach
  )
)

export const AnalyticsLive = OnProblem.pipe(Layer.provideMerge(ClientLive))

export const onSignUp = (userId: string, plan: string) =>
  Analytics.track({ userId, event: "Signed Up", properties: { plan } })

// No closeAndFlush: the client is flushed and closed when AnalyticsLive's scope closes.
