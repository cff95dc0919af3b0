import { Config, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

// An EU workspace: `region: "eu"` sends to https://events.eu1.segmentapis.com (and, with OAuth, gets
// tokens from https://oauth2.eu1.segmentapis.com). The default, "us", is https://api.segment.io.
export const EuWorkspace = Analytics.layer({ writeKey: "YOUR_WRITE_KEY", region: "eu" }).pipe(
  Layer.provide(FetchHttpClient.layer)
)

// From the environment: ANALYTICS_REGION=eu does the same.
export const EuFromEnvironment = Analytics.layerConfig(
  Config.map(Analytics.config, (options) => ({ ...options, region: options.region ?? "eu" }))
).pipe(Layer.provide(FetchHttpClient.layer))

// A custom host wins over the region (a proxy or a Segment-compatible collector of your own).
export const OwnCollector = Analytics.layer({
  writeKey: "YOUR_WRITE_KEY",
  region: "eu",
  host: "https://analytics-proxy.internal.example"
}).pipe(Layer.provide(FetchHttpClient.layer))
