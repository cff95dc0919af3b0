/**
 * A local, Segment-compatible collector: an HTTP server answering `POST /v1/batch` on `127.0.0.1`
 * (an ephemeral port by default) that validates requests the way the Segment API does and stores what
 * it accepted, so that you can point a real client at it and read back what arrived.
 *
 * Node-only (it runs on `@effect/platform-node`'s `NodeHttpServer`): import it as
 * `analytics-effect/Collector`; it is not part of the package's main entry.
 *
 * What it checks, and how it answers:
 *
 * | request | answer |
 * | --- | --- |
 * | `Authorization` is not Basic auth for `writeKey` (when the option is set) | `401` |
 * | no `Authorization` header and a body `writeKey` other than `writeKey` | `401` |
 * | body over `maxBodyBytes` (500,000) bytes, measured after gunzip | `400`, code `too_large` |
 * | `Content-Encoding` other than `gzip`/`identity`, or a corrupt gzip stream | `400`, code `invalid_encoding` |
 * | body that is not UTF-8 JSON | `400`, code `invalid_json` |
 * | body that is not `{ batch: [...], sentAt?: string, writeKey?: string }` | `400`, code `invalid_batch` |
 * | more than `maxBatchMessages` (2,500) messages | `400`, code `too_many_messages` |
 * | a message that is not an object with a known `type` | `400`, code `invalid_message` |
 * | a message over `maxMessageBytes` (32,000) bytes of JSON | `400`, code `message_too_large` |
 * | anything else on the batch path | `200` `{ "success": true }`, batch stored |
 * | another path or method | `404` |
 *
 * An oversize body is answered `400`, not `413`, because that is what the Segment API answers; the
 * client treats both the same way (never retried). Unlike the real API, which accepts a batch of more
 * than 2,500 messages and silently drops the rest, the collector rejects it, so that a client bug
 * shows. A rejected request stores nothing (the whole batch is refused) and is listed in `rejected`.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Layer } from "effect"
 * import { Analytics } from "analytics-effect"
 * import * as Collector from "analytics-effect/Collector"
 *
 * const program = Effect.gen(function*() {
 *   const collector = yield* Collector.make({ writeKey: "local-key" })
 *   yield* Analytics.track({ userId: "f4ca124298", event: "Signed Up" }).pipe(
 *     // The layer's scope closes when the effect ends: the event is flushed to the collector.
 *     Effect.provide(
 *       Analytics.layer({ writeKey: "local-key", host: collector.url }).pipe(Layer.provide(FetchHttpClient.layer))
 *     )
 *   )
 *   return yield* collector.messages
 * })
 *
 * Effect.runPromise(Effect.scoped(program)).then(console.log)
 * ```
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Http from "node:http"
import * as Zlib from "node:zlib"

/**
 * Options of the collector. Every one has a default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The port to listen on. Default `0`: an ephemeral port chosen by the system (read it from `url`). */
  readonly port?: number | undefined
  /** The interface to listen on. Default `"127.0.0.1"` (loopback only). */
  readonly host?: string | undefined
  /** The batch path. Default `"/v1/batch"`. */
  readonly path?: string | undefined
  /** When set, requests must authenticate with this write key (Basic auth, or the body's `writeKey`). */
  readonly writeKey?: Redacted.Redacted<string> | string | undefined
  /** The largest request body, in bytes of JSON after gunzip. Default 500,000. */
  readonly maxBodyBytes?: number | undefined
  /** The largest message, in bytes of its JSON. Default 32,000. */
  readonly maxMessageBytes?: number | undefined
  /** The most messages in one batch. Default 2,500. */
  readonly maxBatchMessages?: number | undefined
}

/**
 * The defaults: the Segment API's limits, on loopback, on an ephemeral port.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  port: 0,
  host: "127.0.0.1",
  path: "/v1/batch",
  maxBodyBytes: 500_000,
  maxMessageBytes: 32_000,
  maxBatchMessages: 2_500
} as const

/**
 * The message types the collector accepts.
 *
 * @since 0.1.0
 * @category models
 */
export const messageTypes: ReadonlySet<string> = new Set(["identify", "track", "page", "screen", "group", "alias"])

