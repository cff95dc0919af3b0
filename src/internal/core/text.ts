/**
 * Showing untrusted text (input lines, values from a request) on a terminal, and writing it into JSON
 * that a person may `cat`: control characters, terminal escape introducers, bidirectional overrides
 * and lone surrogates are escaped, and long text is cut.
 *
 * Plain TypeScript, no dependencies.
 *
 * @internal
 */

// C0 controls and DEL; C1 controls (U+0080-U+009F: U+009B is a CSI on some terminals); the line and
// paragraph separators; bidirectional marks, embeddings, overrides and isolates; zero-width
// characters and the BOM; lone surrogates.
const unsafe =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const hasUnsafe = new RegExp(unsafe.source)

const named: Readonly<Record<string, string>> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" }

const hex = (code: number, width: number) => code.toString(16).padStart(width, "0")

const escapeChar = (char: string): string => {
  const code = char.charCodeAt(0)
  return named[char] ?? (code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`)
}

/**
 * `text` made safe to print: every unsafe character becomes a visible escape (`\x1b`, `\u202e`),
 * and text longer than `maxChars` is cut, with the number of characters left out.
 *
 * @internal
 */
export const escapeForTerminal = (text: string, maxChars = 200): string => {
  const cut = text.length > maxChars ? text.slice(0, maxChars) : text
  const safe = cut.replace(unsafe, escapeChar)
  return cut === text ? safe : `${safe}… (${text.length - maxChars} more characters)`
}

/**
 * JSON text with the characters JSON allows raw inside strings but a terminal would act on (DEL, C1
 * controls, bidirectional overrides, separators) written as `\uXXXX` escapes: the same JSON value,
 * safe to `cat`. Outside strings valid JSON has none of them, so the value never changes.
 *
 * @internal
 */
export const terminalSafeJson = (json: string): string =>
  json.replace(unsafe, (char) => `\\u${hex(char.charCodeAt(0), 4)}`)

const plainWord = /^[A-Za-z0-9_\-+=.,/:@%]+$/

/**
 * One argument for a POSIX shell: as is when it is a plain word, in single quotes otherwise, and in
 * ANSI-C quotes (`$'...'`) when it holds control characters, so that the command can be copied and
 * pasted and shows nothing a terminal would act on.
 *
 * @internal
 */
export const shellQuote = (arg: string): string => {
  if (plainWord.test(arg)) return arg
  if (!hasUnsafe.test(arg)) return `'${arg.replace(/'/g, "'\\''")}'`
  return `$'${arg.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(unsafe, escapeChar)}'`
}
