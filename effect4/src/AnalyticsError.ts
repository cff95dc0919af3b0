/**
 * The typed errors of analytics-effect.
 *
 * Every error a caller can act on is a `Schema.TaggedError` carrying the data needed to act on it: the
 * field path of an invalid value, the size and limit of an oversize message, the status code and
 * `Retry-After` of a rejected request. Match on `_tag` with `Effect.catchTag` / `Effect.catchTags`.
 *
 * @since 1.0.0
 */
import * as Schema from "effect/Schema"

/**
 * A path into a message, from its top level: `["properties", "items", 2, "price"]`.
 *
 * @since 1.0.0
 * @category models
 */
export const FieldPath = Schema.Array(Schema.Union([Schema.String, Schema.Number]))

/**
 * @since 1.0.0
 * @category models
 */
export type FieldPath = typeof FieldPath.Type

/**
 * Renders a field path the way a person reads it: `properties.items[2].price`.
 *
 * @since 1.0.0
 * @category utils
 */
export const formatPath = (path: FieldPath): string => {
  let out = ""
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === "" ? segment : `.${segment}`
    else out += `[${JSON.stringify(segment)}]`
  }
  return out === "" ? "(message)" : out
}

/**
 * A call's message breaks the rules of the Segment spec (a missing identity, an empty event name, a
 * wrong type) or holds a value JSON cannot carry faithfully (a function, a symbol, a bigint, a cycle,
 * `NaN` or `Infinity`, `undefined` inside an array).
 *
 * Raised in the error channel of the call itself, before anything is queued. Fix the value at `path`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Analytics } from "analytics-effect"
 *
 * const program = Analytics.track({ userId: "u1", event: "" }).pipe(
 *   Effect.catchTag("InvalidMessage", (error) => Effect.logWarning(`dropped: ${error.message}`))
 * )
 * ```
 *
 * @since 1.0.0
 * @category errors
 */
export class InvalidMessage extends Schema.TaggedError<InvalidMessage>("analytics-effect/InvalidMessage")(
  "InvalidMessage",
  {
    /** The call type: `track`, `identify`, ... */
    messageType: Schema.String,
    /** Where the offending value is, from the message's top level. */
    path: FieldPath,
    /** What is wrong with it. */
    reason: Schema.String
  }
) {
  /** The tag, as in the Effect 3 edition (Effect 4 would use the identifier). */
  override readonly name = "InvalidMessage"

  /** The offending field's path as text, such as `properties.items[2].price`. */
  get field(): string {
    return formatPath(this.path)
  }

  override get message(): string {
    return `Invalid ${this.messageType} message at ${this.field}: ${this.reason}`
  }
}

/**
 * A message whose JSON encoding is larger than the per-message limit (`maxMessageBytes`, 32,000 bytes
 * of UTF-8 by default, as the Segment API enforces). The message is not queued. Trim its `properties`,
 * `traits` or `context`.
 *
 * @since 1.0.0
 * @category errors
 */
export class MessageTooLarge extends Schema.TaggedError<MessageTooLarge>("analytics-effect/MessageTooLarge")(
  "MessageTooLarge",
  {
    messageType: Schema.String,
    messageId: Schema.String,
    /** The UTF-8 size of the message's JSON, in bytes (a lower bound when `exact` is false). */
    size: Schema.Number,
    /** The configured limit, in bytes. */
    limit: Schema.Number,
    /**
     * `false` when the message was so large that the library stopped serializing it at twice the
     * limit: `size` is then the bytes counted until it stopped, and the message is larger still.
     */
    exact: Schema.optional(Schema.Boolean)
  }
) {
  /** The tag, as in the Effect 3 edition (Effect 4 would use the identifier). */
  override readonly name = "MessageTooLarge"

  override get message(): string {
    return `The ${this.messageType} message ${this.messageId} is ${this.exact === false ? "more than " : ""}${this.size} bytes of JSON, over the limit of ${this.limit} bytes: send fewer or smaller properties, traits or context`
  }
}

