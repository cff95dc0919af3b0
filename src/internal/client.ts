/**
 * The client: the call path (validate, enrich, serialize, admit) and the batcher, wired in the layer's
 * scope.
 *
 * One effect `Queue` carries the accepted messages and, in order among them, markers (the interval
 * tick, `flush`, the close). One consumer fiber takes from it in batches and keeps what it took but
 * has not sent (the carry) as its loop state; it sends a batch when `flushAt` messages are carried, when
 * the carry fills a request, or when a marker says so, through at most `maxInFlight` sender fibers.
 * Closing the scope puts the close marker in the queue and waits, up to `shutdownTimeout`, for the
 * consumer to have sent everything before it and for every batch to have its outcome.
 *
 * @internal
 */
import type * as Redacted from "effect/Redacted"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberHandle from "effect/FiberHandle"
import * as FiberSet from "effect/FiberSet"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { type CallError, ClientClosed, type InvalidOptions, type TransportError } from "../AnalyticsError.js"
import type * as Message from "../Message.js"
import type * as Outcome from "../Outcome.js"
import { Transport } from "../Transport.js"
import * as Admission from "./admission.js"
import * as Batch from "./core/batch.js"
import * as Delivery from "./delivery.js"
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
  readonly subscribe: Effect.Effect<Queue.Dequeue<Outcome.Outcome>, never, Scope.Scope>
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

const sumBytes = (messages: ReadonlyArray<Message.EncodedMessage>): number => {
  let n = 0
  for (let i = 0; i < messages.length; i++) n += messages[i]!.bytes
  return n
}

