/**
 * The HTTP transport: `POST {host}{path}` with the Segment batch body, on `@effect/platform`'s
 * abstract `HttpClient`. You choose the client implementation (fetch, Node's undici-based client, a
 * client behind a proxy agent) by providing its layer.
 *
 * @since 0.1.0
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import {
  EncodeReason,
  NetworkReason,
  StatusReason,
  TimeoutReason,
  TransportError,
  type TransportFailureReason
} from "./AnalyticsError.js"
import * as Gzip from "./internal/gzip.js"
import * as Wire from "./internal/wire.js"
import { type BatchRequest, type Delivery, Transport, type TransportService } from "./Transport.js"

/**
 * Options of the HTTP transport.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The source's write key, sent as Basic auth and in the body. Never logged. */
  readonly writeKey: Redacted.Redacted<string>
  /** Default `https://api.segment.io`. EU workspaces use `https://events.eu1.segmentapis.com`. */
  readonly host?: string | undefined
  /** Default `/v1/batch`. */
  readonly path?: string | undefined
  /** Compress request bodies (`Content-Encoding: gzip`). Default `false`. */
  readonly gzip?: boolean | undefined
  /** Per-request timeout, from sending to the end of the response. Default 10 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The defaults of the HTTP transport.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  host: "https://api.segment.io",
  path: "/v1/batch",
  gzip: false,
  timeout: Duration.seconds(10)
} as const

const maxBodyInError = 512

const utf8 = new TextEncoder()

const describeHttpError = (error: HttpClientError.HttpClientError): string => {
  const cause = error.cause as { message?: unknown; code?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined
  const detail = cause?.cause?.code ?? cause?.code ?? cause?.cause?.message ?? cause?.message
  const base = error.description ?? error.reason
  return detail === undefined ? base : `${base} (${String(detail)})`
}

// The forms in which the write key can come back in a response: as is, JSON-escaped, and as the
// Basic credentials.
const secretForms = (
  writeKey: Redacted.Redacted<string>,
  authorization: Redacted.Redacted<string>
): ReadonlyArray<string> => {
  const plain = Redacted.value(writeKey)
  const forms = [plain, JSON.stringify(plain).slice(1, -1), Redacted.value(authorization).slice("Basic ".length)]
  return forms.filter((form, i) => form.length > 0 && forms.indexOf(form) === i)
}

/**
 * Builds the HTTP transport from the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<TransportService, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const host = (options.host ?? defaults.host).replace(/\/+$/, "")
    const path = options.path ?? defaults.path
    const url = host + (path.startsWith("/") ? path : `/${path}`)
    const gzip = options.gzip ?? defaults.gzip
    const timeout = Duration.decode(options.timeout ?? defaults.timeout)
    const timeoutMillis = Duration.toMillis(timeout)
    const envelope = Wire.makeEnvelope(options.writeKey)
    const authorization = Wire.authorization(options.writeKey)
    // Trace ids of the user's system have no business at the analytics collector: no propagation headers.
    const client = HttpClient.withTracerPropagation(yield* HttpClient.HttpClient, false)
    const secrets = secretForms(options.writeKey, authorization)
    const redact = (text: string): string => {
      let out = text
      for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join("<redacted>")
      return out
    }

    const fail = (request: BatchRequest, reason: TransportFailureReason) =>
      new TransportError({ reason, messages: request.messages.length, attempt: request.attempt })

    const send = (request: BatchRequest): Effect.Effect<Delivery, TransportError> =>
      Effect.gen(function*() {
        const sentAt = new Date(yield* Clock.currentTimeMillis).toISOString()
        const text = Wire.body(envelope, request.messages, sentAt)
        const bytes = utf8.encode(text)
        const payload = gzip
          ? yield* Effect.mapError(
            Gzip.gzip(bytes),
            (cause) => fail(request, new EncodeReason({ description: String(cause) }))
          )
          : bytes
        const httpRequest = HttpClientRequest.post(url, {
          headers: Wire.headers(authorization, request.attempt, gzip),
          body: HttpBody.uint8Array(payload, "application/json")
        })
        const response = yield* client.execute(httpRequest).pipe(
          Effect.catchAll((error) =>
            // A client the user wrapped with `HttpClient.filterStatusOk` reports a status as an error.
            error._tag === "ResponseError" && error.reason === "StatusCode"
              ? Effect.succeed(error.response)
              : Effect.fail(fail(request, new NetworkReason({ description: describeHttpError(error) })))
          )
        )
        const status = response.status
        // Read the body so that the connection can be reused; its text only matters on failure.
        const responseText = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
        if (status >= 200 && status < 300) {
          return { status, bodyBytes: bytes.length } satisfies Delivery
        }
        const now = yield* Clock.currentTimeMillis
        const retryAfterMillis = Wire.parseRetryAfter(response.headers["retry-after"], now)
        // A collector may echo the request back: the write key must not reach the error.
        const safeText = redact(responseText)
        const trimmed = safeText.length > maxBodyInError
          ? safeText.slice(0, maxBodyInError) + "…"
          : safeText
        return yield* Effect.fail(fail(
          request,
          new StatusReason({
            status,
            ...(retryAfterMillis === undefined ? {} : { retryAfterMillis }),
            ...(trimmed === "" ? {} : { body: trimmed })
          })
        ))
      }).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => fail(request, new TimeoutReason({ timeoutMillis }))
        }),
        Effect.withSpan("HttpTransport.send", {
          attributes: { "analytics.messages": request.messages.length, "analytics.attempt": request.attempt }
        })
      )

    return Transport.of({ send })
  })

/**
 * The HTTP transport as a layer. Provide an `HttpClient` layer to it: `FetchHttpClient.layer`, or
 * `NodeHttpClient.layerUndici` from `@effect/platform-node`.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Layer, Redacted } from "effect"
 * import { HttpTransport } from "analytics-effect"
 *
 * const TransportLive = HttpTransport.layer({ writeKey: Redacted.make("YOUR_WRITE_KEY") }).pipe(
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Transport, never, HttpClient.HttpClient> =>
  Layer.effect(Transport, make(options))
