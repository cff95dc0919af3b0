/**
 * Admission into the batcher's queue: the queue is bounded by its number of messages and by their
 * serialized bytes (the consumer's carry included), and a message that finds it full meets the
 * overflow policy: wait for room (the default, until the queue has made no room for
 * `overflowTimeout`), wait without a limit, drop the newest or drop the oldest. Waiting callers are
 * served in arrival order; nobody overtakes a waiting caller.
 *
 * A waiting caller costs no fiber and no timer of its own: it is a record in a FIFO, settled by the
 * consumer when room appears, by one sweeper fiber when the queue has stalled, or by the close.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberHandle from "effect/FiberHandle"
import * as MutableList from "effect/MutableList"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { EncodedMessage } from "../Message.js"
import type { Bound, Outcomes } from "./outcomes.js"

/** What the call path does when the queue is full. @internal */
export type Policy = "wait" | "suspend" | "dropNewest" | "dropOldest"

/**
 * A marker in the queue, in order among the messages: the interval tick, a `flush` (completed once
 * everything queued before it has its outcome), or the close that starts the final flush.
 *
 * @internal
 */
export class Marker {
  constructor(
    readonly kind: "tick" | "flush" | "close",
    readonly done: Deferred.Deferred<void> | undefined
  ) {}
}

/** What the queue carries. @internal */
export type Item = EncodedMessage | Marker

/** @internal */
export interface Settings {
  readonly maxQueueSize: number
  readonly maxQueueBytes: number
  readonly maxMessageBytes: number
  readonly flushAt: number
  readonly overflow: Policy
  readonly overflowTimeout: Duration.Duration
}

/**
 * A caller waiting for room: an accepted call whose message is not queued yet. It is settled exactly
 * once, when its message was queued, or dropped because the queue stalled, or failed because the close
 * ran out of time (either way with its outcome published first); the call then returns its
 * `messageId`.
 *
 * @internal
 */
export class Waiter {
  state: "waiting" | "settled" | "cancelled" = "waiting"
  private listener: ((messageId: string) => void) | undefined

  constructor(readonly message: EncodedMessage, readonly since: number) {}

  /** Calls `f` with the `messageId` once settled (at once if it already is). */
  listen(f: (messageId: string) => void): void {
    if (this.state === "settled") f(this.message.messageId)
    else this.listener = f
  }

  /** The caller stopped waiting (its fiber was interrupted): forget it unless already settled. */
  cancel(): void {
    if (this.state === "waiting") this.state = "cancelled"
  }

  settle(): void {
    if (this.state !== "waiting") return
    this.state = "settled"
    const listener = this.listener
    this.listener = undefined
    listener?.(this.message.messageId)
  }
}

/** @internal */
export interface Admission {
  /** Queues `message` at once if there is room and nobody is waiting for it. */
  readonly tryOffer: (message: EncodedMessage) => boolean
  /**
   * The overflow policy, for a message `tryOffer` refused: an Effect that drops a message (and
   * publishes its outcome), or a `Waiter` settled later.
   */
  readonly overflow: (message: EncodedMessage) => Effect.Effect<void> | Waiter
  /** Messages left the queue and the carry (the consumer made them a batch): admit waiters. */
  readonly release: (count: number, bytes: number) => void
  /**
   * Whether callers are held up: some wait for room, or the queue is (nearly) full. Then what is queued
   * should go now, without waiting for `flushAt` or the interval.
   */
  readonly pressed: () => boolean
  /**
   * Stops admitting new calls (they fail with `ClientClosed`); callers already waiting keep their
   * place and get in as the final flush makes room. `waitersGone` completes once none is left.
   */
  readonly close: () => void
  readonly waitersGone: Effect.Effect<void>
  /** The close ran out of time: the messages of the callers still waiting fail (`ShutdownTimeout`). */
  readonly expireWaiters: Effect.Effect<void>
  readonly isClosing: () => boolean
  /** Messages in the queue and the carry. */
  readonly depth: () => number
}

// Milliseconds on the monotonic clock: a wall-clock step cannot move a deadline. (Effect 4's `Clock`
// has a monotonic time of its own; the test clock's advances with `TestClock.adjust`.)
const monotonicMillis = (clock: Clock.Clock): number => Number(clock.monotonicTimeNanosUnsafe()) / 1_000_000

/**
 * The bookkeeping, in plain fields read and written only in synchronous steps: the call path admits a
 * message without running an Effect, which the call-path benchmark shows is needed (an Effect per
 * call for the bookkeeping would double the cost of queueing a message).
 */
class Budget {
  count = 0
  bytes = 0
  closing = false
  /**
   * Set when the queue made no room for `overflowTimeout` while callers waited: the collector is not
   * keeping up, so the next callers drop at once instead of each waiting again, until room appears.
   */
  stalled = false
  /** When room last appeared (or a caller started waiting at the head), on the monotonic clock. */
  progressAt = 0
  /** In arrival order; O(1) at both ends, for a burst of many thousands of waiting callers. */
  readonly waiters = MutableList.make<Waiter>()

  constructor(
    readonly queue: Queue.Queue<Item>,
    readonly settings: Settings,
    readonly wake: () => void,
    readonly gone: Deferred.Deferred<void>
  ) {}

  fits(message: EncodedMessage): boolean {
    return this.count < this.settings.maxQueueSize &&
      (this.count === 0 || this.bytes + message.bytes <= this.settings.maxQueueBytes)
  }

  bound(): Bound {
    return this.count >= this.settings.maxQueueSize ? "messages" : "bytes"
  }

