/**
 * The `Analytics` service: record `identify`, `track`, `page`, `screen`, `group` and `alias` calls and
 * deliver them, batched, to Segment or any collector that speaks its `/v1/batch` API.
 *
 * A call validates its message against the call's Schema, fills `messageId` and `timestamp`, serializes
 * it once, checks its size and queues it; it returns once the message is accepted, not delivered.
 * A background fiber, living in the layer's scope, sends batches when `flushAt` messages are waiting
 * or every `flushInterval`, retries what can be retried, and reports every message's outcome. Closing
 * the layer's scope flushes everything accepted.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Redacted } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { Analytics } from "analytics-effect"
 *
 * const AnalyticsLive = Analytics.layer({ writeKey: Redacted.make("YOUR_WRITE_KEY") }).pipe(
 *   Layer.provide(FetchHttpClient.layer)
 * )
 *
 * const program = Effect.gen(function*() {
 *   yield* Analytics.track({ userId: "f4ca124298", event: "Signed Up", properties: { plan: "Enterprise" } })
 * })
 *
 * // The layer's scope closes when the program ends: the event is flushed before that.
 * Effect.runPromise(program.pipe(Effect.provide(AnalyticsLive)))
 * ```
 *
 * @since 1.0.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type CallError, formatPath, type InvalidOptions, type TransportError } from "./AnalyticsError.js"
import * as HttpTransport from "./HttpTransport.js"
import * as Client from "./internal/client.js"
import * as Resolve from "./internal/options.js"
import * as Wire from "./internal/wire.js"
import type * as Message from "./Message.js"
import type * as Outcome from "./Outcome.js"
import type { Transport } from "./Transport.js"

/**
 * What a call does when the queue is full (it holds `maxQueueSize` messages or `maxQueueBytes` bytes).
 *
 * - `"wait"` (default): the call waits for room, in arrival order, as long as the queue keeps draining.
 *   If the queue makes no room for `overflowTimeout` (10 seconds by default), the waiting callers'
 *   messages are dropped (a `Dropped` outcome, reason `QueueFull`) and, until room appears again, the
 *   next calls drop at once instead of each waiting. A burst that a healthy collector can take is
 *   never dropped; a dead collector holds callers for at most `overflowTimeout`.
 * - `"suspend"`: the call waits for room without a deadline (backpressure, for imports and batch jobs).
 * - `"dropNewest"`: the call does not wait: the new message is dropped.
 * - `"dropOldest"`: the call does not wait: the oldest queued messages are dropped to make room.
 *
 * A call that waits is still a successful call: its message is queued, or dropped with an outcome. See
 * docs/delivery.md for when to pick which.
 *
 * @since 1.0.0
 * @category models
 */
export type OverflowPolicy = "wait" | "suspend" | "dropNewest" | "dropOldest"

/**
 * Options of the client. Only `writeKey` is required.
 *
 * @since 1.0.0
 * @category models
 */
