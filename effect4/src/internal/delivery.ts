/**
 * Delivery of one batch: attempts through the `Transport` under `Effect.retry` with the retry
 * `Schedule`, the client-wide 429 pause, the split of a batch the collector refuses as too large (413),
 * and exactly one outcome per message, whatever ends the delivery (an answer, a failure, a defect of
 * the transport, or the interruption that ends a shutdown past its timeout).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { describeReason, type TransportError } from "../AnalyticsError.js"
import type { EncodedMessage } from "../Message.js"
import type * as Outcome from "../Outcome.js"
import type { Delivery, TransportService } from "../Transport.js"
import * as Batch from "./core/batch.js"
import * as Metrics from "./metrics.js"
import type { Outcomes } from "./outcomes.js"
import type { RateLimit } from "./rateLimit.js"

/**
 * Statuses that retrying may fix (SPEC section 4): 408, 410, 429, 460 and 5xx except 501 and 505.
 * Everything else, 3xx included, is final.
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
    case "OAuth":
      // The token server's status, by the same rules; unreachable (no status) is retried.
      return error.reason.status === undefined || isRetryableStatus(error.reason.status)
  }
}

/** The pause a 429 asks for, in milliseconds, when it says. @internal */
export const rateLimitPause = (error: TransportError): number | undefined =>
  error.reason._tag === "Status" && error.reason.status === 429 ? error.reason.retryAfterMillis : undefined

/** @internal */
export interface Settings {
  readonly retrySchedule: Schedule.Schedule<unknown, TransportError>
  readonly retryBudget: Duration.Duration
  readonly maxRetryAfter: Duration.Duration
  readonly limits: Batch.Limits
}

/**
 * Stops `self` once the waits it chose add up to more than `budgetMillis`, calling `onExhausted` then.
 * The budget counts the time between attempts, chosen by the schedule itself: no clock is read, so a
 * clock step cannot stretch or shorten it.
 *
 * (Effect 4 has no `Schedule.makeWithState`: the budget wraps the schedule's step, with the time
 * waited so far in the step's closure, which `Schedule.toStep` makes afresh for every retry loop. A
 * schedule can choose a negative delay in Effect 4, which counts as none.)
 */
const withinBudget = <Out, In, E, R>(
  self: Schedule.Schedule<Out, In, E, R>,
  budgetMillis: number,
  onExhausted: Effect.Effect<void>
): Schedule.Schedule<Out, In, E, R> =>
  Schedule.fromStep(Effect.map(Schedule.toStep(self), (step) => {
    let waited = 0
    return (now: number, input: In) =>
      Effect.flatMap(step(now, input), ([out, delay]) => {
        waited += Math.max(0, Duration.toMillis(delay))
        return waited <= budgetMillis
          ? Effect.succeed([out, delay] as [Out, Duration.Duration])
          : Effect.andThen(onExhausted, Cause.done(out))
      })
  }))

/**
 * The retry policy of one batch: the user's schedule, consulted only for errors retrying can fix; a
 * 429 that says how long to wait waits at least that long (capped by `maxRetryAfter`); every retry,
 * 429s included, counts against the schedule (so `Retry-After: 0` cannot make a tight loop); and the
 * batch's retry budget (the waits between its attempts add up to at most `retryBudget`).
 *
 * @internal
 */
export const retryPolicy = (
  settings: Settings,
  onBudgetExhausted: Effect.Effect<void>
): Schedule.Schedule<TransportError, TransportError> => {
  const cap = Duration.toMillis(settings.maxRetryAfter)
  const policy = Schedule.passthrough(settings.retrySchedule).pipe(
    Schedule.while(({ input }) => isRetryable(input)),
    Schedule.modifyDelay(({ duration, input }) => {
      const pause = rateLimitPause(input)
      // A pause is never negative (Effect 4 durations can be): at least the schedule's own delay.
      return Effect.succeed(
        pause === undefined ? duration : Duration.max(duration, Duration.millis(Math.max(0, Math.min(pause, cap))))
      )
    })
  )
  return withinBudget(policy, Duration.toMillis(settings.retryBudget), onBudgetExhausted)
}

