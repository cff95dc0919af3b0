/**
 * A tiny collector for tests: a real `node:http` server on 127.0.0.1 and an ephemeral port, that
 * records every request (method, URL, headers, raw body) and answers with a handler the test sets.
 * It lives in the test's scope: closing the scope closes the server and every open connection.
 *
 * The handlers below make the odd servers the transport must survive: redirects, bodies that stall or
 * never end, servers that echo the request's secrets back in some encoding.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import { Effect, Layer } from "effect"
import { FetchHttpClient, type HttpClient } from "effect/http"
import type * as Scope from "effect/Scope"
import { type KeyObject, verify } from "node:crypto"
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
  Effect.callback<number>((resume) => {
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
  })

const close = (server: Http.Server): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
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

/** Answers `status` with headers at once, then a part of the body, then nothing: the body stalls. */
export const stalledBody = (status: number, declaredBytes = 1_000): Handler => (_req, res) => {
  res.writeHead(status, { "content-type": "application/json", "content-length": String(declaredBytes) })
  res.write("{\"success\":")
}

/** What a streaming handler managed to write before the client went away. */
export interface StreamStats {
  /** Bytes handed to the socket so far. */
  written: number
  /** Whether the client closed the connection before the body ended. */
  aborted: boolean
}

/**
 * Answers `status` with a body of `totalBytes` (gigabytes if you like), written in 64 KiB chunks as
 * the client reads them (backpressure): a client that stops reading stops the stream.
 */
export const hugeBody = (status: number, totalBytes: number, stats: StreamStats): Handler => (_req, res) => {
  const chunk = Buffer.alloc(64 * 1024, "x")
  res.writeHead(status, { "content-type": "text/plain" })
  res.on("close", () => {
    if (!res.writableFinished) stats.aborted = true
  })
  const pump = () => {
    while (stats.written < totalBytes) {
      const size = Math.min(chunk.length, totalBytes - stats.written)
      stats.written += size
      if (!res.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
        res.once("drain", pump)
        return
      }
    }
    res.end()
  }
  pump()
}

/** Answers `status` with a `Location` header (a redirect). */
export const redirect = (status: number, location: string): Handler => respond(status, { location })

/** The write key of a request: from its Basic credentials, or its body's `writeKey`. */
const writeKeyOf = (request: ReceivedRequest): string => {
  const auth = request.headers["authorization"] ?? ""
  if (auth.startsWith("Basic ")) return Buffer.from(auth.slice(6), "base64").toString("utf8").replace(/:$/, "")
  return JSON.parse(request.body.toString("utf8")).writeKey
}

/** Ways a careless server can echo a secret back. */
export const echoForms = {
  plain: (secret: string) => secret,
  upperCase: (secret: string) => secret.toUpperCase(),
  hex: (secret: string) => Buffer.from(secret).toString("hex"),
  upperHex: (secret: string) => Buffer.from(secret).toString("hex").toUpperCase(),
  base64: (secret: string) => Buffer.from(secret).toString("base64"),
  base64NoPadding: (secret: string) => Buffer.from(secret).toString("base64").replace(/=+$/, ""),
  base64WithColon: (secret: string) => Buffer.from(secret + ":").toString("base64"),
  base64Url: (secret: string) => Buffer.from(secret).toString("base64url"),
  urlEncoded: (secret: string) => encodeURIComponent(secret),
  percentEveryByte: (secret: string) => [...Buffer.from(secret)].map((b) => "%" + b.toString(16).toUpperCase()).join(""),
  jsonEscaped: (secret: string) => JSON.stringify(secret).slice(1, -1),
  // The key inside a longer base64 text, at byte offsets 1 and 2 (its base64 form then differs).
  insideBase64Offset1: (secret: string) => Buffer.from(`k${secret}!`).toString("base64"),
  insideBase64Offset2: (secret: string) => Buffer.from(`k=${secret}!`).toString("base64")
} as const

/** The secret a server echoes: the request's write key, or its bearer token. */
export type EchoSource = (request: ReceivedRequest) => string

export const echoWriteKey: EchoSource = writeKeyOf

export const echoBearer: EchoSource = (request) => (request.headers["authorization"] ?? "").replace(/^Bearer /, "")

/**
 * Answers `status` with a body, and a `Location` for a 3xx, that echo a secret of the request in
 * `form`.
 */
export const echo = (status: number, form: (secret: string) => string, source: EchoSource = echoWriteKey): Handler =>
(request, res) => {
  const echoed = form(source(request))
  res.writeHead(status, {
    "content-type": "text/plain",
    ...(status >= 300 && status < 400 ? { location: `https://elsewhere.example/v1/batch?key=${echoed}` } : {})
  })
  res.end(`unknown key ${echoed} (request from ${request.headers["user-agent"]})`)
}

/** Answers each request with the next handler of `handlers`, and with the last one from then on. */
export const sequence = (...handlers: ReadonlyArray<Handler>): Handler => {
  let next = 0
  return (request, res) => handlers[Math.min(next++, handlers.length - 1)]!(request, res)
}

// ---------------------------------------------------------------------------------------------------
// OAuth: a token server and a collector that accepts its bearer tokens, on one server.

