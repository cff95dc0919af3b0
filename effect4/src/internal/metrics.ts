/**
 * The library's metrics. Names follow Prometheus conventions; attributes never carry the write key or
 * message contents.
 *
 * @internal
 */
import * as Metric from "effect/Metric"

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
export const batchBytes = Metric.histogram("analytics_batch_bytes", {
  description: "Request body size in bytes (uncompressed)",
  boundaries: Metric.exponentialBoundaries({ start: 1024, factor: 2, count: 11 })
})

/** @internal */
export const batchMessages = Metric.histogram("analytics_batch_messages", {
  description: "Messages per request",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 13 })
})

/** @internal */
export const requests = Metric.counter("analytics_requests_total", {
  description: "Delivery attempts, by result (an HTTP status, network, timeout or encode)",
  incremental: true
})

/** @internal */
export const requestDuration = Metric.histogram("analytics_request_duration_ms", {
  description: "Duration of one delivery attempt in milliseconds",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 16 })
})

const taggedCache = new Map<Metric.Counter<number>, Map<string, Metric.Counter<number>>>()

/**
 * `Metric.withAttributes` with one attribute, made once per value: a metric with attributes made
 * afresh for every update is looked up in the registry every time.
 *
 * @internal
 */
export const tagged = (
  metric: Metric.Counter<number>,
  key: string,
  value: string
): Metric.Counter<number> => {
  let byValue = taggedCache.get(metric)
  if (byValue === undefined) taggedCache.set(metric, byValue = new Map())
  let out = byValue.get(`${key}=${value}`)
  if (out === undefined) byValue.set(`${key}=${value}`, out = Metric.withAttributes(metric, { [key]: value }))
  return out
}
