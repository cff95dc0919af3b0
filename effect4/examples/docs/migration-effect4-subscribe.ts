// The Effect 4 edition (1.x): `Analytics.subscribe` gives a PubSub.Subscription (0.x: a Queue.Dequeue).
import { Effect, PubSub, Stream } from "effect"
import { Analytics, type AnalyticsError, type Outcome } from "../../src/index.js"

// Take from it with PubSub.take, PubSub.takeUpTo or PubSub.takeAll (0.x: Queue.take, ...).
export const firstOutcome: Effect.Effect<Outcome.Outcome, AnalyticsError.CallError, Analytics.Analytics> = Effect
  .scoped(
    Effect.gen(function*() {
      const subscription = yield* Analytics.subscribe
      yield* Analytics.track({ userId: "f4ca124298", event: "Signed Up" })
      yield* Analytics.flush
      return yield* PubSub.take(subscription)
    })
  )

// Or read it as a Stream with Stream.fromSubscription (0.x: Stream.fromQueue). `Analytics.outcomes`
// and `Analytics.subscribeStream` are streams already, as in 0.x.
export const outcomesOf = (subscription: PubSub.Subscription<Outcome.Outcome>) =>
  Stream.fromSubscription(subscription).pipe(Stream.map((outcome) => `${outcome._tag}: ${outcome.messages.length}`))