export interface Options extends Omit<HttpTransport.Options, "writeKey"> {
  /** The source's write key. A plain string is wrapped in `Redacted` at once. */
  readonly writeKey: Redacted.Redacted<string> | string
  /** Send as soon as this many messages are waiting. Default 20; 1 sends every call at once. */
  readonly flushAt?: number | undefined
  /** Send whatever is waiting at least this often. Default 5 seconds. */
  readonly flushInterval?: Duration.Input | undefined
  /** The most messages the queue holds. Default 10,000; at least `flushAt`. */
  readonly maxQueueSize?: number | undefined
  /**
   * The most bytes (of serialized messages) the queue holds. Default 10,000,000; at least
   * `maxBatchBytes`. Whichever of `maxQueueSize` and `maxQueueBytes` is reached first makes the queue
   * full.
   */
  readonly maxQueueBytes?: number | undefined
  /** What a call does when the queue is full. Default `"wait"`. */
  readonly overflow?: OverflowPolicy | undefined
  /**
   * With `overflow: "wait"`, how long the queue may make no room while callers wait for it; then the
   * waiting callers' messages are dropped. Default 10 seconds (the request timeout: the longest a
   * healthy collector takes to answer a request, and so make room).
   */
  readonly overflowTimeout?: Duration.Input | undefined
  /** The largest message, as UTF-8 JSON bytes. Default 32,000 (the Segment API's limit). */
  readonly maxMessageBytes?: number | undefined
  /** The largest request body, envelope included. Default 500,000 (the Segment API's limit). */
  readonly maxBatchBytes?: number | undefined
  /** The most messages in one request. Default 2,500 (the Segment API drops the rest). */
  readonly maxBatchMessages?: number | undefined
  /** The most requests (with their retries) in progress at once. Default 4. */
  readonly maxInFlight?: number | undefined
  /** How long closing the client may take to deliver what it accepted. Default 30 seconds; above 0. */
  readonly shutdownTimeout?: Duration.Input | undefined
  /** Context merged (deeply) under every message's own `context`. */
  readonly defaultContext?: Message.JsonObject | undefined
  /** Integrations merged under every message's own `integrations`. */
  readonly defaultIntegrations?: Message.Integrations | undefined
  /** `false` validates calls and drops them (outcome `Dropped`, reason `Disabled`). Default `true`. */
  readonly enabled?: boolean | undefined
  /** Retries after the first attempt, 429s included. Default 10. Ignored when `retrySchedule` is given. */
  readonly maxRetries?: number | undefined
  /** A batch gives up when its next retry would start this long after its first attempt. Default 10 minutes. */
  readonly retryBudget?: Duration.Input | undefined
  /** The longest pause a 429's `Retry-After` can impose. Default 300 seconds. */
  readonly maxRetryAfter?: Duration.Input | undefined
  /**
   * Replaces the retry policy. Its input is the attempt's `TransportError`; it is consulted only for
   * errors retrying can fix. Every retry counts against it, 429s included; a 429 that says how long to
   * wait (`Retry-After`) waits the longer of that and the schedule's delay. Default
   * `retrySchedule(maxRetries)`.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, TransportError> | undefined
  /** Log the library's debug messages (batch sends, retries) whatever the minimum log level. */
  readonly debug?: boolean | undefined
}

/**
 * The defaults, in one place.
 *
 * @since 1.0.0
 * @category defaults
 */
export const defaults = {
  ...HttpTransport.defaults,
  flushAt: 20,
  flushInterval: Duration.seconds(5),
  maxQueueSize: 10_000,
  maxQueueBytes: 10_000_000,
  overflow: "wait" as OverflowPolicy,
  overflowTimeout: Duration.seconds(10),
  maxMessageBytes: 32_000,
  maxBatchBytes: 500_000,
  maxBatchMessages: 2_500,
  maxInFlight: 4,
  shutdownTimeout: Duration.seconds(30),
  enabled: true,
  maxRetries: 10,
  retryBudget: Duration.minutes(10),
  maxRetryAfter: Duration.seconds(300),
  debug: false
} as const

/**
 * The default retry policy: exponential backoff from 1 second, doubling, capped at 60 seconds, each
 * delay scaled by a random factor in [0.5, 1] (so the first retry waits 0.5 to 1 s and the longest
 * 30 to 60 s), at most `maxRetries` retries.
 *
 * @since 1.0.0
 * @category retries
 */
export const retrySchedule = (maxRetries: number = defaults.maxRetries): Schedule.Schedule<unknown, unknown> =>
  Schedule.max([
    Schedule.exponential(Duration.seconds(1), 2).pipe(
      // The cap, then the jitter (Effect 4's `Schedule.jittered` has a fixed range of 0.8 to 1.2).
      Schedule.modifyDelay(({ duration }) =>
        Effect.map(Random.next, (r) => Duration.times(Duration.min(duration, Duration.seconds(60)), 0.5 + 0.5 * r))
      )
    ),
    Schedule.recurs(Math.max(0, maxRetries))
  ]).pipe(Schedule.map(() => undefined))

const envelopeBytes = (writeKey: Redacted.Redacted<string>): number => Wire.makeEnvelope(writeKey).bytes

const resolveOptions = (options: Options): Result.Result<Client.Settings, InvalidOptions> =>
  Resolve.resolve(options, defaults, envelopeBytes, retrySchedule)

