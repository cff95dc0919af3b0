/**
 * The Segment batch request as plain functions, shared by every edition and every transport: the
 * body assembled around pre-serialized messages, its size without assembling it, the headers of an
 * attempt, and the server's answers that matter for delivery (`Retry-After`, `X-RateLimit-Reset`,
 * redirects).
 *
 * @internal
 */
import { base64, utf8 } from "./base64.js"

/** The length of `new Date(...).toISOString()` for years 0 to 9999. @internal */
export const sentAtLength = 24

const head = "{\"batch\":["
const middle = "],\"sentAt\":\""
const tail = "\",\"writeKey\":"

/** A message as the body needs it: its JSON and the UTF-8 size of that JSON. @internal */
export interface WireMessage {
  readonly json: string
  readonly bytes: number
}

/** @internal */
export interface Envelope {
  /** `writeKey` as a JSON string literal. */
  readonly writeKeyJson: string
  /** Bytes of the body around the messages (without the commas between them). */
  readonly bytes: number
}

/** @internal */
export const makeEnvelope = (writeKey: string): Envelope => {
  const writeKeyJson = JSON.stringify(writeKey)
  const bytes = utf8(head + middle + tail + writeKeyJson + "}").length + sentAtLength
  return { writeKeyJson, bytes }
}

/**
 * The UTF-8 size of the body that carries `messages`: the envelope, each message, and the commas.
 *
 * @internal
 */
export const bodyBytes = (envelope: Envelope, messages: ReadonlyArray<WireMessage>): number => {
  let bytes = envelope.bytes + (messages.length > 0 ? messages.length - 1 : 0)
  for (let i = 0; i < messages.length; i++) bytes += messages[i]!.bytes
  return bytes
}

/**
 * Assembles the body from the messages' pre-serialized JSON: nothing is serialized again. The same
 * messages give the same text on every attempt but for `sentAt`.
 *
 * @internal
 */
export const body = (envelope: Envelope, messages: ReadonlyArray<WireMessage>, sentAt: string): string => {
  let batch = ""
  for (let i = 0; i < messages.length; i++) {
    batch += i === 0 ? messages[i]!.json : "," + messages[i]!.json
  }
  return head + batch + middle + sentAt + tail + envelope.writeKeyJson + "}"
}

/** The `Authorization` value of Basic auth with the write key: `Basic base64(writeKey + ":")`. @internal */
export const basicAuthorization = (writeKey: string): string => `Basic ${base64(utf8(writeKey + ":"))}`

/** The `Authorization` value for an OAuth access token. @internal */
export const bearerAuthorization = (accessToken: string): string => `Bearer ${accessToken}`

/**
 * The headers of one attempt. `X-Retry-Count` is set from the first retry on.
 *
 * @internal
 */
export const headers = (options: {
  readonly authorization: string
  readonly attempt: number
  readonly gzip: boolean
  readonly userAgent: string
}): Record<string, string> => {
  const out: Record<string, string> = {
    "content-type": "application/json",
    "authorization": options.authorization,
    "user-agent": options.userAgent
  }
  if (options.gzip) out["content-encoding"] = "gzip"
  if (options.attempt > 0) out["x-retry-count"] = String(options.attempt)
  return out
}

const seconds = /^\d+(\.\d+)?$/

/**
 * Parses a `Retry-After` header: a number of seconds or an HTTP date. Returns milliseconds from
 * `nowMillis`, never negative (a negative number or a past date gives 0), or `undefined` when the
 * header is absent or unreadable.
 *
 * @internal
 */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (trimmed === "") return undefined
  if (seconds.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  // A negative delay asks for no wait at all.
  if (/^-\d+(\.\d+)?$/.test(trimmed)) return 0
  // An HTTP date names its day and month; without letters, `Date.parse` would guess (`"1"` is 2001).
  if (!/[a-z]/i.test(trimmed)) return undefined
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - nowMillis)
}

// Above these, a number cannot be a delay: it is a Unix time, in seconds or in milliseconds.
const epochSeconds = 1_000_000_000
const epochMillis = 1_000_000_000_000

/**
 * Parses an `X-RateLimit-Reset` header. Services disagree on its unit, so each is read by its size: a
 * number of seconds to wait (`"30"`), a Unix time in seconds (`"1717000000"`) or in milliseconds
 * (`"1717000000000"`), or an HTTP date (Segment's Public API). Returns milliseconds from `nowMillis`,
 * never negative, or `undefined` when absent or unreadable.
 *
 * @internal
 */
export const parseRateLimitReset = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (trimmed === "") return undefined
  if (seconds.test(trimmed)) {
    const n = Number(trimmed)
    if (n >= epochMillis) return Math.max(0, Math.round(n - nowMillis))
    if (n >= epochSeconds) return Math.max(0, Math.round(n * 1000 - nowMillis))
    return Math.round(n * 1000)
  }
  return parseRetryAfter(trimmed, nowMillis)
}

/**
 * How long the server asks us to wait, in milliseconds: `Retry-After` or `X-RateLimit-Reset`,
 * whichever the response gives; the longer of the two when it gives both.
 *
 * @internal
 */
export const retryAfterMillis = (
  header: (name: string) => string | undefined,
  nowMillis: number
): number | undefined => {
  const retryAfter = parseRetryAfter(header("retry-after"), nowMillis)
  const reset = parseRateLimitReset(header("x-ratelimit-reset"), nowMillis)
  if (retryAfter === undefined) return reset
  if (reset === undefined) return retryAfter
  return Math.max(retryAfter, reset)
}

/** A 3xx status: the collector redirects, which the transport never follows. @internal */
export const isRedirect = (status: number): boolean => status >= 300 && status < 400

/** A 2xx status: the only success. @internal */
export const isSuccess = (status: number): boolean => status >= 200 && status < 300
