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
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Layer, Redacted } from "effect"
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
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { CallError, InvalidOptions, TransportError } from "./AnalyticsError.js"
import * as HttpTransport from "./HttpTransport.js"
import * as Client from "./internal/client.js"
import * as Wire from "./internal/wire.js"
import type * as Message from "./Message.js"
import type * as Outcome from "./Outcome.js"
import type { Transport } from "./Transport.js"

/**
 * What to do with a new message when the queue already holds `maxQueueSize` messages.
 *
 * - `"dropNewest"` (default): drop the new message (a `Dropped` outcome, reason `QueueFull`); the call
 *   does not wait, so a stuck collector never blocks a request handler.
 * - `"dropOldest"`: drop the oldest queued message to make room.
 * - `"suspend"`: the call waits until there is room (backpressure, for imports).
 *
 * @since 0.1.0
 * @category models
 */
export type OverflowPolicy = Client.OverflowPolicy

/**
 * Options of the client. Only `writeKey` is required.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<HttpTransport.Options, "writeKey"> {
  /** The source's write key. A plain string is wrapped in `Redacted` at once. */
  readonly writeKey: Redacted.Redacted<string> | string
  /** Send as soon as this many messages are waiting. Default 20; 1 sends every call at once. */
  readonly flushAt?: number | undefined
  /** Send whatever is waiting at least this often. Default 5 seconds. */
  readonly flushInterval?: Duration.DurationInput | undefined
  /** The most messages the queue holds. Default 10,000. */
  readonly maxQueueSize?: number | undefined
  /**
   * The most bytes (of serialized messages) the queue holds. Default 10,000,000, and never less than
   * `maxBatchBytes`. Whichever of `maxQueueSize` and `maxQueueBytes` is reached first makes the queue
   * full.
   */
  readonly maxQueueBytes?: number | undefined
  /** What happens when the queue is full. Default `"dropNewest"`. */
  readonly overflow?: OverflowPolicy | undefined
  /** The largest message, as UTF-8 JSON bytes. Default 32,000 (the Segment API's limit). */
  readonly maxMessageBytes?: number | undefined
  /** The largest request body, envelope included. Default 500,000 (the Segment API's limit). */
  readonly maxBatchBytes?: number | undefined
  /** The most messages in one request. Default 2,500 (the Segment API drops the rest). */
  readonly maxBatchMessages?: number | undefined
  /** The most requests (with their retries) in progress at once. Default 4. */
  readonly maxInFlight?: number | undefined
  /** How long closing the client may take to deliver what it accepted. Default 30 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  /** Context merged (deeply) under every message's own `context`. */
  readonly defaultContext?: Message.JsonObject | undefined
  /** Integrations merged under every message's own `integrations`. */
  readonly defaultIntegrations?: Message.Integrations | undefined
  /** `false` validates calls and drops them (outcome `Dropped`, reason `Disabled`). Default `true`. */
  readonly enabled?: boolean | undefined
  /** Retries after the first attempt. Default 10. Ignored when `retrySchedule` is given. */
  readonly maxRetries?: number | undefined
  /** A batch gives up once retrying it has taken this long. Default 10 minutes. */
  readonly retryBudget?: Duration.DurationInput | undefined
  /** The longest pause a 429 `Retry-After` can impose. Default 300 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /**
   * Replaces the retry policy. Its input is the attempt's `TransportError`; it is consulted only for
   * errors retrying can fix, and never for a 429 with `Retry-After`. Default `retrySchedule(maxRetries)`.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, TransportError> | undefined
  /** Log the library's debug messages (batch sends, retries) whatever the minimum log level. */
  readonly debug?: boolean | undefined
}

/**
 * The defaults, in one place.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  ...HttpTransport.defaults,
  flushAt: 20,
  flushInterval: Duration.seconds(5),
  maxQueueSize: 10_000,
  maxQueueBytes: 10_000_000,
  overflow: "dropNewest" as OverflowPolicy,
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
 * @since 0.1.0
 * @category retries
 */
