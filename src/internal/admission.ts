/**
 * Admission into the batcher's queue: the queue is bounded by its number of messages and by their
 * serialized bytes (the consumer's carry included), and a message that finds it full meets the
 * overflow policy: wait for room up to a deadline (the default), wait without one, drop the newest or
 * drop the oldest. Waiting callers are served in arrival order; nobody overtakes a waiting caller.
 *
 * A waiting caller costs no fiber and no timer of its own: it is a record in a FIFO, settled by the
 * consumer when room appears, by one sweeper fiber when its deadline passes, or by the close.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberHandle from "effect/FiberHandle"
import * as MutableList from "effect/MutableList"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { ClientClosed } from "../AnalyticsError.js"
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
 * A caller waiting for room. It is settled exactly once: with success when its message was queued,
 * or dropped at its deadline (the drop has its outcome), or with `ClientClosed`.
 *
 * @internal
 */
export class Waiter {
  state: "waiting" | "settled" | "cancelled" = "waiting"
  private result: Exit.Exit<void, ClientClosed> | undefined
  private listener: ((exit: Exit.Exit<void, ClientClosed>) => void) | undefined

  constructor(readonly message: EncodedMessage, readonly deadline: number) {}

  /** Calls `f` once settled (at once if it already is). */
  listen(f: (exit: Exit.Exit<void, ClientClosed>) => void): void {
    if (this.result !== undefined) f(this.result)
    else this.listener = f
  }

  /** The caller stopped waiting (its fiber was interrupted): forget it unless already settled. */
  cancel(): void {
    if (this.state === "waiting") this.state = "cancelled"
  }

