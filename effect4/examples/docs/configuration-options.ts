import { Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

// Every option, with its default. Only `writeKey` is required.
export const AnalyticsLive = Analytics.layer({
  writeKey: Redacted.make("YOUR_WRITE_KEY"),
  // where and how requests go (the HTTP transport)
  host: "https://api.segment.io",
  path: "/v1/batch",
  gzip: false,
  timeout: "10 seconds",
  // when batches are sent
  flushAt: 20,
  flushInterval: "5 seconds",
  // limits
  maxMessageBytes: 32_000,
  maxBatchBytes: 500_000,
  maxBatchMessages: 2_500,
  // the queue
  maxQueueSize: 10_000,
  maxQueueBytes: 10_000_000,
  overflow: "wait",
  overflowTimeout: "10 seconds",
  maxInFlight: 4,
  // retries
  maxRetries: 10,
  retryBudget: "10 minutes",
  maxRetryAfter: "300 seconds",
  // shutting down
  shutdownTimeout: "30 seconds",
  // everything else
  enabled: true,
  debug: false,
  defaultContext: { app: { name: "checkout", version: "2.4.1" } },
  defaultIntegrations: { Intercom: false }
}).pipe(Layer.provide(FetchHttpClient.layer))