/**
 * One accepted request.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReceivedBatch {
  /** Position among accepted requests, from 0. */
  readonly index: number
  /** When it arrived, in milliseconds on Effect's `Clock`. */
  readonly receivedAt: number
  /** The request headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>
  /** Whether the body was gzip-compressed. */
  readonly gzip: boolean
  /** The size of the (uncompressed) JSON body, in bytes. */
  readonly bodyBytes: number
  /** The body's `sentAt`, when present. */
  readonly sentAt: string | undefined
  /** The body's `writeKey`, when present. */
  readonly writeKey: string | undefined
  /** The messages of the batch, parsed, in order. */
  readonly messages: ReadonlyArray<Record<string, unknown>>
}

/**
 * Why a request was refused.
 *
 * @since 0.1.0
 * @category models
 */
export type RejectionCode =
  | "unauthorized"
  | "too_large"
  | "invalid_encoding"
  | "invalid_json"
  | "invalid_batch"
  | "too_many_messages"
  | "invalid_message"
  | "message_too_large"

/**
 * One refused request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rejection {
  /** When it arrived, in milliseconds on Effect's `Clock`. */
  readonly receivedAt: number
  /** The status it was answered with: `400` or `401`. */
  readonly status: number
  readonly code: RejectionCode
  /** The explanation sent back in the response body. */
  readonly message: string
  /** The request headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * The running collector.
 *
 * @since 0.1.0
 * @category models
 */
export interface CollectorService {
  /** Where it listens, without a path: `http://127.0.0.1:PORT`. Pass it as the client's `host`. */
  readonly url: string
  /** The full batch URL: `url` followed by the path. */
  readonly endpoint: string
  /** Every accepted request, in arrival order. */
  readonly received: Effect.Effect<ReadonlyArray<ReceivedBatch>>
  /** The messages of every accepted request, in arrival order. */
  readonly messages: Effect.Effect<ReadonlyArray<Record<string, unknown>>>
  /** Every refused request, in arrival order. */
  readonly rejected: Effect.Effect<ReadonlyArray<Rejection>>
  /**
   * Waits until at least `count` messages have been accepted, then returns all of them. Bound it with
   * `Effect.timeout` if the messages may never come.
   */
  readonly awaitMessages: (count: number) => Effect.Effect<ReadonlyArray<Record<string, unknown>>>
  /** Forgets what was received and refused. */
  readonly clear: Effect.Effect<void>
}

/**
 * The `Collector` service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Collector extends Context.Tag("analytics-effect/Collector")<Collector, CollectorService>() {}

interface State {
  readonly received: ReadonlyArray<ReceivedBatch>
  readonly rejected: ReadonlyArray<Rejection>
  readonly messageCount: number
}

const emptyState: State = { received: [], rejected: [], messageCount: 0 }

class Refused {
  constructor(readonly status: number, readonly code: RejectionCode, readonly message: string) {}
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder("utf-8", { fatal: true })

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const positiveInt = (n: number | undefined, fallback: number): number =>
  n === undefined || !Number.isFinite(n) ? fallback : Math.max(1, Math.floor(n))

/** The write key of a Basic `Authorization` header (the user name; the password is ignored). */
const basicUser = (header: string): string | undefined => {
  const match = /^basic\s+(\S+)\s*$/i.exec(header)
  if (match === null) return undefined
  const decoded = Encoding.decodeBase64String(match[1]!)
  if (Either.isLeft(decoded)) return undefined
  const colon = decoded.right.indexOf(":")
  return colon === -1 ? decoded.right : decoded.right.slice(0, colon)
}

const formatUrl = (host: string, port: number): string => {
  const shown = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host
  return `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`
}

