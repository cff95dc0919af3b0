/**
 * The collector's HTTP server, on `node:http` directly: its limits are enforced while the body
 * streams in (413 as soon as the body passes the limit, 408 when it takes too long), and its faults
 * need the socket (reset, stall, refuse connections and come back on the same port). Each request is
 * an Effect run in a `FiberSet`, so closing the collector's scope interrupts them all.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as PubSub from "effect/PubSub"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Base64 from "effect/encoding/Base64"
import { ServeError } from "effect/http/HttpServerError"
import { isUtf8 } from "node:buffer"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Zlib from "node:zlib"
import type * as Collector from "../../Collector.js"
import { isRecord, positiveInt } from "../core/guards.js"
import { jsonDepth } from "../core/jsonDepth.js"
import { Recorder } from "./recorder.js"

/** @internal */
export const defaults = {
  port: 0,
  host: "127.0.0.1",
  path: "/v1/batch",
  maxBodyBytes: 500_000,
  maxMessageBytes: 32_000,
  maxBatchMessages: 2_500,
  maxJsonDepth: 128,
  headersTimeout: Duration.seconds(10),
  bodyTimeout: Duration.seconds(10),
  retain: "messages"
} as const

/** @internal */
export const messageTypes: ReadonlySet<string> = new Set(["identify", "track", "page", "screen", "group", "alias"])

const accept: Collector.Answer = { _tag: "Accept" }

class Refused {
  constructor(
    readonly status: number,
    readonly code: Collector.RejectionCode,
    readonly message: string,
    /** The body was not read to its end: close the connection after answering. */
    readonly close = false
  ) {}
}

/** The client went away (or the collector went down) before the body was read. */
class Gone {
  readonly _tag = "Gone"
}

const malformedCodes: ReadonlySet<Collector.RejectionCode> = new Set(["invalid_encoding", "invalid_json", "invalid_batch"])


/** The write key of a Basic `Authorization` header (the user name; the password is ignored). */
const basicUser = (header: string): string | undefined => {
  const match = /^basic\s+(\S+)\s*$/i.exec(header)
  if (match === null) return undefined
  const decoded = Base64.decodeString(match[1]!)
  if (Result.isFailure(decoded)) return undefined
  const colon = decoded.success.indexOf(":")
  return colon === -1 ? decoded.success : decoded.success.slice(0, colon)
}

const formatUrl = (host: string, port: number): string => {
  const shown = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host
  return `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`
}

const headerRecord = (req: Http.IncomingMessage): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return headers
}

interface Batch {
  readonly messages: Array<Record<string, unknown>>
  readonly ids: Array<string>
  readonly sentAt: string | undefined
  readonly writeKey: string | undefined
}

interface Settings {
  readonly path: string
  readonly writeKey: Redacted.Redacted<string> | undefined
  readonly maxBodyBytes: number
  readonly maxCompressedBytes: number
  readonly maxMessageBytes: number
  readonly maxBatchMessages: number
  readonly maxJsonDepth: number
  readonly bodyTimeout: Duration.Duration
}

const settingsOf = (options: Collector.Options): Settings => {
  const rawPath = options.path ?? defaults.path
  const maxBodyBytes = positiveInt(options.maxBodyBytes, defaults.maxBodyBytes)
  return {
    path: rawPath.startsWith("/") ? rawPath : `/${rawPath}`,
    writeKey: options.writeKey === undefined
      ? undefined
      : typeof options.writeKey === "string"
      ? Redacted.make(options.writeKey)
      : options.writeKey,
    maxBodyBytes,
    // gzip can make incompressible data slightly larger: allow for its framing before giving up.
    maxCompressedBytes: maxBodyBytes + Math.ceil(maxBodyBytes / 1000) + 1024,
    maxMessageBytes: positiveInt(options.maxMessageBytes, defaults.maxMessageBytes),
    maxBatchMessages: positiveInt(options.maxBatchMessages, defaults.maxBatchMessages),
    maxJsonDepth: positiveInt(options.maxJsonDepth, defaults.maxJsonDepth),
    bodyTimeout: Duration.fromInputUnsafe(options.bodyTimeout ?? defaults.bodyTimeout)
  }
}

