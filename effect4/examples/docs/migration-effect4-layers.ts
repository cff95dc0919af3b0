// The Effect 4 edition (1.x): the HTTP clients, and configuration in tests.
import { NodeHttpClient } from "@effect/platform-node"
import { ConfigProvider, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

// fetch: FetchHttpClient is part of `effect` now (`effect/http`); there is no @effect/platform.
export const WithFetch = Analytics.AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))

// undici: the same layer, from @effect/platform-node 4.1.
export const WithUndici = Analytics.AnalyticsLayer.pipe(Layer.provide(NodeHttpClient.layerUndici))

// Configuration from a fixed set of variables (0.x: Layer.setConfigProvider(ConfigProvider.fromMap(...))).
export const ForTests = Analytics.AnalyticsLayer.pipe(
  Layer.provide(FetchHttpClient.layer),
  Layer.provide(
    ConfigProvider.layer(ConfigProvider.fromEnv({ env: { ANALYTICS_WRITE_KEY: "test-key", ANALYTICS_FLUSH_AT: "1" } }))
  )
)
