/**
 * The consumer: one fiber that takes from the batcher's queue and sends.
 *
 * Each round it takes a request slot, waits for work to be signalled, takes what is queued (at most a
 * batch's worth) and sends what is ready. Holding a slot first means it takes messages only when it
 * can send them: while every slot is busy they wait in the queue, where the overflow policy (and
 * `dropOldest`) can reach them. What it took but has not sent, its carry, is the loop's state.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberHandle from "effect/FiberHandle"
import * as FiberSet from "effect/FiberSet"
import type * as Latch from "effect/Latch"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { EncodedMessage } from "../Message.js"
import * as Admission from "./admission.js"
import * as Batch from "./core/batch.js"
import type { Dispatch } from "./dispatch.js"
import * as Metrics from "./metrics.js"
import type { Outcomes } from "./outcomes.js"

/** @internal */
export interface Deps {
  readonly queue: Queue.Queue<Admission.Item>
  /** Open when there is work: see `client.ts`. */
  readonly ready: Latch.Latch
  readonly admission: Admission.Admission
  readonly outcomes: Outcomes
  readonly dispatch: Dispatch
  readonly limits: Batch.Limits
  readonly flushAt: number
  readonly flushInterval: Duration.Duration
  /** Puts a marker in the queue and signals it. */
  readonly offerMarker: (marker: Admission.Marker) => void
}

type Carry = Array<EncodedMessage>

const sumBytes = (messages: ReadonlyArray<EncodedMessage>): number => {
  let n = 0
  for (let i = 0; i < messages.length; i++) n += messages[i]!.bytes
  return n
}
type Send = (batch: ReadonlyArray<EncodedMessage>) => Effect.Effect<void>

/**
 * What is queued now, at most `max` items, without waiting (Effect 3's `Queue.takeUpTo`).
 *
 * Effect 4 has no `takeUpTo`: `Queue.takeN(q, n)` waits for `n` items, `takeBetween(q, 0, n)` returns
 * none even when some are queued, and `takeAll` waits for one. `takeBetween(q, 1, n)` takes what is
 * there without waiting once the queue holds an item, so it runs only then. The consumer is the
 * queue's only taker; `dropOldest` may poll it too, and if it emptied the queue in between, the take
 * waits for the next item, which a later offer (a message, or the close marker) brings.
 */
const takeUpTo = <A>(queue: Queue.Dequeue<A>, max: number): Effect.Effect<ReadonlyArray<A>> =>
  Effect.suspend(() => Queue.sizeUnsafe(queue) > 0 ? Queue.takeBetween(queue, 1, max) : Effect.succeed([]))

/**
 * Builds the consumer's loop; it ends after the close marker, once every batch has its outcome.
 *
 * @internal
 */