/**
 * The collector answered with a status other than 2xx.
 *
 * A 3xx is one of them: redirects are never followed (following one would send the write key to
 * another host), so a collector that moved answers with its status and its `Location`. Text the
 * server sent (`body`, `location`) has every form of the write key and of OAuth tokens replaced by
 * `<redacted>`.
 *
 * @since 1.0.0
 * @category errors
 */
export class StatusReason extends Schema.TaggedClass<StatusReason>("analytics-effect/StatusReason")("Status", {
  status: Schema.Number,
  /**
   * How long the collector asked us to wait, in milliseconds from its answer: its `Retry-After` or
   * `X-RateLimit-Reset`, whichever it sent (the longer of the two if both).
   */
  retryAfterMillis: Schema.optional(Schema.Number),
  /** The first characters (at most 512) of the response body, for diagnosis. */
  body: Schema.optional(Schema.String),
  /**
   * The `Location` of a 3xx answer (at most 512 characters): where the collector says it moved. Not
   * followed: reconfigure `host` (or `region`) if it is right.
   *
   * @since 1.0.0
   */
  location: Schema.optional(Schema.String)
}) {}

/**
 * The request could not be made or its response could not be read: connection refused or reset, DNS,
 * TLS.
 *
 * @since 1.0.0
 * @category errors
 */
export class NetworkReason extends Schema.TaggedClass<NetworkReason>("analytics-effect/NetworkReason")("Network", {
  description: Schema.String
}) {}

/**
 * No response arrived within the per-request timeout. The collector may still have taken the batch:
 * a retry sends the same `messageId`s, which the Segment API deduplicates.
 *
 * @since 1.0.0
 * @category errors
 */
export class TimeoutReason extends Schema.TaggedClass<TimeoutReason>("analytics-effect/TimeoutReason")("Timeout", {
  timeoutMillis: Schema.Number
}) {}

/**
 * The request body could not be prepared (compression failed).
 *
 * @since 1.0.0
 * @category errors
 */
export class EncodeReason extends Schema.TaggedClass<EncodeReason>("analytics-effect/EncodeReason")("Encode", {
  description: Schema.String
}) {}

/**
 * The OAuth access token could not be obtained from the token server (`oauth` option): the server
 * refused the assertion (`status` 400 or 401: a wrong client id, key id or key, a revoked key, a scope
 * the app lacks), answered something else than a token, or could not be reached (no `status`).
 * `description` says which, with the start of the server's answer, redacted.
 *
 * @since 1.0.0
 * @category errors
 */
export class OAuthReason extends Schema.TaggedClass<OAuthReason>("analytics-effect/OAuthReason")("OAuth", {
  /** The token server's status, when it answered. */
  status: Schema.optional(Schema.Number),
  /** The token server's `Retry-After` or `X-RateLimit-Reset`, in milliseconds, when it sent one. */
  retryAfterMillis: Schema.optional(Schema.Number),
  description: Schema.String
}) {}

/**
 * Why one delivery attempt failed.
 *
 * @since 1.0.0
 * @category models
 */
export const TransportFailureReason = Schema.Union([StatusReason, NetworkReason, TimeoutReason, EncodeReason, OAuthReason])

/**
 * @since 1.0.0
 * @category models
 */
export type TransportFailureReason = typeof TransportFailureReason.Type

/**
 * One delivery attempt of a batch failed. The `reason` says how: a non-2xx `Status` (with the code, any
 * `Retry-After` and, for a redirect, its `Location`), a `Network` error, a `Timeout`, an `Encode`
 * failure, or an `OAuth` failure to obtain an access token.
 *
 * You meet it inside a `Failed` outcome once retries are exhausted, and in the error channel of
 * `Transport.send` if you call a transport yourself.
 *
 * @since 1.0.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>("analytics-effect/TransportError")(
  "TransportError",
  {
    reason: TransportFailureReason,
    /** How many messages the failed request carried. */
    messages: Schema.Number,
    /** The attempt number: 0 for the first try, n for the n-th retry. */
    attempt: Schema.Number
  }
) {
  /** The tag, as in the Effect 3 edition (Effect 4 would use the identifier). */
  override readonly name = "TransportError"

  override get message(): string {
    const what = describeReason(this.reason)
    return `Delivery of a batch of ${this.messages} messages failed (attempt ${this.attempt}): ${what}`
  }
}