  admit(message: EncodedMessage): void {
    this.count++
    this.bytes += message.bytes
    Queue.offerUnsafe(this.queue, message)
    if (this.count === 1 || this.count >= this.settings.flushAt || this.full()) this.wake()
  }

  // Full: no more message, or not one more of the largest size, would fit.
  full(): boolean {
    return this.count >= this.settings.maxQueueSize ||
      this.bytes + this.settings.maxMessageBytes > this.settings.maxQueueBytes
  }

  /** The first caller still waiting; forgets the ones that stopped waiting. */
  head(): Waiter | undefined {
    // Effect 4's MutableList has no `head`: the first element is read from the head bucket.
    for (let list = this.waiters; list.length > 0; MutableList.take(list)) {
      const first = list.head!.array[list.head!.offset]!
      if (first.state === "waiting") return first
    }
    return undefined
  }

  release(n: number, size: number, now: number): void {
    this.count -= n
    this.bytes -= size
    if (n > 0) {
      this.stalled = false
      this.progressAt = now
    }
    for (let waiter = this.head(); waiter !== undefined && this.fits(waiter.message); waiter = this.head()) {
      MutableList.take(this.waiters)
      this.admit(waiter.message)
      waiter.settle()
    }
    this.checkGone()
  }

  /** Removes every waiting caller, in order. */
  takeWaiters(): Array<Waiter> {
    return MutableList.takeAll(this.waiters).filter((waiter) => waiter.state === "waiting")
  }

  checkGone(): void {
    if (this.closing && this.head() === undefined) Deferred.doneUnsafe(this.gone, Exit.void)
  }
}

/** @internal */
export const make = (
  queue: Queue.Queue<Item>,
  outcomes: Outcomes,
  settings: Settings,
  /**
   * Wakes the consumer: called when a message starts a batch (the first in the queue and carry),
   * completes one (`flushAt` messages), or when callers are held up by a full queue.
   */
  wake: () => void
): Effect.Effect<Admission, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const runSweeper = yield* FiberHandle.makeRuntime<never, never, void>()
    const budget = new Budget(queue, settings, wake, yield* Deferred.make<void>())
    const timeoutMillis = Duration.toMillis(settings.overflowTimeout)

    // One fiber watches the waiting callers: it sleeps until the queue has made no room for
    // `overflowTimeout` (counted from when room last appeared, or the first caller started waiting),
    // then drops every caller still waiting. A caller is not dropped while the queue keeps draining,
    // however long the line ahead of it.
    const sweep: Effect.Effect<void> = Effect.suspend(() => {
      const first = budget.head()
      if (first === undefined) return Effect.void
      const left = Math.max(first.since, budget.progressAt) + timeoutMillis - monotonicMillis(clock)
      if (left > 0) return Effect.andThen(Effect.sleep(Duration.millis(left)), sweep)
      budget.stalled = true
      const dropped = budget.takeWaiters()
      return outcomes.overflowed(dropped.map((w) => w.message), budget.bound()).pipe(
        Effect.ensuring(Effect.sync(() => {
          for (const waiter of dropped) waiter.settle()
          budget.checkGone()
        }))
      )
    })

    const wait = (message: EncodedMessage, limited: boolean): Waiter => {
      // (Never while closing: the call path refuses calls then, before they get here.)
      const waiter = new Waiter(message, monotonicMillis(clock))
      MutableList.append(budget.waiters, waiter)
      wake()
      if (limited) runSweeper(sweep, { onlyIfMissing: true })
      return waiter
    }

    const dropOldest = (message: EncodedMessage) =>
      Effect.gen(function*() {
        const evicted: Array<EncodedMessage> = []
        // Markers met on the way go back in; the queue is walked at most once.
        let left = budget.count + 1
        while (!budget.fits(message) && left-- > 0) {
          const item = yield* Queue.poll(queue)
          if (Option.isNone(item)) break
          if (item.value instanceof Marker) {
            Queue.offerUnsafe(queue, item.value)
          } else {
            budget.count--
            budget.bytes -= item.value.bytes
            evicted.push(item.value)
          }
        }
        if (budget.fits(message)) budget.admit(message)
        // Everything left is in the consumer's carry, about to be sent: then the new message is the one
        // dropped.
        else evicted.push(message)
        if (evicted.length > 0) yield* outcomes.overflowed(evicted, budget.bound())
      })

    const overflow = (message: EncodedMessage): Effect.Effect<void> | Waiter => {
      switch (settings.overflow) {
        case "wait":
          return budget.stalled ? outcomes.overflowed([message], budget.bound()) : wait(message, true)
        case "suspend":
          return wait(message, false)
        case "dropNewest":
          return outcomes.overflowed([message], budget.bound())
        case "dropOldest":
          return dropOldest(message)
      }
    }

    return {
      tryOffer: (message) => {
        if (budget.head() !== undefined || !budget.fits(message)) return false
        budget.admit(message)
        return true
      },
      overflow,
      release: (n, size) => budget.release(n, size, monotonicMillis(clock)),
      pressed: () => budget.head() !== undefined || budget.full(),
      close: () => {
        budget.closing = true
        wake()
        budget.checkGone()
      },
      waitersGone: Deferred.await(budget.gone),
      expireWaiters: Effect.suspend(() => {
        const expired = budget.takeWaiters()
        if (expired.length === 0) return Effect.void
        return outcomes.publish({
          _tag: "Failed",
          messages: expired.map((w) => w.message),
          reason: "ShutdownTimeout",
          error: undefined,
          attempts: 0
        }).pipe(Effect.ensuring(Effect.sync(() => {
          for (const waiter of expired) waiter.settle()
          budget.checkGone()
        })))
      }),
      isClosing: () => budget.closing,
      depth: () => budget.count
    }
  })
