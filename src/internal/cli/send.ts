/**
 * `analytics-effect send <type> ...`: one call from a shell, flushed before exit.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Analytics from "../../Analytics.js"
import { describeReason } from "../../AnalyticsError.js"
import type * as Message from "../../Message.js"
import type * as Outcome from "../../Outcome.js"
import { messageTypes } from "./ndjson.js"
import {
  clientLayer,
  type ConnectionFlags,
  connectionOptions,
  exitWith,
  ExitCodes,
  usageError,
  writeErr,
  writeOut
} from "./shared.js"

const stringFields = [
  "userId",
  "anonymousId",
  "event",
  "timestamp",
  "messageId",
  "name",
  "category",
  "groupId",
  "previousId"
] as const

const jsonFields = ["properties", "traits", "context", "integrations"] as const

const text = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

const fieldOptions = {
  userId: text("userId", "The user's id"),
  anonymousId: text("anonymousId", "An anonymous id"),
  event: text("event", "track: the event name"),
  timestamp: text("timestamp", "When it happened, ISO-8601 (default: now)"),
  messageId: text("messageId", "The dedupe key (default: a random UUID)"),
  name: text("name", "page/screen: the name"),
  category: text("category", "page/screen: the category"),
  groupId: text("groupId", "group: the group's id"),
  previousId: text("previousId", "alias: the previous id"),
  properties: text("properties", "track/page/screen: a JSON object"),
  traits: text("traits", "identify/group: a JSON object"),
  context: text("context", "A JSON object"),
  integrations: text("integrations", "A JSON object, such as {\"All\":false,\"Mixpanel\":true}")
}

type FieldFlags = { readonly [K in keyof typeof fieldOptions]: Option.Option<string> }

const parseJsonObject = (value: string): Record<string, unknown> | undefined => {
  try {
    const parsed: unknown = JSON.parse(value)
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>
    }
  } catch {
    // reported by the caller
  }
  return undefined
}

/**
 * Builds the message from the flags. Bad JSON in a flag is a usage error (exit code 2).
 *
 * @internal
 */
export const buildMessage = (type: Message.MessageType, flags: FieldFlags) =>
  Effect.gen(function*() {
    const message: Record<string, unknown> = { type }
    for (const field of stringFields) {
      const value = flags[field]
      if (Option.isSome(value)) message[field] = value.value
    }
    for (const field of jsonFields) {
      const value = flags[field]
      if (Option.isNone(value)) continue
      const parsed = parseJsonObject(value.value)
      if (parsed === undefined) return yield* usageError(`--${field} must be a JSON object, got ${value.value}`)
      message[field] = parsed
    }
    return message
  })

const describeOutcome = (outcome: Outcome.Outcome): string => {
  switch (outcome._tag) {
    case "Delivered":
      return `delivered (HTTP ${outcome.status}, ${outcome.attempts} attempt${outcome.attempts === 1 ? "" : "s"})`
    case "Failed":
      return `failed: ${outcome.reason}${outcome.error ? ` (${describeReason(outcome.error.reason)})` : ""} after ${outcome.attempts} attempt${outcome.attempts === 1 ? "" : "s"}`
    case "Dropped":
      return `dropped: ${outcome.reason}`
  }
}

const run = (type: Message.MessageType, flags: FieldFlags & ConnectionFlags) =>
  Effect.gen(function*() {
    const message = yield* buildMessage(type, flags)
    const layer = yield* clientLayer(flags, {
      flushAt: Option.getOrElse(flags.flushAt, () => 1),
      // One call from a shell should not sit in backoff for minutes: 3 retries unless told otherwise.
      maxRetries: Option.getOrElse(flags.maxRetries, () => 3)
    })
    yield* Effect.gen(function*() {
      const analytics = yield* Analytics.Analytics
      const outcomes = yield* analytics.subscribe
      const sent = yield* Effect.either(analytics.send(message as Message.Message))
      if (sent._tag === "Left") {
        yield* writeErr(`${sent.left._tag}: ${sent.left.message}\n`)
        return yield* exitWith(ExitCodes.notDelivered)
      }
      const messageId = sent.right
      if (flags.dryRun) {
        yield* writeOut(`valid ${type} ${messageId}\n`)
        return
      }
      yield* analytics.flush
      for (;;) {
        const outcome = yield* Queue.take(outcomes)
        if (!outcome.messages.some((ref) => ref.messageId === messageId)) continue
        const line = `${type} ${messageId} ${describeOutcome(outcome)}\n`
        if (outcome._tag === "Delivered") return yield* writeOut(line)
        yield* writeErr(line)
        return yield* exitWith(ExitCodes.notDelivered)
      }
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

/**
 * The `send` command.
 *
 * @internal
 */
export const command = Command.make(
  "send",
  {
    type: Args.choice(messageTypes.map((t) => [t, t] as [string, Message.MessageType]), { name: "type" }).pipe(
      Args.withDescription(`One of ${messageTypes.join(", ")}`)
    ),
    ...fieldOptions,
    ...connectionOptions
  },
  ({ type, ...flags }) => run(type, flags)
).pipe(Command.withDescription("Send one call and wait for its outcome (exit code 0 when delivered)"))