/** A part of a batch waiting for its outcome: the batch itself, or a half of it after a 413. */
interface Part {
  readonly messages: ReadonlyArray<EncodedMessage>
  /** Attempts made so far; the next attempt's number. */
  readonly attempts: Ref.Ref<number>
  readonly lastError: Ref.Ref<TransportError | undefined>
}

const makePart = (messages: ReadonlyArray<EncodedMessage>): Effect.Effect<Part> =>
  Effect.zipWith(Ref.make(0), Ref.make<TransportError | undefined>(undefined), (attempts, lastError) => ({
    messages,
    attempts,
    lastError
  }))

const resultTag = (error: TransportError): string =>
  error.reason._tag === "Status" ? String(error.reason.status) : error.reason._tag.toLowerCase()

/** @internal */
export interface Deps {
  readonly transport: TransportService
  readonly outcomes: Outcomes
  readonly rateLimit: RateLimit
  readonly settings: Settings
}

/** Runs `effect` only when debug logs are on, so that their text and annotations are not built otherwise. */
const whenDebug = (effect: Effect.Effect<void>): Effect.Effect<void> =>
  Effect.asVoid(Effect.when(effect, LogLevel.isEnabled("Debug")))

const attempt = (deps: Deps, part: Part, bodyBytes: number): Effect.Effect<Delivery, TransportError> =>
  Effect.gen(function*() {
    const { rateLimit, transport } = deps
    yield* rateLimit.await
    const attempt = yield* Ref.getAndUpdate(part.attempts, (n) => n + 1)
    const started = yield* Clock.currentTimeMillis
    const result = yield* Effect.result(transport.send({ messages: part.messages, attempt }))
    yield* Metric.update(Metrics.requestDuration, (yield* Clock.currentTimeMillis) - started)
    if (Result.isSuccess(result)) {
      yield* Metric.update(Metrics.tagged(Metrics.requests, "result", String(result.success.status)), 1)
      return result.success
    }
    const error = result.failure
    yield* Ref.set(part.lastError, error)
    yield* Metric.update(Metrics.tagged(Metrics.requests, "result", resultTag(error)), 1)
    const pause = rateLimitPause(error)
    if (pause !== undefined) yield* rateLimit.pause(Math.min(pause, Duration.toMillis(deps.settings.maxRetryAfter)))
    if (isRetryable(error)) {
      yield* whenDebug(
        Effect.logDebug(`batch attempt failed, will retry if the policy allows: ${describeReason(error.reason)}`).pipe(
          Effect.annotateLogs({ attempts: attempt + 1, messages: part.messages.length, bodyBytes })
        )
      )
    }
    return yield* Effect.fail(error)
  })

const failed = (deps: Deps, part: Part, reason: Outcome.FailureReason, log: boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    const error = yield* Ref.get(part.lastError)
    const attempts = yield* Ref.get(part.attempts)
    if (log) {
      yield* Effect.logWarning(
        `batch of ${part.messages.length} messages failed (${reason})${error ? `: ${describeReason(error.reason)}` : ""}`
      ).pipe(Effect.annotateLogs({ reason, attempts, messages: part.messages.length }))
    }
    yield* deps.outcomes.publish({ _tag: "Failed", messages: part.messages, reason, error, attempts })
  })

// One part's attempts under its retry policy, and what they end with.
const sendPart = (deps: Deps, part: Part) =>
  Effect.gen(function*() {
    const bodyBytes = Batch.bodyBytes(deps.settings.limits, part.messages)
    yield* Metric.update(Metrics.batchBytes, bodyBytes)
    yield* Metric.update(Metrics.batchMessages, part.messages.length)
    const budgetExhausted = yield* Ref.make(false)
    const policy = retryPolicy(deps.settings, Ref.set(budgetExhausted, true))
    return { bodyBytes, budgetExhausted, retried: attempt(deps, part, bodyBytes).pipe(Effect.retry(policy)) }
  })

/**
 * What became of a part: its outcome is published, or (a 413 on more than one message) its two halves
 * are returned, to be sent instead.
 */
