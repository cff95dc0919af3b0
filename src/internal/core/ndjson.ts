/**
 * One line of an NDJSON import: JSON, the failures-file wrapper, the Segment fields that are not call
 * input, the call type; and the lines of the failures file.
 *
 * Safe on hostile input: a `__proto__` key is data, never a prototype (`JSON.parse` makes it an own
 * property, and it is never assigned through).
 *
 * Plain TypeScript, no dependencies.
 *
 * @internal
 */
import { isRecord } from "./guards.js"
import type { Failure } from "./ledger.js"
import { terminalSafeJson } from "./text.js"

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

/** The six call types. @internal */
export const messageTypes = ["identify", "track", "page", "screen", "group", "alias"] as const

/** @internal */
export type MessageType = typeof messageTypes[number]

const typeSet: ReadonlySet<string> = new Set(messageTypes)

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key)

/** @internal */
export type ParsedLine =
  | { readonly _tag: "Blank" }
  | {
    readonly _tag: "Invalid"
    readonly reason: string
    /** The original JSON text of the message (or of the whole line when it is not JSON). */
    readonly text: string
    /** Whether `text` is the raw text of a line that is not JSON. */
    readonly raw: boolean
  }
  | {
    readonly _tag: "Message"
    readonly type: MessageType
    /** The message to send: ignored fields removed. */
    readonly message: Record<string, unknown>
    /** The original JSON text of the message, as it will be written to a failures file. */
    readonly text: string
    /** `messageId` as found in the message, when it is a string. */
    readonly messageId: string | undefined
    /** Whether the message has a `messageId` field at all (of any type). */
    readonly hasMessageId: boolean
  }

/**
 * A line of a failures file: `{ "line": n, "reason": "...", "message": <original> }`, nothing else.
 *
 * @internal
 */
export const isFailureRecord = (value: Record<string, unknown>): boolean => {
  if (!hasOwn(value, "message") || typeof value.line !== "number" || !hasOwn(value, "line")) return false
  for (const key of Object.keys(value)) if (key !== "line" && key !== "reason" && key !== "message") return false
  return true
}

const describeJsonError = (error: unknown): string =>
  `invalid JSON: ${error instanceof Error ? error.message : String(error)}`

/** The message without the ignored fields; the parsed object itself when it has none of them. */
const callInput = (value: Record<string, unknown>): Record<string, unknown> => {
  let strip = false
  for (const key of ignoredFields) {
    if (hasOwn(value, key)) {
      strip = true
      break
    }
  }
  if (!strip) return value
  const message: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    if (ignoredFields.includes(key)) continue
    // Defined, not assigned: assigning `__proto__` would set the object's prototype.
    Object.defineProperty(message, key, { value: value[key], enumerable: true, writable: true, configurable: true })
  }
  if (!hasOwn(message, "timestamp") && typeof value.originalTimestamp === "string") {
    message.timestamp = value.originalTimestamp
  }
  return message
}

/**
 * Parses one line (without its line break).
 *
 * @internal
 */
export const parseLine = (line: string): ParsedLine => {
  const trimmed = line.trim()
  if (trimmed === "") return { _tag: "Blank" }
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch (error) {
    return { _tag: "Invalid", reason: describeJsonError(error), text: trimmed, raw: true }
  }
  let text = trimmed
  if (isRecord(value) && isFailureRecord(value)) {
    const inner = value.message
    // The raw text of a line that was not JSON the first time: try it again as it is.
    if (typeof inner === "string") return parseLine(inner)
    value = inner
    text = JSON.stringify(inner)
  }
  if (!isRecord(value)) return { _tag: "Invalid", reason: "expected a JSON object", text, raw: false }
  const type = value.type
  if (typeof type !== "string" || !typeSet.has(type)) {
    return {
      _tag: "Invalid",
      reason: `type: expected one of ${messageTypes.join(", ")}, got ${
        type === undefined ? "nothing" : JSON.stringify(type)
      }`,
      text,
      raw: false
    }
  }
  const message = callInput(value)
  const hasMessageId = hasOwn(message, "messageId")
  return {
    _tag: "Message",
    type: type as MessageType,
    message,
    text,
    messageId: hasMessageId && typeof message.messageId === "string" ? message.messageId : undefined,
    hasMessageId
  }
}

/**
 * A message's JSON text with a `messageId` added (the one the importer gave it), so that a retry from
 * the failures file sends the same id.
 *
 * @internal
 */
export const withMessageId = (text: string, messageId: string): string => {
  const value = JSON.parse(text) as Record<string, unknown>
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    Object.defineProperty(copy, key, { value: value[key], enumerable: true, writable: true, configurable: true })
  }
  copy.messageId = messageId
  return JSON.stringify(copy)
}

/**
 * One line of the failures file, with its line break. Characters a terminal would act on are escaped
 * (the JSON value is the same).
 *
 * @internal
 */
export const failureLine = (failure: Failure): string => {
  const message = failure.text === undefined
    ? "null"
    : failure.raw
    ? JSON.stringify(failure.text)
    : failure.generatedId === undefined
    ? failure.text
    : withMessageId(failure.text, failure.generatedId)
  return terminalSafeJson(`{"line":${failure.line},"reason":${JSON.stringify(failure.reason)},"message":${message}}`) +
    "\n"
}
