/**
 * The pieces of Segment's OAuth client assertion that need no crypto: reading a PEM private key into
 * the PKCS#8 DER that Web Crypto imports, the claims, and the JWT's compact form. Signing itself is
 * Web Crypto's (RS256, `RSASSA-PKCS1-v1_5` with SHA-256), done by the caller.
 *
 * @internal
 */
import { base64Url, decodeBase64, utf8 } from "./base64.js"

/** The private key, ready for `crypto.subtle.importKey("pkcs8", ...)`, or why it cannot be. @internal */
export type ParsedKey =
  | { readonly _tag: "Pkcs8"; readonly der: Uint8Array }
  | { readonly _tag: "Invalid"; readonly reason: string }

const armor = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/

// DER length octets.
const derLength = (length: number): Array<number> => {
  if (length < 0x80) return [length]
  const bytes: Array<number> = []
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 255)
  return [0x80 | bytes.length, ...bytes]
}

const derSequence = (...parts: ReadonlyArray<ArrayLike<number>>): Uint8Array => {
  const length = parts.reduce((n, part) => n + part.length, 0)
  const header = [0x30, ...derLength(length)]
  const out = new Uint8Array(header.length + length)
  out.set(header, 0)
  let offset = header.length
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

// version 0, AlgorithmIdentifier { rsaEncryption, NULL }
const pkcs8Version = [0x02, 0x01, 0x00]
const rsaAlgorithm = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]

/**
 * Wraps a PKCS#1 `RSAPrivateKey` (the `BEGIN RSA PRIVATE KEY` of older OpenSSL and LibreSSL) into the
 * PKCS#8 `PrivateKeyInfo` that Web Crypto imports.
 *
 * @internal
 */
export const pkcs1ToPkcs8 = (pkcs1: Uint8Array): Uint8Array => {
  const octets = [0x04, ...derLength(pkcs1.length)]
  const octetString = new Uint8Array(octets.length + pkcs1.length)
  octetString.set(octets, 0)
  octetString.set(pkcs1, octets.length)
  return derSequence(pkcs8Version, rsaAlgorithm, octetString)
}

/**
 * Reads a PEM private key. Accepts `BEGIN PRIVATE KEY` (PKCS#8, what `openssl genpkey` and OpenSSL 3
 * write) and `BEGIN RSA PRIVATE KEY` (PKCS#1), with real newlines or the `\n` escapes a key gets in an
 * environment variable. The reasons never quote the key.
 *
 * @internal
 */
export const parsePrivateKeyPem = (pem: string): ParsedKey => {
  const text = pem.replace(/\\r\\n|\\n/g, "\n")
  const match = armor.exec(text)
  if (match === null) {
    return { _tag: "Invalid", reason: "not a PEM private key (expected -----BEGIN PRIVATE KEY-----)" }
  }
  const label = match[1]!
  if (label === "ENCRYPTED PRIVATE KEY") {
    return {
      _tag: "Invalid",
      reason: "the private key is encrypted: decrypt it (openssl pkcs8 -topk8 -nocrypt) and keep it as a secret"
    }
  }
  if (label !== "PRIVATE KEY" && label !== "RSA PRIVATE KEY") {
    return { _tag: "Invalid", reason: `a PEM "${label}" is not an RSA private key` }
  }
  if (/^\s*[A-Za-z-]+:/m.test(match[2]!)) {
    return { _tag: "Invalid", reason: "the PEM has headers (an encrypted legacy key?): export it as PKCS#8" }
  }
  const der = decodeBase64(match[2]!)
  if (der === undefined || der.length === 0) return { _tag: "Invalid", reason: "the PEM's base64 is malformed" }
  return { _tag: "Pkcs8", der: label === "RSA PRIVATE KEY" ? pkcs1ToPkcs8(der) : der }
}

/** The claims of a client assertion. @internal */
export interface AssertionClaims {
  readonly iss: string
  readonly sub: string
  readonly aud: string
  readonly iat: number
  readonly exp: number
  readonly jti: string
}

// The assertion is dated a little in the past, for token servers whose clock is behind ours, and
// expires well under the 60 seconds Segment allows.
const issuedAtSkewSeconds = 5
const lifetimeSeconds = 55

/**
 * The claims Segment's token server expects: the OAuth app's id as issuer and subject, the token
 * server as audience, a unique `jti`, and an expiry under 60 seconds after `iat`.
 *
 * @internal
 */
export const assertionClaims = (options: {
  readonly clientId: string
  readonly audience: string
  readonly nowMillis: number
  readonly jti: string
}): AssertionClaims => {
  const now = Math.floor(options.nowMillis / 1000)
  const iat = now - issuedAtSkewSeconds
  return {
    iss: options.clientId,
    sub: options.clientId,
    aud: options.audience,
    iat,
    exp: iat + lifetimeSeconds,
    jti: options.jti
  }
}

const encodeJson = (value: unknown): string => base64Url(utf8(JSON.stringify(value)))

/** `base64url(header).base64url(claims)`, the bytes RS256 signs. @internal */
export const signingInput = (keyId: string, claims: AssertionClaims): string =>
  encodeJson({ alg: "RS256", typ: "JWT", kid: keyId }) + "." + encodeJson(claims)

/** The compact JWT. @internal */
export const compact = (input: string, signature: Uint8Array): string => input + "." + base64Url(signature)

/** The token request's form body (`application/x-www-form-urlencoded`). @internal */
export const tokenRequestBody = (assertion: string, scope: string): string =>
  new URLSearchParams({
    grant_type: "client_credentials",
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: assertion,
    scope
  }).toString()

/** A token server's answer, once checked. @internal */
export type TokenAnswer =
  | { readonly _tag: "Token"; readonly accessToken: string; readonly expiresInSeconds: number }
  | { readonly _tag: "Invalid"; readonly reason: string }

/**
 * Reads a token server's 2xx body: `{"access_token": "...", "expires_in": seconds, ...}`.
 *
 * @internal
 */
export const parseTokenAnswer = (text: string): TokenAnswer => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { _tag: "Invalid", reason: "the token server's answer is not JSON" }
  }
  if (typeof value !== "object" || value === null) {
    return { _tag: "Invalid", reason: "the token server's answer is not a JSON object" }
  }
  const { access_token, expires_in } = value as { access_token?: unknown; expires_in?: unknown }
  if (typeof access_token !== "string" || access_token === "") {
    return { _tag: "Invalid", reason: "the token server's answer has no access_token" }
  }
  if (typeof expires_in !== "number" || !Number.isFinite(expires_in) || expires_in <= 0) {
    return { _tag: "Invalid", reason: "the token server's answer has no positive expires_in" }
  }
  return { _tag: "Token", accessToken: access_token, expiresInSeconds: expires_in }
}

/**
 * When a token fetched at `fetchedAt` (the moment its request was sent) is refreshed, and until when it
 * may still be used if refreshing fails: refreshed at half its lifetime, used until shortly before it
 * expires (30 seconds, or a quarter of its lifetime for short-lived tokens).
 *
 * @internal
 */
export const tokenSchedule = (fetchedAt: number, expiresInSeconds: number): {
  readonly refreshAt: number
  readonly usableUntil: number
} => {
  const lifetime = expiresInSeconds * 1000
  return {
    refreshAt: fetchedAt + lifetime / 2,
    usableUntil: fetchedAt + lifetime - Math.min(30_000, lifetime / 4)
  }
}
