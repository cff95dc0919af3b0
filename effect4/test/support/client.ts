import { Context, Effect, Exit, Layer, PubSub, Scope } from "effect"
import { Analytics, MemoryTransport } from "../../src/index.js"

/**
 * Builds a client on a memory transport, in a scope the test closes itself (`close`). Outcomes are
 * subscribed in the test's own scope, so they can still be read after the client's scope closes.
 */
export const openClient = (options: Partial<Analytics.Options> = {}, memory: MemoryTransport.Options = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Analytics.layerWithoutTransport({ writeKey: "test-key", ...options }).pipe(
        Layer.provideMerge(MemoryTransport.layer(memory))
      ),
      scope
    )
    const analytics = Context.get(context, Analytics.Analytics)
    return {
      analytics,
      memory: Context.get(context, MemoryTransport.MemoryTransport),
      outcomes: yield* analytics.subscribe,
      close: Scope.close(scope, Exit.void)
    }
  })

/**
 * Everything waiting in a subscription, now, without waiting (Effect 4's `PubSub.takeAll` waits for
 * one).
 */
export const takeAll = <A>(subscription: PubSub.Subscription<A>) =>
  PubSub.takeUpTo(subscription, Number.POSITIVE_INFINITY)
