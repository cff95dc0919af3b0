/**
 * The library's metrics, as `effect/Metric` values, so that you can read them (`Metric.value`), export
 * them (for example through `@effect/opentelemetry`), or tag them (`Metric.tagged`).
 *
 * Effect's metrics are global to the process: every client in it updates the same counters. Names
 * follow Prometheus conventions; no tag ever carries the write key or message contents. See
 * `docs/observability.md` for what each one means.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import * as Metrics from "analytics-effect/Metrics"
 *
 * const report = Effect.gen(function*() {
 *   const delivered = yield* Metric.value(Metrics.delivered)
 *   const failed = yield* Metric.value(Metric.tagged(Metrics.failed, "reason", "NotRetryable"))
 *   return { delivered: delivered.count, failedNotRetryable: failed.count }
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Internal from "./internal/metrics.js"

/**
 * `analytics_messages_accepted_total` (counter): messages a call accepted, whether queued or dropped by
 * the overflow policy (or by a disabled client). Not counted: calls that failed validation. It is
 * brought up to date whenever an outcome is published, so it can lag the calls until the next
 * delivery, failure or drop report.
 *
 * @since 0.1.0
 * @category metrics
 */
export const accepted = Internal.accepted

/**
 * `analytics_messages_delivered_total` (counter): messages in requests the collector answered 2xx.
 *
 * @since 0.1.0
 * @category metrics
 */
export const delivered = Internal.delivered

/**
 * `analytics_messages_failed_total` (counter, tag `reason`: `NotRetryable`, `RetriesExhausted`,
 * `RetryBudgetExhausted`, `ShutdownTimeout`): messages whose delivery gave up.
 *
 * @since 0.1.0
 * @category metrics
 */
export const failed = Internal.failed

/**
 * `analytics_messages_dropped_total` (counter, tag `reason`: `QueueFull`, `Disabled`): messages dropped
 * without a delivery attempt. Drops are reported in groups: once 1,000 are pending, at every
 * `flushInterval` tick, on `flush`, and at shutdown.
 *
 * @since 0.1.0
 * @category metrics
 */
export const dropped = Internal.dropped

/**
 * `analytics_queue_depth` (gauge): messages waiting in the queue, set when a batch is cut, at every
 * `flushInterval` tick, and at shutdown.
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueDepth = Internal.queueDepth

/**
 * `analytics_batch_bytes` (histogram, bucket bounds 1,024 to 524,288 bytes doubling, then +Inf): size of each batch's request
 * body in bytes of uncompressed JSON, recorded once per batch (not per retry).
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchBytes = Internal.batchBytes

/**
 * `analytics_batch_messages` (histogram, bucket bounds 1 to 2,048 doubling, then +Inf): messages per batch, recorded once
 * per batch.
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchMessages = Internal.batchMessages

/**
 * `analytics_requests_total` (counter, tag `result`: the HTTP status such as `200` or `500`, or
 * `network`, `timeout`, `encode`): delivery attempts, retries included.
 *
 * @since 0.1.0
 * @category metrics
 */
export const requests = Internal.requests

/**
 * `analytics_request_duration_ms` (histogram, bucket bounds 1 to 16,384 ms doubling, then +Inf): duration of each
 * delivery attempt, measured on Effect's `Clock`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestDuration = Internal.requestDuration
