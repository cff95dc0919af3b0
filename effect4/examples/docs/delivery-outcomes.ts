import { Effect, Layer, PubSub, Stream } from "effect"
import { Analytics, AnalyticsError, Outcome } from "../../src/index.js"

const describe = (outcome: Outcome.Outcome): string => {
  switch (outcome._tag) {
    case "Delivered":
      return `${outcome.messages.length} delivered (HTTP ${outcome.status}, ${outcome.attempts} attempt(s))`
    case "Failed":
      return `${outcome.messages.length} failed (${outcome.reason}${
        outcome.error ? `: ${AnalyticsError.describeReason(outcome.error.reason)}` : ""
      })`
    case "Dropped":
      return `${outcome.messages.length} dropped (${outcome.reason})`
  }
}

// A layer that logs every outcome that is not a delivery. The consumer is a detached fiber: it is not
// interrupted when this layer's scope closes, so it also sees the outcomes of the client's final
// flush; the stream ends by itself once the client has closed.
export const ReportProblems = Layer.effectDiscard(
  Analytics.outcomes.pipe(
    Stream.filter((outcome) => outcome._tag !== "Delivered"),
    Stream.runForEach((outcome) =>
      Effect.logWarning(describe(outcome)).pipe(
        Effect.annotateLogs({ messageIds: outcome.messages.map((m) => m.messageId).join(",") })
      )
    ),
    Effect.forkDetach
  )
)

// Wait for the outcome of one message: subscribe first, then send, then read.
export const trackAndConfirm = (userId: string) =>
  Effect.scoped(
    Effect.gen(function*() {
      const analytics = yield* Analytics.Analytics
      const outcomes = yield* analytics.subscribe
      const messageId = yield* analytics.track({ userId, event: "Order Completed" })
      yield* analytics.flush
      return yield* Stream.fromSubscription(outcomes).pipe(
        Stream.filter((outcome) => outcome.messages.some((m) => m.messageId === messageId)),
        Stream.runHead,
        Effect.map((outcome) => outcome._tag === "Some" && outcome.value._tag === "Delivered")
      )
    })
  )

// Count outcomes over a run, for example at the end of an import.
export const summarize = <A, E, R>(work: Effect.Effect<A, E, R>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const outcomes = yield* Analytics.subscribe
      yield* work
      yield* Analytics.flush
      // Every outcome of the run is in the subscription by now: take them all without waiting
      // (PubSub.takeAll would wait for at least one).
      const all = yield* PubSub.takeUpTo(outcomes, Number.POSITIVE_INFINITY)
      return Outcome.count(all)
    })
  )
