/**
 * Redaction of secrets in text a server sent back (response bodies, `Location` headers, error
 * descriptions), before that text reaches an error, a log or a span.
 *
 * A server can echo a secret in many encodings: as is, JSON-escaped, URL-encoded, in hex, in base64
 * (alone, as the Basic credentials `key:`, or inside a longer base64 text at any byte offset),
 * upper-cased. `secretForms` lists those forms, and a `Redactor` replaces any of them,
 * case-insensitively, by `<redacted>`.
 *
 * @internal
 */
import { base64, base64Url, hex, utf8 } from "./base64.js"

/** What a secret is replaced by. @internal */
export const placeholder = "<redacted>"

// Derived forms shorter than this would match ordinary text (the hex of a two-letter key is four
// digits): they are left out. The plain form is always kept, however short.
const minDerivedLength = 6

// The base64 characters that depend only on `bytes` when they sit at byte offset `offset` (0, 1 or 2)
// of a longer encoded text: the characters that also cover a neighbour's bits are cut off.
const base64Core = (bytes: Uint8Array, offset: number, url: boolean): string => {
  const shifted = new Uint8Array(offset + bytes.length)
  shifted.set(bytes, offset)
  const encoded = url ? base64Url(shifted) : base64(shifted).replace(/=+$/, "")
  return encoded.slice(Math.ceil(offset * 8 / 6), Math.floor((offset + bytes.length) * 8 / 6))
}

const formUrlEncode = (text: string): string => new URLSearchParams({ x: text }).toString().slice(2)

/**
 * Every form in which `secret` may come back from a server. Longest first, without duplicates (case
 * ignored).
 *
 * @internal
 */
export const secretForms = (secret: string): ReadonlyArray<string> => {
  if (secret === "") return []
  const bytes = utf8(secret)
  const withColon = utf8(secret + ":")
  const derived = [
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    formUrlEncode(secret),
    hex(bytes),
    bytes.length === 0 ? "" : "%" + hex(bytes, "%"),
    base64(bytes),
    base64(withColon),
    base64Url(bytes),
    base64Url(withColon)
  ]
  for (const offset of [0, 1, 2]) {
    derived.push(base64Core(bytes, offset, false), base64Core(bytes, offset, true))
  }
  const seen = new Set<string>()
  const forms: Array<string> = []
  for (const form of [secret, ...derived.filter((f) => f.length >= minDerivedLength)]) {
    const key = form.toLowerCase()
    if (seen.has(key)) continue
    seen.add(key)
    forms.push(form)
  }
  return forms.sort((a, b) => b.length - a.length)
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")

/** Replaces every form of the given secrets in `text`. @internal */
export type Redact = (text: string) => string

/**
 * Builds a redaction function for a fixed set of secrets.
 *
 * @internal
 */
export const makeRedact = (secrets: Iterable<string>): Redact => {
  const forms = new Set<string>()
  for (const secret of secrets) for (const form of secretForms(secret)) forms.add(form)
  if (forms.size === 0) return (text) => text
  // Longest first, so that a form containing another is replaced whole.
  const sorted = [...forms].sort((a, b) => b.length - a.length)
  const pattern = new RegExp(sorted.map(escapeRegExp).join("|"), "gi")
  return (text) => text.replace(pattern, placeholder)
}

/**
 * A redactor with permanent secrets (the write key) and a few recent short-lived ones (OAuth access
 * tokens and assertions): only the latest `recent` of those are kept, which covers the token in use
 * and its predecessor.
 *
 * @internal
 */
export class Redactor {
  private readonly recentSecrets: Array<string> = []
  private current: Redact

  constructor(
    private readonly permanent: ReadonlyArray<string>,
    private readonly recent = 6
  ) {
    this.current = makeRedact(permanent)
  }

  /** Adds a short-lived secret. */
  add(secret: string): void {
    if (secret === "" || this.recentSecrets.includes(secret)) return
    this.recentSecrets.push(secret)
    if (this.recentSecrets.length > this.recent) this.recentSecrets.shift()
    this.current = makeRedact([...this.permanent, ...this.recentSecrets])
  }

  /** `text` with every form of every known secret replaced by `<redacted>`. */
  redact(text: string): string {
    return this.current(text)
  }
}
