/**
 * Parsing one line of an NDJSON import: JSON, the failures-file wrapper, the Segment fields the library
 * does not take as input, and the call type. Pure functions, no effects.
 *
 * @internal
 */
import type * as Message from "../../Message.js"

/**
 * Top-level fields a Segment export (or a message captured from a collector) carries but that are not
 * call input: the library would reject them as unknown fields. They are removed before sending.
 * `originalTimestamp` becomes `timestamp` when the line has no `timestamp`.
 *
 * @internal
 */
export const ignoredFields: ReadonlyArray<string> = [
  "sentAt",
  "receivedAt",
  "originalTimestamp",
  "channel",
  "version",
  "writeKey",
  "projectId",
  "_metadata",
  "requestId"
]

const ignored = new Set(ignoredFields)

/** @internal */
export const messageTypes: ReadonlyArray<Message.MessageType> = ["identify", "track", "page", "screen", "group", "alias"]

const typeSet = new Set<string>(messageTypes)

/** @internal */
export type ParsedLine =
  | { readonly _tag: "Blank" }
  | {
    readonly _tag: "Invalid"
    readonly reason: string
    /** The original JSON text of the message (or of the whole line when it is not JSON). */
    readonly original: string
    /** Whether `original` is the raw text of a line that is not JSON. */
    readonly raw: boolean
  }
  | {
    readonly _tag: "Message"
    readonly type: Message.MessageType
    /** The message to send: ignored fields removed. */
    readonly message: Record<string, unknown>
    /** The original JSON text of the message, as it will be written to a failures file. */
    readonly original: string
    /** `messageId` as found in the message, if it is a string. */
    readonly messageId: string | undefined
  }

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * A line of a failures file: `{ "line": n, "reason": "...", "message": <original> }`. Re-importing such
 * a file retries the `message`s.
 *
 * @internal
 */
export const isFailureRecord = (u: Record<string, unknown>): boolean => {
  if (!("message" in u) || typeof u.line !== "number") return false
  for (const key in u) if (key !== "line" && key !== "reason" && key !== "message") return false
  return true
}

const describeJsonError = (error: unknown): string =>
  `invalid JSON: ${error instanceof Error ? error.message : String(error)}`

/**
 * Parses one line. `text` is the line without its line break.
 *
 * @internal
 */
export const parseLine = (text: string): ParsedLine => {
  const trimmed = text.trim()
  if (trimmed === "") return { _tag: "Blank" }
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch (error) {
    return { _tag: "Invalid", reason: describeJsonError(error), original: trimmed, raw: true }
  }
  let original = trimmed
  if (isRecord(value) && isFailureRecord(value)) {
    const inner = value.message
    if (typeof inner === "string") {
      // The raw text of a line that was not JSON the first time: try it again as it is.
      return parseLine(inner)
    }
    value = inner
    original = JSON.stringify(inner)
  }
  if (!isRecord(value)) {
    return { _tag: "Invalid", reason: "expected a JSON object", original, raw: false }
  }
  const type = value.type
  if (typeof type !== "string" || !typeSet.has(type)) {
    return {
      _tag: "Invalid",
      reason: `type: expected one of ${messageTypes.join(", ")}, got ${type === undefined ? "nothing" : JSON.stringify(type)}`,
      original,
      raw: false
    }
  }
  const message: Record<string, unknown> = {}
  for (const key in value) if (!ignored.has(key)) message[key] = value[key]
  if (message.timestamp === undefined && typeof value.originalTimestamp === "string") {
    message.timestamp = value.originalTimestamp
  }
  return {
    _tag: "Message",
    type: type as Message.MessageType,
    message,
    original,
    messageId: typeof message.messageId === "string" ? message.messageId : undefined
  }
}

/**
 * The original text of a message to which the CLI gave a `messageId` (so a retry from the failures file
 * keeps the same id, and the collector can deduplicate).
 *
 * @internal
 */
export const withMessageId = (original: string, messageId: string): string => {
  const value = JSON.parse(original) as Record<string, unknown>
  return JSON.stringify({ ...value, messageId })
}

/**
 * One line of a failures file.
 *
 * @internal
 */
export const failureLine = (line: number, reason: string, original: string, raw: boolean): string =>
  `{"line":${line},"reason":${JSON.stringify(reason)},"message":${raw ? JSON.stringify(original) : original}}\n`
