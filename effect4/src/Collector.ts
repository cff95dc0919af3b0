/**
 * A local, Segment-compatible collector: an HTTP server answering `POST /v1/batch` on `127.0.0.1`
 * (an ephemeral port by default) that validates requests the way the Segment API does and records what
 * it accepted, so that you can point a real client at it and read back what arrived. It can also be
 * told to misbehave (answer 503 for a while, hang, reset connections, be down) for integration tests.
 *
 * Node-only (it runs on `node:http`): import it as `analytics-effect/Collector`; it is not part of the
 * package's main entry. `analytics-effect collector` runs it from a shell.
 *
 * What it checks while it reads a request, and how it answers:
 *
 * | request | answer |
 * | --- | --- |
 * | headers not complete within `headersTimeout` (10 s) | `408`, connection closed (by Node) |
 * | `Authorization` is not Basic auth for `writeKey` (when the option is set) | `401` |
 * | no `Authorization` header and a body `writeKey` other than `writeKey` | `401` |
 * | body over `maxBodyBytes` (500,000) bytes, measured after gunzip | `413`, code `too_large`, answered as soon as the limit is passed (the rest is not read) and the connection closed |
 * | body not complete within `bodyTimeout` (10 s) of its headers | `408`, code `body_timeout`, connection closed |
 * | `Content-Encoding` other than `gzip`/`identity`, or a corrupt gzip stream | `400`, code `invalid_encoding` |
 * | body nested deeper than `maxJsonDepth` (128) levels | `400`, code `too_deep` |
 * | body that is not UTF-8 JSON | `400`, code `invalid_json` |
 * | body that is not `{ batch: [...], sentAt?: string, writeKey?: string }` | `400`, code `invalid_batch` |
 * | more than `maxBatchMessages` (2,500) messages | `400`, code `too_many_messages` |
 * | a message that is not an object with a known `type` | `400`, code `invalid_message` |
 * | a message over `maxMessageBytes` (32,000) bytes of JSON | `400`, code `message_too_large` |
 * | anything else on the batch path | `200` `{ "success": true }`, batch stored |
 * | another path or method | `404` |
 *
 * Unlike the real API, which accepts a batch of more than 2,500 messages and silently drops the rest,
 * the collector rejects it, so that a client bug shows. A refused request stores nothing (the whole
 * batch is refused) and is listed in `rejected`. A bug in the collector itself answers `500` with code
 * `internal_error`, and is listed there too.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { FetchHttpClient } from "effect/http"
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
 * @since 1.0.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as PubSub from "effect/PubSub"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { ServeError } from "effect/http/HttpServerError"
import * as Internal from "./internal/collector/server.js"

/**
 * Options of the collector. Every one has a default.
 *
 * @since 1.0.0
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
  /** The deepest nesting of arrays and objects in a body. Default 128. */
  readonly maxJsonDepth?: number | undefined
  /** How long a client may take to send a request's headers. Default 10 seconds. */
  readonly headersTimeout?: Duration.Input | undefined
  /** How long a client may take to send a request's body, from its headers. Default 10 seconds. */
  readonly bodyTimeout?: Duration.Input | undefined
  /**
   * What the collector keeps: `"messages"` (default) every accepted request with its messages and the
   * request log; `"ids"` no messages, but the request log and the receipts of each `messageId` (to find
   * duplicates at volume); `"counts"` only the counters (a collector that runs for days).
   */
  readonly retain?: "messages" | "ids" | "counts" | undefined
}

/**
 * The defaults: the Segment API's limits, on loopback, on an ephemeral port.
 *
 * @since 1.0.0
 * @category defaults
 */
export const defaults: {
  readonly port: 0
  readonly host: "127.0.0.1"
  readonly path: "/v1/batch"
  readonly maxBodyBytes: 500_000
  readonly maxMessageBytes: 32_000
  readonly maxBatchMessages: 2_500
  readonly maxJsonDepth: 128
  readonly headersTimeout: Duration.Duration
  readonly bodyTimeout: Duration.Duration
  readonly retain: "messages"
} = Internal.defaults