/**
 * Checks options the way building the client does: `undefined` when they are valid, otherwise the
 * `InvalidOptions` naming the first bad one. Useful to check a configuration at start-up.
 *
 * @example
 * ```ts
 * import { Analytics } from "analytics-effect"
 *
 * const problem = Analytics.checkOptions({ writeKey: "key", flushAt: 0 })
 * // problem?.message === "Invalid analytics option flushAt: must be at least 1, got 0"
 * ```
 *
 * @since 1.0.0
 * @category constructors
 */
export const checkOptions = (options: Options): InvalidOptions | undefined =>
  Result.getFailure(resolveOptions(options)).pipe(Option.getOrUndefined)

/**
 * The service's interface.
 *
 * Each call returns the message's `messageId` once the message is accepted. Its error channel holds
 * only `InvalidMessage`, `MessageTooLarge` and `ClientClosed`: delivery problems are outcomes, never
 * errors of the call.
 *
 * @since 1.0.0
 * @category models
 */
export interface AnalyticsService {
  /** Who the user is, and traits about them. */
  readonly identify: (input: Message.IdentifyInput) => Effect.Effect<string, CallError>
  /** An action the user performed. */
  readonly track: (input: Message.TrackInput) => Effect.Effect<string, CallError>
  /** A page view. */
  readonly page: (input: Message.PageInput) => Effect.Effect<string, CallError>
  /** A screen view. */
  readonly screen: (input: Message.ScreenInput) => Effect.Effect<string, CallError>
  /** Ties the user to a group. */
  readonly group: (input: Message.GroupInput) => Effect.Effect<string, CallError>
  /** Ties one identity to another. */
  readonly alias: (input: Message.AliasInput) => Effect.Effect<string, CallError>
  /** Any of the six calls, told apart by `type` (for example a decoded line of an import). */
  readonly send: (message: Message.Message) => Effect.Effect<string, CallError>
  /** Sends everything accepted so far; completes when each of those messages has its outcome. */
  readonly flush: Effect.Effect<void>
  /**
   * Subscribes to outcomes from now on, in the given scope. Take from the `PubSub.Subscription`
   * (`PubSub.take`, `PubSub.takeUpTo`, or turn it into a `Stream` with `Stream.fromSubscription`);
   * outcomes wait there until taken, also after the client has closed, so the outcomes of the final
   * flush can be read. The subscription ends with its scope.
   *
   * (The Effect 3 edition returned a `Queue.Dequeue`: Effect 4's `PubSub.subscribe` gives a
   * `Subscription`.)
   */
  readonly subscribe: Effect.Effect<PubSub.Subscription<Outcome.Outcome>, never, Scope.Scope>
  /**
   * The outcomes from the moment the stream starts running. It ends once the client has closed and
   * every outcome was read. A stream forked just before a call may start after that call's outcome:
   * use `subscribeStream` to subscribe first.
   */
  readonly outcomes: Stream.Stream<Outcome.Outcome>
  /**
   * Subscribes now, in the given scope, and returns the stream of the outcomes published from now on;
   * it ends once the client has closed and every outcome was read. Fork the stream afterwards: nothing
   * published after this effect ran is missed.
   */
  readonly subscribeStream: Effect.Effect<Stream.Stream<Outcome.Outcome>, never, Scope.Scope>
}

/**
 * The `Analytics` service tag.
 *
 * @since 1.0.0
 * @category tags
 */
export class Analytics extends Context.Service<Analytics, AnalyticsService>()("analytics-effect/Analytics") {}

// The `type` of a value that should be a message, read without trusting it: the encoder turns anything
// that is not one of the six types into an InvalidMessage.
const typeOf = (message: unknown): Message.MessageType => {
  try {
    return (typeof message === "object" && message !== null ? (message as { type?: unknown }).type : undefined) as
      Message.MessageType
  } catch {
    return undefined as unknown as Message.MessageType
  }
}

