/**
 * UTF-8 sizing of JavaScript strings, without encoding them.
 *
 * Plain TypeScript, shared by every edition of the library: imports nothing.
 *
 * @internal
 */

/**
 * The UTF-8 size of a string: 1 byte per unit below U+0080, 2 below U+0800, 4 per surrogate pair
 * and 3 for the rest (a lone surrogate counts 3, as `TextEncoder` would write U+FFFD).
 *
 * @internal
 */
export const utf8Length = (s: string): number => {
  let bytes = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) bytes += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        // a surrogate pair: 4 bytes for 2 UTF-16 units
        bytes += 2
        i++
      } else bytes += 2
    } else bytes += 2
  }
  return bytes
}