/**
 * The message types the collector accepts.
 *
 * @since 1.0.0
 * @category models
 */
export const messageTypes: ReadonlySet<string> = Internal.messageTypes

/**
 * One accepted request.
 *
 * @since 1.0.0
 * @category models
 */
export interface ReceivedBatch {
  readonly _tag: "Received"
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
  /** How many messages the batch had. */
  readonly messageCount: number
}

/**
 * Why a request was refused.
 *
 * @since 1.0.0
 * @category models
 */
export type RejectionCode =
  | "unauthorized"
  | "too_large"
  | "body_timeout"
  | "invalid_encoding"
  | "too_deep"
  | "invalid_json"
  | "invalid_batch"
  | "too_many_messages"
  | "invalid_message"
  | "message_too_large"
  | "down"
  | "internal_error"

/**
 * One refused request.
 *
 * @since 1.0.0
 * @category models
 */
export interface Rejection {
  readonly _tag: "Rejected"
  /** When it arrived, in milliseconds on Effect's `Clock`. */
  readonly receivedAt: number
  /** The status it was answered with. */
  readonly status: number
  readonly code: RejectionCode
  /** The explanation sent back in the response body. */
  readonly message: string
  /** The request headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>
  /** How many bytes of the body were read before answering (as sent, compressed or not). */
  readonly bytesRead: number
}

/**
 * What the collector saw, as it happened: each accepted request and each refused one. Read it from
 * `subscribe`.
 *
 * @since 1.0.0
 * @category models
 */
export type Event = ReceivedBatch | Rejection

/**
 * How the collector answers one request. The default, `accept`, is the behaviour described at the top
 * of this module; the others are faults for tests (see `setScript` and `setFallback`). Whatever the
 * answer, the body is read (except for `reset`) and counted, and a valid batch answered 2xx is stored.
 *
 * @since 1.0.0
 * @category answers
 */
export type Answer =
  | { readonly _tag: "Accept" }
  | {
    readonly _tag: "Status"
    readonly status: number
    /** Extra response headers (`Retry-After`, `X-RateLimit-Reset`, `Location`...). */
    readonly headers: Readonly<Record<string, string>>
    /** The response body. Default: `{"success":true}` for 2xx, `{"success":false}` otherwise. */
    readonly body: string | undefined
  }
  | { readonly _tag: "Delay"; readonly delay: Duration.Input; readonly then: Answer }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "StallBody"; readonly status: number }
  | { readonly _tag: "HugeBody"; readonly status: number; readonly bytes: number }
  | { readonly _tag: "Reset" }

/**
 * Validate, store and answer as the Segment API would (the default).
 *
 * @since 1.0.0
 * @category answers
 */
export const accept: Answer = { _tag: "Accept" }

/**
 * Answer with `code`, with optional `Retry-After`, `X-RateLimit-Reset` and `Location` headers, any
 * other headers, and a body.
 *
 * @example
 * ```ts
 * import * as Collector from "analytics-effect/Collector"
 *
 * const rateLimited = Collector.status(429, { retryAfter: "1" })
 * const redirect = Collector.status(307, { location: "https://elsewhere.example/v1/batch" })
 * ```
 *
 * @since 1.0.0
 * @category answers
 */
export const status = (
  code: number,
  options: {
    readonly retryAfter?: string | undefined
    readonly rateLimitReset?: string | undefined
    readonly location?: string | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
    readonly body?: string | undefined
  } = {}
): Answer => ({
  _tag: "Status",
  status: code,
  headers: {
    ...options.headers,
    ...(options.retryAfter === undefined ? {} : { "retry-after": options.retryAfter }),
    ...(options.rateLimitReset === undefined ? {} : { "x-ratelimit-reset": options.rateLimitReset }),
    ...(options.location === undefined ? {} : { location: options.location })
  },
  body: options.body
})

/**
 * Answer with `code` and a `Retry-After` header (`"3"` seconds or an HTTP date).
 *
 * @since 1.0.0
 * @category answers
 */