  settle(exit: Exit.Exit<void, ClientClosed>): void {
    if (this.state !== "waiting") return
    this.state = "settled"
    this.result = exit
    const listener = this.listener
    this.listener = undefined
    listener?.(exit)
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
  readonly overflow: (message: EncodedMessage) => Effect.Effect<void, ClientClosed> | Waiter
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
  /** Fails the callers still waiting with `ClientClosed` (the close ran out of time). */
  readonly refuseWaiters: () => void
  readonly isClosing: () => boolean
  /** Messages in the queue and the carry. */
  readonly depth: () => number
}

// Milliseconds on the monotonic clock (a wall-clock step cannot move a deadline). The test clock's
// nanoseconds are not defined for a fractional millisecond: its milliseconds are monotonic anyway.
const monotonicMillis = (clock: Clock.Clock): number => {
  try {
    return Number(clock.unsafeCurrentTimeNanos() / 1000n) / 1000
  } catch {
    return clock.unsafeCurrentTimeMillis()
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
    const { maxQueueBytes, maxQueueSize } = settings
    const clock = yield* Effect.clock
    const runSweeper = yield* FiberHandle.makeRuntime<never, never, void>()
    const timeoutMillis = Duration.toMillis(settings.overflowTimeout)
    // Plain fields, read and written only in synchronous steps: the call path admits a message without
    // running an Effect, which the call-path benchmark shows is needed (an Effect per call for the
    // bookkeeping would double the cost of queueing a message).
    let count = 0
    let bytes = 0
    let closing = false
    // Set when a caller's wait for room ended at its deadline: the collector is not keeping up, so the
    // next callers drop at once instead of each waiting again, until room appears.
    let stalled = false
    // In arrival order; O(1) at both ends, for a burst of many thousands of waiting callers.
    const waiters = MutableList.empty<Waiter>()
    // Completed once the client is closing and nobody waits any more.
    const noWaiters = yield* Deferred.make<void>()
    const checkGone = (): void => {
      if (closing && head() === undefined) Deferred.unsafeDone(noWaiters, Exit.void)
    }

    const fits = (message: EncodedMessage): boolean =>
      count < maxQueueSize && (count === 0 || bytes + message.bytes <= maxQueueBytes)

    const boundOf = (): Bound => count >= maxQueueSize ? "messages" : "bytes"

    const admit = (message: EncodedMessage): void => {
      count++
      bytes += message.bytes
      Queue.unsafeOffer(queue, message)
      if (count === 1 || count >= settings.flushAt || bytes + settings.maxMessageBytes > maxQueueBytes) wake()
    }

    // The first caller still waiting; forgets the ones that stopped waiting.
    const head = (): Waiter | undefined => {
      for (let first = MutableList.head(waiters); first !== undefined; first = MutableList.head(waiters)) {
        if (first.state === "waiting") return first
        MutableList.shift(waiters)
      }
      return undefined
    }

    const tryOffer = (message: EncodedMessage): boolean => {
      if (head() !== undefined || !fits(message)) return false
      admit(message)
      return true
    }

    const release = (n: number, size: number): void => {
      count -= n
      bytes -= size
      if (n > 0) stalled = false
      for (let waiter = head(); waiter !== undefined && fits(waiter.message); waiter = head()) {
        MutableList.shift(waiters)
        admit(waiter.message)
        waiter.settle(Exit.void)
      }
      checkGone()
    }

    // One fiber for every deadline: deadlines come in arrival order, so it sleeps until the first
    // caller's, drops the callers whose deadline has passed, and ends when nobody waits.
    const sweep: Effect.Effect<void> = Effect.suspend(() => {
      const waiter = head()
      if (waiter === undefined) return Effect.void
      const left = waiter.deadline - monotonicMillis(clock)
      if (left > 0) return Effect.zipRight(Effect.sleep(Duration.millis(left)), sweep)
      MutableList.shift(waiters)
      stalled = true
      return outcomes.overflowed([waiter.message], boundOf()).pipe(
        Effect.ensuring(Effect.sync(() => {
          waiter.settle(Exit.void)
          checkGone()
        })),
        Effect.zipRight(sweep)
      )
    })

    const wait = (message: EncodedMessage, deadline: number): Waiter => {
      const waiter = new Waiter(message, deadline)
      if (closing) {
        waiter.settle(Exit.fail(new ClientClosed({ messageType: message.type })))
        return waiter
      }
      MutableList.append(waiters, waiter)
      wake()
      if (Number.isFinite(deadline)) runSweeper(sweep, { onlyIfMissing: true })
      return waiter
    }

    const dropOldest = (message: EncodedMessage) =>
      Effect.gen(function*() {
        const evicted: Array<EncodedMessage> = []
        // Markers met on the way go back in; the queue is walked at most once.
        let budget = count + 1
        while (!fits(message) && budget-- > 0) {
          const item = yield* Queue.poll(queue)
          if (Option.isNone(item)) break
          if (item.value instanceof Marker) {
            Queue.unsafeOffer(queue, item.value)
          } else {
            count--
            bytes -= item.value.bytes
            evicted.push(item.value)
          }
        }
        if (fits(message)) admit(message)
        // Everything left is in the consumer's carry, about to be sent: then the new message is the one
        // dropped.
        else evicted.push(message)
        if (evicted.length > 0) yield* outcomes.overflowed(evicted, boundOf())
      })

    const overflow = (message: EncodedMessage): Effect.Effect<void, ClientClosed> | Waiter => {
      switch (settings.overflow) {
        case "wait":
          return stalled
            ? outcomes.overflowed([message], boundOf())
            : wait(message, monotonicMillis(clock) + timeoutMillis)
        case "suspend":
          return wait(message, Number.POSITIVE_INFINITY)
        case "dropNewest":
          return outcomes.overflowed([message], boundOf())
        case "dropOldest":
          return dropOldest(message)
      }
    }

    const close = (): void => {
      closing = true
      wake()
      checkGone()
    }

    const refuseWaiters = (): void => {
      for (let waiter = MutableList.shift(waiters); waiter !== undefined; waiter = MutableList.shift(waiters)) {
        waiter.settle(Exit.fail(new ClientClosed({ messageType: waiter.message.type })))
      }
      checkGone()
    }

    // Full: no more message, or not one more of the largest size, would fit.
    const pressed = (): boolean =>
      head() !== undefined || count >= maxQueueSize || bytes + settings.maxMessageBytes > maxQueueBytes

    return {
      tryOffer,
      overflow,
      release,
      pressed,
      close,
      waitersGone: Deferred.await(noWaiters),
      refuseWaiters,
      isClosing: () => closing,
      depth: () => count
    }
  })