/** @internal */
export const make = (settings: Settings): Effect.Effect<Client, InvalidOptions, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    // A default context or integrations that cannot be used fails the layer.
    const encode = yield* Encode.makeEncodeSync(settings, yield* Ids.make)
    const limits: Batch.Limits = {
      maxMessages: settings.maxBatchMessages,
      maxBytes: settings.maxBatchBytes,
      envelopeBytes: Wire.makeEnvelope(settings.writeKey).bytes
    }
    const background = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(
        Effect.annotateLogs({ module: "analytics-effect" }),
        settings.debug ? Logger.withMinimumLogLevel(LogLevel.Debug) : (e) => e
      )

    const outcomes = yield* Outcomes.make(settings)
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Admission.Item>(), Queue.shutdown)
    // Open when the consumer has work: a batch starts or is complete, a caller waits for room, or a
    // marker is queued. The consumer does not wake for every message of a trickle.
    const ready = yield* Effect.makeLatch(false)
    const wake = () => ready.unsafeOpen()
    const offerMarker = (marker: Admission.Marker): void => {
      Queue.unsafeOffer(queue, marker)
      wake()
    }
    const admission = yield* Admission.make(queue, outcomes, settings, wake)
    const deliver = Delivery.make({
      transport,
      outcomes,
      rateLimit: yield* RateLimit.make,
      settings: { ...settings, limits }
    })
    const slots = yield* Effect.makeSemaphore(settings.maxInFlight)
    const senders = yield* FiberSet.make<void, never>()
    const flushWaiters = yield* FiberSet.make<void, never>()
    // The completion of every batch in flight, for `flush` and the close to wait on.
    const inFlight = yield* Ref.make<ReadonlySet<Deferred.Deferred<void>>>(new Set())
    // Completed when the close ran out of time: what is not sent by then fails.
    const deadline = yield* Deferred.make<void>()
    const closed = yield* Deferred.make<void>()
    // The interval trigger: armed while the consumer carries messages, so an idle client holds no
    // timer (a script that stops calling can end once its messages are sent).
    const timer = yield* FiberHandle.make<void, never>()
    const armTimer = FiberHandle.run(
      timer,
      Effect.zipRight(
        Effect.sleep(settings.flushInterval),
        Effect.sync(() => offerMarker(new Admission.Marker("tick", undefined)))
      ),
      { onlyIfMissing: true }
    )

    const failLate = (batch: ReadonlyArray<Message.EncodedMessage>) =>
      outcomes.publish({ _tag: "Failed", messages: batch, reason: "ShutdownTimeout", error: undefined, attempts: 0 })

    // Hands one batch to a sender; the caller holds a slot in flight for it. Until then the batch still
    // counts as queued (the queue's bounds cover everything not yet in flight).
    const start = (batch: ReadonlyArray<Message.EncodedMessage>): Effect.Effect<void> =>
      Effect.gen(function*() {
        admission.release(batch.length, sumBytes(batch))
        if (yield* Deferred.isDone(deadline)) return yield* Effect.zipRight(slots.release(1), failLate(batch))
        const done = yield* Deferred.make<void>()
        yield* Ref.update(inFlight, (set) => new Set(set).add(done))
        yield* FiberSet.run(
          senders,
          deliver(batch).pipe(
            Effect.ensuring(slots.release(1).pipe(
              Effect.zipRight(Ref.update(inFlight, (set) => {
                const next = new Set(set)
                next.delete(done)
                return next
              })),
              Effect.zipRight(Deferred.succeed(done, undefined))
            ))
          )
          // (forked from the consumer, the sender inherits its log annotations and level)
        )
      })

    type Send = (batch: ReadonlyArray<Message.EncodedMessage>) => Effect.Effect<void>

    const sendRange = (send: Send, carry: ReadonlyArray<Message.EncodedMessage>, start: number, end: number) =>
      send(start === 0 && end === carry.length ? carry : carry.slice(start, end))

    const sendAll = (send: Send, carry: ReadonlyArray<Message.EncodedMessage>): Effect.Effect<void> =>
      Effect.forEach(Batch.cutAll(limits, carry), ([start, end]) => sendRange(send, carry, start, end), {
        discard: true
      })

    // Sends what is ready: everything once `flushAt` messages are carried or callers are held up by a
    // full queue, otherwise the requests the carry fills. Returns the new carry.
    const sendReady = (send: Send, carry: Array<Message.EncodedMessage>): Effect.Effect<Array<Message.EncodedMessage>> => {
      if (carry.length >= settings.flushAt || (carry.length > 0 && admission.pressed())) {
        return Effect.as(sendAll(send, carry), [])
      }
      if (!Batch.fillsRequest(limits, carry)) return Effect.succeed(carry)
      return Effect.gen(function*() {
        let start = 0
        while (Batch.fillsRequest(limits, carry, start)) {
          const end = Batch.cutEnd(limits, carry, start)
          yield* sendRange(send, carry, start, end)
          start = end
        }
        return carry.slice(start)
      })
    }

    const awaitInFlight = Effect.flatMap(
      Ref.get(inFlight),
      (set) => Effect.forEach(set, Deferred.await, { discard: true })
    )

    // A marker: what was carried before it has been sent. Returns `false` for the close.
    const onMarker = (marker: Admission.Marker): Effect.Effect<boolean> => {
      switch (marker.kind) {
        case "tick":
          return Effect.succeed(true)
        case "flush":
          return Effect.as(
            FiberSet.run(flushWaiters, Effect.ensuring(awaitInFlight, Deferred.succeed(marker.done!, undefined))),
            true
          )
        case "close":
          return Effect.as(Effect.zipRight(awaitInFlight, Deferred.succeed(marker.done!, undefined)), false)
      }
    }

    // One round of the consumer: with a slot in flight in hand and work signalled, take what is queued
    // (at most a batch's worth) and send what is ready. Holding a slot first means the consumer takes
    // messages only when it can send them: while every slot is busy they wait in the queue, where the
    // overflow policy (and `dropOldest`) can reach them. The carry is the loop's state; `undefined`
    // ends the loop (after the close marker).
    const round = (carry: Array<Message.EncodedMessage>): Effect.Effect<Array<Message.EncodedMessage> | undefined> =>
      Effect.gen(function*() {
        yield* slots.take(1)
        yield* ready.await
        // Closed before taking: a signal raised after this point is for items this take may miss.
        ready.unsafeClose()
        const held = yield* Ref.make(true)
        const send: Send = (batch) =>
          Effect.flatMap(Ref.getAndSet(held, false), (h) => h ? start(batch) : Effect.zipRight(slots.take(1), start(batch)))
        const items = yield* Queue.takeUpTo(queue, settings.maxBatchMessages)
        let taken = 0
        let next: Array<Message.EncodedMessage> | undefined = carry
        for (const item of items) {
          if (item instanceof Admission.Marker) {
            yield* sendAll(send, next)
            next = []
            if (!(yield* onMarker(item))) {
              next = undefined
              break
            }
          } else {
            next.push(item)
            taken++
          }
        }
        yield* outcomes.accepted(taken)
        if (next !== undefined) next = yield* sendReady(send, next)
        if (next !== undefined && next.length > 0) yield* armTimer
        // Items left behind (a take stops at a batch's worth), or callers admitted by this round that
        // complete a batch: another round.
        if (Option.getOrElse(queue.unsafeSize(), () => 0) > 0) wake()
        if (yield* Ref.get(held)) yield* slots.release(1)
        yield* Metric.set(Metrics.queueDepth, admission.depth())
        return next
      })

    const consumer = Effect.iterate<Array<Message.EncodedMessage> | undefined, never, never>([], {
      while: (carry) => carry !== undefined,
      body: (carry) => round(carry!)
    })

    yield* Effect.forkScoped(background(consumer))

    // Registered last, so it runs first when the scope closes: before the fibers above are interrupted.
    // Closing refuses new calls; callers already waiting for room get in as the queue drains, then
    // the close marker follows the last of them. All of it within shutdownTimeout.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        admission.close()
        const done = yield* Deferred.make<void>()
        const markerOffered = yield* Ref.make(false)
        const offerClose = Effect.flatMap(
          Ref.getAndSet(markerOffered, true),
          (offered) => offered ? Effect.void : Effect.sync(() => offerMarker(new Admission.Marker("close", done)))
        )
        const finalFlush = admission.waitersGone.pipe(Effect.zipRight(offerClose), Effect.zipRight(Deferred.await(done)))
        // Finalizers run uninterruptibly: the wait must be interruptible for the timeout to end it.
        const inTime = yield* Effect.timeoutOption(Effect.interruptible(finalFlush), settings.shutdownTimeout)
        if (Option.isNone(inTime)) {
          yield* Deferred.succeed(deadline, undefined)
          admission.refuseWaiters()
          // The close marker goes in now if it had not (a caller was still waiting for room).
          yield* offerClose
          // Interrupted senders report their batches; the consumer fails what it still holds at once.
          yield* FiberSet.clear(senders)
          yield* Deferred.await(done)
          yield* Effect.logWarning(
            `analytics shutdown timed out after ${
              Duration.format(settings.shutdownTimeout)
            }: what was not delivered by then failed (ShutdownTimeout)`
          )
        }
        yield* Metric.set(Metrics.queueDepth, admission.depth())
        yield* outcomes.warnLosses
        yield* outcomes.end
        yield* Deferred.succeed(closed, undefined)
      }).pipe(background)
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

    // A waiting caller's fiber suspends until its turn (or its deadline, or the close); interrupted, it
    // gives up its place.
    const awaitTurn = (waiter: Admission.Waiter): Effect.Effect<string, ClientClosed> =>
      Effect.async<string, ClientClosed>((resume) => {
        waiter.listen((exit) => resume(Exit.isSuccess(exit) ? Effect.succeed(waiter.message.messageId) : Exit.failCause(exit.cause)))
        return Effect.sync(() => waiter.cancel())
      })

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