export const retrySchedule = (maxRetries: number = defaults.maxRetries): Schedule.Schedule<unknown, unknown> =>
  Schedule.exponential(Duration.seconds(1), 2).pipe(
    Schedule.modifyDelay((delay) => Duration.min(delay, Duration.seconds(60))),
    Schedule.jitteredWith({ min: 0.5, max: 1 }),
    Schedule.intersect(Schedule.recurs(Math.max(0, maxRetries))),
    Schedule.asVoid
  )

const positiveInt = (n: number | undefined, fallback: number): number =>
  n === undefined || !Number.isFinite(n) ? fallback : Math.max(1, Math.floor(n))

const toSettings = (options: Options): Client.Settings => {
  const writeKey = typeof options.writeKey === "string" ? Redacted.make(options.writeKey) : options.writeKey
  const maxBatchBytes = positiveInt(options.maxBatchBytes, defaults.maxBatchBytes)
  const envelopeBytes = Wire.makeEnvelope(writeKey).bytes
  // A message that cannot fit a request alone could never be sent: cap the message limit.
  const maxMessageBytes = Math.min(
    positiveInt(options.maxMessageBytes, defaults.maxMessageBytes),
    Math.max(1, maxBatchBytes - envelopeBytes)
  )
  return {
    writeKey,
    flushAt: positiveInt(options.flushAt, defaults.flushAt),
    flushInterval: Duration.decode(options.flushInterval ?? defaults.flushInterval),
    maxQueueSize: positiveInt(options.maxQueueSize, defaults.maxQueueSize),
    maxQueueBytes: Math.max(positiveInt(options.maxQueueBytes, defaults.maxQueueBytes), maxBatchBytes),
    overflow: options.overflow ?? defaults.overflow,
    maxMessageBytes,
    maxBatchBytes,
    maxBatchMessages: positiveInt(options.maxBatchMessages, defaults.maxBatchMessages),
    maxInFlight: positiveInt(options.maxInFlight, defaults.maxInFlight),
    shutdownTimeout: Duration.decode(options.shutdownTimeout ?? defaults.shutdownTimeout),
    defaultContext: options.defaultContext,
    defaultIntegrations: options.defaultIntegrations,
    enabled: options.enabled ?? defaults.enabled,
    retrySchedule: options.retrySchedule ?? retrySchedule(options.maxRetries ?? defaults.maxRetries),
    retryBudget: Duration.decode(options.retryBudget ?? defaults.retryBudget),
    maxRetryAfter: Duration.decode(options.maxRetryAfter ?? defaults.maxRetryAfter),
    debug: options.debug ?? defaults.debug
  }
}

/**
 * The service's interface.
 *
 * Each call returns the message's `messageId` once the message is accepted. Its error channel holds
 * only `InvalidMessage`, `MessageTooLarge` and `ClientClosed`: delivery problems are outcomes, never
 * errors of the call.
 *
 * @since 0.1.0
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
   * Subscribes to outcomes from now on, in the given scope. Take from the `Dequeue` (or turn it into a
   * `Stream` with `Stream.fromQueue`); outcomes wait there until taken, also after the client has
   * closed, so the outcomes of the final flush can be read. The subscription ends with its scope.
   */
  readonly subscribe: Effect.Effect<Queue.Dequeue<Outcome.Outcome>, never, Scope.Scope>
  /**
   * The outcomes from the moment the stream starts running. It ends once the client has closed and
   * every outcome was read. Use `subscribe` to miss nothing published before the stream's fiber starts.
   */
  readonly outcomes: Stream.Stream<Outcome.Outcome>
}

