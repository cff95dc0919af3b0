/**
 * A Promise facade over the `Analytics` client, for code that does not run Effects: the same
 * batching, retries, validation and typed errors, behind `async` methods.
 *
 * Each call resolves with the message's `messageId` once the message is accepted (not delivered), or
 * rejects with the call's typed error itself (`InvalidMessage`, `MessageTooLarge`, `ClientClosed`:
 * match on `error._tag`). A call you do not `await` cannot crash the process with an unhandled
 * rejection; nothing is logged for a rejection either, since the promise carries it (with
 * `DEBUG=analytics` it is logged at the debug level).
 *
 * Options left out are read from the environment variables as they are when the client is created,
 * as `Analytics.config` reads them (`ANALYTICS_WRITE_KEY`, `ANALYTICS_HOST`, ..., `DEBUG=analytics`):
 * `createClient()` with no options is configured entirely from the environment.
 *
 * **Ending a script.** The client keeps no timer while it is idle: a script that stops calling ends
 * on its own once its last messages are sent, at most `flushInterval` (5 seconds) after its last call.
 * Call `closeAndFlush()` to send at once and wait for every outcome (it is the way to end a serverless
 * handler's work, or a process that exits by itself, such as one calling `process.exit`); `flush()`
 * sends without closing.
 *
 * @example
 * ```ts
 * import { PromiseClient } from "analytics-effect"
 *
 * const analytics = PromiseClient.createClient({ writeKey: "YOUR_WRITE_KEY" })
 *
 * await analytics.identify({
 *   userId: "019mr8mf4r",
 *   traits: { name: "Michael Bolton", email: "mbolton@example.com", plan: "Enterprise", friends: 42 }
 * })
 * try {
 *   await analytics.track({ userId: "f4ca124298", event: "" })
 * } catch (error) {
 *   // error._tag === "InvalidMessage", error.field === "event"
 * }
 * await analytics.closeAndFlush() // delivers everything before the process exits
 * ```
 *
 * @since 1.0.0
 */
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as EffectLogger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Analytics from "./Analytics.js"
import { type CallError, ClientClosed, InvalidOptions } from "./AnalyticsError.js"
import { Waiter } from "./internal/admission.js"
import * as Internal from "./internal/client.js"
import type * as Message from "./Message.js"
import type { Transport } from "./Transport.js"

/**
 * Options of the Promise client: the `Analytics` options, and how to reach the collector.
 *
 * @since 1.0.0
 * @category models
 */
export interface Options extends Partial<Analytics.Options> {
  /**
   * Where the client's logs go (the library logs retries, failures, drops and, with `debug`, each
   * batch). Default: Effect's default logger (one line per entry on the console).
   */
  readonly logger?: Logger | undefined
  /**
   * The `HttpClient` implementation. Default `FetchHttpClient.layer` (the global `fetch`). On Node,
   * `NodeHttpClient.layerUndici` from `@effect/platform-node` is a good choice; a layer built on a
   * proxy agent goes here too.
   */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
  /**
   * Send through this transport instead of HTTP (then `httpClient`, `host`, `path`, `gzip` and
   * `timeout` are not used). For tests: `MemoryTransport.layer()`, or a `Layer.succeedContext` of a
   * `MemoryTransport.make()` whose companion you keep to read what was sent.
   */
  readonly transport?: Layer.Layer<Transport> | undefined
}

/**
 * A destination for the client's logs: any object with these methods, such as `console` or a
 * pino/winston logger. Each entry arrives as its message and an object of annotations.
 *
 * @since 1.0.0
 * @category models
 */
export interface Logger {
  readonly debug: (message: string, fields: Record<string, unknown>) => void
  readonly info: (message: string, fields: Record<string, unknown>) => void
  readonly warn: (message: string, fields: Record<string, unknown>) => void
  readonly error: (message: string, fields: Record<string, unknown>) => void
}

/**
 * Options of `closeAndFlush`.
 *
 * @since 1.0.0
 * @category models
 */
export interface CloseOptions {
  /**
   * Resolve after this long even if delivery is still in progress (it goes on in the background,
   * bounded by the client's `shutdownTimeout`). Default: wait until everything accepted has its
   * outcome.
   */
  readonly timeout?: Duration.Input | undefined
}

/**
 * The Promise client.
 *
 * @since 1.0.0
 * @category models
 */
