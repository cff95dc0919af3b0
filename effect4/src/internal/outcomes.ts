/**
 * Outcomes: every accepted message ends in exactly one, published here once. Publishing counts it in
 * the metrics and in the client's totals (for the warning at close), and hands it to subscribers.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Outcome from "../Outcome.js"
import * as Metrics from "./metrics.js"

/** Which bound of the queue was reached. @internal */
export type Bound = "messages" | "bytes"

/** @internal */
export interface Outcomes {
  /** Publishes one outcome: metrics, totals, subscribers. */
  readonly publish: (outcome: Outcome.Outcome) => Effect.Effect<void>
  /** Counts messages as accepted (the consumer reports what it took from the queue). */
  readonly accepted: (count: number) => Effect.Effect<void>
  /** Reports messages a disabled client accepted and dropped. */
  readonly disabled: (messages: ReadonlyArray<Outcome.MessageRef>) => Effect.Effect<void>
  /** Reports messages the overflow policy dropped, with a rate-limited warning naming the bound. */
  readonly overflowed: (messages: ReadonlyArray<Outcome.MessageRef>, bound: Bound) => Effect.Effect<void>
  /** Logs one warning with the totals by reason, when anything was dropped or failed. */
  readonly warnLosses: Effect.Effect<void>
  /** Ends the outcome streams (each ends once it has read what was published before). */
  readonly end: Effect.Effect<void>
  readonly subscribe: Effect.Effect<PubSub.Subscription<Outcome.Outcome>, never, Scope.Scope>
  /** Subscribes when the stream starts running. */
  readonly stream: Stream.Stream<Outcome.Outcome>
  /** Subscribes at once, in the given scope. */
  readonly streamFromNow: Effect.Effect<Stream.Stream<Outcome.Outcome>, never, Scope.Scope>
}

/** @internal */
export interface Limits {
  readonly maxQueueSize: number
  readonly maxQueueBytes: number
  readonly overflow: string
}

/** The overflow warning is logged at most this often. */
const warnEveryMillis = 10_000

/** The item that ends the outcome streams. */
const End = Symbol.for("analytics-effect/Outcomes/End")
type Item = Outcome.Outcome | typeof End

const key = (outcome: Outcome.Outcome): string =>
  outcome._tag === "Delivered" ? "Delivered" : `${outcome._tag} (${outcome.reason})`

const metricOf = (outcome: Outcome.Outcome): Metric.Counter<number> =>
  outcome._tag === "Delivered"
    ? Metrics.delivered
    : outcome._tag === "Failed"
    ? Metrics.tagged(Metrics.failed, "reason", outcome.reason)
    : Metrics.tagged(Metrics.dropped, "reason", outcome.reason)

const describeBound = (limits: Limits, bound: Bound): string =>
  bound === "messages"
    ? `maxQueueSize, ${limits.maxQueueSize} messages`
    : `maxQueueBytes, ${limits.maxQueueBytes} bytes`

const isOutcome = (item: Item): item is Outcome.Outcome => item !== End

/** @internal */
export const make = (limits: Limits): Effect.Effect<Outcomes> =>
  Effect.gen(function*() {
    // Neither hub is shut down with the client: subscribers read the outcomes of the final flush after
    // close. Streams read their own hub, which also carries the end, so that no take is ever raced
    // against a signal (an interrupted take can lose the item it took).
    const hub = yield* PubSub.unbounded<Outcome.Outcome>()
    const streamHub = yield* PubSub.unbounded<Item>()
    const ended = yield* Ref.make(false)
    const totals = yield* Ref.make(new Map<string, number>())
    const sinceWarning = yield* Ref.make({ dropped: 0, at: Number.NEGATIVE_INFINITY })

    const publish = (outcome: Outcome.Outcome): Effect.Effect<void> => {
      const n = outcome.messages.length
      const k = key(outcome)
      return Metric.update(metricOf(outcome), n).pipe(
        Effect.andThen(Ref.update(totals, (m) => m.set(k, (m.get(k) ?? 0) + n))),
        Effect.andThen(PubSub.publish(hub, outcome)),
        Effect.andThen(PubSub.publish(streamHub, outcome)),
        Effect.asVoid
      )
    }

    const overflowed = (messages: ReadonlyArray<Outcome.MessageRef>, bound: Bound) =>
      Effect.gen(function*() {
        yield* Metric.update(Metrics.accepted, messages.length)
        yield* publish({ _tag: "Dropped", messages, reason: "QueueFull" })
        const now = yield* Clock.currentTimeMillis
        const due = yield* Ref.modify(sinceWarning, (s) => {
          const dropped = s.dropped + messages.length
          return now - s.at >= warnEveryMillis
            ? [dropped, { dropped: 0, at: now }] as const
            : [0, { dropped, at: s.at }] as const
        })
        if (due > 0) {
          yield* Effect.logWarning(
            `analytics queue full (${describeBound(limits, bound)}): dropped ${due} messages (overflow policy ${limits.overflow})`
          )
        }
      })

    const warnLosses = Effect.flatMap(Ref.get(totals), (m) => {
      const lost = Array.from(m).filter(([k]) => k !== "Delivered" && k !== "Dropped (Disabled)")
      if (lost.length === 0) return Effect.void
      const total = lost.reduce((sum, [, n]) => sum + n, 0)
      const parts = lost.map(([k, n]) => `${n} ${k}`).join(", ")
      return Effect.logWarning(`analytics client closed with ${total} messages not delivered: ${parts}`)
    })

    const streamFromNow: Effect.Effect<Stream.Stream<Outcome.Outcome>, never, Scope.Scope> = Effect.flatMap(
      Ref.get(ended),
      (isEnded) =>
        isEnded
          ? Effect.succeed(Stream.empty)
          : Effect.map(
            PubSub.subscribe(streamHub),
            (subscription) => Stream.takeWhile(Stream.fromSubscription(subscription), isOutcome)
          )
    )

    return {
      publish,
      accepted: (count) => count > 0 ? Metric.update(Metrics.accepted, count) : Effect.void,
      disabled: (messages) =>
        Effect.andThen(
          Metric.update(Metrics.accepted, messages.length),
          publish({ _tag: "Dropped", messages, reason: "Disabled" })
        ),
      overflowed,
      warnLosses,
      end: Effect.andThen(Ref.set(ended, true), PubSub.publish(streamHub, End)),
      subscribe: PubSub.subscribe(hub),
      stream: Stream.unwrap(streamFromNow),
      streamFromNow
    }
  })
