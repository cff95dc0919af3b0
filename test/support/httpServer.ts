/**
 * A tiny collector for tests: a real `node:http` server on 127.0.0.1 and an ephemeral port, that
 * records every request (method, URL, headers, raw body) and answers with a handler the test sets.
 * It lives in the test's scope: closing the scope closes the server and every open connection.
 */
import { Effect } from "effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export interface ReceivedRequest {
  readonly method: string
  /** The path and query, as received. */
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  /** The raw body bytes, as received (still compressed if the client compressed them). */
  readonly body: Buffer
}

/** Answers one request. Not calling `res.end` leaves the client waiting (a server that hangs). */
export type Handler = (request: ReceivedRequest, res: Http.ServerResponse) => void

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  readonly port: number
  readonly received: ReadonlyArray<ReceivedRequest>
  /** Replaces the handler (default: 200 with `{"success":true}`). */
  readonly setHandler: (handler: Handler) => void
}

export const ok: Handler = (_request, res) => {
  res.writeHead(200, { "content-type": "application/json" })
  res.end("{\"success\":true}")
}

/** Answers every request with `status`, the given headers and body. */
export const respond = (status: number, headers: Http.OutgoingHttpHeaders = {}, body = ""): Handler => (_req, res) => {
  res.writeHead(status, headers)
  res.end(body)
}

const listen = (server: Http.Server): Effect.Effect<number> =>
  Effect.async<number>((resume) => {
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
  })

const close = (server: Http.Server): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })

/** Starts a server in the current scope. */
export const start = (handler: Handler = ok): Effect.Effect<TestServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const received: Array<ReceivedRequest> = []
    let current = handler
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const request: ReceivedRequest = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks)
        }
        received.push(request)
        current(request, res)
      })
    })
    const port = yield* Effect.acquireRelease(listen(server), () => close(server))
    return {
      origin: `http://127.0.0.1:${port}`,
      port,
      received,
      setHandler: (next) => {
        current = next
      }
    }
  })

/** A loopback port that was just open and is now closed: connecting to it is refused. */
export const closedPort: Effect.Effect<number> = Effect.gen(function*() {
  const server = Http.createServer()
  const port = yield* listen(server)
  yield* close(server)
  return port
})
