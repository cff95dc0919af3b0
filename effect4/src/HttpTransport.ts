/**
 * The HTTP transport: `POST {host}{path}` with the Segment batch body, on the abstract `HttpClient`
 * of `effect/http`. You choose the client implementation (fetch, Node's undici-based client, a
 * client behind a proxy agent) by providing its layer.
 *
 * Success means our POST got a 2xx. A redirect is never followed (a 3xx is a failure carrying its
 * `Location`), an attempt is decided as soon as the status and headers arrive, and no more than 16 KB
 * of a response body is ever read. Server text in errors has every form of the write key and of
 * OAuth tokens redacted.
 *
 * @since 1.0.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpBody from "effect/http/HttpBody"
import type * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import type * as Scope from "effect/Scope"
import {
  EncodeReason,
  InvalidOptions,
  NetworkReason,
  StatusReason,
  TimeoutReason,
  TransportError,
  type TransportFailureReason
} from "./AnalyticsError.js"
import { utf8 } from "./internal/core/base64.js"
import { Redactor } from "./internal/core/redact.js"
import * as CoreWire from "./internal/core/wire.js"
import * as Exchange from "./internal/exchange.js"
import * as Gzip from "./internal/gzip.js"
import * as OAuth from "./internal/oauth.js"
import * as Response from "./internal/response.js"
import * as Wire from "./internal/wire.js"
import { type BatchRequest, type Delivery, Transport, type TransportService } from "./Transport.js"

/**
 * A Segment data region. A workspace lives in one, and data sent to another region's endpoint is
 * rejected or lost: an EU workspace must use `"eu"`.
 *
 * @since 1.0.0
 * @category models
 */
export type Region = "us" | "eu"

/**
 * The endpoints of each region: the Tracking API's host, and the OAuth token server.
 *
 * @since 1.0.0
 * @category defaults
 */
export const regions: { readonly [R in Region]: { readonly host: string; readonly authServer: string } } = {
  us: { host: "https://api.segment.io", authServer: "https://oauth2.segment.io" },
  eu: { host: "https://events.eu1.segmentapis.com", authServer: "https://oauth2.eu1.segmentapis.com" }
}

/**
 * OAuth 2 for the Tracking API (Segment's "OAuth app"): instead of Basic auth with the write key, each
 * request carries an access token obtained from the region's token server with an assertion signed by
 * your private key. The write key still goes in the body.
 *
 * @since 1.0.0
 * @category models
 */
export interface OAuthOptions {
  /** The OAuth app's id ("App ID" in Segment's Access Management). */
  readonly clientId: string
  /** The id of the public key you uploaded to the OAuth app ("Key ID"). */
  readonly keyId: string
  /**
   * The private key matching that public key: an RSA key of at least 2048 bits, as PEM (`BEGIN
   * PRIVATE KEY`, or `BEGIN RSA PRIVATE KEY`; `\n` escapes are accepted). Never logged.
   */
  readonly privateKey: Redacted.Redacted<string>
  /** The token server. Default: the region's (`https://oauth2.segment.io` for `"us"`). */
  readonly authServer?: string | undefined
  /** The scope requested. Default `"tracking_api:write"`. */
  readonly scope?: string | undefined
}

/**
 * Options of the HTTP transport.
 *
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** The source's write key, sent in the body, and as Basic auth unless `oauth` is given. Never logged. */
  readonly writeKey: Redacted.Redacted<string>
  /**
   * The Segment region of your workspace: `"us"` (default) or `"eu"`. Picks the host and the OAuth
   * token server; an explicit `host` (or `oauth.authServer`) wins.
   */
  readonly region?: Region | undefined
  /** Default: the region's, `https://api.segment.io` for `"us"`, `https://events.eu1.segmentapis.com` for `"eu"`. */
  readonly host?: string | undefined
  /** Default `/v1/batch`. */
  readonly path?: string | undefined
  /** Compress request bodies (`Content-Encoding: gzip`). Default `false`. */
  readonly gzip?: boolean | undefined
  /** Per-request timeout, from sending until the status and headers arrive. Default 10 seconds. */
  readonly timeout?: Duration.Input | undefined
  /** Authenticate with OAuth 2 instead of the write key. */
  readonly oauth?: OAuthOptions | undefined
}

/**
 * The defaults of the HTTP transport.
 *
 * @since 1.0.0
 * @category defaults
 */
export const defaults = {
  region: "us" as Region,
  host: regions.us.host,
  path: "/v1/batch",
  gzip: false,
  timeout: Duration.seconds(10),
  oauthScope: "tracking_api:write"
} as const

// How long the body of an answer may take to arrive once its status is known: enough for the small
// body of a healthy collector, whose connection can then be reused; a stalled one is cut.
const bodyTimeout = Duration.seconds(1)

const invalid = (option: string, reason: string, path: ReadonlyArray<string> = []) =>
  new InvalidOptions({ option, path, reason })

const httpUrl = (value: string, option: string, path?: ReadonlyArray<string>): Effect.Effect<string, InvalidOptions> => {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  return url !== undefined && (url.protocol === "http:" || url.protocol === "https:")
    ? Effect.succeed(value.replace(/\/+$/, ""))
    : Effect.fail(invalid(option, "must be an http:// or https:// URL", path))
}

