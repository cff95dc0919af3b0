/**
 * Message ids and timestamps for the call path, without an Effect per value.
 *
 * Ids come from the shared core's generator (`core/random.ts`, xoshiro128**), seeded from Effect's
 * `Random` service when the client is built: a seeded `Random` in a test makes ids reproducible, and
 * the call path pays for a few integer operations per word instead of running Effects. Timestamps
 * come from the `Clock` in context when the client was built (the `TestClock` in tests). Generating
 * and formatting are the core's (`core/random.ts`, `core/uuid.ts`, `core/timestamp.ts`); only the
 * Effect seeding lives here.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
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

/**
 * Builds the id and time sources from the `Random` and `Clock` in context.
 *
 * @internal
 */
export const make: Effect.Effect<Ids> = Effect.gen(function*() {
  const clock: Clock.Clock = yield* Effect.clock
  const seed = yield* Effect.all([Random.nextInt, Random.nextInt, Random.nextInt, Random.nextInt])
  // Effect's default Random is seeded from 32 bits: two processes out of some tens of thousands would
  // share a seed, and so a sequence of ids, which the collector deduplicates (lost events). Mixing in
  // the clock's nanoseconds keeps them apart, and stays reproducible under a seeded Random and a
  // TestClock.
  const nanos = clock.unsafeCurrentTimeNanos()
  const word = makeWords(
    seed[0]! ^ Number(nanos & 0xffffffffn),
    seed[1]! ^ Number((nanos >> 32n) & 0xffffffffn),
    seed[2]!,
    seed[3]!
  )
  return {
    uuid: () => formatUuid(word(), word(), word(), word()),
    now: Timestamp.makeNow(() => clock.unsafeCurrentTimeMillis())
  }
})
