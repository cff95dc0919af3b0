/**
 * A `/v1/batch` collector for fault-injection tests: a node:http server on 127.0.0.1 whose behaviour
 * can be switched while a client is sending to it.
 *
 * It parses every batch body (gunzipping `Content-Encoding: gzip`), counts requests, and records the
 * message ids it accepted (answered 2xx) and the ids it "took" without answering (a `hang`, or a slow
 * answer whose client had gone away): a retry of a batch the server had already taken is the one
 * legitimate source of a duplicate.
 */
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Zlib from "node:zlib"

/** What the server does with the next requests. */
export type Mode =
  | { readonly _tag: "ok" }
  | { readonly _tag: "status"; readonly status: number; readonly retryAfter?: string | undefined }
  | { readonly _tag: "reset" }
  | { readonly _tag: "slow"; readonly ms: number }
  | { readonly _tag: "hang" }

/** Mode constructors. */
export const Mode = {
  ok: { _tag: "ok" } as Mode,
  status: (status: number, retryAfter?: string): Mode => ({ _tag: "status", status, retryAfter }),
  tooManyRequests: (seconds: number): Mode => ({ _tag: "status", status: 429, retryAfter: String(seconds) }),
  reset: { _tag: "reset" } as Mode,
  slow: (ms: number): Mode => ({ _tag: "slow", ms }),
  hang: { _tag: "hang" } as Mode
} as const

/** A snapshot of what the server saw. */
export interface FaultStats {
  /** Requests whose headers arrived (including refused, reset and hung ones). */
  readonly requests: number
  /** Requests answered 2xx. */
  readonly okRequests: number
  /** How many times each id arrived in a request answered 2xx. */
  readonly accepted: ReadonlyMap<string, number>
  /** How many times each id arrived in a request whose body was read but never answered. */
  readonly taken: ReadonlyMap<string, number>
  /** Bodies that did not parse as a batch (should stay 0). */
  readonly malformed: number
  /** Every request, in order of arrival. */
  readonly log: ReadonlyArray<RequestLog>
}

/** One request as the server saw it. */
export interface RequestLog {
  /** `performance.now()` when it was answered (or cut, or parked). */
  readonly at: number
  /** The status answered, or what happened instead. */
  readonly status: number | "reset" | "hang" | "gone"
  readonly messages: number
}

/** The server's handle. */
export interface FaultServer {
  readonly port: number
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly mode: () => Mode
  readonly setMode: (mode: Mode) => void
  /** Closes the listening socket and every open connection: new connections are refused. */
  readonly down: () => Promise<void>
  /** Listens again on the same port. */
  readonly up: () => Promise<void>
  readonly isUp: () => boolean
  readonly stats: () => FaultStats
  /** Stops everything for good. */
  readonly close: () => Promise<void>
}

const bump = (map: Map<string, number>, id: string) => map.set(id, (map.get(id) ?? 0) + 1)

const readBody = (req: Http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
    req.on("aborted", () => reject(new Error("aborted")))
  })

const parseIds = (raw: Buffer, encoding: string | undefined): ReadonlyArray<string> | undefined => {
  try {
    const text = (encoding === "gzip" ? Zlib.gunzipSync(raw) : raw).toString("utf8")
    const body = JSON.parse(text) as { batch?: unknown }
    if (!Array.isArray(body.batch)) return undefined
    const ids: Array<string> = []
    for (const message of body.batch as Array<{ messageId?: unknown }>) {
      if (typeof message?.messageId !== "string") return undefined
      ids.push(message.messageId)
    }
    return ids
  } catch {
    return undefined
  }
}

const listen = (server: Http.Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once("error", onError)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError)
      resolve((server.address() as Net.AddressInfo).port)
    })
  })

