/**
 * Deterministic message ids for imported lines: a UUID version 5 (RFC 9562, name-based, SHA-1) of a
 * namespace and a name made of the line's position and its bytes. Importing the same file again gives
 * every line the id it had the first time, so the Segment API's deduplication on `messageId` makes a
 * re-run after a crash harmless.
 *
 * The SHA-1 itself is passed in (`Sha1`): the command line runs on Node and hands in `node:crypto`'s
 * native, synchronous hash. Plain TypeScript, no dependencies.
 *
 * @internal
 */

/**
 * SHA-1 of the concatenation of `parts` (strings as UTF-8); the 20-byte digest.
 *
 * @internal
 */
export type Sha1 = (parts: ReadonlyArray<Uint8Array | string>) => Uint8Array

/**
 * The namespace used unless the user gives one: a fixed UUID, so that two runs on the same file agree.
 *
 * @internal
 */
export const defaultNamespace = "6f1c3e0a-5d2b-4c8e-9a47-3b6d2f8e1c90"

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The 16 bytes of a UUID written in its usual form, or `undefined`. @internal */
export const parseUuid = (text: string): Uint8Array | undefined => {
  if (!uuidPattern.test(text)) return undefined
  const hexDigits = text.replace(/-/g, "")
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(hexDigits.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

const hexDigit = Array.from("0123456789abcdef", (c) => c.charCodeAt(0))
const dash = 45
const codes: Array<number> = Array.from({ length: 36 }, () => dash)

/**
 * A UUID version 5 from a SHA-1 digest: its first 16 bytes, with the version and variant bits set.
 *
 * Built from character codes in one step: a string made by concatenation is a rope, which V8
 * flattens (copies) the first time it is hashed, as the ids are in the importer's and the client's
 * maps.
 *
 * @internal
 */
export const formatUuidV5 = (digest: Uint8Array): string => {
  let at = 0
  for (let i = 0; i < 16; i++) {
    let byte = digest[i]!
    if (i === 6) byte = (byte & 0x0f) | 0x50
    else if (i === 8) byte = (byte & 0x3f) | 0x80
    codes[at++] = hexDigit[byte >> 4]!
    codes[at++] = hexDigit[byte & 15]!
    if (i === 3 || i === 5 || i === 7 || i === 9) at++
  }
  return String.fromCharCode.apply(null, codes)
}

/**
 * A UUID version 5 of `name` in `namespace` (16 bytes).
 *
 * @internal
 */
export const uuidV5 = (sha1: Sha1, namespace: Uint8Array, name: Uint8Array | string): string =>
  formatUuidV5(sha1([namespace, name]))

/**
 * The namespace bytes for what the user gave: a UUID is taken as it is; any other text names a
 * namespace of its own (its UUID v5 in the default namespace), so `--id-namespace orders-2024` works.
 *
 * @internal
 */
export const namespaceOf = (sha1: Sha1, text: string): Uint8Array =>
  parseUuid(text) ?? parseUuid(uuidV5(sha1, parseUuid(defaultNamespace)!, text))!

/**
 * The id of the line numbered `line` whose content (without the line break) is `content`, its bytes or
 * its text as UTF-8 (the same bytes, less a byte order mark): the UUID v5 of the name
 * `"<line>:" + content` in `namespace`. The same line at another position gets another id (two
 * identical events on two lines are two events), and a line whose text changed gets a new one.
 *
 * @internal
 */
export const lineMessageId = (
  sha1: Sha1,
  namespace: Uint8Array,
  line: number,
  content: Uint8Array | string
): string =>
  formatUuidV5(sha1([namespace, `${line}:`, content]))
