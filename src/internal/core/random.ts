/**
 * A small, fast pseudo-random generator for message ids: xoshiro128** (Blackman and Vigna), 128 bits
 * of state, 32-bit outputs. Not for secrets; ids only need to be unlikely to collide, and the state is
 * seeded from the edition's own `Random` (so a seeded `Random` in a test gives reproducible ids).
 *
 * Plain TypeScript, shared by every edition of the library: imports nothing.
 *
 * @internal
 */

/** splitmix32: spreads a seed word over 32 bits, so that similar seeds give unrelated states. */
const mix = (x: number): number => {
  x = (x + 0x9e3779b9) | 0
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/**
 * A generator of 32-bit words (unsigned) from four seed words.
 *
 * @internal
 */
export const makeWords = (seed0: number, seed1: number, seed2: number, seed3: number): () => number => {
  let a = mix(seed0)
  let b = mix(seed1 ^ a)
  let c = mix(seed2 ^ b)
  let d = mix(seed3 ^ c)
  if ((a | b | c | d) === 0) a = 1 // the one state the generator cannot leave
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    return result
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))