/**
 * Starts a collector in the current scope; closing the scope stops it. Fails with a `ServeError` when
 * the port cannot be bound.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Collector from "analytics-effect/Collector"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const collector = yield* Collector.make({ writeKey: "local-key" })
 *     yield* Effect.log(`POST your batches to ${collector.endpoint}`)
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<CollectorService, ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? defaults.host
    const rawPath = options.path ?? defaults.path
    const path = (rawPath.startsWith("/") ? rawPath : `/${rawPath}`) as `/${string}`
    const writeKey = options.writeKey === undefined
      ? undefined
      : typeof options.writeKey === "string"
      ? Redacted.make(options.writeKey)
      : options.writeKey
    const maxBodyBytes = positiveInt(options.maxBodyBytes, defaults.maxBodyBytes)
    const maxMessageBytes = positiveInt(options.maxMessageBytes, defaults.maxMessageBytes)
    const maxBatchMessages = positiveInt(options.maxBatchMessages, defaults.maxBatchMessages)
    // gzip can make incompressible data slightly larger: allow for its framing before giving up.
    const maxCompressedBytes = maxBodyBytes + Math.ceil(maxBodyBytes / 1000) + 1024

    const state = yield* SubscriptionRef.make<State>(emptyState)

    const server = yield* NodeHttpServer.make(() => Http.createServer(), { port: options.port ?? defaults.port, host })
    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const url = formatUrl(host, port)

    const checkKey = (presented: string | undefined): Refused | undefined =>
      writeKey === undefined || presented === Redacted.value(writeKey)
        ? undefined
        : new Refused(401, "unauthorized", "the write key does not match: send Basic auth with the source's write key")

    /** Reads at most `limit` bytes; returns `undefined` when the body is longer (and drains the rest). */
    const readBody = (request: HttpServerRequest.HttpServerRequest, limit: number) =>
      request.stream.pipe(
        Stream.runFold({ chunks: [] as Array<Uint8Array>, total: 0 }, (acc, chunk) => {
          acc.total += chunk.length
          if (acc.total <= limit) acc.chunks.push(chunk)
          return acc
        }),
        Effect.map(({ chunks, total }) => total > limit ? undefined : Buffer.concat(chunks, total)),
        Effect.mapError(() => new Refused(400, "invalid_batch", "the request body could not be read"))
      )

    const tooLarge = new Refused(
      400,
      "too_large",
      `the request body is larger than ${maxBodyBytes} bytes: send smaller batches`
    )

    const decode = (raw: Buffer, gzip: boolean): Either.Either<Buffer, Refused> => {
      if (!gzip) return raw.length > maxBodyBytes ? Either.left(tooLarge) : Either.right(raw)
      try {
        return Either.right(Zlib.gunzipSync(raw, { maxOutputLength: maxBodyBytes }))
      } catch (error) {
        return (error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE" || error instanceof RangeError
          ? Either.left(tooLarge)
          : Either.left(new Refused(400, "invalid_encoding", "the body is not a valid gzip stream"))
      }
    }

    const validate = (
      body: unknown,
      authorization: string | undefined
    ): Either.Either<{ messages: Array<Record<string, unknown>>; sentAt?: string; writeKey?: string }, Refused> => {
      if (!isRecord(body) || !Array.isArray(body.batch)) {
        return Either.left(new Refused(400, "invalid_batch", "expected a JSON object with a `batch` array"))
      }
      if (body.sentAt !== undefined && typeof body.sentAt !== "string") {
        return Either.left(new Refused(400, "invalid_batch", "`sentAt` must be an ISO-8601 string"))
      }
      if (body.writeKey !== undefined && typeof body.writeKey !== "string") {
        return Either.left(new Refused(400, "invalid_batch", "`writeKey` must be a string"))
      }
      if (authorization === undefined) {
        const refused = checkKey(body.writeKey)
        if (refused !== undefined) return Either.left(refused)
      }
      const batch: Array<unknown> = body.batch
      if (batch.length > maxBatchMessages) {
        return Either.left(
          new Refused(400, "too_many_messages", `the batch has ${batch.length} messages, over the limit of ${maxBatchMessages}`)
        )
      }
      const messages: Array<Record<string, unknown>> = []
      for (let i = 0; i < batch.length; i++) {
        const message = batch[i]
        if (!isRecord(message)) {
          return Either.left(new Refused(400, "invalid_message", `batch[${i}] is not an object`))
        }
        if (typeof message.type !== "string" || !messageTypes.has(message.type)) {
          return Either.left(
            new Refused(
              400,
              "invalid_message",
              `batch[${i}] has type ${JSON.stringify(message.type)}: expected one of ${Array.from(messageTypes).join(", ")}`
            )
          )
        }
        const size = utf8Encoder.encode(JSON.stringify(message)).length
        if (size > maxMessageBytes) {
          return Either.left(
            new Refused(
              400,
              "message_too_large",
              `batch[${i}] is ${size} bytes of JSON, over the limit of ${maxMessageBytes} bytes`
            )
          )
        }
        messages.push(message)
      }
      return Either.right({
        messages,
        ...(body.sentAt === undefined ? {} : { sentAt: body.sentAt }),
        ...(body.writeKey === undefined ? {} : { writeKey: body.writeKey })
      })
    }

    const receive = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const headers: Record<string, string> = { ...request.headers }
        const authorization = headers["authorization"]
        if (authorization !== undefined) {
          const refused = checkKey(basicUser(authorization))
          if (refused !== undefined) return yield* Effect.fail(refused)
        }
        const encoding = (headers["content-encoding"] ?? "identity").trim().toLowerCase()
        if (encoding !== "gzip" && encoding !== "identity" && encoding !== "") {
          return yield* Effect.fail(
            new Refused(400, "invalid_encoding", `unsupported Content-Encoding ${JSON.stringify(encoding)}: use gzip`)
          )
        }
        const gzip = encoding === "gzip"
        const raw = yield* readBody(request, gzip ? maxCompressedBytes : maxBodyBytes)
        if (raw === undefined) return yield* Effect.fail(tooLarge)
        const bytes = yield* decode(raw, gzip)
        const parsed = yield* Effect.try({
          try: () => JSON.parse(utf8Decoder.decode(bytes)) as unknown,
          catch: () => new Refused(400, "invalid_json", "the body is not valid UTF-8 JSON")
        })
        const batch = yield* validate(parsed, authorization)
        const receivedAt = yield* Clock.currentTimeMillis
        yield* SubscriptionRef.update(state, (s) => ({
          ...s,
          messageCount: s.messageCount + batch.messages.length,
          received: [...s.received, {
            index: s.received.length,
            receivedAt,
            headers,
            gzip,
            bodyBytes: bytes.length,
            sentAt: batch.sentAt,
            writeKey: batch.writeKey,
            messages: batch.messages
          }]
        }))
        return HttpServerResponse.unsafeJson({ success: true })
      }).pipe(
        Effect.catchAll((refused) =>
          Effect.gen(function*() {
            const receivedAt = yield* Clock.currentTimeMillis
            yield* SubscriptionRef.update(state, (s) => ({
              ...s,
              rejected: [...s.rejected, {
                receivedAt,
                status: refused.status,
                code: refused.code,
                message: refused.message,
                headers: { ...request.headers }
              }]
            }))
            return HttpServerResponse.unsafeJson(
              { success: false, code: refused.code, message: refused.message },
              { status: refused.status }
            )
          })
        )
      )

    const app = HttpRouter.empty.pipe(
      HttpRouter.post(path, Effect.flatMap(HttpServerRequest.HttpServerRequest, receive))
    )
    yield* server.serve(app)

    const messagesOf = (s: State) => s.received.flatMap((batch) => batch.messages)

    return Collector.of({
      url,
      endpoint: url + path,
      received: Effect.map(SubscriptionRef.get(state), (s) => s.received),
      messages: Effect.map(SubscriptionRef.get(state), messagesOf),
      rejected: Effect.map(SubscriptionRef.get(state), (s) => s.rejected),
      awaitMessages: (count) =>
        state.changes.pipe(
          Stream.filter((s) => s.messageCount >= count),
          Stream.take(1),
          Stream.runHead,
          Effect.flatMap(() => Effect.map(SubscriptionRef.get(state), messagesOf))
        ),
      clear: SubscriptionRef.set(state, emptyState)
    })
  })

/**
 * The collector as a layer: it runs while the layer's scope is open.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import * as Collector from "analytics-effect/Collector"
 *
 * it.effect("starts a collector", () =>
 *   Effect.gen(function*() {
 *     const collector = yield* Collector.Collector
 *     console.log(collector.endpoint) // http://127.0.0.1:PORT/v1/batch
 *   }).pipe(Effect.provide(Collector.layer())))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Collector, ServeError> =>
  Layer.scoped(Collector, make(options))
