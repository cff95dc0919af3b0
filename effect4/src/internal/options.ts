/**
 * The client's options, checked once when the layer is built: each problem is an `InvalidOptions`
 * naming the option, so a bad value fails the layer instead of spinning a core (`flushInterval: 0`),
 * retrying forever (`timeout: 0`) or dropping with a healthy collector (a queue smaller than a batch).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { InvalidOptions, type TransportError } from "../AnalyticsError.js"
import type * as Admission from "./admission.js"
import type { Settings } from "./client.js"

/** The options as the public `Analytics.Options` declares them (repeated here to keep arrows one-way). */
export interface Input {
  readonly writeKey: Redacted.Redacted<string> | string
  readonly host?: string | undefined
  readonly timeout?: Duration.Input | undefined
  readonly flushAt?: number | undefined
  readonly flushInterval?: Duration.Input | undefined
  readonly maxQueueSize?: number | undefined
  readonly maxQueueBytes?: number | undefined
  readonly overflow?: Admission.Policy | undefined
  readonly overflowTimeout?: Duration.Input | undefined
  readonly maxMessageBytes?: number | undefined
  readonly maxBatchBytes?: number | undefined
  readonly maxBatchMessages?: number | undefined
  readonly maxInFlight?: number | undefined
  readonly shutdownTimeout?: Duration.Input | undefined
  readonly defaultContext?: Settings["defaultContext"]
  readonly defaultIntegrations?: Settings["defaultIntegrations"]
  readonly enabled?: boolean | undefined
  readonly maxRetries?: number | undefined
  readonly retryBudget?: Duration.Input | undefined
  readonly maxRetryAfter?: Duration.Input | undefined
  readonly retrySchedule?: Schedule.Schedule<unknown, TransportError> | undefined
  readonly debug?: boolean | undefined
}

/** The defaults the checks need (the public module owns the full list). */
export interface Defaults {
  readonly flushAt: number
  readonly flushInterval: Duration.Input
  readonly maxQueueSize: number
  readonly maxQueueBytes: number
  readonly overflow: Admission.Policy
  readonly overflowTimeout: Duration.Input
  readonly maxMessageBytes: number
  readonly maxBatchBytes: number
  readonly maxBatchMessages: number
  readonly maxInFlight: number
  readonly shutdownTimeout: Duration.Input
  readonly enabled: boolean
  readonly maxRetries: number
  readonly retryBudget: Duration.Input
  readonly maxRetryAfter: Duration.Input
  readonly debug: boolean
  readonly timeout: Duration.Input
}

class Problem {
  constructor(readonly error: InvalidOptions) {}
}

const invalid = (option: string, reason: string): never => {
  throw new Problem(new InvalidOptions({ option, path: [], reason }))
}

const policies: ReadonlyArray<Admission.Policy> = ["wait", "suspend", "dropNewest", "dropOldest"]

/** An integer of at least `min`, or the default when absent. */
const integer = (
  option: string,
  value: number | undefined,
  fallback: number,
  min: number,
  why?: string
): number => {
  const n = value ?? fallback
  if (typeof n !== "number" || !Number.isSafeInteger(n)) return invalid(option, `must be an integer, got ${describe(n)}`)
  if (n < min) return invalid(option, `must be at least ${why === undefined ? min : `${why} (${min})`}, got ${n}`)
  return n
}

/** A duration, positive (or at least zero with `allowZero`), or the default when absent. */
const duration = (
  option: string,
  value: Duration.Input | undefined,
  fallback: Duration.Input,
  allowZero: boolean
): Duration.Duration => {
  // A negative or NaN number of milliseconds is reported as such (Effect 3's Duration turned both into
  // zero; Effect 4's keeps a negative one negative and still turns NaN into zero).
  if (typeof value === "number" && !(value >= 0)) {
    return invalid(option, `must be ${allowZero ? "zero or more" : "greater than zero"} milliseconds, got ${value}`)
  }
  let d: Duration.Duration
  try {
    d = Duration.fromInputUnsafe(value ?? fallback)
  } catch {
    return invalid(option, `must be a duration (milliseconds, or text such as "5 seconds"), got ${describe(value)}`)
  }
  if (allowZero ? Duration.isLessThan(d, Duration.zero) : Duration.isLessThanOrEqualTo(d, Duration.zero)) {
    return invalid(option, `must be ${allowZero ? "zero or more" : "greater than zero"}, got ${Duration.format(d)}`)
  }
  return d
}

const boolean = (option: string, value: boolean | undefined, fallback: boolean): boolean => {
  const b = value ?? fallback
  return typeof b === "boolean" ? b : invalid(option, `must be true or false, got ${describe(b)}`)
}

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)
  if (typeof value === "number" || typeof value === "boolean" || value === undefined || value === null) {
    return String(value)
  }
  return `a ${typeof value}`
}

