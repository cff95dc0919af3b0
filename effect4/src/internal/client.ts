/**
 * The client: the call path (validate, enrich, serialize, admit) and the batcher, wired in the layer's
 * scope.
 *
 * One effect `Queue` carries the accepted messages and, in order among them, markers (the interval
 * tick, `flush`, the close). The pieces:
 * - `admission.ts`: the queue's bounds (messages and bytes) and the overflow policies;
 * - `consumer.ts`: the one fiber that takes from the queue, keeps what it has not sent as its loop
 *   state, and sends when `flushAt` messages are carried, the carry fills a request, callers wait for
 *   room, or a marker says so;
 * - `dispatch.ts`: at most `maxInFlight` batches in flight, each in its own sender fiber;
 * - `delivery.ts`: one batch's attempts, retries, the 429 pause and the 413 split, and its outcome;
 * - `outcomes.ts`: publishing outcomes, metrics and the warnings;
 * - `core/batch.ts`: cutting batches by bytes and count.
 * Closing the scope puts the close marker in the queue and waits, up to `shutdownTimeout`, for the
 * consumer to have sent everything before it and for every batch to have its outcome.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as References from "effect/References"
import type * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { type CallError, ClientClosed, type InvalidOptions, type TransportError } from "../AnalyticsError.js"
import type * as Message from "../Message.js"
import type * as Outcome from "../Outcome.js"
import { Transport } from "../Transport.js"
import * as Admission from "./admission.js"
import * as Consumer from "./consumer.js"
import * as Batch from "./core/batch.js"
import * as Delivery from "./delivery.js"
import * as Dispatch from "./dispatch.js"
import * as Encode from "./encode.js"
import * as Ids from "./ids.js"
import * as Metrics from "./metrics.js"
import * as Outcomes from "./outcomes.js"
import * as RateLimit from "./rateLimit.js"
import * as Wire from "./wire.js"

/** The client's settings, validated, with every default applied. @internal */
export interface Settings {
  readonly writeKey: Redacted.Redacted<string>
  readonly flushAt: number
  readonly flushInterval: Duration.Duration
  readonly maxQueueSize: number
  readonly maxQueueBytes: number
  readonly overflow: Admission.Policy
  readonly overflowTimeout: Duration.Duration
  readonly maxMessageBytes: number
  readonly maxBatchBytes: number
  readonly maxBatchMessages: number
  readonly maxInFlight: number
  readonly shutdownTimeout: Duration.Duration
  readonly defaultContext: Message.JsonObject | undefined
  readonly defaultIntegrations: Message.Integrations | undefined
  readonly enabled: boolean
  readonly retrySchedule: Schedule.Schedule<unknown, TransportError>
  readonly retryBudget: Duration.Duration
  readonly maxRetryAfter: Duration.Duration
  readonly debug: boolean
}

/** @internal */
export interface Client {
  /** One call, as an Effect (nothing happens until it runs). */
  readonly accept: (type: Message.MessageType, input: unknown) => Effect.Effect<string, CallError>
  /**
   * One call, done now: validation, serialization and admission happen before it returns. The result
   * is an `Exit` when the call is settled (accepted, or refused with its error), a `Waiter` when it
   * waits for room in the queue (in arrival order, without a fiber), or an Effect to run (a drop that
   * publishes its outcome).
   */
  readonly acceptNow: (type: Message.MessageType, input: unknown) => Effect.Effect<string, CallError> | Admission.Waiter
  readonly flush: Effect.Effect<void>
  readonly subscribe: Effect.Effect<PubSub.Subscription<Outcome.Outcome>, never, Scope.Scope>
  readonly outcomes: Stream.Stream<Outcome.Outcome>
  readonly outcomesFromNow: Effect.Effect<Stream.Stream<Outcome.Outcome>, never, Scope.Scope>
}

// The internal client behind each service, for the Promise facade's synchronous call path.
const registry = new WeakMap<object, Client>()

/** @internal */
export const register = (service: object, client: Client): void => {
  registry.set(service, client)
}

/** @internal */
export const lookup = (service: object): Client | undefined => registry.get(service)