/** Starts a server on 127.0.0.1 with an ephemeral port, in mode `ok`. */
export const start = async (initial: Mode = Mode.ok): Promise<FaultServer> => {
  let mode = initial
  let requests = 0
  let okRequests = 0
  let malformed = 0
  let up = false
  const accepted = new Map<string, number>()
  const taken = new Map<string, number>()
  const sockets = new Set<Net.Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const parked = new Set<Net.Socket>()
  const requestLog: Array<RequestLog> = []

  const log = (status: RequestLog["status"], messages: number) => {
    requestLog.push({ at: performance.now(), status, messages })
  }

  const handle = async (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    requests++
    if (!up) {
      // A request on a connection opened before `down()`: a stopped server does not answer it.
      log("reset", 0)
      req.socket.destroy()
      return
    }
    const current = mode
    if (current._tag === "reset") {
      log("reset", 0)
      req.socket.destroy()
      return
    }
    let ids: ReadonlyArray<string> | undefined
    try {
      ids = parseIds(await readBody(req), req.headers["content-encoding"])
    } catch {
      log("gone", 0)
      return // the client went away while sending
    }
    if (!up) {
      log("reset", 0)
      req.socket.destroy()
      return
    }
    if (ids === undefined) {
      malformed++
      log(400, 0)
      res.writeHead(400, { "content-type": "application/json" }).end("{\"error\":\"malformed\"}")
      return
    }
    const parsed = ids
    switch (current._tag) {
      case "hang": {
        // The body was read: the server has taken these messages, but it never answers.
        for (const id of parsed) bump(taken, id)
        log("hang", parsed.length)
        parked.add(req.socket)
        req.socket.once("close", () => parked.delete(req.socket))
        return
      }
      case "status": {
        const headers: Record<string, string> = { "content-type": "application/json" }
        if (current.retryAfter !== undefined) headers["retry-after"] = current.retryAfter
        if (current.status >= 200 && current.status < 300) {
          okRequests++
          for (const id of parsed) bump(accepted, id)
        }
        log(current.status, parsed.length)
        res.writeHead(current.status, headers).end("{}")
        return
      }
      case "slow": {
        let gone = false
        res.once("close", () => {
          if (!res.writableFinished) gone = true
        })
        parked.add(req.socket)
        const timer = setTimeout(() => {
          timers.delete(timer)
          parked.delete(req.socket)
          if (gone || res.destroyed || req.socket.destroyed || !up) {
            // The client gave up (or the server stopped) first: the server took the batch all the same.
            for (const id of parsed) bump(taken, id)
            log("gone", parsed.length)
            return
          }
          okRequests++
          for (const id of parsed) bump(accepted, id)
          log(200, parsed.length)
          res.writeHead(200, { "content-type": "application/json" }).end("{\"success\":true}")
        }, current.ms)
        timers.add(timer)
        return
      }
      case "ok": {
        okRequests++
        for (const id of parsed) bump(accepted, id)
        log(200, parsed.length)
        res.writeHead(200, { "content-type": "application/json" }).end("{\"success\":true}")
        return
      }
    }
  }

  const server = Http.createServer((req, res) => {
    void handle(req, res)
  })
  server.keepAliveTimeout = 5_000
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })

  const port = await listen(server, 0)
  up = true

  // Stops listening (new connections are refused), drops idle connections and hung requests. A
  // connection still reading a request is cut as soon as the body has arrived (see `handle`), so an
  // answer the server sent is never lost to the shutdown.
  const down = (): Promise<void> => {
    if (!up) return Promise.resolve()
    up = false
    server.close()
    server.closeIdleConnections()
    for (const socket of parked) socket.destroy()
    parked.clear()
    return Promise.resolve()
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    mode: () => mode,
    setMode: (next) => {
      mode = next
    },
    down,
    up: async () => {
      if (up) return
      await listen(server, port)
      up = true
    },
    isUp: () => up,
    stats: () => ({
      requests,
      okRequests,
      accepted: new Map(accepted),
      taken: new Map(taken),
      malformed,
      log: requestLog.slice()
    }),
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      await down()
      for (const socket of sockets) socket.destroy()
      server.closeAllConnections()
    }
  }
}
