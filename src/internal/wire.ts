/**
 * The request body and headers of the Segment batch API, shared by every transport so that what the
 * memory transport records is byte for byte what the HTTP transport sends.
 *
 * @internal
 */
import * as Encoding from "effect/Encoding"
import type * as Redacted from "effect/Redacted"
import * as RedactedValue from "effect/Redacted"
import type { EncodedMessage } from "../Message.js"
import * as Version from "./version.js"

/** The length of `new Date(...).toISOString()` for years 0 to 9999. @internal */
export const sentAtLength = 24

const head = "{\"batch\":["
const middle = "],\"sentAt\":\""
const tail = "\",\"writeKey\":"

/** @internal */
export interface Envelope {
  /** `writeKey` as a JSON string literal. */
  readonly writeKeyJson: string
  /** Bytes of the body around the messages (without the commas between them). */
  readonly bytes: number
}

const utf8 = new TextEncoder()

/** @internal */
export const makeEnvelope = (writeKey: Redacted.Redacted<string>): Envelope => {
  const writeKeyJson = JSON.stringify(RedactedValue.value(writeKey))
  const bytes = utf8.encode(head + middle + tail + writeKeyJson + "}").length + sentAtLength
  return { writeKeyJson, bytes }
}

/**
 * The UTF-8 size of the body that carries `messages`: the envelope, each message, and the commas.
 *
 * @internal
 */
export const bodyBytes = (envelope: Envelope, messages: ReadonlyArray<EncodedMessage>): number => {
  let bytes = envelope.bytes + (messages.length > 0 ? messages.length - 1 : 0)
  for (let i = 0; i < messages.length; i++) bytes += messages[i]!.bytes
  return bytes
}

/**
 * Assembles the body from the messages' pre-serialized JSON: nothing is serialized again.
 *
 * @internal
 */
export const body = (envelope: Envelope, messages: ReadonlyArray<EncodedMessage>, sentAt: string): string => {
  let batch = ""
  for (let i = 0; i < messages.length; i++) {
    batch += i === 0 ? messages[i]!.json : "," + messages[i]!.json
  }
  return head + batch + middle + sentAt + tail + envelope.writeKeyJson + "}"
}

/** @internal */
export const userAgent = `${Version.name}/${Version.version}`

/** @internal */
export const authorization = (writeKey: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  RedactedValue.make(`Basic ${Encoding.encodeBase64(RedactedValue.value(writeKey) + ":")}`)

/**
 * The headers of one attempt. `X-Retry-Count` is set from the first retry on.
 *
 * @internal
 */
export const headers = (
  authorizationValue: Redacted.Redacted<string>,
  attempt: number,
  gzip: boolean
): Record<string, string> => {
  const out: Record<string, string> = {
    "content-type": "application/json",
    "authorization": RedactedValue.value(authorizationValue),
    "user-agent": userAgent
  }
  if (gzip) out["content-encoding"] = "gzip"
  if (attempt > 0) out["x-retry-count"] = String(attempt)
  return out
}

// An HTTP date (RFC 9110, section 5.6.7): the IMF-fixdate form, and the obsolete RFC 850 and asctime
// forms. Anything else (`-1`, `soon`) is not a date, whatever `Date.parse` would make of it.
const httpDate =
  /^(?:[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/

/**
 * Parses a `Retry-After` header: a number of seconds or an HTTP date. Returns milliseconds from
 * `nowMillis`, never negative, or `undefined` when the header is absent or unreadable (a negative
 * number, arbitrary text).
 *
 * @internal
 */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (trimmed === "") return undefined
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  if (!httpDate.test(trimmed)) return undefined
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - nowMillis)
}
