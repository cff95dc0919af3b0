// An HTTP server on @effect/platform that tracks what its users do.
//
//   ANALYTICS_WRITE_KEY=... npx tsx examples/http-server.ts
//   curl -X POST localhost:3000/signup -H 'content-type: application/json' -d '{"userId":"u1","plan":"Pro"}'
//
// Stop it with Ctrl-C: NodeRuntime.runMain interrupts the program, the layers close in the reverse
// order of their construction (the server stops taking requests first), and the Analytics layer, built
// first, closes last: its finalizer delivers everything the handlers tracked before the process exits.
import { HttpMiddleware, HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import { pathToFileURL } from "node:url"
import { Analytics } from "../src/index.js"

// Tracking must never fail a request: log what could not be tracked, and carry on.
const bestEffort = <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.tapError((error) => Effect.logWarning(`not tracked: ${error.message}`)),
    Effect.ignore
  )

const SignUp = Schema.Struct({ userId: Schema.NonEmptyString, plan: Schema.Literal("Free", "Pro") })

export const router = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/signup",
    Effect.gen(function*() {
      const { plan, userId } = yield* HttpServerRequest.schemaBodyJson(SignUp)
      // ... create the account ...
      yield* bestEffort(Analytics.identify({ userId, traits: { plan } }))
      yield* bestEffort(Analytics.track({ userId, event: "Signed Up", properties: { plan } }))
      return yield* HttpServerResponse.json({ userId }, { status: 201 })
    }).pipe(
      Effect.catchTags({
        ParseError: () => HttpServerResponse.json({ error: "expected { userId, plan }" }, { status: 400 }),
        RequestError: () => HttpServerResponse.json({ error: "could not read the body" }, { status: 400 })
      })
    )
  ),
  HttpRouter.get(
    "/products/:id",
    Effect.gen(function*() {
      const { id } = yield* HttpRouter.schemaPathParams(Schema.Struct({ id: Schema.String }))
      const request = yield* HttpServerRequest.HttpServerRequest
      const anonymousId = request.headers["x-anonymous-id"] ?? "anonymous"
      yield* bestEffort(Analytics.page({ anonymousId, name: "Product", properties: { productId: id } }))
      return HttpServerResponse.text(`product ${id}`)
    }).pipe(Effect.catchTag("ParseError", () => HttpServerResponse.empty({ status: 404 })))
  )
)

// The application: the router, served by whatever HttpServer is provided. It requires Analytics.
export const App = router.pipe(HttpServer.serve(HttpMiddleware.logger), HttpServer.withLogAddress)

// The client, configured from ANALYTICS_* environment variables, sending with undici.
export const AnalyticsLive = Analytics.AnalyticsLayer.pipe(Layer.provide(NodeHttpClient.layerUndici))

export const ServerLive = NodeHttpServer.layerConfig(createServer, {
  port: Config.integer("PORT").pipe(Config.withDefault(3000))
})

// The analytics layer is provided last, so it is built first and closed last: on shutdown the server
// stops taking requests, then the client delivers what the handlers tracked.
export const compose = <E1, E2>(
  server: Layer.Layer<HttpServer.HttpServer, E1>,
  analytics: Layer.Layer<Analytics.Analytics, E2>
) => App.pipe(Layer.provide(server), Layer.provide(analytics))

export const Main = compose(ServerLive, AnalyticsLive)

// Start only when run directly, not when a test imports this module.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  Layer.launch(Main).pipe(NodeRuntime.runMain)
}
