/**
 * Message ids and timestamps for the call path, without an Effect per value.
 *
 * Ids come from the shared core's generator (`core/random.ts`, xoshiro128**), seeded from Effect's
 * `Random` service when the client is built: a seeded `Random` in a test (`Random.withSeed`) makes ids
 * reproducible, and the call path pays for a few integer operations per word instead of running
 * Effects. Timestamps come from the `Clock` in context when the client was built (the `TestClock` in
 * tests). Generating and formatting are the core's (`core/random.ts`, `core/uuid.ts`,
 * `core/timestamp.ts`); only the Effect seeding lives here.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import { makeWords } from "./core/random.js"
import * as Timestamp from "./core/timestamp.js"
import { formatUuid } from "./core/uuid.js"

/** @internal */
export interface Ids {
  /** A random UUID v4. */
  readonly uuid: () => string
  /** Now, from the captured `Clock`, as an ISO-8601 string (`YYYY-MM-DDTHH:mm:ss.sssZ`). */
  readonly now: () => string
}

// A 32-bit word (unsigned) from the top bits of one draw in [0, 1). Effect 4's `Random.nextInt` is
// signed and spans ±2^53, so its low bits are not the ones to take.
const word = (random: Random.Random): number => (random.nextDoubleUnsafe() * 2 ** 32) >>> 0

/**
 * Builds the id and time sources from the `Random` and `Clock` in context.
 *
 * @internal
 */
export const make: Effect.Effect<Ids> = Effect.gen(function*() {
  const clock = yield* Clock.Clock
  const random = yield* Random.Random
  const seed = [word(random), word(random), word(random), word(random)] as const
  // A seeded Random (a test, a reproducible run, or processes whose default Random was seeded alike)
  // gives every client the same sequence of ids, which the collector deduplicates (lost events).
  // Mixing in the clock's nanoseconds keeps clients built at different times apart, and stays
  // reproducible under a seeded Random and a TestClock.
  const nanos = clock.currentTimeNanosUnsafe()
  const next = makeWords(
    seed[0] ^ Number(nanos & 0xffffffffn),
    seed[1] ^ Number((nanos >> 32n) & 0xffffffffn),
    seed[2],
    seed[3]
  )
  return {
    uuid: () => formatUuid(next(), next(), next(), next()),
    now: Timestamp.makeNow(() => clock.currentTimeMillisUnsafe())
  }
})
