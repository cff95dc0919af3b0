/**
 * OAuth 2 for the Tracking API, as Segment documents it: a JWT assertion signed with the customer's
 * private key (RS256 through Web Crypto, `kid` header, expiry under 60 s) is exchanged at the region's
 * token server for an access token (scope `tracking_api:write`), sent as `Authorization: Bearer`.
 *
 * One token is shared by every sender of a transport. It is refreshed in the background once half its
 * lifetime has passed, on Effect's `Clock`; while that refresh is pending or failing, the current token
 * is used until shortly before it expires. A refresh runs once however many senders ask, in the
 * transport's scope, so that a sender interrupted meanwhile does not cancel it for the others.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { InvalidOptions, OAuthReason } from "../AnalyticsError.js"
import { utf8 } from "./core/base64.js"
import * as Jwt from "./core/jwt.js"
import type { Redactor } from "./core/redact.js"
import * as Wire from "./core/wire.js"
import * as Exchange from "./exchange.js"
import * as Ids from "./ids.js"
import * as Response from "./response.js"

/** @internal */
export interface Settings {
  readonly clientId: string
  readonly keyId: string
  readonly key: CryptoKey
  /** The token server, without a trailing slash: the assertion's audience; tokens come from `/token`. */
  readonly authServer: string
  readonly scope: string
  readonly userAgent: string
  readonly timeout: Duration.Duration
}

/** A token, and when to refresh it. @internal */
export interface AccessToken {
  readonly value: Redacted.Redacted<string>
  readonly refreshAt: number
  readonly usableUntil: number
}

/** @internal */
export interface Tokens {
  /** A token to send with, fetching one first if none is usable. */
  readonly get: Effect.Effect<AccessToken, OAuthReason>
  /** Forgets `token` after the collector refused it, so that the next `get` fetches another. */
  readonly invalidate: (token: AccessToken) => Effect.Effect<void>
}

interface State {
  readonly token: AccessToken | undefined
  readonly refreshing: Deferred.Deferred<AccessToken, OAuthReason> | undefined
}

// After a failed background refresh, the next one waits this long (the current token still works).
const refreshRetryMillis = 30_000

const rsa = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const

/**
 * Imports the PEM private key for signing. Fails with `InvalidOptions` (never quoting the key) when it
 * is not an RSA private key of at least 2048 bits.
 *
 * @internal
 */
export const importKey = (privateKey: Redacted.Redacted<string>): Effect.Effect<CryptoKey, InvalidOptions> => {
  const invalid = (reason: string) => new InvalidOptions({ option: "oauth", path: ["privateKey"], reason })
  const parsed = Jwt.parsePrivateKeyPem(Redacted.value(privateKey))
  if (parsed._tag === "Invalid") return Effect.fail(invalid(parsed.reason))
  return Effect.tryPromise({
    try: () => crypto.subtle.importKey("pkcs8", parsed.der as Uint8Array<ArrayBuffer>, rsa, false, ["sign"]),
    catch: () => invalid("Web Crypto cannot import it as an RSA private key (PKCS#8 or PKCS#1 PEM)")
  }).pipe(
    Effect.filterOrFail(
      (key) => ((key.algorithm as RsaHashedKeyAlgorithm).modulusLength ?? 0) >= 2048,
      () => invalid("RS256 needs an RSA key of at least 2048 bits")
    )
  )
}

/**
 * The token manager of one transport, in its scope.
 *
 * @internal
 */
