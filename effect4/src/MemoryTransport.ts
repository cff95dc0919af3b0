/**
 * An in-memory `Transport` for tests, yours and ours. It records every attempt (the exact body and
 * headers the HTTP transport would send, the attempt number, the messages) and answers from a script
 * you set: statuses, `Retry-After` and `X-RateLimit-Reset`, redirects with their `Location`, network
 * errors, timeouts, hangs, delays. Once the script runs out it answers 200. Its failures are the ones
 * the HTTP transport reports for the same answers.
 *
 * Delays and timeouts run on Effect's `Clock`, so `TestClock.adjust` drives them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { MemoryTransport } from "analytics-effect"
 *
 * const program = Effect.gen(function*() {
 *   const memory = yield* MemoryTransport.MemoryTransport
 *   yield* memory.setScript([MemoryTransport.status(500), MemoryTransport.retryAfter(429, "3")])
 *   // ... run code that tracks, then:
 *   const requests = yield* memory.requests
 *   return requests.map((r) => r.attempt)
 * }).pipe(Effect.provide(MemoryTransport.layer()))
 * ```
 *
 * @since 1.0.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import {
  NetworkReason,
  StatusReason,
  TimeoutReason,
  TransportError,
  type TransportFailureReason
} from "./AnalyticsError.js"
import * as Wire from "./internal/wire.js"
import type { EncodedMessage } from "./Message.js"
import { type BatchRequest, type Delivery, Transport } from "./Transport.js"

/**
 * One scripted answer.
 *
 * @since 1.0.0
 * @category models
 */
export type Step =
  | {
    readonly _tag: "Status"
    readonly status: number
    /** The `Retry-After` header, as a server would send it: `"3"` or an HTTP date. */
    readonly retryAfter?: string | undefined
    /**
     * The `X-RateLimit-Reset` header, as a server would send it: seconds (`"3"`), a Unix time, or an
     * HTTP date.
     */
    readonly rateLimitReset?: string | undefined
    /** The `Location` header of a 3xx. */
    readonly location?: string | undefined
    /** Answer after this long (on Effect's `Clock`). */
    readonly delay?: Duration.Input | undefined
  }
  | { readonly _tag: "Network"; readonly description: string }
  | { readonly _tag: "Timeout"; readonly after: Duration.Input }
  | { readonly _tag: "Hang" }

/**
 * Answer with `status` (200 by default), optionally after a delay.
 *
 * @since 1.0.0
 * @category steps
 */
export const status = (code = 200, options?: { readonly delay?: Duration.Input | undefined }): Step => ({
  _tag: "Status",
  status: code,
  delay: options?.delay
})

/**
 * Answer with `code` and a `Retry-After` header (`"3"` seconds or an HTTP date).
 *
 * @since 1.0.0
 * @category steps
 */
export const retryAfter = (code: number, value: string): Step => ({ _tag: "Status", status: code, retryAfter: value })

/**
 * Answer with `code` (429 by default) and an `X-RateLimit-Reset` header: seconds (`"3"`), a Unix time in
 * seconds or milliseconds, or an HTTP date.
 *
 * @example
 * ```ts
 * import { MemoryTransport } from "analytics-effect"
 *
 * // Rate limited for 30 seconds, then accepted.
 * const script = [MemoryTransport.rateLimitReset("30"), MemoryTransport.status(200)]
 * ```
 *
 * @since 1.0.0
 * @category steps
 */
export const rateLimitReset = (value: string, code = 429): Step => ({
  _tag: "Status",
  status: code,
  rateLimitReset: value
})

/**
 * Answer with a redirect: `code` (301 by default) and its `Location`. As over HTTP, it is a failure
 * with that status and location, never followed.
 *
 * @since 1.0.0
 * @category steps
 */
export const redirect = (location: string, code = 301): Step => ({ _tag: "Status", status: code, location })

/**
 * Answer `413 Payload Too Large`: the collector refused the body's size.
 *
 * @since 1.0.0
 * @category steps
 */
