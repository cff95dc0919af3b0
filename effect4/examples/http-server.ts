// An HTTP server on effect/http that tracks what its users do.
//
//   ANALYTICS_WRITE_KEY=... npx tsx examples/http-server.ts
//   curl -X POST localhost:3000/signup -H 'content-type: application/json' -d '{"userId":"u1","plan":"Pro"}'
//
// Stop it with Ctrl-C: NodeRuntime.runMain interrupts the program, the layers close in the reverse
// order of their construction (the server stops taking requests first), and the Analytics layer, built
// first, closes last: its finalizer delivers everything the handlers tracked before the process exits.
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Schema } from "effect"
import { HttpRouter, type HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { pathToFileURL } from "node:url"
import { Analytics } from "../src/index.js"

// Tracking must never fail a request: log what could not be tracked, and carry on.
const bestEffort = <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.tapError((error) => Effect.logWarning(`not tracked: ${error.message}`)),
    Effect.ignore
  )

const SignUp = Schema.Struct({ userId: Schema.NonEmptyString, plan: Schema.Literals(["Free", "Pro"]) })

const SignUpRoute = HttpRouter.add(
  "POST",
  "/signup",
  Effect.gen(function*() {
    const { plan, userId } = yield* HttpServerRequest.schemaBodyJson(SignUp)
    // ... create the account ...
    yield* bestEffort(Analytics.identify({ userId, traits: { plan } }))
    yield* bestEffort(Analytics.track({ userId, event: "Signed Up", properties: { plan } }))
    return yield* HttpServerResponse.json({ userId }, { status: 201 })
  }).pipe(
    Effect.catchTags({
      SchemaError: () => HttpServerResponse.json({ error: "expected { userId, plan }" }, { status: 400 }),
      HttpServerError: () => HttpServerResponse.json({ error: "could not read the body" }, { status: 400 })
    }),
    // What is left is HttpBodyError: a response body that cannot be encoded, which is a bug.
    Effect.orDie
  )
)

const ProductRoute = HttpRouter.add(
  "GET",
  "/products/:id",
  Effect.gen(function*() {
    const { id } = yield* HttpRouter.schemaPathParams(Schema.Struct({ id: Schema.String }))
    const request = yield* HttpServerRequest.HttpServerRequest
    const anonymousId = request.headers["x-anonymous-id"] ?? "anonymous"
    yield* bestEffort(Analytics.page({ anonymousId, name: "Product", properties: { productId: id } }))
    return HttpServerResponse.text(`product ${id}`)
  }).pipe(Effect.catchTag("SchemaError", () => Effect.succeed(HttpServerResponse.empty({ status: 404 }))))
)

// The routes, as layers that add themselves to the router.
export const Routes = Layer.mergeAll(SignUpRoute, ProductRoute)

// The application: the routes, served by whatever HttpServer is provided. It requires Analytics.
// HttpRouter.serve logs every response and the address it listens on.
export const App = HttpRouter.serve(Routes)

// The client, configured from ANALYTICS_* environment variables, sending with undici.
export const AnalyticsLive = Analytics.AnalyticsLayer.pipe(Layer.provide(NodeHttpClient.layerUndici))

export const ServerLive = NodeHttpServer.layerConfig(createServer, {
  port: Config.Int("PORT").pipe(Config.withDefault(3000))
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
