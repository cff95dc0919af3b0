/**
 * Message ids and timestamps for the call path, without an Effect per value.
 *
 * Ids come from a PCG generator (Effect's own, from `effect/Utils`) seeded from Effect's `Random`
 * service when the client is built: a seeded `Random` in a test makes ids reproducible, and the call
 * path pays for two 32-bit steps per word instead of running Effects. Timestamps come from the `Clock`
 * in context when the client was built (the `TestClock` in tests), and the ISO string of the last
 * millisecond is reused: under a burst, many calls share it.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import { PCGRandom } from "effect/Utils"

const hex: Array<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** Formats four 32-bit words as a UUID v4 (version and variant bits set). @internal */
export const formatUuid = (a: number, b: number, c: number, d: number): string => {
  b = (b & 0xffff0fff) | 0x00004000 // version 4
  c = (c & 0x3fffffff) | 0x80000000 // variant 10
  return hex[a >>> 24]! + hex[(a >>> 16) & 255]! + hex[(a >>> 8) & 255]! + hex[a & 255]! + "-" +
    hex[b >>> 24]! + hex[(b >>> 16) & 255]! + "-" + hex[(b >>> 8) & 255]! + hex[b & 255]! + "-" +
    hex[c >>> 24]! + hex[(c >>> 16) & 255]! + "-" + hex[(c >>> 8) & 255]! + hex[c & 255]! +
    hex[d >>> 24]! + hex[(d >>> 16) & 255]! + hex[(d >>> 8) & 255]! + hex[d & 255]!
}

/** @internal */
export interface Ids {
  /** A random UUID v4. */
  readonly uuid: () => string
  /** Now, from the captured `Clock`, as an ISO-8601 string. */
  readonly now: () => string
}

/**
 * Builds the id and time sources from the `Random` and `Clock` in context.
 *
 * @internal
 */
export const make: Effect.Effect<Ids> = Effect.gen(function*() {
  const clock: Clock.Clock = yield* Effect.clock
  const seed = yield* Effect.all([Random.nextInt, Random.nextInt, Random.nextInt])
  // Effect's default Random is seeded from 32 bits: two processes out of some tens of thousands would
  // share a seed, and so a sequence of ids, which the collector deduplicates (lost events). Mixing in
  // the clock's nanoseconds keeps them apart, and stays reproducible under a seeded Random and a
  // TestClock.
  const nanos = clock.unsafeCurrentTimeNanos()
  const pcg = new PCGRandom(
    (seed[0]! ^ Number(nanos & 0xffffffffn)) >>> 0,
    (seed[1]! ^ Number((nanos >> 32n) & 0xffffffffn)) >>> 0,
    seed[2]! % 0x100000000
  )
  const word = () => (pcg.number() * 0x100000000) >>> 0
  let lastMillis = Number.NaN
  let lastIso = ""
  return {
    uuid: () => formatUuid(word(), word(), word(), word()),
    now: () => {
      const millis = clock.unsafeCurrentTimeMillis()
      if (millis !== lastMillis) {
        lastMillis = millis
        lastIso = new Date(millis).toISOString()
      }
      return lastIso
    }
  }
})
