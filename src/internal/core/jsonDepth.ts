/**
 * How deeply a JSON text nests, measured on its bytes before it is parsed, without recursion: a
 * hostile body nested a hundred thousand levels deep is refused in one pass, and never reaches code
 * that walks values recursively (`JSON.stringify` overflows the stack on it).
 *
 * Plain TypeScript, no dependencies.
 *
 * @internal
 */

const QUOTE = 34
const BACKSLASH = 92
const OPEN_ARRAY = 91
const CLOSE_ARRAY = 93
const OPEN_OBJECT = 123
const CLOSE_OBJECT = 125

/**
 * The deepest nesting of arrays and objects in the UTF-8 JSON `bytes` (`{}` is 1, `{"a":[1]}` is 2),
 * or -1 as soon as it passes `max`. Brackets inside strings do not count. The text need not be valid
 * JSON: this only bounds what a parser would build.
 *
 * @internal
 */
export const jsonDepth = (bytes: Uint8Array, max: number): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    if (inString) {
      if (b === BACKSLASH) i++
      else if (b === QUOTE) inString = false
      continue
    }
    if (b === QUOTE) inString = true
    else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > deepest) {
        deepest = depth
        if (deepest > max) return -1
      }
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) depth--
  }
  return deepest
}