const nonEmpty = (value: unknown, field: string): Effect.Effect<string, InvalidOptions> =>
  typeof value === "string" && value.trim() !== ""
    ? Effect.succeed(value)
    : Effect.fail(invalid("oauth", "must be a non-empty string", [field]))

interface Resolved {
  readonly url: string
  readonly gzip: boolean
  readonly timeout: Duration.Duration
  readonly oauth:
    | { readonly clientId: string; readonly keyId: string; readonly key: CryptoKey; readonly authServer: string; readonly scope: string }
    | undefined
}

/** Checks the options and applies the defaults, in one place. */
const resolve = (options: Options): Effect.Effect<Resolved, InvalidOptions> =>
  Effect.gen(function*() {
    const regionName = options.region ?? defaults.region
    if (!Object.hasOwn(regions, regionName)) {
      return yield* Effect.fail(invalid("region", `must be "us" or "eu", not ${JSON.stringify(String(regionName))}`))
    }
    const region = regions[regionName]
    const host = yield* httpUrl(options.host ?? region.host, "host")
    const path = options.path ?? defaults.path
    const timeout = Option.getOrUndefined(Duration.fromInput(options.timeout ?? defaults.timeout))
    // Effect 4 has negative durations: they are refused here with zero.
    if (timeout === undefined || !Duration.isGreaterThan(timeout, Duration.zero)) {
      return yield* Effect.fail(invalid("timeout", "must be a positive duration"))
    }
    const oauth = options.oauth === undefined ? undefined : yield* Effect.gen(function*() {
      const o = options.oauth!
      const clientId = yield* nonEmpty(o.clientId, "clientId")
      const keyId = yield* nonEmpty(o.keyId, "keyId")
      const scope = yield* nonEmpty(o.scope ?? defaults.oauthScope, "scope")
      const authServer = yield* httpUrl(o.authServer ?? region.authServer, "oauth", ["authServer"])
      if (!Redacted.isRedacted(o.privateKey)) {
        return yield* Effect.fail(invalid("oauth", "must be a Redacted string (Redacted.make(pem))", ["privateKey"]))
      }
      const key = yield* OAuth.importKey(o.privateKey as Redacted.Redacted<string>)
      return { clientId, keyId, scope, authServer, key }
    })
    return {
      url: host + (path.startsWith("/") ? path : `/${path}`),
      gzip: options.gzip ?? defaults.gzip,
      timeout,
      oauth
    }
  })

