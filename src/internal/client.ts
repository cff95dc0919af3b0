/**
 * The client: the call path (validate, enrich, serialize, enqueue) and the batcher (one consumer fiber,
 * an interval ticker, up to `maxInFlight` sender fibers with retries), all in the layer's scope.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as LogLevel from "effect/LogLevel"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import {
  ClientClosed,
  describeReason,
  type InvalidMessage,
  type InvalidOptions,
  type MessageTooLarge,
  type TransportError
} from "../AnalyticsError.js"
import type * as Message from "../Message.js"
import type * as Outcome from "../Outcome.js"
import { Transport } from "../Transport.js"
import * as Encode from "./encode.js"
import * as Ids from "./ids.js"
import * as Metrics from "./metrics.js"
import { Ring } from "./ring.js"
import * as Wire from "./wire.js"

/** @internal */
export type OverflowPolicy = "dropNewest" | "dropOldest" | "suspend"

/** @internal */
export interface Settings {
  readonly writeKey: Redacted.Redacted<string>
  readonly flushAt: number
  readonly flushInterval: Duration.Duration
  readonly maxQueueSize: number
  readonly maxQueueBytes: number
  readonly overflow: OverflowPolicy
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
  readonly accept: (
    type: Message.MessageType,
    input: unknown
  ) => Effect.Effect<string, InvalidMessage | MessageTooLarge | ClientClosed>
  readonly flush: Effect.Effect<void>
  readonly subscribe: Effect.Effect<Queue.Dequeue<Outcome.Outcome>, never, Scope.Scope>
  readonly outcomes: Stream.Stream<Outcome.Outcome>
}

// The batcher's position counter `seq` is set when the message is queued.
type Queued = Message.EncodedMessage & { seq: number }

interface InFlight {
  readonly messages: ReadonlyArray<Queued>
  readonly minSeq: number
  attempts: number
  lastError: TransportError | undefined
  settled: boolean
}

interface Waiter {
  readonly target: number
  readonly deferred: Deferred.Deferred<void>
}

const dropsPublishThreshold = 1_000
const dropWarningEvery = 10_000
const maxLingerRounds = 64

/**
 * Statuses that retrying may fix (SPEC section 4): 408, 410, 429, 460 and 5xx except 501 and 505.
 *
 * @internal
 */
export const isRetryableStatus = (status: number): boolean =>
  status === 408 || status === 410 || status === 429 || status === 460 ||
  (status >= 500 && status <= 599 && status !== 501 && status !== 505)

/** @internal */
export const isRetryable = (error: TransportError): boolean => {
  switch (error.reason._tag) {
    case "Status":
      return isRetryableStatus(error.reason.status)
    case "Network":
    case "Timeout":
      return true
    case "Encode":
      return false
  }
}

const resultTag = (error: TransportError): string =>
  error.reason._tag === "Status" ? String(error.reason.status) : error.reason._tag.toLowerCase()

// The queued messages are their own references (they carry `messageId` and `type`): an outcome costs no
// allocation per message.
const refs = (messages: ReadonlyArray<Message.EncodedMessage>): ReadonlyArray<Outcome.MessageRef> => messages