const conclude = (
  deps: Deps,
  part: Part,
  bodyBytes: number,
  exit: Exit.Exit<Delivery, TransportError>,
  budgetExhausted: boolean
): Effect.Effect<ReadonlyArray<Part>> => {
  if (Exit.isSuccess(exit)) {
    return Effect.flatMap(Ref.get(part.attempts), (attempts) =>
      deps.outcomes.publish({ _tag: "Delivered", messages: part.messages, status: exit.value.status, attempts, bodyBytes })
        .pipe(
          Effect.andThen(whenDebug(
            Effect.logDebug("batch delivered").pipe(
              Effect.annotateLogs({ messages: part.messages.length, bytes: bodyBytes, attempts })
            )
          )),
          Effect.as([])
        ))
  }
  // Interrupted: the close ran out of time (the cause may also hold the failure being retried).
  if (Cause.hasInterrupts(exit.cause)) return Effect.as(failed(deps, part, "ShutdownTimeout", false), [])
  const failure = Cause.findErrorOption(exit.cause)
  if (Option.isNone(failure)) {
    // The transport died: a bug in it. Report the batch, log the cause, keep the client running.
    return Effect.logError("the transport died while sending a batch", exit.cause).pipe(
      Effect.andThen(failed(deps, part, "TransportDefect", false)),
      Effect.as([])
    )
  }
  const error = failure.value
  if (error.reason._tag === "Status" && error.reason.status === 413) {
    const halves = Batch.halve(part.messages)
    if (halves !== undefined) {
      return Effect.andThen(
        Effect.logDebug(`the collector refused a batch of ${part.messages.length} messages as too large: splitting it`),
        Effect.all([makePart(halves[0]), makePart(halves[1])])
      )
    }
  }
  const reason: Outcome.FailureReason = !isRetryable(error)
    ? "NotRetryable"
    : budgetExhausted
    ? "RetryBudgetExhausted"
    : "RetriesExhausted"
  return Effect.as(failed(deps, part, reason, true), [])
}

const failAll = (deps: Deps, parts: ReadonlyArray<Part>): Effect.Effect<void> =>
  Effect.forEach(parts, (part) => failed(deps, part, "ShutdownTimeout", false), { discard: true })

/** Delivers `messages` until each has its outcome. */
const deliver = (deps: Deps, messages: ReadonlyArray<EncodedMessage>): Effect.Effect<void> =>
  Effect.gen(function*() {
    // The parts without an outcome, in order. Taking one from the list and publishing its outcome
    // (or putting its halves back) happen together, without interruption in between: only the
    // attempts themselves can be interrupted.
    const pending = yield* Ref.make<ReadonlyArray<Part>>([yield* makePart(messages)])
    const step = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const parts = yield* Ref.get(pending)
        const part = parts[0]
        if (part === undefined) return false
        const { bodyBytes, budgetExhausted, retried } = yield* sendPart(deps, part)
        const exit = yield* Effect.exit(restore(retried))
        const next = yield* conclude(deps, part, bodyBytes, exit, yield* Ref.get(budgetExhausted))
        if (Exit.isFailure(exit) && Cause.hasInterrupts(exit.cause)) {
          // Interrupted: the parts still waiting (the other half of a split) fail here and now, not
          // in a handler that needs the interruption to be seen again once this region ends.
          yield* Ref.set(pending, [])
          yield* failAll(deps, [...next, ...parts.slice(1)])
          return false
        }
        yield* Ref.set(pending, [...next, ...parts.slice(1)])
        return true
      })
    )
    const loop: Effect.Effect<void> = Effect.flatMap(step, (more) => more ? loop : Effect.void)
    // Interrupted between two steps (the interruption lands at the end of one): the parts left fail.
    yield* loop.pipe(Effect.onInterrupt(() => Effect.flatMap(Ref.getAndSet(pending, []), (parts) => failAll(deps, parts))))
  })

/**
 * Builds `deliver`: sends one batch until it has its outcomes. It never fails; when interrupted, the
 * messages still without an outcome get `Failed` with reason `ShutdownTimeout`.
 *
 * @internal
 */
export const make = (deps: Deps) => (messages: ReadonlyArray<EncodedMessage>): Effect.Effect<void> =>
  deliver(deps, messages)
