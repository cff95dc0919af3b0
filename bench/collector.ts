/**
 * A Segment-compatible collector for the benchmark, run in its own process (`fork`ed by `run.ts`).
 *
 * It listens on 127.0.0.1 with an ephemeral port, reports `{ type: "ready", port }` to its parent over
 * IPC (or prints `PORT <n>` when started by hand), and answers `POST /v1/batch` with 200. It counts
 * messages, bytes, requests, unique messageIds, the largest request body, concurrent and total
 * connections, and concurrent requests.
 *
 * Commands over IPC (each answered with a message of the same `type`):
 * - `{ type: "configure", delayMs, down: { mode: "refuse" | "503" } | undefined }`: answer every
 *   request after `delayMs`; when `down` is set, go down at once (`refuse`: stop listening and reset
 *   every connection; `503`: answer 503 without counting) until an `up` command;
 * - `{ type: "up", afterMs }`: come back up `afterMs` from now;
 * - `{ type: "stats" }`: the counters.
 */
import * as http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { gunzipSync } from "node:zlib"

export interface CollectorStats {
  readonly type: "stats"
  /** Messages received in accepted (200) requests, duplicates included. */
  readonly messages: number
  readonly uniqueMessageIds: number
  readonly duplicates: number
  /** Bytes of accepted request bodies (as sent, compressed or not). */
  readonly bytes: number
  /** Requests answered 200. */
  readonly requests: number
  /** Requests refused while down (503 mode) or malformed. */
  readonly rejectedRequests: number
  readonly malformedRequests: number
  readonly largestRequestBytes: number
  /** Requests whose body (uncompressed) exceeded 500,000 bytes. */
  readonly oversizeRequests: number
  readonly largestBatchMessages: number
  readonly maxConcurrentConnections: number
  readonly totalConnections: number
  readonly maxConcurrentRequests: number
  /** Requests that carried `X-Retry-Count`. */
  readonly retriedRequests: number
}

const segmentMaxBody = 500_000

let delayMs = 0
let downMode: "refuse" | "503" | undefined
let port = 0

let messages = 0
const ids = new Set<string>()
let duplicates = 0
let bytes = 0
let requests = 0
let rejectedRequests = 0
let malformedRequests = 0
let largestRequestBytes = 0
let oversizeRequests = 0
let largestBatchMessages = 0
let openConnections = 0
let maxConcurrentConnections = 0
let totalConnections = 0
let activeRequests = 0
let maxConcurrentRequests = 0
let retriedRequests = 0

const sockets = new Set<Socket>()

const respond = (res: http.ServerResponse, status: number, body: string) => {
  const send = () => {
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  }
  if (delayMs > 0) setTimeout(send, delayMs)
  else send()
}

const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  activeRequests++
  if (activeRequests > maxConcurrentRequests) maxConcurrentRequests = activeRequests
  res.on("close", () => {
    activeRequests--
  })
  const chunks: Array<Buffer> = []
  req.on("data", (chunk: Buffer) => chunks.push(chunk))
  req.on("end", () => {
    if (downMode === "503") {
      rejectedRequests++
      return respond(res, 503, "{\"success\":false}")
    }
    if (req.method !== "POST" || req.url !== "/v1/batch") {
      malformedRequests++
      return respond(res, 404, "{\"success\":false}")
    }
    const raw = Buffer.concat(chunks)
    let batch: Array<{ messageId?: unknown; type?: unknown }>
    let plainLength = raw.length
    try {
      const plain = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw
      plainLength = plain.length
      const parsed = JSON.parse(plain.toString("utf8")) as { batch?: unknown }
      if (!Array.isArray(parsed.batch)) throw new Error("no batch")
      batch = parsed.batch
    } catch {
      malformedRequests++
      return respond(res, 400, "{\"success\":false}")
    }
    requests++
    if (req.headers["x-retry-count"] !== undefined) retriedRequests++
    bytes += raw.length
    if (plainLength > largestRequestBytes) largestRequestBytes = plainLength
    if (plainLength > segmentMaxBody) oversizeRequests++
    if (batch.length > largestBatchMessages) largestBatchMessages = batch.length
    messages += batch.length
    for (const m of batch) {
      const id = typeof m.messageId === "string" ? m.messageId : ""
      if (ids.has(id)) duplicates++
      else ids.add(id)
    }
    respond(res, 200, "{\"success\":true}")
  })
})

server.on("connection", (socket) => {
  totalConnections++
  openConnections++
  if (openConnections > maxConcurrentConnections) maxConcurrentConnections = openConnections
  sockets.add(socket)
  socket.on("close", () => {
    openConnections--
    sockets.delete(socket)
  })
})

const stats = (): CollectorStats => ({
  type: "stats",
  messages,
  uniqueMessageIds: ids.size,
  duplicates,
  bytes,
  requests,
  rejectedRequests,
  malformedRequests,
  largestRequestBytes,
  oversizeRequests,
  largestBatchMessages,
  maxConcurrentConnections,
  totalConnections,
  maxConcurrentRequests,
  retriedRequests
})

const listen = (onListening: () => void) => server.listen(port, "127.0.0.1", onListening)

const goDown = (mode: "refuse" | "503", done: () => void) => {
  downMode = mode
  if (mode === "503") return done()
  server.close()
  for (const socket of sockets) socket.destroy()
  done()
}

const comeUp = () => {
  const was = downMode
  downMode = undefined
  if (was === "refuse") listen(() => undefined)
}

type Command =
  | { readonly type: "configure"; readonly delayMs?: number; readonly down?: { readonly mode: "refuse" | "503" } }
  | { readonly type: "up"; readonly afterMs: number }
  | { readonly type: "stats" }

const reply = (message: object) => {
  if (process.send) process.send(message)
}

process.on("message", (command: Command) => {
  switch (command.type) {
    case "configure": {
      delayMs = command.delayMs ?? 0
      if (command.down !== undefined) goDown(command.down.mode, () => reply({ type: "configure" }))
      else reply({ type: "configure" })
      break
    }
    case "up": {
      setTimeout(comeUp, command.afterMs)
      reply({ type: "up" })
      break
    }
    case "stats": {
      reply(stats())
      break
    }
  }
})

// Exit with the parent.
process.on("disconnect", () => process.exit(0))

listen(() => {
  port = (server.address() as AddressInfo).port
  if (process.send) process.send({ type: "ready", port })
  else console.log(`PORT ${port}`)
})

if (!process.send) {
  process.on("SIGINT", () => {
    console.log(JSON.stringify(stats(), null, 2))
    process.exit(0)
  })
}
