/**
 * The `Transport` service: one delivery attempt of one batch.
 *
 * A transport does not retry, wait or queue: the client's delivery loop owns retries, backoff and
 * `Retry-After` pauses, so they run on Effect's `Clock` and can be tested with `TestClock`. Two
 * implementations ship: `HttpTransport` (on Effect's `HttpClient`, from `effect/http`) and `MemoryTransport`
 * (records every attempt and answers from a script, for tests).
 *
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { TransportError } from "./AnalyticsError.js"
import type { EncodedMessage } from "./Message.js"

/**
 * One attempt at delivering a batch.
 *
 * @since 1.0.0
 * @category models
 */
export interface BatchRequest {
  /** The messages, already serialized; the same ones, with the same ids, on every attempt. */
  readonly messages: ReadonlyArray<EncodedMessage>
  /** 0 for the first attempt, n for the n-th retry (sent as `X-Retry-Count`). */
  readonly attempt: number
}

/**
 * A successful (2xx) attempt.
 *
 * @since 1.0.0
 * @category models
 */
export interface Delivery {
  readonly status: number
  /** The size of the uncompressed request body, in bytes. */
  readonly bodyBytes: number
}

/**
 * The transport's interface.
 *
 * @since 1.0.0
 * @category models
 */
export interface TransportService {
  /**
   * Makes exactly one attempt. Succeeds on a 2xx answer; fails with a `TransportError` whose reason is
   * the status (and `Retry-After`), a network error, a timeout or an encoding failure.
   */
  readonly send: (request: BatchRequest) => Effect.Effect<Delivery, TransportError>
}

/**
 * The transport the `Analytics` client sends batches through.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { AnalyticsError, Transport } from "analytics-effect"
 *
 * // A transport that refuses everything, for a test of failure handling.
 * const Refusing = Layer.succeed(Transport.Transport, {
 *   send: (request) =>
 *     Effect.fail(
 *       new AnalyticsError.TransportError({
 *         reason: new AnalyticsError.StatusReason({ status: 503 }),
 *         messages: request.messages.length,
 *         attempt: request.attempt
 *       })
 *     )
 * })
 * ```
 *
 * @since 1.0.0
 * @category tags
 */
export class Transport extends Context.Service<Transport, TransportService>()("analytics-effect/Transport") {}
