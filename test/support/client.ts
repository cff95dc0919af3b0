import { Chunk, Effect, Exit, Layer, Queue, Scope } from "effect"
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
    const analytics = yield* Effect.provide(Analytics.Analytics, context)
    return {
      analytics,
      memory: yield* Effect.provide(MemoryTransport.MemoryTransport, context),
      outcomes: yield* analytics.subscribe,
      close: Scope.close(scope, Exit.void)
    }
  })

/** Everything waiting in a queue, now. */
export const takeAll = <A>(queue: Queue.Dequeue<A>) => Effect.map(Queue.takeAll(queue), Chunk.toReadonlyArray)
