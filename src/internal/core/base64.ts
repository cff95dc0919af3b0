/**
 * Byte encodings (UTF-8, base64, base64url, hex) as plain functions over standard JavaScript, for the
 * wire envelope, the JWT assertion and the forms of a secret that redaction looks for.
 *
 * @internal
 */

const utf8Encoder = new TextEncoder()

/** The UTF-8 bytes of `text`. @internal */
export const utf8 = (text: string): Uint8Array => utf8Encoder.encode(text)

const standardAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
const urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

const encode = (bytes: Uint8Array, alphabet: string, pad: boolean): string => {
  let out = ""
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + alphabet[(n >>> 6) & 63]! + alphabet[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + (pad ? "==" : "")
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + alphabet[(n >>> 6) & 63]! + (pad ? "=" : "")
  }
  return out
}

/** Standard base64, padded (RFC 4648 section 4). @internal */
export const base64 = (bytes: Uint8Array): string => encode(bytes, standardAlphabet, true)

/** URL-safe base64 without padding (RFC 4648 section 5), as JWTs use it. @internal */
export const base64Url = (bytes: Uint8Array): string => encode(bytes, urlAlphabet, false)

const decodeTable: ReadonlyMap<string, number> = new Map(
  [...standardAlphabet].map((c, i) => [c, i] as const).concat([["-", 62], ["_", 63]])
)

/**
 * Decodes standard or URL-safe base64, ignoring whitespace and padding. Returns `undefined` for any
 * other character or an impossible length.
 *
 * @internal
 */
export const decodeBase64 = (text: string): Uint8Array | undefined => {
  const clean = text.replace(/[\s=]+/g, "")
  if (clean.length % 4 === 1) return undefined
  const out = new Uint8Array(Math.floor(clean.length * 3 / 4))
  let bits = 0
  let value = 0
  let j = 0
  for (const c of clean) {
    const d = decodeTable.get(c)
    if (d === undefined) return undefined
    value = (value << 6) | d
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[j++] = (value >>> bits) & 255
    }
  }
  return out
}

const hexDigits: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** Lower-case hexadecimal, two digits a byte. @internal */
export const hex = (bytes: Uint8Array, separator = ""): string => {
  let out = ""
  for (let i = 0; i < bytes.length; i++) out += (i === 0 ? "" : separator) + hexDigits[bytes[i]!]!
  return out
}
