/**
 * A Promise facade over the `Analytics` client, for code that does not run Effects: the same
 * batching, retries, validation and typed errors, behind `async` methods.
 *
 * The client lives on a `ManagedRuntime` built on first use. Each call resolves with the message's
 * `messageId` once the message is accepted (not delivered), or rejects with the call's typed error
 * itself (`InvalidMessage`, `MessageTooLarge`, `ClientClosed`: match on `error._tag`). `closeAndFlush`
 * disposes the runtime, which closes the client's scope: everything accepted is delivered (within
 * `shutdownTimeout`) before it resolves. Call it before your process or serverless handler ends.
 *
 * A call you do not `await` cannot crash the process with an unhandled rejection: its failure is
 * logged as a warning instead (and still rejects the promise, for whoever awaits it).
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
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Analytics from "./Analytics.js"
import { type CallError, ClientClosed, type InvalidOptions } from "./AnalyticsError.js"
import type * as Message from "./Message.js"
import type { Transport } from "./Transport.js"

/**
 * Options of the Promise client: the `Analytics` options, and how to reach the collector.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Analytics.Options {
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
 * Options of `closeAndFlush`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CloseOptions {
  /**
   * Resolve after this long even if delivery is still in progress (it goes on in the background,
   * bounded by the client's `shutdownTimeout`). Default: wait until everything accepted has its
   * outcome.
   */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The Promise client.
 *
 * @since 0.1.0
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

/** Marks a promise as handled, so that nobody awaiting it is not a process-wide unhandled rejection. */
const handled = <A>(promise: Promise<A>): Promise<A> => {
  promise.catch(ignore)
  return promise
}

/** The failure itself when the cause holds one; otherwise the defect or interruption, squashed. */
const toRejection = (cause: Cause.Cause<unknown>): unknown =>
  Option.getOrElse(Cause.failureOption(cause), () => Cause.squash(cause))

/**
 * Creates a Promise client. Nothing starts until the first call.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { PromiseClient } from "analytics-effect"
 *
 * const analytics = PromiseClient.createClient({
 *   writeKey: process.env.SEGMENT_WRITE_KEY ?? "",
 *   httpClient: NodeHttpClient.layerUndici,
 *   flushAt: 50
 * })
 *
 * export async function handler(event: { userId: string }) {
 *   await analytics.track({ userId: event.userId, event: "Item Purchased" })
 *   await analytics.flush() // a serverless handler: deliver before the function freezes
 * }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClient = (options: Options): Client => {
  const { httpClient, transport, ...clientOptions } = options
  const layer: Layer.Layer<Analytics.Analytics, InvalidOptions> = transport !== undefined
    ? Analytics.layerWithoutTransport(clientOptions).pipe(Layer.provide(transport))
    : Analytics.layer(clientOptions).pipe(Layer.provide(httpClient ?? FetchHttpClient.layer))
  const runtime = ManagedRuntime.make(layer)
  let closing: Promise<void> | undefined
  // The runtime is built on first use. Until it is, calls wait for it in order (promise callbacks run
  // first in, first out), so that no call overtakes an earlier one, nor a `closeAndFlush` made after it.
  let built: Runtime.Runtime<Analytics.Analytics> | undefined
  let ready: Promise<void> | undefined
  const start = (): Promise<void> =>
    ready ??= runtime.runtime().then((rt) => {
      built = rt
    })

  const settle = <A>(exit: Exit.Exit<A, unknown>): A | Promise<A> =>
    Exit.isSuccess(exit) ? exit.value : Promise.reject(toRejection(exit.cause))

  const run = <A>(effect: Effect.Effect<A, CallError, Analytics.Analytics>): Promise<A> =>
    built !== undefined
      ? Runtime.runPromiseExit(built, effect).then(settle)
      : start().then(() => Runtime.runPromiseExit(built!, effect)).then(settle)

  const call = <I>(
    type: Message.MessageType,
    f: (input: I) => Effect.Effect<string, CallError, Analytics.Analytics>
  ) =>
  (input: I): Promise<string> => {
    if (closing !== undefined) return handled(Promise.reject(new ClientClosed({ messageType: type })))
    return handled(run(
      f(input).pipe(
        Effect.tapError((error) =>
          Effect.logWarning(`analytics ${type} call rejected: ${error.message}`).pipe(
            Effect.annotateLogs({ module: "analytics-effect/PromiseClient" })
          )
        )
      )
    ))
  }

  const closeAndFlush = (closeOptions?: CloseOptions): Promise<void> => {
    if (closing !== undefined) return closing
    // Let the calls made before this one, still waiting for the runtime, be accepted first.
    const dispose = ready === undefined
      ? runtime.disposeEffect
      : Effect.zipRight(Effect.promise(() => ready!.catch(ignore)), runtime.disposeEffect)
    const bounded = closeOptions?.timeout === undefined
      ? dispose
      : Effect.asVoid(Effect.timeoutOption(Effect.disconnect(dispose), Duration.decode(closeOptions.timeout)))
    closing = Effect.runPromise(bounded)
    return closing
  }

  return {
    identify: call("identify", Analytics.identify),
    track: call("track", Analytics.track),
    page: call("page", Analytics.page),
    screen: call("screen", Analytics.screen),
    group: call("group", Analytics.group),
    alias: call("alias", Analytics.alias),
    flush: () => closing !== undefined ? closing : run(Analytics.flush),
    closeAndFlush
  }
}