export interface Client {
  /** Who the user is, and traits about them. Resolves with the `messageId`. */
  readonly identify: (input: Message.IdentifyInput) => Promise<string>
  /** An action the user performed. Resolves with the `messageId`. */
  readonly track: (input: Message.TrackInput) => Promise<string>
  /** A page view. Resolves with the `messageId`. */
  readonly page: (input: Message.PageInput) => Promise<string>
  /** A screen view. Resolves with the `messageId`. */
  readonly screen: (input: Message.ScreenInput) => Promise<string>
  /** Ties the user to a group. Resolves with the `messageId`. */
  readonly group: (input: Message.GroupInput) => Promise<string>
  /** Ties one identity to another. Resolves with the `messageId`. */
  readonly alias: (input: Message.AliasInput) => Promise<string>
  /**
   * Sends everything accepted so far; resolves when each of those messages has its outcome
   * (delivered or failed). Resolves at once after `closeAndFlush`, which flushed everything.
   */
  readonly flush: () => Promise<void>
  /**
   * Stops accepting messages (later calls reject with `ClientClosed`), delivers everything accepted
   * and releases the client's resources. Calling it again returns the same promise.
   */
  readonly closeAndFlush: (options?: CloseOptions) => Promise<void>
}

const ignore = (): void => {}

/** Marks a promise as handled: a rejection nobody awaits is not a process-wide unhandled rejection. */
const handled = <A>(promise: Promise<A>): Promise<A> => {
  promise.catch(ignore)
  return promise
}

/** The failure itself when the cause holds one; otherwise the defect or interruption, squashed. */
const toRejection = (cause: Cause.Cause<unknown>): unknown =>
  Option.getOrElse(Cause.findErrorOption(cause), () => Cause.squash(cause))

const text = (message: unknown): string =>
  Array.isArray(message) ? message.map(text).join(" ") : typeof message === "string" ? message : String(message)

/**
 * Routes the client's log entries to a `Logger` of the caller's, in place of Effect's default logger
 * (the tracer's logger, which records log entries as span events, stays).
 */
const loggerLayer = (target: Logger): Layer.Layer<never> =>
  EffectLogger.layer([
    EffectLogger.make(({ cause, fiber, logLevel, message }) => {
      const fields: Record<string, unknown> = { ...fiber.getRef(References.CurrentLogAnnotations) }
      if (cause.reasons.length > 0) fields.cause = Cause.pretty(cause)
      const line = text(message)
      switch (logLevel) {
        case "Fatal":
        case "Error":
          return target.error(line, fields)
        case "Warn":
          return target.warn(line, fields)
        case "Info":
          return target.info(line, fields)
        default:
          return target.debug(line, fields)
      }
    }),
    EffectLogger.tracerLogger
  ])

// The options it was not given, from the environment (`Analytics.partialConfig` read from the
// environment variables). Reading the environment is synchronous, and this is the edge of the
// library, so it runs here: a malformed variable is reported as the option it sets. (Effect 4's
// default ConfigProvider copies the environment once, when it is first used: the client reads it as
// it is when the client is created, as the Effect 3 edition did.)
const fromEnvironment = (): Partial<Analytics.Options> => {
  const exit = Effect.runSyncExit(
    Effect.provideService(Analytics.partialConfig, ConfigProvider.ConfigProvider, ConfigProvider.fromEnv())
  )
  if (Exit.isSuccess(exit)) return exit.value
  const error = Cause.findErrorOption(exit.cause)
  throw new InvalidOptions({
    option: "environment",
    path: [],
    reason: Option.isSome(error) ? error.value.message : Cause.pretty(exit.cause)
  })
}

/**
 * Creates a Promise client. Options left out are read from the environment (`ANALYTICS_WRITE_KEY`,
 * ...). Throws `InvalidOptions` at once when an option is out of range or the write key is missing.
 * Nothing starts until the first call.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { PromiseClient } from "analytics-effect"
 *
 * // The write key from ANALYTICS_WRITE_KEY; undici for HTTP; log through console.
 * const analytics = PromiseClient.createClient({ httpClient: NodeHttpClient.layerUndici, logger: console })
 *
 * export async function handler(event: { userId: string }) {
 *   await analytics.track({ userId: event.userId, event: "Item Purchased" })
 *   await analytics.flush() // a serverless handler: deliver before the function freezes
 * }
 * ```
 *
 * @since 1.0.0
 * @category constructors
 */