/**
 * Builds a client in the current scope, sending through the `Transport` in context. Closing the scope
 * flushes it. Fails with `InvalidOptions` when an option is out of range.
 *
 * @since 1.0.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<AnalyticsService, InvalidOptions, Transport | Scope.Scope> =>
  Effect.flatMap(withDebugFromEnvironment(options), (o) => Effect.fromResult(resolveOptions(o))).pipe(Effect.flatMap((settings) =>
    Effect.map(Client.make(settings), (client) => {
      const call = <A>(type: Message.MessageType) => (input: A) => client.accept(type, input)
      const service = Analytics.of({
        identify: call("identify"),
        track: call("track"),
        page: call("page"),
        screen: call("screen"),
        group: call("group"),
        alias: call("alias"),
        send: (message) => client.accept(typeOf(message), message),
        flush: client.flush,
        subscribe: client.subscribe,
        outcomes: client.outcomes,
        subscribeStream: client.outcomesFromNow
      })
      Client.register(service, client)
      return service
    })))

// `DEBUG=analytics` turns on the debug logs of every client that does not set `debug` itself.
const withDebugFromEnvironment = (options: Options): Effect.Effect<Options> =>
  options.debug !== undefined
    ? Effect.succeed(options)
    : Effect.map(
      Effect.orElseSucceed(debugConfig, () => undefined),
      (debug) => debug === undefined ? options : { ...options, debug }
    )

/**
 * The client without a transport: provide one (`MemoryTransport.layer()` in tests, or your own).
 *
 * @since 1.0.0
 * @category layers
 */
export const layerWithoutTransport = (options: Options): Layer.Layer<Analytics, InvalidOptions, Transport> =>
  Layer.effect(Analytics, make(options))

/**
 * The client sending over HTTP. Provide the `HttpClient` you want: `FetchHttpClient.layer`, or
 * `NodeHttpClient.layerUndici` from `@effect/platform-node`.
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Analytics, InvalidOptions, HttpClient.HttpClient> => {
  const writeKey = typeof options.writeKey === "string" ? Redacted.make(options.writeKey) : options.writeKey
  return layerWithoutTransport({ ...options, writeKey }).pipe(
    Layer.provide(HttpTransport.layer({ ...options, writeKey }))
  )
}

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), Option.getOrUndefined)

/**
 * The configuration key of each option that `config` reads.
 *
 * @since 1.0.0
 * @category config
 */
export const configKeys = {
  writeKey: "ANALYTICS_WRITE_KEY",
  region: "ANALYTICS_REGION",
  oauth: "ANALYTICS_OAUTH_*",
  host: "ANALYTICS_HOST",
  path: "ANALYTICS_PATH",
  gzip: "ANALYTICS_GZIP",
  timeout: "ANALYTICS_TIMEOUT",
  flushAt: "ANALYTICS_FLUSH_AT",
  flushInterval: "ANALYTICS_FLUSH_INTERVAL",
  maxQueueSize: "ANALYTICS_MAX_QUEUE_SIZE",
  maxQueueBytes: "ANALYTICS_MAX_QUEUE_BYTES",
  overflow: "ANALYTICS_OVERFLOW",
  overflowTimeout: "ANALYTICS_OVERFLOW_TIMEOUT",
  maxMessageBytes: "ANALYTICS_MAX_MESSAGE_BYTES",
  maxBatchBytes: "ANALYTICS_MAX_BATCH_BYTES",
  maxBatchMessages: "ANALYTICS_MAX_BATCH_MESSAGES",
  maxInFlight: "ANALYTICS_MAX_IN_FLIGHT",
  shutdownTimeout: "ANALYTICS_SHUTDOWN_TIMEOUT",
  enabled: "ANALYTICS_ENABLED",
  maxRetries: "ANALYTICS_MAX_RETRIES",
  retryBudget: "ANALYTICS_RETRY_BUDGET",
  maxRetryAfter: "ANALYTICS_MAX_RETRY_AFTER",
  defaultContext: "ANALYTICS_DEFAULT_CONTEXT",
  defaultIntegrations: "ANALYTICS_DEFAULT_INTEGRATIONS",
  debug: "DEBUG"
} as const satisfies Partial<Record<keyof Options, string>>

/**
 * A `ConfigError` at `key` saying what is wrong with its value, which it does not repeat (it may be a
 * secret). Effect 4 has one `ConfigError` class, whose cause is a Schema issue: it renders as
 * `SchemaError(<message>\n  at ["<key>"])`.
 */