export const make = (
  settings: Settings,
  exchange: Exchange.Exchange,
  redactor: Redactor
): Effect.Effect<Tokens, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const ids = yield* Ids.make
    const tokenUrl = `${settings.authServer}/token`
    const state = yield* Ref.make<State>({ token: undefined, refreshing: undefined })

    const sign = (input: string) =>
      Effect.tryPromise({
        try: () => crypto.subtle.sign(rsa, settings.key, utf8(input) as Uint8Array<ArrayBuffer>),
        catch: () => new OAuthReason({ description: "Web Crypto could not sign the assertion" })
      })

    const fetchToken: Effect.Effect<AccessToken, OAuthReason> = Effect.gen(function*() {
      const sentAt = yield* Clock.currentTimeMillis
      const claims = Jwt.assertionClaims({
        clientId: settings.clientId,
        audience: settings.authServer,
        nowMillis: sentAt,
        jti: ids.uuid()
      })
      const input = Jwt.signingInput(settings.keyId, claims)
      const assertion = Jwt.compact(input, new Uint8Array(yield* sign(input)))
      redactor.add(assertion)
      const request = HttpClientRequest.post(tokenUrl).pipe(
        HttpClientRequest.setHeaders({ "user-agent": settings.userAgent, "accept": "application/json" }),
        HttpClientRequest.bodyText(Jwt.tokenRequestBody(assertion, settings.scope), "application/x-www-form-urlencoded")
      )
      const answer = yield* Effect.mapError(
        exchange(request, { bodyTimeout: settings.timeout }),
        (failure) =>
          new OAuthReason({
            description: failure._tag === "Network"
              ? `could not reach the token server ${tokenUrl}: ${failure.description}`
              : `no answer from the token server ${tokenUrl} within ${failure.timeoutMillis} ms`
          })
      )
      const text = Response.prefixText(answer.body)
      if (!Wire.isSuccess(answer.status)) {
        const location = answer.headers["location"]
        const retryAfterMillis = Wire.retryAfterMillis((name) => answer.headers[name], yield* Clock.currentTimeMillis)
        return yield* Effect.fail(
          new OAuthReason({
            status: answer.status,
            ...(retryAfterMillis === undefined ? {} : { retryAfterMillis }),
            description: Wire.isRedirect(answer.status)
              ? `the token server redirects${
                location === undefined ? "" : ` to ${Exchange.safeText(redactor, location)}`
              } (not followed): set oauth.authServer`
              : `the token server refused the assertion${text === "" ? "" : `: ${Exchange.safeText(redactor, text)}`}`
          })
        )
      }
      if (!answer.body.complete) {
        return yield* Effect.fail(
          new OAuthReason({
            status: answer.status,
            description: `the token server's answer did not arrive whole (at most ${Exchange.maxBodyBytes} bytes)`
          })
        )
      }
      const parsed = Jwt.parseTokenAnswer(text)
      if (parsed._tag === "Invalid") {
        return yield* Effect.fail(new OAuthReason({ status: answer.status, description: parsed.reason }))
      }
      redactor.add(parsed.accessToken)
      return { value: Redacted.make(parsed.accessToken), ...Jwt.tokenSchedule(sentAt, parsed.expiresInSeconds) }
    }).pipe(Effect.withSpan("HttpTransport.token", { attributes: { "url.full": tokenUrl } }))

    // Starts a refresh unless one is running; either way returns the refresh to wait for. Marking the
    // refresh as running and forking it are one step: a sender interrupted between the two would leave
    // a refresh that never runs, and every later sender waiting for it. The token request itself stays
    // interruptible (closing the transport's scope stops it).
    //
    // Effect 4 starts a forked fiber interruptible even from an uninterruptible region, and a fiber
    // interrupted before its first step never runs its `onExit`: the fork inherits this region's
    // uninterruptibility, so that `settle` is in place before the scope can interrupt it, and only
    // the token request is made interruptible again. On a scope already closed, `forkIn` gives a fiber
    // that never runs at all: the refresh is settled here, interrupted, as the scope would have done.
    const refresh: Effect.Effect<Deferred.Deferred<AccessToken, OAuthReason>> = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const fresh = yield* Deferred.make<AccessToken, OAuthReason>()
        const [deferred, started] = yield* Ref.modify(
          state,
          (s): readonly [readonly [Deferred.Deferred<AccessToken, OAuthReason>, boolean], State] =>
            s.refreshing === undefined ? [[fresh, true], { ...s, refreshing: fresh }] : [[s.refreshing, false], s]
        )
        if (started) {
          const settle = (exit: Exit.Exit<AccessToken, OAuthReason>) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Ref.update(state, (s) => ({
                refreshing: undefined,
                token: Exit.isSuccess(exit)
                  ? exit.value
                  : s.token === undefined
                  ? undefined
                  : { ...s.token, refreshAt: now + refreshRetryMillis }
              }))).pipe(Effect.andThen(Deferred.done(fresh, exit)))
          if (scope.state._tag === "Closed") {
            yield* Effect.flatMap(Effect.fiberId, (id) => settle(Exit.interrupt(id)))
          } else {
            yield* restore(fetchToken).pipe(Effect.onExit(settle), Effect.forkIn(scope, { uninterruptible: "inherit" }))
          }
        }
        return deferred
      })
    )

    const get: Effect.Effect<AccessToken, OAuthReason> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const { token } = yield* Ref.get(state)
      if (token !== undefined && now < token.refreshAt) return token
      const pending = yield* refresh
      // Due for a refresh but still good: send with it, and let the refresh finish in the background.
      if (token !== undefined && now < token.usableUntil) return token
      return yield* Deferred.await(pending)
    })

    const invalidate = (token: AccessToken): Effect.Effect<void> =>
      Ref.update(state, (s) => s.token === token ? { ...s, token: undefined } : s)

    return { get, invalidate }
  })
