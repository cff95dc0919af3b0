/**
 * UUID formatting. The random words come from the edition's own source of randomness (seeded from
 * Effect's `Random` in `ids.ts`); turning them into an id is the same everywhere.
 *
 * Plain TypeScript, shared by every edition of the library: imports nothing.
 *
 * @internal
 */

// The character codes of "0123456789abcdef".
const digits: ReadonlyArray<number> = Array.from("0123456789abcdef", (c) => c.charCodeAt(0))
const dash = 45

/** The hex digit of `word` at bit `shift`. */
const at = (word: number, shift: number): number => digits[(word >>> shift) & 15]!

/**
 * Formats four 32-bit words as a UUID v4 (version and variant bits set): 36 ASCII characters.
 *
 * @internal
 */
export const formatUuid = (a: number, b: number, c: number, d: number): string => {
  b = (b & 0xffff0fff) | 0x00004000 // version 4
  c = (c & 0x3fffffff) | 0x80000000 // variant 10
  // One flat string from its 36 codes: 4 times faster than concatenating 20 pieces, and no rope left
  // behind for the id's lifetime (queued, in outcomes).
  return String.fromCharCode(
    at(a, 28), at(a, 24), at(a, 20), at(a, 16), at(a, 12), at(a, 8), at(a, 4), at(a, 0), dash,
    at(b, 28), at(b, 24), at(b, 20), at(b, 16), dash,
    at(b, 12), at(b, 8), at(b, 4), at(b, 0), dash,
    at(c, 28), at(c, 24), at(c, 20), at(c, 16), dash,
    at(c, 12), at(c, 8), at(c, 4), at(c, 0),
    at(d, 28), at(d, 24), at(d, 20), at(d, 16), at(d, 12), at(d, 8), at(d, 4), at(d, 0)
  )
}