/**
 * The `Analytics` service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Analytics extends Context.Tag("analytics-effect/Analytics")<Analytics, AnalyticsService>() {}

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
 * flushes it. Fails with `InvalidOptions` when `defaultContext` or `defaultIntegrations` cannot be
 * used (JSON cannot carry it, reading it throws, or its JSON alone is over `maxMessageBytes`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<AnalyticsService, InvalidOptions, Transport | Scope.Scope> =>
  Effect.map(Client.make(toSettings(options)), (client) => {
    const call = <A>(type: Message.MessageType) => (input: A) => client.accept(type, input)
    return Analytics.of({
      identify: call("identify"),
      track: call("track"),
      page: call("page"),
      screen: call("screen"),
      group: call("group"),
      alias: call("alias"),
      send: (message) => client.accept(typeOf(message), message),
      flush: client.flush,
      subscribe: client.subscribe,
      outcomes: client.outcomes
    })
  })

/**
 * The client without a transport: provide one (`MemoryTransport.layer()` in tests, or your own).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutTransport = (options: Options): Layer.Layer<Analytics, InvalidOptions, Transport> =>
  Layer.scoped(Analytics, make(options))

/**
 * The client sending over HTTP. Provide the `HttpClient` you want: `FetchHttpClient.layer`, or
 * `NodeHttpClient.layerUndici` from `@effect/platform-node`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Analytics, InvalidOptions, HttpClient.HttpClient> => {
  const writeKey = typeof options.writeKey === "string" ? Redacted.make(options.writeKey) : options.writeKey
  return layerWithoutTransport({ ...options, writeKey }).pipe(
    Layer.provide(HttpTransport.layer({ ...options, writeKey }))
  )
}

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), (option) => option._tag === "Some" ? option.value : undefined)

/**
 * Every option, read from `effect/Config` (by default from environment variables):
 *
 * | key | option |
 * | --- | --- |
 * | `ANALYTICS_WRITE_KEY` (required, redacted) | `writeKey` |
 * | `ANALYTICS_HOST` | `host` |
 * | `ANALYTICS_PATH` | `path` |
 * | `ANALYTICS_GZIP` | `gzip` |
 * | `ANALYTICS_TIMEOUT` | `timeout` (a duration such as `10 seconds`) |
 * | `ANALYTICS_FLUSH_AT` | `flushAt` |
 * | `ANALYTICS_FLUSH_INTERVAL` | `flushInterval` |
 * | `ANALYTICS_MAX_QUEUE_SIZE` | `maxQueueSize` |
 * | `ANALYTICS_MAX_QUEUE_BYTES` | `maxQueueBytes` |
 * | `ANALYTICS_OVERFLOW` | `overflow` (`dropNewest`, `dropOldest`, `suspend`) |
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
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  writeKey: Config.redacted("ANALYTICS_WRITE_KEY"),
  host: optional(Config.string("ANALYTICS_HOST")),
  path: optional(Config.string("ANALYTICS_PATH")),
  gzip: optional(Config.boolean("ANALYTICS_GZIP")),
  timeout: optional(Config.duration("ANALYTICS_TIMEOUT")),
  flushAt: optional(Config.integer("ANALYTICS_FLUSH_AT")),
  flushInterval: optional(Config.duration("ANALYTICS_FLUSH_INTERVAL")),
  maxQueueSize: optional(Config.integer("ANALYTICS_MAX_QUEUE_SIZE")),
  maxQueueBytes: optional(Config.integer("ANALYTICS_MAX_QUEUE_BYTES")),
  overflow: optional(Config.literal("dropNewest", "dropOldest", "suspend")("ANALYTICS_OVERFLOW")),
  maxMessageBytes: optional(Config.integer("ANALYTICS_MAX_MESSAGE_BYTES")),
  maxBatchBytes: optional(Config.integer("ANALYTICS_MAX_BATCH_BYTES")),
  maxBatchMessages: optional(Config.integer("ANALYTICS_MAX_BATCH_MESSAGES")),
  maxInFlight: optional(Config.integer("ANALYTICS_MAX_IN_FLIGHT")),
  shutdownTimeout: optional(Config.duration("ANALYTICS_SHUTDOWN_TIMEOUT")),
  enabled: optional(Config.boolean("ANALYTICS_ENABLED")),
  maxRetries: optional(Config.integer("ANALYTICS_MAX_RETRIES")),
  retryBudget: optional(Config.duration("ANALYTICS_RETRY_BUDGET")),
  maxRetryAfter: optional(Config.duration("ANALYTICS_MAX_RETRY_AFTER")),
  defaultContext: optional(jsonObjectConfig("ANALYTICS_DEFAULT_CONTEXT")),
  defaultIntegrations: optional(
    Config.map(jsonObjectConfig("ANALYTICS_DEFAULT_INTEGRATIONS"), (value) => value as Message.Integrations)
  ),
  debug: Config.map(Config.withDefault(Config.string("DEBUG"), ""), (value) => /\banalytics\b/.test(value))
})

function jsonObjectConfig(name: string): Config.Config<Message.JsonObject> {
  return Config.mapOrFail(Config.string(name), (text) => {
    try {
      const value: unknown = JSON.parse(text)
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        return Either.right(value as Message.JsonObject)
      }
    } catch {
      // reported below
    }
    return Either.left(ConfigError.InvalidData([name], "expected a JSON object"))
  })
}

/**
 * The client sending over HTTP, with options read from a `Config` (`config` by default). Fails with a
 * `ConfigError` when the write key is missing or an option is malformed.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { ConfigProvider, Layer } from "effect"
 * import { Analytics } from "analytics-effect"
 *
 * const AnalyticsLive = Analytics.layerConfig().pipe(
 *   Layer.provide(FetchHttpClient.layer),
 *   Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["ANALYTICS_WRITE_KEY", "key"]]))))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config<Options> = config
): Layer.Layer<Analytics, ConfigError.ConfigError | InvalidOptions, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(options, layer))

/**
 * The common composition: the HTTP client configured from the environment (`config`). Provide an
 * `HttpClient` layer.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Layer } from "effect"
 * import { AnalyticsLayer } from "analytics-effect/Analytics"
 *
 * export const MainLayer = AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const AnalyticsLayer: Layer.Layer<Analytics, ConfigError.ConfigError | InvalidOptions, HttpClient.HttpClient> =
  layerConfig()

/**
 * `identify` through the `Analytics` service in context.
 *
 * @since 0.1.0
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
 * @since 0.1.0
 * @category accessors
 */
