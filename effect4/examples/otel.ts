// Exporting the client's metrics and traces through OpenTelemetry, with @effect/opentelemetry.
//
// Run: npx tsx examples/otel.ts
//
// Everything stays in this process: the client sends to a local collector on 127.0.0.1 (an ephemeral
// port), spans go to an in-memory exporter and metrics are read by an in-memory reader. In production,
// swap them for OTLP exporters pointed at your own OpenTelemetry collector.
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Effect, Layer, Metric } from "effect"
import { Analytics } from "../src/index.js"
import * as Collector from "../src/Collector.js"
import * as Metrics from "../src/Metrics.js"

const spans = new InMemorySpanExporter()
const metricReader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
  // Read on demand below (reader.collect()); no periodic export during this short run.
  exportIntervalMillis: 60_000
})

const OtelLive = NodeSdk.layer(() => ({
  resource: { serviceName: "analytics-effect-example" },
  spanProcessor: new SimpleSpanProcessor(spans),
  metricReader
}))

// One client with the right write key, one with a wrong one (the collector answers 401: not retried).
const send = (writeKey: string, host: string, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < count; i++) {
      yield* Analytics.track({ userId: `user-${i}`, event: "Report Viewed", properties: { i } })
    }
    yield* Analytics.flush
  }).pipe(
    Effect.provide(Analytics.layer({ writeKey, host, flushAt: 10 }).pipe(Layer.provide(NodeHttpClient.layerUndici)))
  )

const program = Effect.gen(function*() {
  const collector = yield* Collector.make({ writeKey: "local-key" })
  yield* send("local-key", collector.url, 25)
  yield* send("wrong-key", collector.url, 3)

  // Read a metric directly (Effect's registry is global to the process: compare before and after).
  const delivered = yield* Metric.value(Metrics.delivered)
  const notRetryable = yield* Metric.value(Metric.withAttributes(Metrics.failed, { reason: "NotRetryable" }))
  yield* Console.log(`delivered ${delivered.count}, failed (not retryable) ${notRetryable.count}`)

  // Read Effect's metrics through the OpenTelemetry reader (what an exporter would ship).
  const { resourceMetrics } = yield* Effect.promise(() => metricReader.collect())
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (!metric.descriptor.name.startsWith("analytics_")) continue
      for (const point of metric.dataPoints) {
        const value = typeof point.value === "number"
          ? point.value
          : `count=${(point.value as { count: number }).count} sum=${(point.value as { sum?: number }).sum ?? "?"}`
        yield* Console.log(`metric ${metric.descriptor.name}${JSON.stringify(point.attributes)} = ${value}`)
      }
    }
  }

  // The finished spans (read before the SDK shuts down: shutting down clears the in-memory exporter).
  for (const span of spans.getFinishedSpans()) {
    const ms = span.duration[0] * 1e3 + span.duration[1] / 1e6
    // effect/http adds its own `http.client` / `http.server` spans (Authorization is redacted there).
    const attributes = span.name.startsWith("http.") ? "" : ` ${JSON.stringify(span.attributes)}`
    yield* Console.log(`span ${span.name}${attributes} status=${span.status.code} ${ms.toFixed(1)} ms`)
  }
}).pipe(Effect.scoped)

Effect.runPromise(program.pipe(Effect.provide(OtelLive)))