const invalidAt = (key: string, message: string): Config.ConfigError =>
  new Config.ConfigError(
    new Schema.SchemaError(new SchemaIssue.Pointer([key], new SchemaIssue.InvalidValue({ message })))
  )

// The write key when set; an empty one is an error. Unset is not one here: `config` requires it, and
// `partialConfig` leaves it out (an error raised in `Config.mapEffect` is not one `Config.option` turns
// into `None`, so the two keep apart).
const writeKeyIfSet: Config.Config<Redacted.Redacted<string> | undefined> = Config.mapEffect(
  optional(Config.String(configKeys.writeKey)),
  (value) =>
    value === undefined
      ? Effect.succeed(undefined)
      : value.trim() === ""
      ? Effect.fail(invalidAt(configKeys.writeKey, "is empty: it must hold the write key of your Segment source"))
      : Effect.succeed(Redacted.make(value))
)

const writeKeyConfig: Config.Config<Redacted.Redacted<string>> = Config.mapEffect(
  writeKeyIfSet,
  (writeKey) =>
    writeKey === undefined
      ? Effect.fail(invalidAt(configKeys.writeKey, "not set: it must hold the write key of your Segment source"))
      : Effect.succeed(writeKey)
)

const jsonObjectConfig = (name: string): Config.Config<Message.JsonObject> =>
  Config.mapEffect(Config.String(name), (text) => {
    try {
      const value: unknown = JSON.parse(text)
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        return Effect.succeed(value as Message.JsonObject)
      }
    } catch {
      return Effect.fail(invalidAt(name, "is not valid JSON: expected a JSON object such as {\"app\":{\"name\":\"shop\"}}"))
    }
    return Effect.fail(invalidAt(name, "expected a JSON object such as {\"app\":{\"name\":\"shop\"}}"))
  })

/**
 * Every option, read from `effect/Config` (by default from environment variables). The keys are in
 * `configKeys`:
 *
 * | key | option |
 * | --- | --- |
 * | `ANALYTICS_WRITE_KEY` (required, redacted) | `writeKey` |
 * | `ANALYTICS_REGION` (`us`, `eu`) | `region` |
 * | `ANALYTICS_HOST` | `host` |
 * | `ANALYTICS_PATH` | `path` |
 * | `ANALYTICS_GZIP` | `gzip` |
 * | `ANALYTICS_TIMEOUT` | `timeout` (a duration such as `10 seconds`) |
 * | `ANALYTICS_FLUSH_AT` | `flushAt` |
 * | `ANALYTICS_FLUSH_INTERVAL` | `flushInterval` |
 * | `ANALYTICS_MAX_QUEUE_SIZE` | `maxQueueSize` |
 * | `ANALYTICS_MAX_QUEUE_BYTES` | `maxQueueBytes` |
 * | `ANALYTICS_OVERFLOW` | `overflow` (`wait`, `suspend`, `dropNewest`, `dropOldest`) |
 * | `ANALYTICS_OVERFLOW_TIMEOUT` | `overflowTimeout` |
 * | `ANALYTICS_MAX_MESSAGE_BYTES` | `maxMessageBytes` |
 * | `ANALYTICS_MAX_BATCH_BYTES` | `maxBatchBytes` |
 * | `ANALYTICS_MAX_BATCH_MESSAGES` | `maxBatchMessages` |
 * | `ANALYTICS_MAX_IN_FLIGHT` | `maxInFlight` |
 * | `ANALYTICS_SHUTDOWN_TIMEOUT` | `shutdownTimeout` |
 * | `ANALYTICS_ENABLED` | `enabled` |
 * | `ANALYTICS_MAX_RETRIES` | `maxRetries` |
 * | `ANALYTICS_RETRY_BUDGET` | `retryBudget` |
 * | `ANALYTICS_MAX_RETRY_AFTER` | `maxRetryAfter` |
 * | `ANALYTICS_DEFAULT_CONTEXT` | `defaultContext` (JSON) |
 * | `ANALYTICS_DEFAULT_INTEGRATIONS` | `defaultIntegrations` (JSON) |
 * | `DEBUG` containing `analytics` | `debug` |
 * | `ANALYTICS_OAUTH_CLIENT_ID`, `ANALYTICS_OAUTH_KEY_ID`, `ANALYTICS_OAUTH_PRIVATE_KEY` (redacted), `ANALYTICS_OAUTH_AUTH_SERVER`, `ANALYTICS_OAUTH_SCOPE` | `oauth` (see `HttpTransport.oauthConfig`) |
 *
 * `DEBUG` is also read by every client built without the `debug` option (`layer`, `make`, the Promise
 * client); the Promise client reads every other key too, for the options it was not given.
 *
 * @since 1.0.0
 * @category config
 */