/** A decoded client assertion, as the token server received it. */
export interface ReceivedAssertion {
  readonly header: Record<string, unknown>
  readonly claims: Record<string, unknown>
  /** Whether the RS256 signature verifies against the test's public key. */
  readonly signatureValid: boolean
  /** The whole form of the token request. */
  readonly form: Record<string, string>
  readonly assertion: string
}

export interface OAuthState {
  readonly assertions: Array<ReceivedAssertion>
  /** The tokens issued, in order: `token-1`, `token-2`, ... */
  readonly issued: Array<string>
  /** Tokens the collector refuses with 401. */
  readonly revoked: Set<string>
  /** `expires_in` of the tokens issued, in seconds. */
  expiresIn: number
  /** When set, the token server answers this instead of a token. */
  refuse: { readonly status: number; readonly body: (assertion: string) => string } | undefined
  /** When set, the collector refuses every token with 401. */
  refuseAllTokens: boolean
}

export const makeOAuthState = (): OAuthState => ({
  assertions: [],
  issued: [],
  revoked: new Set(),
  expiresIn: 3600,
  refuse: undefined,
  refuseAllTokens: false
})

const decodePart = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, "base64url").toString("utf8"))

/**
 * `POST /token`: checks the form and the assertion's signature with `publicKey`, and issues a token.
 * Any other path: a collector that answers 200 to a bearer token it issued and has not revoked, and
 * 401 otherwise.
 */
export const oauth = (state: OAuthState, publicKey: KeyObject): Handler => (request, res) => {
  if (request.url === "/token") {
    const form = Object.fromEntries(new URLSearchParams(request.body.toString("utf8")))
    const assertion = form["client_assertion"] ?? ""
    const [header = "", claims = "", signature = ""] = assertion.split(".")
    const signatureValid = verify(
      "sha256",
      Buffer.from(`${header}.${claims}`),
      publicKey,
      Buffer.from(signature, "base64url")
    )
    state.assertions.push({ header: decodePart(header), claims: decodePart(claims), signatureValid, form, assertion })
    if (state.refuse !== undefined) {
      res.writeHead(state.refuse.status, { "content-type": "application/json" })
      res.end(state.refuse.body(assertion))
      return
    }
    if (!signatureValid) {
      res.writeHead(401, { "content-type": "application/json" })
      res.end("{\"error\":\"invalid_client\"}")
      return
    }
    const token = `token-${state.issued.length + 1}`
    state.issued.push(token)
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: state.expiresIn, scope: form["scope"] }))
    return
  }
  const token = echoBearer(request)
  const ok = !state.refuseAllTokens && state.issued.includes(token) && !state.revoked.has(token)
  res.writeHead(ok ? 200 : 401, { "content-type": "application/json" })
  res.end(ok ? "{\"success\":true}" : "{\"error\":\"invalid token\"}")
}

// ---------------------------------------------------------------------------------------------------
// Clients that send to a local server whatever origin a request names, and record that origin: so a
// test can check that `region` picks Segment's hosts without anything leaving the loopback.

const dispatcher = (make: () => Undici.Dispatcher) =>
  Layer.effect(
    NodeHttpClient.Dispatcher,
    Effect.acquireRelease(Effect.sync(make), (d) => Effect.promise(() => d.destroy()))
  )

/**
 * fetch whose requests all go to `server`; `origins` records where each was addressed. (`Fetch` is a
 * Reference the client reads per request; the client's layer merges the context it was built with.)
 */
export const reroutedFetch = (server: TestServer, origins: Array<string>): Layer.Layer<HttpClient.HttpClient> =>
  FetchHttpClient.layer.pipe(
    Layer.provide(Layer.succeed(FetchHttpClient.Fetch, (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input))
      origins.push(url.origin)
      return globalThis.fetch(server.origin + url.pathname + url.search, init)
    }))
  )

/** undici whose requests all go to `server`; `origins` records where each was addressed. */
export const reroutedUndici = (server: TestServer, origins: Array<string>): Layer.Layer<HttpClient.HttpClient> =>
  NodeHttpClient.layerUndiciNoDispatcher.pipe(
    Layer.provide(dispatcher(() =>
      new Undici.Agent().compose((dispatch) => (options, handler) => {
        origins.push(String(options.origin))
        return dispatch({ ...options, origin: server.origin }, handler)
      })
    ))
  )

/** undici with a dispatcher that follows redirects by itself, as a user's might. */
export const undiciFollowingRedirects: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layerUndiciNoDispatcher
  .pipe(
    Layer.provide(dispatcher(() => new Undici.Agent().compose(Undici.interceptors.redirect({ maxRedirections: 5 }))))
  )

/** Both HTTP clients the transport is tested with. */
export const clients: ReadonlyArray<readonly ["fetch" | "undici", Layer.Layer<HttpClient.HttpClient>]> = [
  ["fetch", FetchHttpClient.layer],
  ["undici", NodeHttpClient.layerUndici]
]

/** Both rerouting clients. */
export const reroutedClients = [
  ["fetch", reroutedFetch],
  ["undici", reroutedUndici]
] as const