// --- the checks, in the order the table of `Collector.ts` lists them ---

const checkKey = (settings: Settings, presented: string | undefined): Refused | undefined =>
  settings.writeKey === undefined || presented === Redacted.value(settings.writeKey)
    ? undefined
    : new Refused(401, "unauthorized", "the write key does not match: send Basic auth with the source's write key")

const tooLarge = (settings: Settings) =>
  new Refused(413, "too_large", `the request body is larger than ${settings.maxBodyBytes} bytes: send smaller batches`, true)

const decode = (settings: Settings, raw: Buffer, gzip: boolean): Result.Result<Buffer, Refused> => {
  if (!gzip) return raw.length > settings.maxBodyBytes ? Result.fail(tooLarge(settings)) : Result.succeed(raw)
  try {
    return Result.succeed(Zlib.gunzipSync(raw, { maxOutputLength: settings.maxBodyBytes }))
  } catch (error) {
    return (error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE" || error instanceof RangeError
      ? Result.fail(new Refused(413, "too_large", tooLarge(settings).message))
      : Result.fail(new Refused(400, "invalid_encoding", "the body is not a valid gzip stream"))
  }
}

const parse = (settings: Settings, bytes: Buffer): Result.Result<unknown, Refused> => {
  // Before parsing: a body nested 100,000 levels deep would overflow the stack of whatever walks it.
  if (jsonDepth(bytes, settings.maxJsonDepth) === -1) {
    return Result.fail(
      new Refused(400, "too_deep", `the body nests arrays and objects deeper than ${settings.maxJsonDepth} levels`)
    )
  }
  // Node's native UTF-8 check, then its fast decoding (several times faster than a fatal TextDecoder).
  if (!isUtf8(bytes)) return Result.fail(new Refused(400, "invalid_json", "the body is not valid UTF-8 JSON"))
  try {
    return Result.succeed(JSON.parse(bytes.toString("utf8")) as unknown)
  } catch {
    return Result.fail(new Refused(400, "invalid_json", "the body is not valid UTF-8 JSON"))
  }
}

const validate = (
  settings: Settings,
  body: unknown,
  authorization: string | undefined
): Result.Result<Batch, Refused> => {
  if (!isRecord(body) || !Array.isArray(body.batch)) {
    return Result.fail(new Refused(400, "invalid_batch", "expected a JSON object with a `batch` array"))
  }
  if (body.sentAt !== undefined && typeof body.sentAt !== "string") {
    return Result.fail(new Refused(400, "invalid_batch", "`sentAt` must be an ISO-8601 string"))
  }
  if (body.writeKey !== undefined && typeof body.writeKey !== "string") {
    return Result.fail(new Refused(400, "invalid_batch", "`writeKey` must be a string"))
  }
  if (authorization === undefined) {
    const refused = checkKey(settings, body.writeKey)
    if (refused !== undefined) return Result.fail(refused)
  }
  const batch: Array<unknown> = body.batch
  if (batch.length > settings.maxBatchMessages) {
    return Result.fail(
      new Refused(
        400,
        "too_many_messages",
        `the batch has ${batch.length} messages, over the limit of ${settings.maxBatchMessages}`
      )
    )
  }
  const messages: Array<Record<string, unknown>> = []
  const ids: Array<string> = []
  for (let i = 0; i < batch.length; i++) {
    const message = batch[i]
    if (!isRecord(message)) return Result.fail(new Refused(400, "invalid_message", `batch[${i}] is not an object`))
    if (typeof message.type !== "string" || !messageTypes.has(message.type)) {
      return Result.fail(
        new Refused(
          400,
          "invalid_message",
          `batch[${i}] has type ${JSON.stringify(message.type)}: expected one of ${Array.from(messageTypes).join(", ")}`
        )
      )
    }
    const size = Buffer.byteLength(JSON.stringify(message), "utf8")
    if (size > settings.maxMessageBytes) {
      return Result.fail(
        new Refused(
          400,
          "message_too_large",
          `batch[${i}] is ${size} bytes of JSON, over the limit of ${settings.maxMessageBytes} bytes`
        )
      )
    }
    messages.push(message)
    if (typeof message.messageId === "string") ids.push(message.messageId)
  }
  return Result.succeed({
    messages,
    ids,
    sentAt: body.sentAt as string | undefined,
    writeKey: body.writeKey as string | undefined
  })
}

/**
 * Reads a body up to `limit` bytes, within `timeout`: fails with a 413 as soon as it passes the limit
 * (the rest is not read), a 408 when it is late, `Gone` when the client goes away first.
 */
const readBody = (
  req: Http.IncomingMessage,
  limit: number,
  tooBig: Refused,
  timeout: Duration.Duration,
  onBytes: (n: number) => void
): Effect.Effect<Buffer, Refused | Gone> => {
  const declared = Number(req.headers["content-length"])
  if (Number.isFinite(declared) && declared > limit) return Effect.fail(tooBig)
  return Effect.callback<Buffer, Refused | Gone>((resume) => {
    const chunks: Array<Buffer> = []
    let total = 0
    const onData = (chunk: Buffer) => {
      total += chunk.length
      onBytes(chunk.length)
      if (total > limit) {
        req.pause()
        cleanup()
        return resume(Effect.fail(tooBig))
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Buffer.concat(chunks, total)))
    }
    const onGone = () => {
      cleanup()
      resume(Effect.fail(new Gone()))
    }
    const cleanup = () => {
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onGone)
      req.off("aborted", onGone)
      req.off("close", onClose)
    }
    const onClose = () => {
      if (!req.complete) onGone()
    }
    req.on("data", onData)
    req.once("end", onEnd)
    req.once("error", onGone)
    req.once("aborted", onGone)
    req.once("close", onClose)
    return Effect.sync(() => {
      cleanup()
      req.pause()
    })
  }).pipe(
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () =>
        Effect.fail(
          new Refused(408, "body_timeout", `the request body did not arrive within ${Duration.format(timeout)}`, true)
        )
    })
  )
}

