/**
 * The library's metrics. Names follow Prometheus conventions; tags never carry the write key or
 * message contents.
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/** @internal */
export const accepted = Metric.counter("analytics_messages_accepted_total", {
  description: "Messages accepted by a call (validated and queued, or dropped by policy)",
  incremental: true
})

/** @internal */
export const delivered = Metric.counter("analytics_messages_delivered_total", {
  description: "Messages in requests the collector answered 2xx",
  incremental: true
})

/** @internal */
export const failed = Metric.counter("analytics_messages_failed_total", {
  description: "Messages whose delivery gave up, by reason",
  incremental: true
})

/** @internal */
export const dropped = Metric.counter("analytics_messages_dropped_total", {
  description: "Messages dropped without a delivery attempt, by reason",
  incremental: true
})

/** @internal */
export const queueDepth = Metric.gauge("analytics_queue_depth", {
  description: "Messages waiting in the queue"
})

/** @internal */
export const batchBytes = Metric.histogram(
  "analytics_batch_bytes",
  MetricBoundaries.exponential({ start: 1024, factor: 2, count: 11 }),
  "Request body size in bytes (uncompressed)"
)

/** @internal */
export const batchMessages = Metric.histogram(
  "analytics_batch_messages",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 13 }),
  "Messages per request"
)

/** @internal */
export const requests = Metric.counter("analytics_requests_total", {
  description: "Delivery attempts, by result (an HTTP status, network, timeout or encode)",
  incremental: true
})

/** @internal */
export const requestDuration = Metric.histogram(
  "analytics_request_duration_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "Duration of one delivery attempt in milliseconds"
)

const taggedCache = new Map<Metric.Metric.Counter<number>, Map<string, Metric.Metric.Counter<number>>>()

/**
 * `Metric.tagged` with one tag, made once per value: a tagged metric made afresh for every update is
 * looked up in the registry every time.
 *
 * @internal
 */
export const tagged = (
  metric: Metric.Metric.Counter<number>,
  key: string,
  value: string
): Metric.Metric.Counter<number> => {
  let byValue = taggedCache.get(metric)
  if (byValue === undefined) taggedCache.set(metric, byValue = new Map())
  let out = byValue.get(`${key}=${value}`)
  if (out === undefined) byValue.set(`${key}=${value}`, out = Metric.tagged(metric, key, value))
  return out
}
