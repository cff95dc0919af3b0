/**
 * The Effect side of the wire envelope: the write key arrives as a `Redacted` and the
 * `Authorization` value stays one. The logic itself is in `core/wire.ts`, shared by every edition, so
 * that what the memory transport records is byte for byte what the HTTP transport sends.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"
import * as Core from "./core/wire.js"
import * as Version from "./version.js"

export {
  body,
  bodyBytes,
  type Envelope,
  isRedirect,
  isSuccess,
  parseRateLimitReset,
  parseRetryAfter,
  retryAfterMillis,
  sentAtLength
} from "./core/wire.js"

/** @internal */
export const makeEnvelope = (writeKey: Redacted.Redacted<string>): Core.Envelope =>
  Core.makeEnvelope(Redacted.value(writeKey))

/** @internal */
export const userAgent = `${Version.name}/${Version.version}`

/** Basic auth with the write key. @internal */
export const authorization = (writeKey: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(Core.basicAuthorization(Redacted.value(writeKey)))

/**
 * The headers of one attempt. `X-Retry-Count` is set from the first retry on.
 *
 * @internal
 */
export const headers = (
  authorizationValue: Redacted.Redacted<string>,
  attempt: number,
  gzip: boolean
): Record<string, string> =>
  Core.headers({ authorization: Redacted.value(authorizationValue), attempt, gzip, userAgent })