export const payloadTooLarge: Step = { _tag: "Status", status: 413 }

/**
 * Fail as a network error (connection refused or reset) would.
 *
 * @since 1.0.0
 * @category steps
 */
export const network = (description = "ECONNRESET"): Step => ({ _tag: "Network", description })

/**
 * Fail as a request timeout, after `after` (10 seconds by default) on the `Clock`.
 *
 * @since 1.0.0
 * @category steps
 */
export const timeout = (after: Duration.Input = Duration.seconds(10)): Step => ({ _tag: "Timeout", after })

/**
 * Never answer (until interrupted).
 *
 * @since 1.0.0
 * @category steps
 */
export const hang: Step = { _tag: "Hang" }

/**
 * One recorded attempt.
 *
 * @since 1.0.0
 * @category models
 */
export interface RecordedRequest {
  /** Position among all attempts, from 0. */
  readonly index: number
  /** 0 for a first attempt, n for the n-th retry. */
  readonly attempt: number
  /** The `Clock` time at which the attempt was made, in milliseconds. */
  readonly at: number
  readonly sentAt: string
  readonly headers: Readonly<Record<string, string>>
  readonly messages: ReadonlyArray<EncodedMessage>
  /** The size of the request body, in bytes of UTF-8. */
  readonly bodyBytes: number
  /** The request body, exactly as the HTTP transport would send it (built when first read). */
  readonly body: string
  /** The messages of the body, parsed. */
  readonly batch: ReadonlyArray<Record<string, unknown>>
  /** The scripted answer this attempt got. */
  readonly step: Step
}

/**
 * The companion service: read what was sent, script the answers.
 *
 * @since 1.0.0
 * @category models
 */
export interface MemoryTransportService {
  /** Every attempt so far, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** The messages of every attempt answered 2xx (its delay, if any, elapsed), parsed, in order. */
  readonly delivered: Effect.Effect<ReadonlyArray<Record<string, unknown>>>
  /** Waits until at least `count` attempts have been made, and returns them. */
  readonly awaitRequests: (count: number) => Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Replaces the script: each attempt takes the next step; when none is left, `fallback` answers. */
  readonly setScript: (steps: Iterable<Step>) => Effect.Effect<void>
  /** What answers once the script is empty (200 unless changed). */
  readonly setFallback: (step: Step) => Effect.Effect<void>
  /** Forgets recorded attempts. */
  readonly clear: Effect.Effect<void>
}

/**
 * The companion service's tag.
 *
 * @since 1.0.0
 * @category tags
 */
export class MemoryTransport
  extends Context.Service<MemoryTransport, MemoryTransportService>()("analytics-effect/MemoryTransport")
{}

/**
 * Options of the memory transport.
 *
 * @since 1.0.0
 * @category models
 */
export interface Options {
  /** Used to build the recorded headers and body. Default `"test-write-key"`. */
  readonly writeKey?: Redacted.Redacted<string> | undefined
  /** The first answers. */
  readonly script?: Iterable<Step> | undefined
  /** Also gzip-flag the recorded headers (the body is recorded uncompressed). */
  readonly gzip?: boolean | undefined
}

const parseBatch = (body: string): ReadonlyArray<Record<string, unknown>> =>
  (JSON.parse(body) as { batch: ReadonlyArray<Record<string, unknown>> }).batch

