/**
 * UUID formatting. The random words come from the edition's own source of randomness (seeded from
 * Effect's `Random` in `ids.ts`); turning them into an id is the same everywhere.
 *
 * Plain TypeScript, shared by every edition of the library: imports nothing.
 *
 * @internal
 */

const hex: Array<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/**
 * Formats four 32-bit words as a UUID v4 (version and variant bits set): 36 ASCII characters.
 *
 * @internal
 */
export const formatUuid = (a: number, b: number, c: number, d: number): string => {
  b = (b & 0xffff0fff) | 0x00004000 // version 4
  c = (c & 0x3fffffff) | 0x80000000 // variant 10
  return hex[a >>> 24]! + hex[(a >>> 16) & 255]! + hex[(a >>> 8) & 255]! + hex[a & 255]! + "-" +
    hex[b >>> 24]! + hex[(b >>> 16) & 255]! + "-" + hex[(b >>> 8) & 255]! + hex[b & 255]! + "-" +
    hex[c >>> 24]! + hex[(c >>> 16) & 255]! + "-" + hex[(c >>> 8) & 255]! + hex[c & 255]! +
    hex[d >>> 24]! + hex[(d >>> 16) & 255]! + hex[(d >>> 8) & 255]! + hex[d & 255]!
}