export const config: Config.Config<Options> = Config.flatMap(
  Config.succeed(undefined),
  () => Config.all({ ...optionalFields(), writeKey: writeKeyConfig })
)

/**
 * Like `config`, but nothing is required: the options that are set. The Promise client reads it for
 * the options it was not given.
 *
 * @since 1.0.0
 * @category config
 */
export const partialConfig: Config.Config<Partial<Options>> = Config.flatMap(
  Config.succeed(undefined),
  () => Config.map(Config.all({ ...optionalFields(), writeKey: writeKeyIfSet }), (options) => {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value
    return out as Partial<Options>
  })
)

const debugConfig: Config.Config<boolean | undefined> = Config.map(
  optional(Config.String(configKeys.debug)),
  (value) => value === undefined ? undefined : /\banalytics\b/.test(value)
)

function optionalFields() {
  return {
    region: HttpTransport.regionConfig,
    oauth: HttpTransport.oauthConfig,
    host: optional(Config.String(configKeys.host)),
    path: optional(Config.String(configKeys.path)),
    gzip: optional(Config.Boolean(configKeys.gzip)),
    timeout: optional(Config.Duration(configKeys.timeout)),
    flushAt: optional(Config.Int(configKeys.flushAt)),
    flushInterval: optional(Config.Duration(configKeys.flushInterval)),
    maxQueueSize: optional(Config.Int(configKeys.maxQueueSize)),
    maxQueueBytes: optional(Config.Int(configKeys.maxQueueBytes)),
    overflow: optional(Config.Literals(["wait", "suspend", "dropNewest", "dropOldest"], configKeys.overflow)),
    overflowTimeout: optional(Config.Duration(configKeys.overflowTimeout)),
    maxMessageBytes: optional(Config.Int(configKeys.maxMessageBytes)),
    maxBatchBytes: optional(Config.Int(configKeys.maxBatchBytes)),
    maxBatchMessages: optional(Config.Int(configKeys.maxBatchMessages)),
    maxInFlight: optional(Config.Int(configKeys.maxInFlight)),
    shutdownTimeout: optional(Config.Duration(configKeys.shutdownTimeout)),
    enabled: optional(Config.Boolean(configKeys.enabled)),
    maxRetries: optional(Config.Int(configKeys.maxRetries)),
    retryBudget: optional(Config.Duration(configKeys.retryBudget)),
    maxRetryAfter: optional(Config.Duration(configKeys.maxRetryAfter)),
    defaultContext: optional(jsonObjectConfig(configKeys.defaultContext)),
    defaultIntegrations: optional(
      Config.map(jsonObjectConfig(configKeys.defaultIntegrations), (value) => value as Message.Integrations)
    ),
    debug: debugConfig
  }
}

// A bad value that `config` read is reported at its key; with a caller's own Config, at the option.
const toConfigError = (error: InvalidOptions, keyed: boolean): Config.ConfigError => {
  const key = keyed ? (configKeys as Record<string, string>)[error.option] ?? error.option : error.option
  const where = error.path.length === 0 ? "" : ` (at ${formatPath(error.path)})`
  return invalidAt(key, `${error.reason}${where}`)
}

