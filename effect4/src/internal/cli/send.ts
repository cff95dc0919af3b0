/**
 * `analytics-effect send <type> ...`: one call from a shell, flushed before exit.
 *
 * @internal
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Result from "effect/Result"
import * as Analytics from "../../Analytics.js"
import { describeReason } from "../../AnalyticsError.js"
import type * as Message from "../../Message.js"
import type * as Outcome from "../../Outcome.js"
import { messageTypes } from "../core/ndjson.js"
import { escapeForTerminal } from "../core/text.js"
import * as Help from "./help.js"
import { textFlag } from "./help.js"
import {
  clientLayer,
  type CommandDefaults,
  type ConnectionFlags,
  connectionFlags,
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

const field = textFlag

const fieldFlags = {
  userId: field("userId", "ID", "the user's id"),
  anonymousId: field("anonymousId", "ID", "an anonymous id (when there is no userId)"),
  event: field("event", "NAME", "track: the event name"),
  name: field("name", "NAME", "page, screen: the name"),
  category: field("category", "NAME", "page, screen: the category"),
  groupId: field("groupId", "ID", "group: the group's id"),
  previousId: field("previousId", "ID", "alias: the previous id"),
  properties: field("properties", "JSON", "track, page, screen: a JSON object"),
  traits: field("traits", "JSON", "identify, group: a JSON object"),
  context: field("context", "JSON", "a JSON object"),
  integrations: field("integrations", "JSON", "a JSON object, such as {\"All\":false,\"Mixpanel\":true}"),
  timestamp: field("timestamp", "ISO", "when it happened, ISO-8601 with a zone (default: now)"),
  messageId: field("messageId", "ID", "the dedupe key (default: a random UUID)")
}

/** `send`'s defaults: one call from a shell is sent at once, and does not sit in backoff for minutes. */
const defaults: CommandDefaults = { flushAt: 1, maxRetries: 3 }

const connection = connectionFlags(defaults)

/** `send --help`. @internal */
export const help: Help.Page = {
  usage: [`analytics-effect send <type> [fields] [options]`],
  summary: `Sends one call and waits for its outcome (exit code 0 when delivered). <type> is one of ${
    messageTypes.join(", ")
  }.`,
  sections: [
    { title: "Fields (as in the Segment spec)", rows: Help.rowsOf(fieldFlags) },
    { title: "Options", rows: Help.rowsOf(connection) }
  ],
  footer: "Example: analytics-effect send track --userId u1 --event \"Signed Up\" --properties '{\"plan\":\"Pro\"}'"
}

type FieldFlags = { readonly [K in keyof typeof fieldFlags]: Option.Option<string> }

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
    const layer = yield* clientLayer(flags, defaults, {})
    yield* Effect.gen(function*() {
      const analytics = yield* Analytics.Analytics
      const outcomes = yield* analytics.subscribe
      const sent = yield* Effect.result(analytics.send(message as Message.Message))
      if (Result.isFailure(sent)) {
        yield* writeErr(`${sent.failure._tag}: ${escapeForTerminal(sent.failure.message, 500)}\n`)
        return yield* exitWith(ExitCodes.notDelivered)
      }
      const messageId = sent.success
      if (flags.dryRun) {
        yield* writeOut(`valid ${type} ${messageId}\n`)
        return
      }
      yield* analytics.flush
      for (;;) {
        const outcome = yield* PubSub.take(outcomes)
        if (!outcome.messages.some((ref) => ref.messageId === messageId)) continue
        const line = `${type} ${escapeForTerminal(messageId)} ${escapeForTerminal(describeOutcome(outcome), 500)}\n`
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
    type: Argument.Literals("type", messageTypes).pipe(
      Argument.withDescription(`One of ${messageTypes.join(", ")}`)
    ),
    ...Help.flagsOf(fieldFlags),
    ...Help.flagsOf(connection)
  },
  ({ type, ...flags }) => run(type, flags)
).pipe(Command.withDescription("Send one call and wait for its outcome (exit code 0 when delivered)"))