export const retryAfter = (code: number, value: string): Answer => status(code, { retryAfter: value })

/**
 * Answer `then` (by default `accept`) after `delay`, on Effect's `Clock`. A client that gives up first
 * leaves its messages "taken" (read, never answered).
 *
 * @since 1.0.0
 * @category answers
 */
export const delay = (duration: Duration.Input, then: Answer = accept): Answer => ({
  _tag: "Delay",
  delay: duration,
  then
})

/**
 * Read the body and never answer (until the client or the collector closes the connection).
 *
 * @since 1.0.0
 * @category answers
 */
export const hang: Answer = { _tag: "Hang" }

/**
 * Send the status line and headers (`status`, 200 by default) and the first byte of a body, then
 * nothing more.
 *
 * @since 1.0.0
 * @category answers
 */
export const stallBody = (code = 200): Answer => ({ _tag: "StallBody", status: code })

/**
 * Answer `status` (200 by default) with a body of `bytes` bytes, streamed as the client reads it.
 *
 * @since 1.0.0
 * @category answers
 */
export const hugeBody = (bytes: number, code = 200): Answer => ({ _tag: "HugeBody", status: code, bytes })

/**
 * Reset the connection as soon as the request's headers arrive.
 *
 * @since 1.0.0
 * @category answers
 */
export const reset: Answer = { _tag: "Reset" }

/**
 * `answer`, `n` times: a piece of a script.
 *
 * @example
 * ```ts
 * import * as Collector from "analytics-effect/Collector"
 *
 * // The first 5 requests get a 500, the next a 429 with Retry-After: 1, the rest the fallback.
 * const script = [...Collector.times(5, Collector.status(500)), Collector.retryAfter(429, "1")]
 * ```
 *
 * @since 1.0.0
 * @category answers
 */
export const times = (n: number, answer: Answer): ReadonlyArray<Answer> =>
  Array.from({ length: Math.max(0, Math.floor(n)) }, () => answer)

/**
 * How the collector is down: `"refuse"` stops listening and resets every connection (a client sees
 * `ECONNREFUSED`); `"503"` answers every request `503`.
 *
 * @since 1.0.0
 * @category models
 */
export type DownMode = "refuse" | "503"

/**
 * What happened to one request (`requests`).
 *
 * @since 1.0.0
 * @category models
 */
export interface RequestRecord {
  /** Position among all requests, from 0. */
  readonly index: number
  /** When its headers arrived, in milliseconds on Effect's `Clock`. */
  readonly at: number
  /** When it was answered (or cut, or parked), in milliseconds on Effect's `Clock`. */
  readonly endedAt: number
  readonly method: string
  readonly path: string
  /** The status answered, or: `reset` (the collector cut the connection), `hang` (never answered),
   * `gone` (the client went away first) */
  readonly result: number | "reset" | "hang" | "gone"
  /** The answer it got (`Accept` unless scripted). */
  readonly answer: Answer["_tag"]
  /** Messages in its body (0 when the body was not a batch). */
  readonly messages: number
  /** Body bytes read, as sent. */
  readonly bytesRead: number
}

/**
 * The collector's counters.
 *
 * @since 1.0.0
 * @category models
 */