/** Resolves when the response's connection closes (the client went away, or the collector cut it). */
const closed = (res: Http.ServerResponse): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (res.destroyed || res.socket === null || res.socket.destroyed) return resume(Effect.void)
    const done = () => resume(Effect.void)
    res.once("close", done)
    return Effect.sync(() => void res.off("close", done))
  })

const writeChunk = (res: Http.ServerResponse, chunk: Buffer): Effect.Effect<boolean> =>
  Effect.callback<boolean>((resume) => {
    if (res.destroyed) return resume(Effect.succeed(false))
    if (res.write(chunk)) return resume(Effect.succeed(true))
    const onDrain = () => {
      res.off("close", onClose)
      resume(Effect.succeed(true))
    }
    const onClose = () => {
      res.off("drain", onDrain)
      resume(Effect.succeed(false))
    }
    res.once("drain", onDrain)
    res.once("close", onClose)
    return Effect.sync(() => {
      res.off("drain", onDrain)
      res.off("close", onClose)
    })
  })

const hugeChunk = Buffer.alloc(64 * 1024, " ")

/** @internal */
export const make = (options: Collector.Options = {}): Effect.Effect<Collector.CollectorService, ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = settingsOf(options)
    const host = options.host ?? defaults.host
    const recorder = new Recorder(options.retain ?? defaults.retain)
    const messageCount = yield* SubscriptionRef.make(0)
    const events = yield* PubSub.unbounded<Collector.Event>()
    let script: Array<Collector.Answer> = []
    let fallback: Collector.Answer = accept
    let downMode: Collector.DownMode | undefined
    const sockets = new Set<Net.Socket>()
    /** Sockets whose request was read and is waiting (hang, stall, delay): cut when going down. */
    const parked = new Set<Net.Socket>()

    const headersTimeout = Duration.toMillis(Duration.fromInputUnsafe(options.headersTimeout ?? defaults.headersTimeout))
    const server = yield* Effect.acquireRelease(
      Effect.sync(() =>
        Http.createServer({
          headersTimeout,
          // The body's deadline is ours (on Effect's Clock); Node's whole-request timer is off.
          requestTimeout: 0,
          keepAliveTimeout: 5_000,
          // How often Node checks `headersTimeout`: often enough for a short one.
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4)))
        })
      ),
      (server) =>
        Effect.callback<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.closeAllConnections()
          if (!server.listening) return resume(Effect.void)
          server.close(() => resume(Effect.void))
        })
    )
    server.on("connection", (socket: Net.Socket) => {
      recorder.connected()
      sockets.add(socket)
      socket.once("close", () => {
        recorder.openConnections--
        sockets.delete(socket)
        parked.delete(socket)
      })
    })

    const listen = (port: number) =>
      Effect.callback<number, ServeError>((resume) => {
        const onError = (cause: Error) => resume(Effect.fail(new ServeError({ cause })))
        server.once("error", onError)
        server.listen({ port, host }, () => {
          server.off("error", onError)
          const address = server.address() as Net.AddressInfo
          resume(Effect.succeed(address.port))
        })
      })
    const port = yield* listen(options.port ?? defaults.port)
    const url = formatUrl(host, port)

    const nextAnswer = (): Collector.Answer => script.shift() ?? fallback
    const isRefusing = () => downMode === "refuse"

    // --- answering: the recorder counts in the same synchronous step that writes the answer ---

    const respond = (res: Http.ServerResponse, status: number, headers: Record<string, string>, body: string, close: boolean) => {
      if (res.headersSent || res.destroyed) return false
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        ...(close ? { connection: "close" } : {}),
        ...headers
      })
      res.end(body)
      return true
    }

    const handle = (req: Http.IncomingMessage, res: Http.ServerResponse) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        const headers = headerRecord(req)
        const index = recorder.arrived(headers["x-retry-count"] !== undefined)
        const pathname = (req.url ?? "/").split("?")[0]!
        let bytesRead = 0
        let messages = 0
        let answer: Collector.Answer["_tag"] = "Accept"
        const end = (result: Collector.RequestRecord["result"]) =>
          Effect.map(Clock.currentTimeMillis, (endedAt) =>
            recorder.ended({
              index,
              at,
              endedAt,
              method: req.method ?? "",
              path: pathname,
              result,
              answer,
              messages,
              bytesRead
            }))
        const cut = (result: "reset" | "gone") =>
          Effect.andThen(
            Effect.sync(() => req.socket.destroy()),
            end(result)
          )

        const refuse = (refused: Refused) =>
          Effect.gen(function*() {
            const rejection: Collector.Rejection = {
              _tag: "Rejected",
              receivedAt: at,
              status: refused.status,
              code: refused.code,
              message: refused.message,
              headers,
              bytesRead
            }
            // A body not read to its end is not read at all: the connection goes once the answer is out.
            const close = refused.close || !req.complete
            const sent = respond(
              res,
              refused.status,
              {},
              JSON.stringify({ success: false, code: refused.code, message: refused.message }),
              close
            )
            if (close) {
              res.once("finish", () => req.socket.destroySoon())
            }
            if (!sent) return yield* end("gone")
            recorder.refused(rejection, malformedCodes.has(refused.code))
            yield* PubSub.publish(events, rejection)
            yield* end(refused.status)
          })

        if (req.method !== "POST" || pathname !== settings.path) {
          respond(res, 404, {}, JSON.stringify({ success: false, message: "not found: POST to " + settings.path }), !req.complete)
          if (!req.complete) res.once("finish", () => req.socket.destroySoon())
          return yield* end(404)
        }
        if (isRefusing()) return yield* cut("reset")
        const planned = downMode === "503" ? undefined : nextAnswer()
        if (planned !== undefined) answer = planned._tag
        if (planned?._tag === "Reset") return yield* cut("reset")

        const authorization = headers["authorization"]
        if (planned === undefined) {
          // Down with 503: the body is read (bounded) and the request refused.
        } else if (authorization !== undefined && planned._tag === "Accept") {
          const refused = checkKey(settings, basicUser(authorization))
          if (refused !== undefined) return yield* refuse(refused)
        }
        const encoding = (headers["content-encoding"] ?? "identity").trim().toLowerCase()
        if (encoding !== "gzip" && encoding !== "identity" && encoding !== "") {
          return yield* refuse(
            new Refused(400, "invalid_encoding", `unsupported Content-Encoding ${JSON.stringify(encoding)}: use gzip`)
          )
        }
        const gzip = encoding === "gzip"
        const raw = yield* readBody(
          req,
          gzip ? settings.maxCompressedBytes : settings.maxBodyBytes,
          tooLarge(settings),
          settings.bodyTimeout,
          (n) => {
            bytesRead += n
          }
        ).pipe(Effect.result)
        if (Result.isFailure(raw)) return yield* raw.failure instanceof Gone ? end("gone") : refuse(raw.failure)
        // Gone down while the body was arriving: no answer (a server that stopped does not answer).
        if (isRefusing()) return yield* cut("reset")
        if (planned === undefined || downMode === "503") {
          return yield* refuse(new Refused(503, "down", "the collector is down"))
        }
        const checked = Result.flatMap(
          decode(settings, raw.success, gzip),
          (bytes) =>
            Result.map(
              Result.flatMap(parse(settings, bytes), (body) => validate(settings, body, authorization)),
              (batch) => ({ batch, plainBytes: bytes.length })
            )
        )
        if (Result.isSuccess(checked)) {
          messages = checked.success.batch.messages.length
          recorder.bodyRead(checked.success.plainBytes, messages)
        }
        const batch = Result.getOrUndefined(checked)
        const ids = batch?.batch.ids ?? []

        // 2xx: the client is told its messages arrived; count and store them in the same step.
        const answeredOk = Effect.gen(function*() {
          if (batch === undefined) return recorder.answeredOk([], raw.success.length, undefined)
          const received: Collector.ReceivedBatch = {
            _tag: "Received",
            index: recorder.nextReceivedIndex,
            receivedAt: at,
            headers,
            gzip,
            bodyBytes: batch.plainBytes,
            sentAt: batch.batch.sentAt,
            writeKey: batch.batch.writeKey,
            messages: batch.batch.messages,
            messageCount: batch.batch.messages.length
          }
          recorder.answeredOk(ids, raw.success.length, received)
          yield* SubscriptionRef.update(messageCount, (n) => n + received.messageCount)
          yield* PubSub.publish(events, received)
        })

        const park = <A>(wait: Effect.Effect<A>) =>
          Effect.acquireUseRelease(
            Effect.sync(() => parked.add(req.socket)),
            () => wait,
            () => Effect.sync(() => parked.delete(req.socket))
          )

        const answerWith = (planned: Collector.Answer): Effect.Effect<void> =>
          Effect.gen(function*() {
            switch (planned._tag) {
              case "Accept": {
                if (Result.isFailure(checked)) return yield* refuse(checked.failure)
                if (!respond(res, 200, {}, "{\"success\":true}", false)) {
                  recorder.tookWithoutAnswer(ids)
                  return yield* end("gone")
                }
                yield* answeredOk
                return yield* end(200)
              }
              case "Status": {
                const ok = planned.status >= 200 && planned.status < 300
                const body = planned.body ?? (ok ? "{\"success\":true}" : "{\"success\":false}")
                if (!respond(res, planned.status, planned.headers, body, false)) {
                  recorder.tookWithoutAnswer(ids)
                  return yield* end("gone")
                }
                if (ok) yield* answeredOk
                return yield* end(planned.status)
              }
              case "Delay": {
                yield* park(Effect.sleep(planned.delay))
                if (res.destroyed || req.socket.destroyed || isRefusing()) {
                  // The client gave up (or the collector went down) first: it took the batch all the same.
                  recorder.tookWithoutAnswer(ids)
                  if (!req.socket.destroyed) req.socket.destroy()
                  return yield* end("gone")
                }
                return yield* answerWith(planned.then)
              }
              case "Hang": {
                recorder.tookWithoutAnswer(ids)
                yield* end("hang")
                return yield* park(closed(res))
              }
              case "StallBody": {
                res.writeHead(planned.status, { "content-type": "application/json", "content-length": "1000" })
                res.write("{")
                if (planned.status >= 200 && planned.status < 300) yield* answeredOk
                else recorder.tookWithoutAnswer(ids)
                yield* end(planned.status)
                return yield* park(closed(res))
              }
              case "HugeBody": {
                res.writeHead(planned.status, { "content-type": "application/json" })
                if (planned.status >= 200 && planned.status < 300) yield* answeredOk
                yield* end(planned.status)
                let left = planned.bytes
                while (left > 0) {
                  const chunk = left >= hugeChunk.length ? hugeChunk : hugeChunk.subarray(0, left)
                  if (!(yield* writeChunk(res, chunk))) return
                  left -= chunk.length
                }
                res.end()
                return
              }
              case "Reset":
                return yield* cut("reset")
            }
          })
        return yield* answerWith(planned)
      }).pipe(
        // A bug in the collector: answered, and recorded, rather than a silent 500.
        Effect.catchDefect((defect) =>
          Effect.gen(function*() {
            const at = yield* Clock.currentTimeMillis
            const message = `internal error: ${defect instanceof Error ? defect.message : String(defect)}`
            const rejection: Collector.Rejection = {
              _tag: "Rejected",
              receivedAt: at,
              status: 500,
              code: "internal_error",
              message,
              headers: headerRecord(req),
              bytesRead: 0
            }
            recorder.refused(rejection, false)
            respond(res, 500, {}, JSON.stringify({ success: false, code: "internal_error", message }), true)
            yield* PubSub.publish(events, rejection)
          })
        )
      )

    const runFork = yield* FiberSet.makeRuntime<never, void, never>()
    server.on("request", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      runFork(handle(req, res))
    })

    const down = (mode: Collector.DownMode) =>
      Effect.sync(() => {
        downMode = mode
        if (mode === "503") return
        // Stop listening (new connections are refused); cut idle connections and parked requests. A
        // connection still sending its body is cut once the body has arrived (see `handle`), so that
        // an answer the collector sent is never lost to the outage.
        server.close()
        server.closeIdleConnections()
        for (const socket of parked) socket.destroy()
        parked.clear()
      })

    const up = Effect.suspend(() => {
      const was = downMode
      downMode = undefined
      return was === "refuse" && !server.listening ? Effect.asVoid(listen(port)) : Effect.void
    })

    const messagesOf = () => recorder.received.flatMap((batch) => batch.messages)

    return {
      url,
      port,
      endpoint: url + settings.path,
      received: Effect.sync(() => recorder.received.slice()),
      messages: Effect.sync(messagesOf),
      rejected: Effect.sync(() => recorder.rejected.slice()),
      requests: Effect.sync(() => recorder.log.slice()),
      stats: Effect.sync(() => recorder.stats()),
      awaitMessages: (count) =>
        SubscriptionRef.changes(messageCount).pipe(
          Stream.filter((n) => n >= count),
          Stream.take(1),
          Stream.runDrain,
          Effect.andThen(Effect.sync(messagesOf))
        ),
      subscribe: PubSub.subscribe(events),
      clear: Effect.andThen(Effect.sync(() => recorder.clear()), SubscriptionRef.set(messageCount, 0)),
      setScript: (answers) =>
        Effect.sync(() => {
          script = answers.slice()
        }),
      setFallback: (answer) =>
        Effect.sync(() => {
          fallback = answer
        }),
      down,
      up
    } satisfies Collector.CollectorService
  })
