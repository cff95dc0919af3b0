/**
 * One HTTP exchange of the transport: send a request, decide on the status and headers, read at most a
 * capped prefix of the body within a short deadline, then release the connection (aborting whatever
 * of the body is left). Redirects are never followed, whatever the `HttpClient`: fetch gets
 * `redirect: "manual"` and undici `maxRedirections: 0` for these requests.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import type * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Option from "effect/Option"
import type { Redactor } from "./core/redact.js"
import * as Response from "./response.js"

/** The most bytes of a response body ever read. @internal */
export const maxBodyBytes = 16 * 1024

/** The most characters of server text (a body, a `Location`) carried in an error. @internal */
export const maxTextInError = 512

/** What came back: the status and headers, and the start of the body. @internal */
export interface Answer {
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: Response.Prefix
}

/** Why no answer came. @internal */
export type Failure =
  | { readonly _tag: "Network"; readonly description: string }
  | { readonly _tag: "Timeout"; readonly timeoutMillis: number }

/** @internal */
export type Exchange = (
  request: HttpClientRequest.HttpClientRequest,
  options: { readonly bodyTimeout: Duration.Duration }
) => Effect.Effect<Answer, Failure>

// `NodeHttpClient.UndiciOptions` of @effect/platform-node, by its key: the core cannot import a
// Node-only package, and a Reference with the same key is the same context entry.
const UndiciOptions = Context.Reference<Record<string, unknown>>(
  "@effect/platform-node/NodeHttpClient/UndiciOptions",
  { defaultValue: () => ({}) }
)

const describeHttpError = (error: HttpClientError.HttpClientError): string => {
  const reason = error.reason
  const cause = reason.cause as
    | { message?: unknown; code?: unknown; cause?: { code?: unknown; message?: unknown } }
    | undefined
  const detail = cause?.cause?.code ?? cause?.code ?? cause?.cause?.message ?? cause?.message
  const base = reason.description ?? reason._tag.replace(/Error$/, "")
  return detail === undefined ? base : `${base} (${String(detail)})`
}

/**
 * Server text made safe for an error: every form of a known secret redacted, then cut to
 * `maxTextInError` characters (redacting first, so that a cut never leaves part of a secret).
 *
 * @internal
 */
export const safeText = (redactor: Redactor, text: string): string => {
  const safe = redactor.redact(text)
  return safe.length > maxTextInError ? safe.slice(0, maxTextInError) + "…" : safe
}

/**
 * Builds the exchange over the `HttpClient` in context. The per-request options of fetch
 * (`FetchHttpClient.RequestInit`) and undici (`NodeHttpClient.UndiciOptions`) found in context when the
 * transport is built are kept, with redirects turned off on top. Effect 4's client layers also merge
 * the context they were built with under each request's; options given only there are replaced by
 * these for the transport's requests (the request's context wins), so give them where the transport
 * is built.
 *
 * @internal
 */
export const make = (options: {
  readonly timeout: Duration.Duration
  readonly redactor: Redactor
}): Effect.Effect<Exchange, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const requestInit = Option.getOrUndefined(yield* Effect.serviceOption(FetchHttpClient.RequestInit))
    const undiciOptions = yield* UndiciOptions
    const perRequest = Context.make(FetchHttpClient.RequestInit, { ...requestInit, redirect: "manual" }).pipe(
      Context.add(UndiciOptions, { ...undiciOptions, maxRedirections: 0 }),
      // Trace ids of the user's system have no business at the collector: no propagation headers.
      Context.add(HttpClient.TracerPropagationEnabled, false),
      // The client's own span would record every response header a server sends, unredacted: the
      // transport's span records what matters instead.
      Context.add(HttpClient.TracerDisabledWhen, () => true)
    )
    // The request's connection is released (the rest of the body aborted) when the exchange ends.
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)
    const timeoutMillis = Duration.toMillis(options.timeout)

    return (request, { bodyTimeout }) =>
      Effect.scoped(
        Effect.gen(function*() {
          const response = yield* client.execute(request).pipe(
            Effect.catch((error) =>
              // A client the user wrapped with `HttpClient.filterStatusOk` reports a status as an error.
              error.reason._tag === "StatusCodeError"
                ? Effect.succeed(error.reason.response)
                : Effect.fail<Failure>({
                  _tag: "Network",
                  description: safeText(options.redactor, describeHttpError(error))
                })
            ),
            Effect.timeoutOrElse({
              duration: options.timeout,
              orElse: () => Effect.fail<Failure>({ _tag: "Timeout", timeoutMillis })
            }),
            // Merged over the caller's context, so these win over the same options given elsewhere.
            Effect.provideContext(perRequest)
          )
          // The attempt is decided: what follows only reads a little of the body, and cannot fail.
          const body = yield* Response.readPrefix(response, maxBodyBytes, bodyTimeout)
          return { status: response.status, headers: response.headers, body }
        })
      )
  })
