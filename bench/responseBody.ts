/**
 * What a response body costs the HTTP transport, through fetch and undici: a healthy collector's
 * 16-byte `{"success":true}` (the baseline, measured in the same run), then 2xx answers whose bodies
 * are 400 MB and 2 GB, streamed by a local server as fast as the client reads them. Prints, per client
 * and body, the time per send and the growth of the process's RSS, and the ratio to the baseline.
 *
 *   npx tsx bench/responseBody.ts
 */
import { FetchHttpClient } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Redacted } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { HttpTransport } from "../src/index.js"
import * as Encode from "../src/internal/encode.js"

const chunk = Buffer.alloc(64 * 1024, "x")

const serve = (bodyBytes: number) =>
  new Promise<{ server: Http.Server; origin: string; written: () => number }>((resolve) => {
    let written = 0
    const server = Http.createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" })
        if (bodyBytes <= 16) return res.end("{\"success\":true}")
        let sent = 0
        const pump = () => {
          while (sent < bodyBytes) {
            sent += chunk.length
            written += chunk.length
            if (!res.write(chunk)) return void res.once("drain", pump)
          }
          res.end()
        }
        pump()
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, written: () => written }))
  })

const encoder = Encode.makeEncoder({ maxMessageBytes: 32_000, defaultContext: undefined, defaultIntegrations: undefined })

const measure = (client: typeof FetchHttpClient.layer, bodyBytes: number, sends: number) =>
  Effect.gen(function*() {
    const { origin, server, written } = yield* Effect.promise(() => serve(bodyBytes))
    const messages = [yield* encoder("track", { userId: "u1", event: "Bench", messageId: "m-1" })]
    const transport = yield* HttpTransport.make({ writeKey: Redacted.make("bench-key"), host: origin })
    global.gc?.()
    const rssBefore = process.memoryUsage().rss
    let peak = rssBefore
    const started = performance.now()
    for (let i = 0; i < sends; i++) {
      const delivery = yield* transport.send({ messages, attempt: 0 })
      if (delivery.status !== 200) throw new Error(`status ${delivery.status}`)
      peak = Math.max(peak, process.memoryUsage().rss)
    }
    const msPerSend = (performance.now() - started) / sends
    yield* Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
    server.closeAllConnections()
    return { msPerSend, rssGrowthMB: (peak - rssBefore) / 1e6, serverWroteMB: written() / 1e6 / sends }
  }).pipe(Effect.scoped, Effect.provide(client))

const main = Effect.gen(function*() {
  for (const [name, client] of [["fetch", FetchHttpClient.layer], ["undici", NodeHttpClient.layerUndici]] as const) {
    const base = yield* measure(client, 16, 50)
    console.log(`${name}  16 B body: ${base.msPerSend.toFixed(2)} ms/send, RSS +${base.rssGrowthMB.toFixed(1)} MB (baseline)`)
    for (const [label, bytes] of [["400 MB", 400e6], ["2 GB", 2e9]] as const) {
      const r = yield* measure(client, bytes, 10)
      console.log(
        `${name} ${label} body: ${r.msPerSend.toFixed(2)} ms/send (x${(r.msPerSend / base.msPerSend).toFixed(2)} baseline), ` +
          `RSS +${r.rssGrowthMB.toFixed(1)} MB, server got to write ${r.serverWroteMB.toFixed(2)} MB per send`
      )
    }
  }
})

Effect.runPromise(main)