export const createClient = (options: Options = {}): Client => {
  const { httpClient, logger, transport, ...given } = options
  const merged = { ...fromEnvironment(), ...definedOnly(given) }
  if (merged.writeKey === undefined) {
    throw new InvalidOptions({
      option: "writeKey",
      path: [],
      reason: "missing: pass writeKey, or set ANALYTICS_WRITE_KEY to the write key of your Segment source"
    })
  }
  const clientOptions: Analytics.Options = { ...merged, writeKey: merged.writeKey }
  const invalid = Analytics.checkOptions(clientOptions)
  if (invalid !== undefined) throw invalid
  // A default context that cannot be used is only found when the client is built (its values are read
  // once, then): the calls then reject with that InvalidOptions.
  const client = transport !== undefined
    ? Analytics.layerWithoutTransport(clientOptions).pipe(Layer.provide(transport))
    : Analytics.layer(clientOptions).pipe(Layer.provide(httpClient ?? FetchHttpClient.layer))
  const runtime = ManagedRuntime.make(logger === undefined ? client : Layer.provide(client, loggerLayer(logger)))
  let closing: Promise<void> | undefined
  // The runtime is built on first use. Until it is, calls wait for it in order (promise callbacks run
  // first in, first out), so that no call overtakes an earlier one, nor a `closeAndFlush` made after it.
  let built: {
    readonly run: <A, E>(effect: Effect.Effect<A, E, Analytics.Analytics>) => Promise<Exit.Exit<A, E>>
    readonly client: Internal.Client
  } | undefined
  let ready: Promise<void> | undefined
  const start = (): Promise<void> =>
    ready ??= Effect.runPromiseExit(runtime.contextEffect).then((exit) => {
      if (Exit.isFailure(exit)) throw toRejection(exit.cause)
      // Effects run on the built context (Effect 4 has no `Runtime` value: the context is the runtime).
      built = {
        run: Effect.runPromiseExitWith(exit.value),
        client: Internal.lookup(Context.get(exit.value, Analytics.Analytics))!
      }
    })

  const settle = <A>(exit: Exit.Exit<A, unknown>): A | Promise<A> =>
    Exit.isSuccess(exit) ? exit.value : Promise.reject(toRejection(exit.cause))

  const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
    built!.run(effect).then(settle)

  // A call settled at once (accepted, or refused) costs no fiber, nor does one waiting for room in the
  // queue: only a drop, which publishes its outcome, runs as an Effect.
  const callNow = (type: Message.MessageType, input: unknown): Promise<string> => {
    const result = built!.client.acceptNow(type, input)
    // A waiting call cannot fail: it ends with its message queued, or dropped or failed with an outcome.
    if (result instanceof Waiter) return new Promise<string>((resolve) => result.listen(resolve))
    if (Exit.isExit(result)) {
      const exit = result as Exit.Exit<string, CallError>
      return Exit.isSuccess(exit) ? Promise.resolve(exit.value) : handled(Promise.reject(toRejection(exit.cause)))
    }
    return handled(run(result))
  }

  const call = <I>(type: Message.MessageType) => (input: I): Promise<string> => {
    if (closing !== undefined) return handled(Promise.reject(new ClientClosed({ messageType: type })))
    if (built !== undefined) return callNow(type, input)
    return handled(start().then(() => callNow(type, input)))
  }

  const closeAndFlush = (closeOptions?: CloseOptions): Promise<void> => {
    if (closing !== undefined) return closing
    // Let the calls made before this one, still waiting for the runtime, be accepted first.
    const dispose = ready === undefined
      ? runtime.disposeEffect
      : Effect.andThen(Effect.promise(() => ready!.catch(ignore)), runtime.disposeEffect)
    // With a timeout, the close goes on in its own fiber, past it (Effect 4 has no `Effect.disconnect`).
    const bounded = closeOptions?.timeout === undefined
      ? dispose
      : Effect.flatMap(
        Effect.forkDetach(dispose),
        (fiber) => Effect.asVoid(Effect.timeoutOption(Fiber.join(fiber), Duration.fromInputUnsafe(closeOptions.timeout!)))
      )
    closing = Effect.runPromise(bounded)
    return closing
  }

  const flush = (): Promise<void> => {
    if (closing !== undefined) return closing
    if (built !== undefined) return run(built.client.flush)
    return start().then(() => run(built!.client.flush))
  }

  return {
    identify: call("identify"),
    track: call("track"),
    page: call("page"),
    screen: call("screen"),
    group: call("group"),
    alias: call("alias"),
    flush,
    closeAndFlush
  }
}

const definedOnly = <A extends object>(options: A): Partial<A> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value
  return out as Partial<A>
}