/**
 * Builds a memory transport and its companion.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Context.Context<Transport | MemoryTransport>> =>
  Effect.gen(function*() {
    const writeKey = options.writeKey ?? Redacted.make("test-write-key")
    const envelope = Wire.makeEnvelope(writeKey)
    const authorization = Wire.authorization(writeKey)
    const gzip = options.gzip ?? false
    const recorded: Array<RecordedRequest> = []
    const count = yield* SubscriptionRef.make(0)
    let script: Array<Step> = options.script ? Array.from(options.script) : []
    let fallback: Step = status(200)
    // The attempts that got their 2xx answer (a delayed answer can be interrupted before it comes).
    const answeredOk = new WeakSet<RecordedRequest>()

    const record = (request: BatchRequest, step: Step, now: number): Effect.Effect<RecordedRequest> => {
      const sentAt = new Date(now).toISOString()
      let body: string | undefined
      let batch: ReadonlyArray<Record<string, unknown>> | undefined
      const entry: RecordedRequest = {
        index: recorded.length,
        attempt: request.attempt,
        at: now,
        sentAt,
        headers: Wire.headers(authorization, request.attempt, gzip),
        messages: request.messages,
        bodyBytes: Wire.bodyBytes(envelope, request.messages),
        get body() {
          return body ??= Wire.body(envelope, request.messages, sentAt)
        },
        get batch() {
          return batch ??= parseBatch(this.body)
        },
        step
      }
      recorded.push(entry)
      return Effect.as(SubscriptionRef.set(count, recorded.length), entry)
    }

    const fail = (request: BatchRequest, reason: TransportFailureReason) =>
      new TransportError({ reason, messages: request.messages.length, attempt: request.attempt })

    const send = (request: BatchRequest): Effect.Effect<Delivery, TransportError> =>
      Effect.gen(function*() {
        const step = script.length > 0 ? script.shift()! : fallback
        const now = yield* Clock.currentTimeMillis
        const entry = yield* record(request, step, now)
        switch (step._tag) {
          case "Hang":
            return yield* Effect.never
          case "Network":
            return yield* Effect.fail(fail(request, new NetworkReason({ description: step.description })))
          case "Timeout": {
            // Effect 4 keeps negative durations (Effect 3 made them zero): a negative one is zero here.
            const after = Duration.max(Duration.fromInputUnsafe(step.after), Duration.zero)
            yield* Effect.sleep(after)
            return yield* Effect.fail(fail(request, new TimeoutReason({ timeoutMillis: Duration.toMillis(after) })))
          }
          case "Status": {
            if (step.delay !== undefined) yield* Effect.sleep(step.delay)
            if (step.status >= 200 && step.status < 300) {
              answeredOk.add(entry)
              return { status: step.status, bodyBytes: Wire.bodyBytes(envelope, request.messages) }
            }
            const headers: Record<string, string | undefined> = {
              "retry-after": step.retryAfter,
              "x-ratelimit-reset": step.rateLimitReset
            }
            const retryAfterMillis = Wire.retryAfterMillis((name) => headers[name], yield* Clock.currentTimeMillis)
            const location = Wire.isRedirect(step.status) ? step.location : undefined
            return yield* Effect.fail(fail(
              request,
              new StatusReason({
                status: step.status,
                ...(retryAfterMillis === undefined ? {} : { retryAfterMillis }),
                ...(location === undefined ? {} : { location })
              })
            ))
          }
        }
      })

    const service: MemoryTransportService = {
      requests: Effect.sync(() => recorded.slice()),
      delivered: Effect.sync(() => recorded.filter((r) => answeredOk.has(r)).flatMap((r) => r.batch)),
      awaitRequests: (n) =>
        SubscriptionRef.changes(count).pipe(
          Stream.takeUntil((c) => c >= n),
          Stream.runDrain,
          Effect.andThen(Effect.sync(() => recorded.slice()))
        ),
      setScript: (steps) =>
        Effect.sync(() => {
          script = Array.from(steps)
        }),
      setFallback: (step) =>
        Effect.sync(() => {
          fallback = step
        }),
      clear: Effect.andThen(
        Effect.sync(() => {
          recorded.length = 0
        }),
        SubscriptionRef.set(count, 0)
      )
    }

    return Context.make(Transport, Transport.of({ send })).pipe(Context.add(MemoryTransport, service))
  })

/**
 * A layer providing both the `Transport` and its `MemoryTransport` companion.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Transport | MemoryTransport> =>
  Layer.effectContext(make(options))