const checkHost = (host: string | undefined): void => {
  if (host === undefined) return
  if (typeof host !== "string") return invalid("host", `must be a URL string, got ${describe(host)}`)
  let url: URL
  try {
    url = new URL(host)
  } catch {
    return invalid("host", `must be an http or https URL such as "https://api.segment.io", got ${describe(host)}`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return invalid("host", `must be an http or https URL, got the scheme ${JSON.stringify(url.protocol)}`)
  }
  if (url.search !== "" || url.hash !== "") {
    return invalid("host", "must not carry a query or a fragment (set the path with the `path` option)")
  }
}

/**
 * Checks the options and applies the defaults. `envelopeBytes` is the size of a request body around
 * its messages for this write key: a message must fit a request on its own.
 *
 * @internal
 */
export const resolve = (
  options: Input,
  defaults: Defaults,
  envelopeBytes: (writeKey: Redacted.Redacted<string>) => number,
  retrySchedule: (maxRetries: number) => Schedule.Schedule<unknown, unknown>
): Result.Result<Settings, InvalidOptions> => {
  try {
    const writeKey = typeof options.writeKey === "string"
      ? Redacted.make(options.writeKey)
      : Redacted.isRedacted(options.writeKey)
      ? options.writeKey
      : invalid("writeKey", "must be a string or a Redacted string")
    const key = Redacted.value(writeKey)
    if (typeof key !== "string" || key.trim() === "") {
      invalid("writeKey", "must be a non-empty string: the write key of your Segment source")
    }
    checkHost(options.host)
    duration("timeout", options.timeout, defaults.timeout, false)
    const flushAt = integer("flushAt", options.flushAt, defaults.flushAt, 1)
    const maxBatchMessages = integer("maxBatchMessages", options.maxBatchMessages, defaults.maxBatchMessages, 1)
    const maxBatchBytes = integer("maxBatchBytes", options.maxBatchBytes, defaults.maxBatchBytes, 1)
    const envelope = envelopeBytes(writeKey)
    const maxMessageBytes = integer("maxMessageBytes", options.maxMessageBytes, defaults.maxMessageBytes, 1)
    if (maxMessageBytes > maxBatchBytes - envelope) {
      invalid(
        "maxMessageBytes",
        `must leave room for the request envelope: at most maxBatchBytes - ${envelope} = ${
          maxBatchBytes - envelope
        }, got ${maxMessageBytes}`
      )
    }
    // A queue that cannot hold `flushAt` messages, or one full request, fills before a batch is ready.
    const maxQueueSize = integer("maxQueueSize", options.maxQueueSize, defaults.maxQueueSize, flushAt, "flushAt")
    const maxQueueBytes = integer(
      "maxQueueBytes",
      options.maxQueueBytes,
      defaults.maxQueueBytes,
      maxBatchBytes,
      "maxBatchBytes"
    )
    const overflow = options.overflow ?? defaults.overflow
    if (!policies.includes(overflow)) {
      invalid("overflow", `must be one of ${policies.join(", ")}, got ${describe(overflow)}`)
    }
    const maxRetries = integer("maxRetries", options.maxRetries, defaults.maxRetries, 0)
    if (options.retrySchedule !== undefined && !Schedule.isSchedule(options.retrySchedule)) {
      invalid("retrySchedule", "must be a Schedule")
    }
    return Result.succeed({
      writeKey,
      flushAt,
      flushInterval: duration("flushInterval", options.flushInterval, defaults.flushInterval, false),
      maxQueueSize,
      maxQueueBytes,
      overflow,
      overflowTimeout: duration("overflowTimeout", options.overflowTimeout, defaults.overflowTimeout, true),
      maxMessageBytes,
      maxBatchBytes,
      maxBatchMessages,
      maxInFlight: integer("maxInFlight", options.maxInFlight, defaults.maxInFlight, 1),
      shutdownTimeout: duration("shutdownTimeout", options.shutdownTimeout, defaults.shutdownTimeout, false),
      defaultContext: options.defaultContext,
      defaultIntegrations: options.defaultIntegrations,
      enabled: boolean("enabled", options.enabled, defaults.enabled),
      retrySchedule: options.retrySchedule ?? retrySchedule(maxRetries),
      retryBudget: duration("retryBudget", options.retryBudget, defaults.retryBudget, false),
      maxRetryAfter: duration("maxRetryAfter", options.maxRetryAfter, defaults.maxRetryAfter, true),
      debug: boolean("debug", options.debug, defaults.debug)
    })
  } catch (e) {
    if (e instanceof Problem) return Result.fail(e.error)
    throw e
  }
}
