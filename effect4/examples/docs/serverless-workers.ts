import { Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

// The Worker's bindings: the write key as a secret (`wrangler secret put ANALYTICS_WRITE_KEY`) and,
// optionally, another collector (`https://events.eu1.segmentapis.com` for an EU workspace).
export interface Env {
  readonly ANALYTICS_WRITE_KEY: string
  readonly ANALYTICS_HOST?: string
}

// Workers have no process.env: the client's options come from the bindings. Bound the time a
// failing collector can add to a response.
const AnalyticsLive = (env: Env) =>
  Analytics.layer({
    writeKey: env.ANALYTICS_WRITE_KEY,
    host: env.ANALYTICS_HOST,
    retryBudget: "2 seconds",
    shutdownTimeout: "5 seconds"
  }).pipe(Layer.provide(FetchHttpClient.layer))

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    const program = Effect.gen(function*() {
      yield* Analytics.track({
        anonymousId: request.headers.get("x-anonymous-id") ?? "anonymous",
        event: "Page Requested",
        properties: { path: url.pathname }
      }).pipe(Effect.catch((error) => Effect.logWarning(`not tracked: ${error.message}`)))
      return new Response(`tracked ${url.pathname}\n`)
    })
    // A client per request: its scope closes when the program ends, and closing delivers what this
    // request tracked before the Response goes out.
    return Effect.runPromise(program.pipe(Effect.provide(AnalyticsLive(env))))
  }
}