/**
 * Builds the HTTP transport from the `HttpClient` in context, in the current scope (which holds the
 * OAuth token refreshes). Fails with `InvalidOptions` for an unknown `region`, a `host` or
 * `oauth.authServer` that is not an http(s) URL, a non-positive `timeout`, or an `oauth` private key
 * that cannot be imported.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<TransportService, InvalidOptions, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* resolve(options)
    const envelope = Wire.makeEnvelope(options.writeKey)
    const basic = CoreWire.basicAuthorization(Redacted.value(options.writeKey))
    const redactor = new Redactor([Redacted.value(options.writeKey)])
    const exchange = yield* Exchange.make({ timeout: settings.timeout, redactor })
    const tokens = settings.oauth === undefined ? undefined : yield* OAuth.make(
      { ...settings.oauth, userAgent: Wire.userAgent, timeout: settings.timeout },
      exchange,
      redactor
    )

    const fail = (request: BatchRequest, reason: TransportFailureReason) =>
      new TransportError({ reason, messages: request.messages.length, attempt: request.attempt })

    // One POST of the batch with `authorization`: a fresh body (same bytes, new sentAt) every time.
    const post = (request: BatchRequest, authorization: string) =>
      Effect.gen(function*() {
        const sentAt = new Date(yield* Clock.currentTimeMillis).toISOString()
        const text = Wire.body(envelope, request.messages, sentAt)
        // Uncompressed, the body goes as text (HttpBody.text encodes it to UTF-8 once, here).
        const body = settings.gzip
          ? HttpBody.uint8Array(
            yield* Effect.mapError(
              Gzip.gzip(utf8(text)),
              (cause) => fail(request, new EncodeReason({ description: String(cause) }))
            ),
            "application/json"
          )
          : HttpBody.text(text, "application/json")
        const httpRequest = HttpClientRequest.post(settings.url, {
          headers: CoreWire.headers({
            authorization,
            attempt: request.attempt,
            gzip: settings.gzip,
            userAgent: Wire.userAgent
          }),
          body
        })
        return yield* Effect.mapError(
          exchange(httpRequest, { bodyTimeout }),
          (failure) =>
            fail(
              request,
              failure._tag === "Network"
                ? new NetworkReason({ description: failure.description })
                : new TimeoutReason({ timeoutMillis: failure.timeoutMillis })
            )
        )
      })

    // With OAuth, a 401 may mean the token was revoked: one fresh token, one more POST.
    const postAuthorized = (request: BatchRequest): Effect.Effect<Exchange.Answer, TransportError> => {
      if (tokens === undefined) return post(request, basic)
      const token = Effect.mapError(tokens.get, (reason) => fail(request, reason))
      return Effect.gen(function*() {
        const first = yield* token
        const answer = yield* post(request, CoreWire.bearerAuthorization(Redacted.value(first.value)))
        if (answer.status !== 401) return answer
        yield* tokens.invalidate(first)
        const second = yield* token
        return yield* post(request, CoreWire.bearerAuthorization(Redacted.value(second.value)))
      })
    }

    const send = (request: BatchRequest): Effect.Effect<Delivery, TransportError> =>
      Effect.gen(function*() {
        const answer = yield* postAuthorized(request)
        const status = answer.status
        yield* Effect.annotateCurrentSpan("http.response.status_code", status)
        if (CoreWire.isSuccess(status)) {
          return { status, bodyBytes: Wire.bodyBytes(envelope, request.messages) } satisfies Delivery
        }
        const retryAfterMillis = Wire.retryAfterMillis((name) => answer.headers[name], yield* Clock.currentTimeMillis)
        const text = Response.prefixText(answer.body)
        const location = CoreWire.isRedirect(status) ? answer.headers["location"] : undefined
        return yield* Effect.fail(fail(
          request,
          new StatusReason({
            status,
            ...(retryAfterMillis === undefined ? {} : { retryAfterMillis }),
            ...(text === "" ? {} : { body: Exchange.safeText(redactor, text) }),
            ...(location === undefined ? {} : { location: Exchange.safeText(redactor, location) })
          })
        ))
      }).pipe(
        Effect.withSpan("HttpTransport.send", {
          attributes: { "analytics.messages": request.messages.length, "analytics.attempt": request.attempt }
        })
      )

    return Transport.of({ send })
  })

/**
 * The HTTP transport as a layer. Provide an `HttpClient` layer to it: `FetchHttpClient.layer` from
 * `effect/http`, or `NodeHttpClient.layerUndici` from `@effect/platform-node`. Per-request options
 * (`FetchHttpClient.RequestInit`, `NodeHttpClient.UndiciOptions`) are read from the context this layer
 * is built in, and redirects are turned off on top of them.
 *
 * @example
 * ```ts
 * import { Layer, Redacted } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { HttpTransport } from "analytics-effect"
 *
 * const TransportLive = HttpTransport.layer({ writeKey: Redacted.make("YOUR_WRITE_KEY"), region: "eu" }).pipe(
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Transport, InvalidOptions, HttpClient.HttpClient> =>
  Layer.effect(Transport, make(options))

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), Option.getOrUndefined)

/**
 * The `oauth` option read from `effect/Config`: `undefined` when none of `ANALYTICS_OAUTH_CLIENT_ID`,
 * `ANALYTICS_OAUTH_KEY_ID` and `ANALYTICS_OAUTH_PRIVATE_KEY` (read as redacted) is set; all three when
 * any is (a `ConfigError` names the missing one). `ANALYTICS_OAUTH_AUTH_SERVER` and
 * `ANALYTICS_OAUTH_SCOPE` are optional.
 *
 * @since 1.0.0
 * @category config
 */
export const oauthConfig: Config.Config<OAuthOptions | undefined> = Config.mapEffect(
  Config.all({
    clientId: optional(Config.String("ANALYTICS_OAUTH_CLIENT_ID")),
    keyId: optional(Config.String("ANALYTICS_OAUTH_KEY_ID")),
    privateKey: optional(Config.Redacted("ANALYTICS_OAUTH_PRIVATE_KEY")),
    authServer: optional(Config.String("ANALYTICS_OAUTH_AUTH_SERVER")),
    scope: optional(Config.String("ANALYTICS_OAUTH_SCOPE"))
  }),
  ({ authServer, clientId, keyId, privateKey, scope }): Effect.Effect<OAuthOptions | undefined, Config.ConfigError> => {
    // A missing key, as Config reports one (a missing key at its path), with why it is needed.
    const missing = (name: string) =>
      Effect.fail(
        new Config.ConfigError(
          new Schema.SchemaError(
            new SchemaIssue.Pointer(
              [name],
              new SchemaIssue.MissingKey({ messageMissingKey: `Expected ${name} to be set (OAuth is configured)` })
            )
          )
        )
      )
    if (clientId === undefined) {
      return keyId === undefined && privateKey === undefined
        ? Effect.succeed(undefined)
        : missing("ANALYTICS_OAUTH_CLIENT_ID")
    }
    if (keyId === undefined) return missing("ANALYTICS_OAUTH_KEY_ID")
    if (privateKey === undefined) return missing("ANALYTICS_OAUTH_PRIVATE_KEY")
    return Effect.succeed({ clientId, keyId, privateKey, authServer, scope })
  }
)

/**
 * The `region` option read from `effect/Config` (`ANALYTICS_REGION`: `us` or `eu`).
 *
 * @since 1.0.0
 * @category config
 */
export const regionConfig: Config.Config<Region | undefined> = optional(Config.Literals(["us", "eu"], "ANALYTICS_REGION"))
