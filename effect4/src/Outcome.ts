/**
 * What became of accepted messages. Every message a call accepted ends in exactly one outcome:
 * `Delivered`, `Failed` (with the reason and the last transport error) or `Dropped` (with the reason).
 *
 * Outcomes are reported per batch (one `Delivered` for the 2,500 messages of one request), each
 * carrying the ids of its messages. Read them from `Analytics.outcomes` (a `Stream`) or
 * `Analytics.subscribe` (a `Dequeue`).
 *
 * @since 1.0.0
 */
import type { TransportError } from "./AnalyticsError.js"
import type { MessageType } from "./Message.js"

/**
 * The identity of one message in an outcome.
 *
 * @since 1.0.0
 * @category models
 */
export interface MessageRef {
  readonly messageId: string
  readonly type: MessageType
}

/**
 * The collector answered 2xx to the request carrying these messages.
 *
 * @since 1.0.0
 * @category models
 */
export interface Delivered {
  readonly _tag: "Delivered"
  readonly messages: ReadonlyArray<MessageRef>
  readonly status: number
  /** How many attempts the request took (1 when the first one succeeded). */
  readonly attempts: number
  /** The size of the request body, in bytes of uncompressed JSON. */
  readonly bodyBytes: number
}

/**
 * Why delivery gave up.
 *
 * - `NotRetryable`: the collector answered a status that retrying cannot fix (400, 413, most 4xx,
 *   501, 505).
 * - `RetriesExhausted`: the retry schedule (by default `maxRetries`) ran out.
 * - `RetryBudgetExhausted`: the next wait would go past the batch's total retry budget.
 * - `ShutdownTimeout`: the client was closing and `shutdownTimeout` ran out first.
 * - `TransportDefect`: the `Transport` died (threw or defected) instead of answering: a bug in it. The
 *   cause is logged at the error level.
 *
 * @since 1.0.0
 * @category models
 */
export type FailureReason =
  | "NotRetryable"
  | "RetriesExhausted"
  | "RetryBudgetExhausted"
  | "ShutdownTimeout"
  | "TransportDefect"

/**
 * The messages were not delivered.
 *
 * @since 1.0.0
 * @category models
 */
export interface Failed {
  readonly _tag: "Failed"
  readonly messages: ReadonlyArray<MessageRef>
  readonly reason: FailureReason
  /** The last attempt's error (the final HTTP status or network error), if an attempt was made. */
  readonly error: TransportError | undefined
  /** How many attempts were made. */
  readonly attempts: number
}

/**
 * Why messages were dropped without a delivery attempt.
 *
 * - `QueueFull`: the queue held `maxQueueSize` messages (or `maxQueueBytes` bytes) and the overflow
 *   policy dropped these: at once (`dropNewest`, `dropOldest`), or after the queue made no room for
 *   `overflowTimeout` while the call waited (`wait`).
 * - `Disabled`: the client was built with `enabled: false`.
 *
 * @since 1.0.0
 * @category models
 */
export type DropReason = "QueueFull" | "Disabled"

/**
 * The messages were dropped.
 *
 * @since 1.0.0
 * @category models
 */
export interface Dropped {
  readonly _tag: "Dropped"
  readonly messages: ReadonlyArray<MessageRef>
  readonly reason: DropReason
}

/**
 * One outcome, for one or more messages.
 *
 * @since 1.0.0
 * @category models
 */
export type Outcome = Delivered | Failed | Dropped

/**
 * Counts the messages of a list of outcomes by tag.
 *
 * @example
 * ```ts
 * import { Outcome } from "analytics-effect"
 *
 * const counts = Outcome.count([])
 * // { delivered: 0, failed: 0, dropped: 0 }
 * ```
 *
 * @since 1.0.0
 * @category utils
 */
export const count = (
  outcomes: Iterable<Outcome>
): { readonly delivered: number; readonly failed: number; readonly dropped: number } => {
  let delivered = 0
  let failed = 0
  let dropped = 0
  for (const outcome of outcomes) {
    const n = outcome.messages.length
    if (outcome._tag === "Delivered") delivered += n
    else if (outcome._tag === "Failed") failed += n
    else dropped += n
  }
  return { delivered, failed, dropped }
}