/**
 * A one-line description of a transport failure reason.
 *
 * @since 1.0.0
 * @category utils
 */
export const describeReason = (reason: TransportFailureReason): string => {
  switch (reason._tag) {
    case "Status":
      return `HTTP ${reason.status}${
        reason.location === undefined ? "" : ` redirecting to ${reason.location} (not followed)`
      }${reason.retryAfterMillis === undefined ? "" : ` (retry after ${reason.retryAfterMillis} ms)`}${
        reason.body ? `: ${reason.body}` : ""
      }`
    case "Network":
      return `network error: ${reason.description}`
    case "Timeout":
      return `no response within ${reason.timeoutMillis} ms`
    case "Encode":
      return `could not encode the request: ${reason.description}`
    case "OAuth":
      return `no OAuth access token${reason.status === undefined ? "" : ` (token server HTTP ${reason.status})`}: ${reason.description}`
  }
}

/**
 * The client has been shut down (its layer's scope closed): it accepts no more messages. Everything it
 * accepted before closing was flushed.
 *
 * @since 1.0.0
 * @category errors
 */
export class ClientClosed extends Schema.TaggedError<ClientClosed>("analytics-effect/ClientClosed")(
  "ClientClosed",
  {
    messageType: Schema.String
  }
) {
  /** The tag, as in the Effect 3 edition (Effect 4 would use the identifier). */
  override readonly name = "ClientClosed"

  override get message(): string {
    return `The analytics client is closed: the ${this.messageType} call was not accepted. Make calls inside the scope of the Analytics layer.`
  }
}

/**
 * An option given to the client (`Analytics.layer`, `Analytics.make`, `PromiseClient.createClient`) is
 * out of range or malformed: `flushAt: 0`, a `flushInterval` of zero, a `host` that is not an http(s)
 * URL, an empty write key, a `defaultContext` JSON cannot carry. The layer fails to build with it (the
 * Promise client throws it), before anything is sent. `layerConfig` reports the same problems as a
 * `ConfigError` naming the variable.
 *
 * The value itself is not repeated (it may be a secret): `option` names it and `reason` says what is
 * wrong with it.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { Analytics } from "analytics-effect"
 *
 * const program = Effect.void.pipe(
 *   Effect.provide(Analytics.layer({ writeKey: "key", flushAt: 0 }).pipe(Layer.provide(FetchHttpClient.layer))),
 *   Effect.catchTag("InvalidOptions", (error) => Effect.logError(error.message)) // "flushAt: must be ..."
 * )
 * ```
 *
 * @since 1.0.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>("analytics-effect/InvalidOptions")(
  "InvalidOptions",
  {
    /** The option, as named in `Analytics.Options`: `flushAt`, `host`, `defaultContext`, ... */
    option: Schema.String,
    /** Where inside the option's value the problem is, for `defaultContext` and `defaultIntegrations`. */
    path: FieldPath,
    /** What is wrong with the value. */
    reason: Schema.String
  }
) {
  /** The tag, as in the Effect 3 edition (Effect 4 would use the identifier). */
  override readonly name = "InvalidOptions"

  override get message(): string {
    const where = this.path.length === 0 ? "" : ` at ${formatPath(this.path)}`
    return `Invalid analytics option ${this.option}${where}: ${this.reason}`
  }
}

/**
 * The errors a call (`track`, `identify`, ...) can fail with.
 *
 * @since 1.0.0
 * @category errors
 */
export type CallError = InvalidMessage | MessageTooLarge | ClientClosed

/**
 * Every public error of analytics-effect.
 *
 * @since 1.0.0
 * @category errors
 */
export type AnalyticsError = InvalidMessage | MessageTooLarge | ClientClosed | TransportError | InvalidOptions
