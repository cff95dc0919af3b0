/**
 * Batches in flight: at most `maxInFlight` at once (a semaphore of slots), each delivered by its own
 * sender fiber, each with a completion that `flush` and the close wait on. When the close runs out of
 * time, the senders are interrupted (each reports its batch) and later batches fail at once.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type { EncodedMessage } from "../Message.js"
import type { Outcomes } from "./outcomes.js"

/** @internal */
export interface Dispatch {
  /** Waits for a free slot and takes it. */
  readonly acquire: Effect.Effect<void>
  /** Gives back a slot taken with `acquire` and not used. */
  readonly release: Effect.Effect<void>
  /** Delivers `batch` in its own fiber, on a slot the caller took; the slot is freed when it ends. */
  readonly start: (batch: ReadonlyArray<EncodedMessage>) => Effect.Effect<void>
  /** Waits until every batch in flight now has its outcome. */
  readonly awaitInFlight: Effect.Effect<void>
  /** The close ran out of time: senders are interrupted, later batches fail (`ShutdownTimeout`). */
  readonly expire: Effect.Effect<void>
}

/** @internal */
export const make = (
  maxInFlight: number,
  deliver: (batch: ReadonlyArray<EncodedMessage>) => Effect.Effect<void>,
  outcomes: Outcomes
): Effect.Effect<Dispatch, never, Scope.Scope> =>
  Effect.gen(function*() {
    const slots = yield* Semaphore.make(maxInFlight)
    const senders = yield* FiberSet.make<void, never>()
    // The completion of every batch in flight.
    const inFlight = yield* Ref.make<ReadonlySet<Deferred.Deferred<void>>>(new Set())
    const expired = yield* Deferred.make<void>()

    const finished = (done: Deferred.Deferred<void>) =>
      slots.release(1).pipe(
        Effect.andThen(Ref.update(inFlight, (set) => {
          const next = new Set(set)
          next.delete(done)
          return next
        })),
        Effect.andThen(Deferred.succeed(done, undefined))
      )

    const start = (batch: ReadonlyArray<EncodedMessage>): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(expired)) {
          yield* slots.release(1)
          return yield* outcomes.publish({
            _tag: "Failed",
            messages: batch,
            reason: "ShutdownTimeout",
            error: undefined,
            attempts: 0
          })
        }
        const done = yield* Deferred.make<void>()
        yield* Ref.update(inFlight, (set) => new Set(set).add(done))
        // Forked from the consumer, the sender inherits its log annotations and level. Effect 4's
        // `FiberSet.run` runs the sender at once, up to its first suspension (Effect 3 ran it after the
        // consumer's step): a transport that answers synchronously delivers the batch, and frees its
        // slot, before `start` returns. Either order is correct: the batch was registered in flight
        // and left the queue's bounds before.
        yield* FiberSet.run(senders, Effect.ensuring(deliver(batch), finished(done)))
      })

    return {
      acquire: Effect.asVoid(slots.take(1)),
      release: Effect.asVoid(slots.release(1)),
      start,
      awaitInFlight: Effect.flatMap(Ref.get(inFlight), (set) => Effect.forEach(set, Deferred.await, { discard: true })),
      expire: Effect.andThen(Deferred.succeed(expired, undefined), FiberSet.clear(senders))
    }
  })