export const make = (deps: Deps): Effect.Effect<Effect.Effect<void>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { admission, dispatch, limits, outcomes, queue, ready } = deps
    const flushWaiters = yield* FiberSet.make<void, never>()
    // The interval trigger: armed while messages are carried, so an idle client holds no timer (a
    // script that stops calling can end once its messages are sent).
    const timer = yield* FiberHandle.make<void, never>()
    const armTimer = FiberHandle.run(
      timer,
      Effect.andThen(
        Effect.sleep(deps.flushInterval),
        Effect.sync(() => deps.offerMarker(new Admission.Marker("tick", undefined)))
      ),
      { onlyIfMissing: true }
    )

    const sendRange = (send: Send, carry: ReadonlyArray<EncodedMessage>, start: number, end: number) =>
      send(start === 0 && end === carry.length ? carry : carry.slice(start, end))

    const sendAll = (send: Send, carry: ReadonlyArray<EncodedMessage>): Effect.Effect<void> =>
      Effect.forEach(Batch.cutAll(limits, carry), ([start, end]) => sendRange(send, carry, start, end), {
        discard: true
      })

    // Sends what is ready: everything once `flushAt` messages are carried or callers are held up by a
    // full queue, otherwise the requests the carry fills. Returns the new carry.
    const sendReady = (send: Send, carry: Carry): Effect.Effect<Carry> => {
      if (carry.length >= deps.flushAt || (carry.length > 0 && admission.pressed())) {
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

    // A marker: what was carried before it has been sent. Returns `false` for the close.
    const onMarker = (marker: Admission.Marker): Effect.Effect<boolean> => {
      switch (marker.kind) {
        case "tick":
          return Effect.succeed(true)
        case "flush":
          // Effect 4 starts the waiter at once: it reads the batches in flight now, the ones this flush
          // waits for, before the consumer starts any later one.
          return Effect.as(
            FiberSet.run(flushWaiters, Effect.ensuring(dispatch.awaitInFlight, Deferred.succeed(marker.done!, undefined))),
            true
          )
        case "close":
          return Effect.as(Effect.andThen(dispatch.awaitInFlight, Deferred.succeed(marker.done!, undefined)), false)
      }
    }

    // One round. `undefined` ends the loop (after the close marker).
    const round = (carry: Carry): Effect.Effect<Carry | undefined> =>
      Effect.gen(function*() {
        yield* dispatch.acquire
        yield* ready.await
        // Effect 4 resumes a fiber on the stack of whoever wakes it: opening the latch from the call
        // path would run this round inside that call, taking one message at a time in a burst. Effect 3
        // scheduled the wake-up instead, so a burst queued a batch's worth first; yielding here keeps
        // that (and keeps the call path free of the consumer's work).
        yield* Effect.yieldNow
        // Closed before taking: a signal raised after this point is for items this take may miss.
        ready.closeUnsafe()
        // The first batch goes on the slot in hand, the next ones wait for slots of their own. A batch
        // counts as queued until it has a slot: then it leaves the queue's bounds.
        const held = yield* Ref.make(true)
        const start = (batch: ReadonlyArray<EncodedMessage>) =>
          Effect.suspend(() => {
            admission.release(batch.length, sumBytes(batch))
            return dispatch.start(batch)
          })
        const send: Send = (batch) =>
          Effect.flatMap(
            Ref.getAndSet(held, false),
            (h) => h ? start(batch) : Effect.andThen(dispatch.acquire, start(batch))
          )
        const items = yield* takeUpTo(queue, limits.maxMessages)
        // Counted before any marker is handled: Effect 4 resumes a `flush` caller as soon as its marker
        // completes, within this round, and what it reads then (the metrics) must be up to date.
        let taken = 0
        for (const item of items) if (!(item instanceof Admission.Marker)) taken++
        yield* outcomes.accepted(taken)
        let next: Carry | undefined = carry
        for (const item of items) {
          if (item instanceof Admission.Marker) {
            yield* sendAll(send, next)
            next = []
            yield* Metric.update(Metrics.queueDepth, admission.depth())
            if (!(yield* onMarker(item))) {
              next = undefined
              break
            }
          } else {
            next.push(item)
          }
        }
        if (next !== undefined) next = yield* sendReady(send, next)
        if (next !== undefined && next.length > 0) yield* armTimer
        // A take stops at a batch's worth: what it left behind (a marker among it, perhaps) was signalled
        // before this round took the signal, so signal it again. Anything offered since signalled itself
        // if it needs a round (it starts or completes a batch, or it is a marker).
        if (items.length >= limits.maxMessages) ready.openUnsafe()
        if (yield* Ref.get(held)) yield* dispatch.release
        yield* Metric.update(Metrics.queueDepth, admission.depth())
        return next
      })

    // (Effect 4 has no `Effect.iterate`: a loop of rounds, each carrying the last one's carry.)
    const loop = (carry: Carry): Effect.Effect<void> =>
      Effect.flatMap(round(carry), (next) => next === undefined ? Effect.void : loop(next))
    return loop([])
  })