export const track = (input: Message.TrackInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.track(input))

/**
 * `page` through the `Analytics` service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const page = (input: Message.PageInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.page(input))

/**
 * `screen` through the `Analytics` service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const screen = (input: Message.ScreenInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.screen(input))

/**
 * `group` through the `Analytics` service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const group = (input: Message.GroupInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.group(input))

/**
 * `alias` through the `Analytics` service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const alias = (input: Message.AliasInput): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.alias(input))

/**
 * `send` (any call type) through the `Analytics` service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const send = (message: Message.Message): Effect.Effect<string, CallError, Analytics> =>
  Effect.flatMap(Analytics, (analytics) => analytics.send(message))

/**
 * `flush` through the `Analytics` service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const flush: Effect.Effect<void, never, Analytics> = Effect.flatMap(Analytics, (analytics) => analytics.flush)

/**
 * `subscribe` through the `Analytics` service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const subscribe: Effect.Effect<Queue.Dequeue<Outcome.Outcome>, never, Analytics | Scope.Scope> = Effect
  .flatMap(Analytics, (analytics) => analytics.subscribe)

/**
 * The outcomes stream of the `Analytics` service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const outcomes: Stream.Stream<Outcome.Outcome, never, Analytics> = Stream.unwrap(
  Effect.map(Analytics, (analytics) => analytics.outcomes)
)
