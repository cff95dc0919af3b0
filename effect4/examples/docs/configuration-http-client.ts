import { NodeHttpClient } from "@effect/platform-node"
import * as Undici from "@effect/platform-node/Undici"
import { Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { Analytics } from "../../src/index.js"

// fetch (Node 22+, Deno, Bun, browsers' workers): no extra dependency.
export const WithFetch = Analytics.AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))

// Node's undici client, from @effect/platform-node, with its own connection pool.
export const WithUndici = Analytics.AnalyticsLayer.pipe(Layer.provide(NodeHttpClient.layerUndici))

// Through an HTTP proxy: give the undici client a ProxyAgent as its dispatcher. The agent is
// closed when the layer's scope closes, after the client's final flush.
const ProxyDispatcher = Layer.effect(
  NodeHttpClient.Dispatcher,
  Effect.acquireRelease(
    Effect.sync(() => new Undici.ProxyAgent("http://proxy.internal:3128")),
    (agent) => Effect.promise(() => agent.close())
  )
)
export const WithProxy = Analytics.AnalyticsLayer.pipe(
  Layer.provide(NodeHttpClient.layerUndiciNoDispatcher),
  Layer.provide(ProxyDispatcher)
)

// Any HttpClient transformation applies to the analytics requests: here a header for a gateway.
export const WithGatewayHeader = Analytics.AnalyticsLayer.pipe(
  Layer.provide(
    Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, (client) =>
        client.pipe(HttpClient.mapRequest(HttpClientRequest.setHeader("x-gateway", "analytics"))))
    ).pipe(Layer.provide(FetchHttpClient.layer))
  )
)
