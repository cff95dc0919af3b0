import { FetchHttpClient } from "@effect/platform"
import { Config, ConfigProvider, Layer } from "effect"
import { Analytics } from "../../src/index.js"

// From environment variables: ANALYTICS_WRITE_KEY, ANALYTICS_FLUSH_AT, ... (the table above).
export const FromEnvironment = Analytics.AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))

// Environment variables, with some options fixed in code: a Config of Options is just a value.
export const EuWorkspace = Analytics.layerConfig(
  Config.map(Analytics.config, (options) => ({ ...options, host: "https://events.eu1.segmentapis.com", gzip: true }))
).pipe(Layer.provide(FetchHttpClient.layer))

// Any ConfigProvider works: here a map, as in a test.
export const FromMap = Analytics.AnalyticsLayer.pipe(
  Layer.provide(FetchHttpClient.layer),
  Layer.provide(
    Layer.setConfigProvider(
      ConfigProvider.fromMap(
        new Map([
          ["ANALYTICS_WRITE_KEY", "YOUR_WRITE_KEY"],
          ["ANALYTICS_FLUSH_INTERVAL", "1 second"],
          ["ANALYTICS_OVERFLOW", "suspend"]
        ])
      )
    )
  )
)