/** @internal */
export const make = (settings: Settings): Effect.Effect<Client, InvalidOptions, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Transport
    // A default context or integrations that cannot be used fails the layer.
    const encode = yield* Encode.makeEncodeSync(settings, yield* Ids.make)
    const envelope = Wire.makeEnvelope(settings.writeKey)
    // The hub is not shut down with the client: subscribers keep reading the last outcomes (those of
    // the final flush) after the scope closes; their subscriptions end with their own scopes.
    const outcomesHub = yield* PubSub.unbounded<Outcome.Outcome>()
    const closed = yield* Deferred.make<void>()

    const {
      enabled,
      flushAt,
      maxBatchBytes,
      maxBatchMessages,
      maxQueueBytes,
      overflow
    } = settings
    const retryBudgetMillis = Duration.toMillis(settings.retryBudget)
    const maxRetryAfterMillis = Duration.toMillis(settings.maxRetryAfter)

    // --- state (touched only inside synchronous blocks, so fibers never see it half-updated) ---
    const ring = new Ring<Queued>(settings.maxQueueSize)
    let headSeq = 0 // seq of the message at the head of the ring
    let tailSeq = 0 // seq the next accepted message gets
    let queuedBytes = 0
    let closing = false
    let isClosed = false
    let drainTarget = 0 // messages with seq below this are sent without waiting for flushAt
    let pauseUntil = 0 // no attempt starts before this Clock time (a 429 Retry-After)
    let acceptedCount = 0
    let acceptedReported = 0
    let droppedQueueFull: Array<Outcome.MessageRef> = []
    let droppedDisabled: Array<Outcome.MessageRef> = []
    let dropsSinceWarning = 0
    let lastDropWarning = Number.NEGATIVE_INFINITY
    const inflight = new Set<InFlight>()
    const waiters: Array<Waiter> = []
    const wake = yield* Effect.makeLatch(false)
    const space = yield* Effect.makeLatch(false)
    const slots = yield* Effect.makeSemaphore(settings.maxInFlight)
    const senders = yield* FiberSet.make<void, never>()

    const background = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(
        Effect.annotateLogs({ module: "analytics-effect" }),
        settings.debug ? Logger.withMinimumLogLevel(LogLevel.Debug) : (e) => e
      )

    const batchIsFull = () =>
      ring.size >= maxBatchMessages || queuedBytes + ring.size - 1 + envelope.bytes >= maxBatchBytes

    const shouldSend = () =>
      ring.size > 0 && (closing || ring.size >= flushAt || headSeq < drainTarget || batchIsFull())

    const lowWatermark = () => {
      let w = headSeq
      for (const entry of inflight) if (entry.minSeq < w) w = entry.minSeq
      return w
    }

    const checkWaiters = () => {
      if (waiters.length === 0) return
      const w = lowWatermark()
      for (let i = waiters.length - 1; i >= 0; i--) {
        const waiter = waiters[i]!
        if (waiter.target <= w) {
          waiters.splice(i, 1)
          Deferred.unsafeDone(waiter.deferred, Effect.void)
        }
      }
    }

    const reportAccepted = Effect.suspend(() => {
      const delta = acceptedCount - acceptedReported
      acceptedReported = acceptedCount
      return delta > 0 ? Metric.incrementBy(Metrics.accepted, delta) : Effect.void
    })

    const publish = (outcome: Outcome.Outcome): Effect.Effect<void> => {
      const n = outcome.messages.length
      const metric = outcome._tag === "Delivered"
        ? Metric.incrementBy(Metrics.delivered, n)
        : outcome._tag === "Failed"
        ? Metric.incrementBy(Metric.tagged(Metrics.failed, "reason", outcome.reason), n)
        : Metric.incrementBy(Metric.tagged(Metrics.dropped, "reason", outcome.reason), n)
      return reportAccepted.pipe(Effect.zipRight(metric), Effect.zipRight(PubSub.publish(outcomesHub, outcome)))
    }

    const publishDrops = Effect.suspend(() => {
      const full = droppedQueueFull
      const disabled = droppedDisabled
      if (full.length === 0 && disabled.length === 0) return Effect.void
      droppedQueueFull = []
      droppedDisabled = []
      return Effect.gen(function*() {
        if (full.length > 0) {
          yield* publish({ _tag: "Dropped", messages: full, reason: "QueueFull" })
          dropsSinceWarning += full.length
          const now = yield* Clock.currentTimeMillis
          if (now - lastDropWarning >= dropWarningEvery) {
            lastDropWarning = now
            const count = dropsSinceWarning
            dropsSinceWarning = 0
            yield* Effect.logWarning(
              `analytics queue full (${settings.maxQueueSize} messages): dropped ${count} messages (policy ${overflow})`
            ).pipe(background)
          }
        }
        if (disabled.length > 0) {
          yield* publish({ _tag: "Dropped", messages: disabled, reason: "Disabled" })
        }
      }).pipe(Effect.uninterruptible)
    })

    // --- the call path ---

    const pushed = (m: Queued): string => {
      m.seq = tailSeq++
      queuedBytes += m.bytes
      acceptedCount++
      if (ring.size >= flushAt || batchIsFull()) wake.unsafeOpen()
      return m.messageId
    }

    // The queue is bounded in bytes as well as in messages; an empty queue takes any message.
    const fits = (m: Queued) => ring.size === 0 || queuedBytes + m.bytes <= maxQueueBytes

    const dropsPending = () => droppedQueueFull.length + droppedDisabled.length >= dropsPublishThreshold

    const enqueue = (m: Queued): Effect.Effect<string, ClientClosed> => {
      if (closing) return Effect.fail(new ClientClosed({ messageType: m.type }))
      if (!enabled) {
        acceptedCount++
        droppedDisabled.push(m)
        return dropsPending() ? Effect.as(publishDrops, m.messageId) : Effect.succeed(m.messageId)
      }
      if (fits(m) && ring.push(m)) return Effect.succeed(pushed(m))
      switch (overflow) {
        case "dropNewest": {
          acceptedCount++
          droppedQueueFull.push(m)
          return dropsPending() ? Effect.as(publishDrops, m.messageId) : Effect.succeed(m.messageId)
        }
        case "dropOldest": {
          while (ring.size > 0 && !(fits(m) && !ring.full)) {
            const oldest = ring.shift()!
            headSeq++
            queuedBytes -= oldest.bytes
            droppedQueueFull.push(oldest)
          }
          ring.push(m)
          const id = pushed(m)
          checkWaiters()
          return dropsPending() ? Effect.as(publishDrops, id) : Effect.succeed(id)
        }
        case "suspend": {
          space.unsafeClose()
          return Effect.zipRight(space.await, Effect.suspend(() => enqueue(m)))
        }
      }
    }

    // One Effect per call: validation, enrichment and serialization are synchronous.
    const accept = (
      type: Message.MessageType,
      input: unknown
    ): Effect.Effect<string, InvalidMessage | MessageTooLarge | ClientClosed> =>
      Effect.suspend((): Effect.Effect<string, InvalidMessage | MessageTooLarge | ClientClosed> => {
        if (closing) return Effect.fail(new ClientClosed({ messageType: type }))
        const encoded = encode(type, input)
        return Effect.isEffect(encoded) ? encoded : enqueue(encoded as Queued)
      })

    // --- the senders ---

    const settle = (entry: InFlight, outcome: Outcome.Outcome): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (entry.settled) return Effect.void
        entry.settled = true
        inflight.delete(entry)
        // Publish first: a `flush` that returns must find its outcomes already published.
        return Effect.zipRight(publish(outcome), Effect.sync(checkWaiters))
      }).pipe(Effect.uninterruptible)

    const waitForPause: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      pauseUntil > now
        ? Effect.zipRight(Effect.sleep(Duration.millis(pauseUntil - now)), Effect.suspend(() => waitForPause))
        : Effect.void)

    const deliver = (entry: InFlight): Effect.Effect<void> =>
      Effect.gen(function*() {
        const messages = entry.messages
        const start = yield* Clock.currentTimeMillis
        const bodyBytes = Wire.bodyBytes(envelope, messages)
        yield* Metric.update(Metrics.batchBytes, bodyBytes)
        yield* Metric.update(Metrics.batchMessages, messages.length)
        const driver = yield* Schedule.driver(settings.retrySchedule)
        for (;;) {
          yield* waitForPause
          const attempt = entry.attempts
          entry.attempts++
          const attemptStart = yield* Clock.currentTimeMillis
          const result = yield* Effect.either(transport.send({ messages, attempt }))
          const attemptEnd = yield* Clock.currentTimeMillis
          yield* Metric.update(Metrics.requestDuration, attemptEnd - attemptStart)
          if (Either.isRight(result)) {
            yield* Metric.increment(Metric.tagged(Metrics.requests, "result", String(result.right.status)))
            yield* Effect.logDebug("batch delivered").pipe(
              Effect.annotateLogs({
                messages: messages.length,
                bytes: bodyBytes,
                status: result.right.status,
                attempts: entry.attempts
              })
            )
            return yield* settle(entry, {
              _tag: "Delivered",
              messages: refs(messages),
              status: result.right.status,
              attempts: entry.attempts,
              bodyBytes
            })
          }
          const error = result.left
          entry.lastError = error
          yield* Metric.increment(Metric.tagged(Metrics.requests, "result", resultTag(error)))
          const failWith = (reason: Outcome.FailureReason) =>
            Effect.logWarning(`batch of ${messages.length} messages failed: ${describeReason(error.reason)}`).pipe(
              Effect.annotateLogs({ reason, attempts: entry.attempts, messages: messages.length }),
              Effect.zipRight(
                settle(entry, {
                  _tag: "Failed",
                  messages: refs(messages),
                  reason,
                  error,
                  attempts: entry.attempts
                })
              )
            )
          if (!isRetryable(error)) return yield* failWith("NotRetryable")
          const retryAfter = error.reason._tag === "Status" ? error.reason.retryAfterMillis : undefined
          if (retryAfter !== undefined && error.reason._tag === "Status" && error.reason.status === 429) {
            // A rate limit pauses every sender, and does not use up the retry schedule.
            const pause = Math.min(retryAfter, maxRetryAfterMillis)
            if (attemptEnd + pause - start > retryBudgetMillis) return yield* failWith("RetryBudgetExhausted")
            pauseUntil = Math.max(pauseUntil, attemptEnd + pause)
            yield* Effect.logDebug(`rate limited: pausing all requests for ${pause} ms`).pipe(
              Effect.annotateLogs({ attempts: entry.attempts })
            )
            continue
          }
          const next = yield* Effect.either(driver.next(error))
          if (Either.isLeft(next)) return yield* failWith("RetriesExhausted")
          const now = yield* Clock.currentTimeMillis
          if (now - start > retryBudgetMillis) return yield* failWith("RetryBudgetExhausted")
          yield* Effect.logDebug(`retrying a batch after: ${describeReason(error.reason)}`).pipe(
            Effect.annotateLogs({ attempts: entry.attempts, messages: messages.length })
          )
        }
      })

    const cut = (): Array<Queued> => {
      const out: Array<Queued> = []
      let bytes = envelope.bytes
      while (out.length < maxBatchMessages) {
        const m = ring.peek()
        if (m === undefined) break
        const add = out.length === 0 ? m.bytes : m.bytes + 1
        if (out.length > 0 && bytes + add > maxBatchBytes) break
        ring.shift()
        out.push(m)
        bytes += add
        queuedBytes -= m.bytes
      }
      headSeq += out.length
      space.unsafeOpen()
      return out
    }

    // --- the consumer ---

    const waitForWork: Effect.Effect<void> = Effect.suspend(() => {
      if (shouldSend()) return Effect.void
      wake.unsafeClose()
      if (shouldSend()) return Effect.void
      return Effect.zipRight(wake.await, waitForWork)
    })

    // While a burst is still arriving, let it fill the batch: a trickle is sent at once, a burst in
    // few full requests.
    const linger: Effect.Effect<void> = Effect.gen(function*() {
      if (closing || headSeq < drainTarget) return
      for (let round = 0; round < maxLingerRounds && !batchIsFull(); round++) {
        const before = ring.size
        yield* Effect.yieldNow()
        if (ring.size <= before || closing) return
      }
    })

    const consumer = Effect.gen(function*() {
      for (;;) {
        yield* slots.take(1)
        yield* waitForWork
        yield* linger
        const messages = cut()
        if (messages.length === 0) {
          yield* slots.release(1)
          continue
        }
        const entry: InFlight = {
          messages,
          minSeq: messages[0]!.seq,
          attempts: 0,
          lastError: undefined,
          settled: false
        }
        inflight.add(entry)
        yield* Metric.set(Metrics.queueDepth, ring.size)
        yield* FiberSet.run(senders, deliver(entry).pipe(Effect.ensuring(slots.release(1)), background))
      }
    })

    const tick = Effect.suspend(() => {
      drainTarget = tailSeq
      if (ring.size > 0) wake.unsafeOpen()
      return Effect.zipRight(publishDrops, Metric.set(Metrics.queueDepth, ring.size))
    })

    const consumerFiber = yield* Effect.forkScoped(background(consumer))
    yield* Effect.forkScoped(
      background(Effect.zipRight(Effect.sleep(settings.flushInterval), Effect.repeat(tick, Schedule.spaced(settings.flushInterval))))
    )

    const awaitDrained = (target: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (lowWatermark() >= target) return Effect.void
        if (drainTarget < target) drainTarget = target
        wake.unsafeOpen()
        return Effect.flatMap(Deferred.make<void>(), (deferred) => {
          waiters.push({ target, deferred })
          checkWaiters()
          return Deferred.await(deferred)
        })
      })

    const flush = Effect.suspend(() => Effect.zipRight(awaitDrained(tailSeq), publishDrops)).pipe(
      Effect.withSpan("Analytics.flush")
    )

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        closing = true
        wake.unsafeOpen()
        space.unsafeOpen()
        const target = tailSeq
        // Finalizers run uninterruptibly: the wait must be interruptible for the timeout to end it.
        const drained = yield* Effect.timeoutOption(Effect.interruptible(awaitDrained(target)), settings.shutdownTimeout)
        if (Option.isNone(drained)) {
          yield* Fiber.interrupt(consumerFiber)
          yield* FiberSet.clear(senders)
          const unfinished = Array.from(inflight)
          for (const entry of unfinished) {
            yield* settle(entry, {
              _tag: "Failed",
              messages: refs(entry.messages),
              reason: "ShutdownTimeout",
              error: entry.lastError,
              attempts: entry.attempts
            })
          }
          const left: Array<Queued> = []
          for (let m = ring.shift(); m !== undefined; m = ring.shift()) left.push(m)
          headSeq += left.length
          queuedBytes = 0
          if (left.length > 0) {
            yield* publish({ _tag: "Failed", messages: refs(left), reason: "ShutdownTimeout", error: undefined, attempts: 0 })
          }
          const lost = left.length + unfinished.reduce((n, e) => n + e.messages.length, 0)
          yield* Effect.logWarning(
            `analytics shutdown timed out after ${Duration.format(settings.shutdownTimeout)}: ${lost} messages failed`
          )
        }
        yield* publishDrops
        yield* Metric.set(Metrics.queueDepth, ring.size)
        checkWaiters()
        isClosed = true
        yield* Deferred.succeed(closed, undefined)
      }).pipe(background)
    )

    // A stream of outcomes that ends once the client has closed and everything published was read.
    const outcomes = Stream.unwrapScoped(Effect.map(PubSub.subscribe(outcomesHub), (dequeue) => {
      const pull: Effect.Effect<Chunk.Chunk<Outcome.Outcome>, Option.Option<never>> = Effect.flatMap(
        Queue.takeAll(dequeue),
        (items) => {
          if (Chunk.isNonEmpty(items)) return Effect.succeed(items)
          if (isClosed) return Effect.fail(Option.none())
          return Effect.raceFirst(
            Effect.map(Queue.take(dequeue), Chunk.of),
            Effect.as(Deferred.await(closed), Chunk.empty<Outcome.Outcome>())
          ).pipe(Effect.flatMap((chunk) => Chunk.isNonEmpty(chunk) ? Effect.succeed(chunk) : pull))
        }
      )
      return Stream.repeatEffectChunkOption(pull)
    }))

    const client: Client = {
      accept,
      flush,
      subscribe: PubSub.subscribe(outcomesHub),
      outcomes
    }
    return client
  })