export interface Stats {
  /** Requests whose headers arrived (refused connections never arrive). */
  readonly requests: number
  /** Requests answered 2xx. */
  readonly okRequests: number
  /** Requests refused by the collector's checks (or `503` while down). */
  readonly rejectedRequests: number
  /** Of those, the bodies that were not a batch at all (not JSON, not gzip, not `{ batch }`). */
  readonly malformedRequests: number
  /** Messages in requests answered 2xx, duplicates included. */
  readonly messages: number
  /** Distinct messageIds in requests answered 2xx (0 with `retain: "counts"`). */
  readonly uniqueMessageIds: number
  /** Receipts of a messageId already received in a 2xx-answered request (0 with `retain: "counts"`). */
  readonly duplicates: number
  /** Bytes of the bodies answered 2xx, as sent (compressed or not). */
  readonly bytes: number
  /** The largest body read, in bytes of uncompressed JSON. */
  readonly largestRequestBytes: number
  /** The most messages in one request. */
  readonly largestBatchMessages: number
  /** Requests that carried `X-Retry-Count`. */
  readonly retriedRequests: number
  /** Connections accepted. */
  readonly connections: number
  readonly maxConcurrentConnections: number
  readonly maxConcurrentRequests: number
  /** Receipts of each messageId in requests answered 2xx (empty with `retain: "counts"`). */
  readonly accepted: ReadonlyMap<string, number>
  /**
   * Receipts of each messageId in requests whose body was read but never answered (`hang`, or a
   * `delay` whose client gave up): the one legitimate source of duplicates (empty with `"counts"`).
   */
  readonly taken: ReadonlyMap<string, number>
}

/**
 * The running collector.
 *
 * @since 1.0.0
 * @category models
 */
export interface CollectorService {
  /** Where it listens, without a path: `http://127.0.0.1:PORT`. Pass it as the client's `host`. */
  readonly url: string
  /** The port it listens on. */
  readonly port: number
  /** The full batch URL: `url` followed by the path. */
  readonly endpoint: string
  /** Every accepted request, in arrival order. */
  readonly received: Effect.Effect<ReadonlyArray<ReceivedBatch>>
  /** The messages of every accepted request, in arrival order. */
  readonly messages: Effect.Effect<ReadonlyArray<Record<string, unknown>>>
  /** Every refused request, in arrival order. */
  readonly rejected: Effect.Effect<ReadonlyArray<Rejection>>
  /** Every request, in arrival order, with what happened to it (empty with `retain: "counts"`). */
  readonly requests: Effect.Effect<ReadonlyArray<RequestRecord>>
  /** The counters. */
  readonly stats: Effect.Effect<Stats>
  /**
   * Waits until at least `count` messages have been accepted, then returns all of them. Bound it with
   * `Effect.timeout` if the messages may never come.
   */
  readonly awaitMessages: (count: number) => Effect.Effect<ReadonlyArray<Record<string, unknown>>>
  /**
   * Subscribes to what the collector sees from now on (accepted and refused requests), in the given
   * scope. Read it with `PubSub.take`, `PubSub.takeBetween` or `Stream.fromSubscription`.
   */
  readonly subscribe: Effect.Effect<PubSub.Subscription<Event>, never, Scope.Scope>
  /** Forgets what was received and refused, and resets the counters. */
  readonly clear: Effect.Effect<void>
  /** The answers of the next requests, one each; after them, the fallback answers. */
  readonly setScript: (answers: ReadonlyArray<Answer>) => Effect.Effect<void>
  /** The answer once the script is used up (`accept` unless changed). */
  readonly setFallback: (answer: Answer) => Effect.Effect<void>
  /** Goes down until `up`: refusing connections, or answering 503. */
  readonly down: (mode: DownMode) => Effect.Effect<void>
  /** Comes back up, on the same port. */
  readonly up: Effect.Effect<void, ServeError>
}

/**
 * The `Collector` service tag.
 *
 * @since 1.0.0
 * @category tags
 */
export class Collector extends Context.Service<Collector, CollectorService>()("analytics-effect/Collector") {}

/**
 * Starts a collector in the current scope; closing the scope stops it (and cuts every connection).
 * Fails with a `ServeError` when the port cannot be bound.
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
 * @since 1.0.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<CollectorService, ServeError, Scope.Scope> = Internal.make

/**
 * The collector as a layer: it runs while the layer's scope is open.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import * as Collector from "analytics-effect/Collector"
 *
 * it.live("starts a collector", () =>
 *   Effect.gen(function*() {
 *     const collector = yield* Collector.Collector
 *     console.log(collector.endpoint) // http://127.0.0.1:PORT/v1/batch
 *   }).pipe(Effect.provide(Collector.layer())))
 * ```
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Collector, ServeError> =>
  Layer.effect(Collector, make(options))
