/**
 * The client-wide pause a 429 imposes: a latch every sender waits on before an attempt, closed for the
 * collector's `Retry-After` (or `X-RateLimit-Reset`), measured from the response with a relative sleep.
 * It reads no clock, so wall-clock steps can neither stretch nor shorten it; overlapping pauses end
 * together, when the last one does.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Latch from "effect/Latch"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"

/** @internal */
export interface RateLimit {
  /** Waits while the client is paused. */
  readonly await: Effect.Effect<void>
  /** Pauses every sender for `millis` from now (a longer pause in progress still holds). */
  readonly pause: (millis: number) => Effect.Effect<void>
}

/** @internal */
export const make: Effect.Effect<RateLimit, never, Scope.Scope> = Effect.gen(function*() {
  const open = yield* Latch.make(true)
  const sleepers = yield* FiberSet.make<void, never>()
  // Pauses in progress: the latch reopens when the last one ends.
  const active = yield* Ref.make(0)

  const end = Effect.flatMap(
    Ref.updateAndGet(active, (n) => n - 1),
    (n) => n === 0 ? open.open : Effect.void
  )

  // Counting the pause, closing the latch and starting its sleeper happen together. The sleeper itself
  // is interruptible (Effect 4 forks are, even from an uninterruptible region): closing the client
  // interrupts it, and `end` still runs.
  const pause = (millis: number): Effect.Effect<void> =>
    !(millis > 0)
      ? Effect.void
      : Effect.gen(function*() {
        yield* Ref.update(active, (n) => n + 1)
        yield* open.close
        yield* FiberSet.run(sleepers, Effect.ensuring(Effect.sleep(Duration.millis(millis)), end))
      }).pipe(Effect.uninterruptible)

  return { await: open.await, pause }
})