/**
 * The client sending over HTTP, with options read from a `Config` (`config` by default). Fails with a
 * `ConfigError` naming the key when the write key is missing or an option is malformed or out of
 * range.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Layer } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { Analytics } from "analytics-effect"
 *
 * const AnalyticsLive = Analytics.layerConfig().pipe(
 *   Layer.provide(FetchHttpClient.layer),
 *   Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { ANALYTICS_WRITE_KEY: "key" } })))
 * )
 * ```
 *
 * @since 1.0.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config<Options> = config
): Layer.Layer<Analytics, Config.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrap(
    Effect.map(options, (resolved) =>
      // (Effect 4 has no `Layer.mapError`: the layer is built, and its error mapped, in a layer.)
      Layer.effectContext(
        Effect.mapError(Layer.build(layer(resolved)), (error) => toConfigError(error, options === config))
      ))
  )

/**
 * The common composition: the HTTP client configured from the environment (`config`). Provide an
 * `HttpClient` layer.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { AnalyticsLayer } from "analytics-effect/Analytics"
 *
 * export const MainLayer = AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 1.0.0
 * @category layers
 */
export const AnalyticsLayer: Layer.Layer<Analytics, Config.ConfigError | InvalidOptions, HttpClient.HttpClient> =
  layerConfig()

/**
 * `identify` through the `Analytics` service in context.
 *
 * @since 1.0.0
 * @category accessors
 */
export const identify = (input: Message.IdentifyInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.identify(input))

/**
 * `track` through the `Analytics` service in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Analytics } from "analytics-effect"
 *
 * const signUp = Effect.gen(function*() {
 *   yield* Analytics.track({ userId: "f4ca124298", event: "Signed Up", properties: { plan: "Enterprise" } })
 * })
 * ```
 *
 * @since 1.0.0
 * @category accessors
 */
export const track = (input: Message.TrackInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.track(input))

/**
 * `page` through the `Analytics` service in context.
 *
 * @since 1.0.0
 * @category accessors
 */
export const page = (input: Message.PageInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.page(input))

/**
 * `screen` through the `Analytics` service in context.
 *
 * @since 1.0.0
 * @category accessors
 */
export const screen = (input: Message.ScreenInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.screen(input))

/**
 * `group` through the `Analytics` service in context.
 *
 * @since 1.0.0
 * @category accessors
 */
export const group = (input: Message.GroupInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.group(input))

/**
 * `alias` through the `Analytics` service in context.
 *
 * @since 1.0.0
 * @category accessors
 */
export const alias = (input: Message.AliasInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.alias(input))

/**
 * `send` (any call type) through the `Analytics` service in context.
 *
 * @since 1.0.0
 * @category accessors
 */
export const send = (message: Message.Message): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.send(message))

/**
 * `flush` through the `Analytics` service in context.
 *
 * @since 1.0.0
 * @category accessors
 */
export const flush: Effect.Effect<void, never, Analytics> = Effect.flatMap(Analytics, (analytics) => analytics.flush)

/**
 * `subscribe` through the `Analytics` service in context: a `PubSub.Subscription` of the outcomes
 * from now on, in the current scope.
 *
 * @since 1.0.0
 * @category accessors
 */
export const subscribe: Effect.Effect<PubSub.Subscription<Outcome.Outcome>, never, Analytics | Scope.Scope> = Effect
  .flatMap(Analytics, (analytics) => analytics.subscribe)

/**
 * The outcomes stream of the `Analytics` service in context.
 *
 * @since 1.0.0
 * @category accessors
 */
export const outcomes: Stream.Stream<Outcome.Outcome, never, Analytics> = Stream.unwrap(
  Effect.map(Analytics, (analytics) => analytics.outcomes)
)

/**
 * `subscribeStream` of the `Analytics` service in context: subscribes now, in the current scope, and
 * returns the stream of outcomes published from now on.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Analytics } from "analytics-effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const outcomes = yield* Analytics.subscribeStream // subscribed before the call below
 *   const logged = yield* Effect.forkChild(Stream.runForEach(outcomes, (o) => Effect.log(o._tag)))
 *   yield* Analytics.track({ userId: "u1", event: "Signed Up" })
 *   yield* Analytics.flush
 * }))
 * ```
 *
 * @since 1.0.0
 * @category accessors
 */
export const subscribeStream: Effect.Effect<Stream.Stream<Outcome.Outcome>, never, Analytics | Scope.Scope> = Effect
  .flatMap(Analytics, (analytics) => analytics.subscribeStream)
