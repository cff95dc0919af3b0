import { Config, ConfigProvider, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

// From environment variables: ANALYTICS_WRITE_KEY, ANALYTICS_FLUSH_AT, ... (the table above).
export const FromEnvironment = Analytics.AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))

// Environment variables, with some options fixed in code: a Config of Options is just a value.
export const EuWorkspace = Analytics.layerConfig(
  Config.map(Analytics.config, (options) => ({ ...options, host: "https://events.eu1.segmentapis.com", gzip: true }))
).pipe(Layer.provide(FetchHttpClient.layer))

// Any ConfigProvider works: here a fixed set of variables, as in a test.
export const FromVariables = Analytics.AnalyticsLayer.pipe(
  Layer.provide(FetchHttpClient.layer),
  Layer.provide(
    ConfigProvider.layer(
      ConfigProvider.fromEnv({
        env: {
          ANALYTICS_WRITE_KEY: "YOUR_WRITE_KEY",
          ANALYTICS_FLUSH_INTERVAL: "1 second",
          ANALYTICS_OVERFLOW: "suspend"
        }
      })
    )
  )
)
