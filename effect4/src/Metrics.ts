/**
 * The library's metrics, as `effect/Metric` values, so that you can read them (`Metric.value`), export
 * them (for example through `effect/observability`'s `OtlpMetrics` or `PrometheusMetrics`), or add
 * attributes to them (`Metric.withAttributes`).
 *
 * Their state lives in Effect's `Metric.MetricRegistry`, one per process unless you provide another:
 * every client in it updates the same counters. Names follow Prometheus conventions; no attribute ever
 * carries the write key or message contents. See `docs/observability.md` for what each one means.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { Metrics } from "analytics-effect"
 *
 * const report = Effect.gen(function*() {
 *   const delivered = yield* Metric.value(Metrics.delivered)
 *   const failed = yield* Metric.value(Metric.withAttributes(Metrics.failed, { reason: "NotRetryable" }))
 *   return { delivered: delivered.count, failedNotRetryable: failed.count }
 * })
 * ```
 *
 * @since 1.0.0
 */
import * as Internal from "./internal/metrics.js"

/**
 * `analytics_messages_accepted_total` (counter): messages a call accepted, whether queued or dropped by
 * the overflow policy (or by a disabled client). Not counted: calls that failed validation. It is
 * brought up to date whenever an outcome is published, so it can lag the calls until the next
 * delivery, failure or drop report.
 *
 * @since 1.0.0
 * @category metrics
 */
export const accepted = Internal.accepted

/**
 * `analytics_messages_delivered_total` (counter): messages in requests the collector answered 2xx.
 *
 * @since 1.0.0
 * @category metrics
 */
export const delivered = Internal.delivered

/**
 * `analytics_messages_failed_total` (counter, attribute `reason`: `NotRetryable`, `RetriesExhausted`,
 * `RetryBudgetExhausted`, `ShutdownTimeout`): messages whose delivery gave up.
 *
 * @since 1.0.0
 * @category metrics
 */
export const failed = Internal.failed

/**
 * `analytics_messages_dropped_total` (counter, attribute `reason`: `QueueFull`, `Disabled`): messages dropped
 * without a delivery attempt. Drops are reported in groups: once 1,000 are pending, at every
 * `flushInterval` tick, on `flush`, and at shutdown.
 *
 * @since 1.0.0
 * @category metrics
 */
export const dropped = Internal.dropped

/**
 * `analytics_queue_depth` (gauge): messages waiting in the queue, set when a batch is cut, at every
 * `flushInterval` tick, and at shutdown.
 *
 * @since 1.0.0
 * @category metrics
 */
export const queueDepth = Internal.queueDepth

/**
 * `analytics_batch_bytes` (histogram, bucket bounds 1,024 to 524,288 bytes doubling, then +Inf): size of each batch's request
 * body in bytes of uncompressed JSON, recorded once per batch (not per retry).
 *
 * @since 1.0.0
 * @category metrics
 */
export const batchBytes = Internal.batchBytes

/**
 * `analytics_batch_messages` (histogram, bucket bounds 1 to 2,048 doubling, then +Inf): messages per batch, recorded once
 * per batch.
 *
 * @since 1.0.0
 * @category metrics
 */
export const batchMessages = Internal.batchMessages

/**
 * `analytics_requests_total` (counter, attribute `result`: the HTTP status such as `200` or `500`, or
 * `network`, `timeout`, `encode`): delivery attempts, retries included.
 *
 * @since 1.0.0
 * @category metrics
 */
export const requests = Internal.requests

/**
 * `analytics_request_duration_ms` (histogram, bucket bounds 1 to 16,384 ms doubling, then +Inf): duration of each
 * delivery attempt, measured on Effect's `Clock`.
 *
 * @since 1.0.0
 * @category metrics
 */
export const requestDuration = Internal.requestDuration