/** @internal */
export const make = (settings: Settings): Effect.Effect<Client, InvalidOptions, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    // A default context or integrations that cannot be used fails the layer.
    const encode = yield* Effect.fromResult(Encode.makeEncodeSync(settings, yield* Ids.make))
    const limits: Batch.Limits = {
      maxMessages: settings.maxBatchMessages,
      maxBytes: settings.maxBatchBytes,
      envelopeBytes: Wire.makeEnvelope(settings.writeKey).bytes
    }
    const background = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(
        Effect.annotateLogs({ module: "analytics-effect" }),
        settings.debug ? Effect.provideService(References.MinimumLogLevel, "Debug") : (e) => e
      )

    const outcomes = yield* Outcomes.make(settings)
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Admission.Item>(), Queue.shutdown)
    // Open when the consumer has work: a batch starts or is complete, a caller waits for room, or a
    // marker is queued. The consumer does not wake for every message of a trickle.
    const ready = yield* Latch.make(false)
    const offerMarker = (marker: Admission.Marker): void => {
      Queue.offerUnsafe(queue, marker)
      ready.openUnsafe()
    }
    const admission = yield* Admission.make(queue, outcomes, settings, () => ready.openUnsafe())
    const deliver = Delivery.make({ transport, outcomes, rateLimit: yield* RateLimit.make, settings: { ...settings, limits } })
    const dispatch = yield* Dispatch.make(settings.maxInFlight, deliver, outcomes)
    const consumer = yield* Consumer.make({ ...settings, queue, ready, admission, outcomes, dispatch, limits, offerMarker })
    yield* Effect.forkScoped(background(consumer))

    // Completed once the client has closed (its final flush is over).
    const closed = yield* Deferred.make<void>()
    // Registered last, so it runs first when the scope closes: before the fibers above are interrupted.
    yield* Effect.addFinalizer(() =>
      close({ admission, dispatch, offerMarker, outcomes, shutdownTimeout: settings.shutdownTimeout }).pipe(
        Effect.andThen(Deferred.succeed(closed, undefined)),
        background
      )
    )

    const acceptNow = (type: Message.MessageType, input: unknown): Effect.Effect<string, CallError> | Admission.Waiter => {
      if (admission.isClosing()) return Effect.fail(new ClientClosed({ messageType: type }))
      const encoded = encode(type, input)
      if (Effect.isEffect(encoded)) return encoded
      if (!settings.enabled) return Effect.as(outcomes.disabled([encoded]), encoded.messageId)
      if (admission.tryOffer(encoded)) return Effect.succeed(encoded.messageId)
      const overflow = admission.overflow(encoded)
      return overflow instanceof Admission.Waiter ? overflow : Effect.as(overflow, encoded.messageId)
    }

    const flush: Effect.Effect<void> = Effect.suspend(() => {
      if (admission.isClosing()) return Deferred.await(closed)
      return Effect.flatMap(Deferred.make<void>(), (done) => {
        offerMarker(new Admission.Marker("flush", done))
        return Deferred.await(done)
      })
    }).pipe(Effect.withSpan("Analytics.flush"))

    return {
      accept: (type, input) =>
        Effect.suspend(() => {
          const result = acceptNow(type, input)
          return result instanceof Admission.Waiter ? awaitTurn(result) : result
        }),
      acceptNow,
      flush,
      subscribe: outcomes.subscribe,
      outcomes: outcomes.stream,
      outcomesFromNow: outcomes.streamFromNow
    } satisfies Client
  })

// A waiting caller's fiber suspends until its message is queued (or dropped, or failed by the close);
// interrupted, it gives up its place.
const awaitTurn = (waiter: Admission.Waiter): Effect.Effect<string> =>
  Effect.callback<string>((resume) => {
    waiter.listen((messageId) => resume(Effect.succeed(messageId)))
    return Effect.sync(() => waiter.cancel())
  })

/**
 * The close: new calls are refused; callers already waiting for room get in as the queue drains, then
 * the close marker follows the last of them and the consumer sends everything before it. All of it
 * within `shutdownTimeout`: past it, what is in flight is interrupted and what is left fails.
 */
const close = (deps: {
  readonly admission: Admission.Admission
  readonly dispatch: Dispatch.Dispatch
  readonly offerMarker: (marker: Admission.Marker) => void
  readonly outcomes: Outcomes.Outcomes
  readonly shutdownTimeout: Duration.Duration
}): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { admission, dispatch, outcomes, shutdownTimeout } = deps
    admission.close()
    const done = yield* Deferred.make<void>()
    const markerOffered = yield* Ref.make(false)
    const offerClose = Effect.flatMap(
      Ref.getAndSet(markerOffered, true),
      (offered) => offered ? Effect.void : Effect.sync(() => deps.offerMarker(new Admission.Marker("close", done)))
    )
    const finalFlush = admission.waitersGone.pipe(Effect.andThen(offerClose), Effect.andThen(Deferred.await(done)))
    // Finalizers run uninterruptibly. Effect 3 needed the wait to be made interruptible for the timeout
    // to end it; Effect 4's timeout ends it anyway (its fibers start interruptible), and saying so keeps
    // that independent of how the timeout is built.
    const inTime = yield* Effect.timeoutOption(Effect.interruptible(finalFlush), shutdownTimeout)
    if (Option.isNone(inTime)) {
      // Interrupted senders report their batches; the consumer fails what it still holds at once.
      yield* dispatch.expire
      yield* admission.expireWaiters
      // The close marker goes in now if it had not (a caller was still waiting for room).
      yield* offerClose
      yield* Deferred.await(done)
      yield* Effect.logWarning(
        `analytics shutdown timed out after ${
          Duration.format(shutdownTimeout)
        }: what was not delivered by then failed (ShutdownTimeout)`
      )
    }
    yield* Metric.update(Metrics.queueDepth, admission.depth())
    yield* outcomes.warnLosses
    yield* outcomes.end
  })
