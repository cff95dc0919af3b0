/**
 * The wire form of one message, made in one pass over the caller's input.
 *
 * Each of the input's own enumerable properties is read once, checked against the rules of the call
 * type (the same rules as the `Message` Schemas; a property test holds the two together) and written
 * as JSON in the same step. `messageId` and `timestamp` are filled when absent, `timestamp` is
 * normalized, the client's default `context` and `integrations` are merged under the message's own
 * while those are written, `context.library` is set, and the UTF-8 size is counted as the text is
 * made. Every key is written once. Work stops at twice the size limit.
 *
 * Plain TypeScript, shared by every edition of the library: imports only this folder.
 *
 * @internal
 */
import * as Json from "./json.js"
import * as Timestamp from "./timestamp.js"

/** @internal */
export type MessageType = "identify" | "track" | "page" | "screen" | "group" | "alias"

/** @internal */
export const messageTypes: ReadonlyArray<MessageType> = ["identify", "track", "page", "screen", "group", "alias"]

/** How a top-level field is checked and written. */
const enum Field {
  /** `type`: given by the call; the input's own is not read. */
  Type,
  /** A non-empty string: `userId`, `anonymousId`, `event`, `groupId`, `previousId`. */
  Id,
  /** A string: `name`, `category`. */
  Text,
  /** A JSON object: `properties`, `traits`. */
  Object,
  MessageId,
  Timestamp,
  Context,
  Integrations
}

/** A top-level field: how it is checked, its `,"key":` text, and its bit among the required fields. */
interface Rule {
  readonly field: Field
  readonly name: string
  readonly bit: number
}

// Which required fields a message carries, one bit each.
const userIdBit = 1
const anonymousIdBit = 2
const eventBit = 4
const groupIdBit = 8
const previousIdBit = 16

const common: Record<string, readonly [Field, number?]> = {
  type: [Field.Type],
  userId: [Field.Id, userIdBit],
  anonymousId: [Field.Id, anonymousIdBit],
  messageId: [Field.MessageId],
  timestamp: [Field.Timestamp],
  context: [Field.Context],
  integrations: [Field.Integrations]
}
const view = { ...common, name: [Field.Text], category: [Field.Text], properties: [Field.Object] } as const

const rules = (fields: Record<string, readonly [Field, number?]>): ReadonlyMap<string, Rule> =>
  new Map(Object.entries(fields).map(([key, [field, bit]]) => [key, { field, name: `,"${key}":`, bit: bit ?? 0 }]))

// The fields of each call type, as the `Message` Schemas declare them. A Map: a key such as
// "toString" or "__proto__" finds nothing.
const rulesOf: ReadonlyMap<string, ReadonlyMap<string, Rule>> = new Map([
  ["identify", rules({ ...common, traits: [Field.Object] })],
  ["track", rules({ ...common, event: [Field.Id, eventBit], properties: [Field.Object] })],
  ["page", rules(view)],
  ["screen", rules(view)],
  ["group", rules({ ...common, groupId: [Field.Id, groupIdBit], traits: [Field.Object] })],
  ["alias", rules({ ...common, previousId: [Field.Id, previousIdBit] })]
])

/**
 * The fields of each call type, as the `Message` Schemas declare them (without `type`).
 *
 * @internal
 */
export const fieldNames = (type: MessageType): ReadonlyArray<string> =>
  Array.from(rulesOf.get(type)!.keys()).filter((key) => key !== "type")

/**
 * The longest `messageId` plus one: Segment requires fewer than 100 characters.
 *
 * @internal
 */
export const messageIdLimit = 100

/**
 * What is wrong with a `messageId`, or `undefined`.
 *
 * @internal
 */
export const messageIdProblem = (value: unknown): string | undefined =>
  typeof value !== "string"
    ? `expected a string, got ${Json.describe(value)}`
    : value.length === 0
    ? "expected a non-empty string"
    : value.length >= messageIdLimit
    ? `expected fewer than ${messageIdLimit} characters, got ${value.length}`
    : undefined

/**
 * A message in wire form: its JSON and the UTF-8 size of it.
 *
 * @internal
 */
export interface Encoded {
  readonly type: MessageType
  readonly messageId: string
  readonly json: string
  readonly bytes: number
}

/**
 * The message breaks a rule; `path` from its top level.
 *
 * @internal
 */
export interface Invalid {
  readonly _tag: "Invalid"
  readonly path: ReadonlyArray<string | number>
  readonly reason: string
}

/**
 * The message's JSON is over the limit. `exact` is false when the walk stopped before the end, and
 * `size` is then the bytes counted so far: a lower bound.
 *
 * @internal
 */
export interface TooLarge {
  readonly _tag: "TooLarge"
  readonly messageId: string
  readonly size: number
  readonly exact: boolean
}

/** @internal */
export type Result = Encoded | Invalid | TooLarge

/** @internal */
export const isFailure = (result: Result): result is Invalid | TooLarge => "_tag" in result

const invalid = (path: ReadonlyArray<string | number>, reason: string): Invalid => ({ _tag: "Invalid", path, reason })

/** The sources of generated fields. */
export interface Sources {
  /** A fresh UUID v4. */
  readonly uuid: () => string
  /** Now, in wire form (`YYYY-MM-DDTHH:mm:ss.sssZ`). */
  readonly now: () => string
}

/**
 * A client-wide default (`defaultContext`, `defaultIntegrations`) that cannot be used.
 *
 * @internal
 */
export interface DefaultsProblem {
  readonly _tag: "DefaultsProblem"
  readonly option: "defaultContext" | "defaultIntegrations"
  readonly path: ReadonlyArray<string | number>
  readonly reason: string
}

/**
 * What every message of one client shares: the limit, the defaults (read once, as a snapshot), the
 * constant parts of the text.
 *
 * @internal
 */
export interface Encoder {
  readonly limit: number
  readonly context: Json.Base
  readonly integrations: Json.Base | undefined
  readonly prefixes: Record<MessageType, string>
  /** The walk state, reused from call to call (a call made from inside a getter gets its own). */
  readonly walk: Json.Walk
}

/**
 * Reads, checks and snapshots the client's defaults once, and prepares what every message shares.
 * A default that JSON cannot carry, that throws when read, or whose JSON alone is over the limit is a
 * `DefaultsProblem`: the client cannot be built with it.
 *
 * @internal
 */
export const makeEncoder = (options: {
  readonly maxMessageBytes: number
  readonly defaultContext: unknown
  readonly defaultIntegrations: unknown
  readonly library: { readonly name: string; readonly version: string }
}): Encoder | DefaultsProblem => {
  const limit = options.maxMessageBytes
  const problem = (option: DefaultsProblem["option"], w: Json.Walk): DefaultsProblem => {
    const issue = Json.issueOf(w, [])
    return {
      _tag: "DefaultsProblem",
      option,
      path: issue?.path ?? [],
      reason: issue?.reason ?? `its JSON is over maxMessageBytes (${limit} bytes): every message would be too large`
    }
  }
  let context: Record<string, unknown> = {}
  if (options.defaultContext !== undefined) {
    const w = new Json.Walk(limit, true)
    const text = Json.writeJsonObject(w, options.defaultContext, undefined, undefined)
    if (text === undefined) return problem("defaultContext", w)
    // The snapshot: the library's own plain data, parsed from what was checked.
    context = JSON.parse(text)
  }
  context.library = { name: options.library.name, version: options.library.version }
  let integrations: Json.Base | undefined
  if (options.defaultIntegrations !== undefined) {
    const w = new Json.Walk(limit, true)
    const text = Json.writeIntegrations(w, options.defaultIntegrations, undefined)
    if (text === undefined) return problem("defaultIntegrations", w)
    integrations = Json.makeBase(JSON.parse(text), false)
  }
  const prefixes = {} as Record<MessageType, string>
  for (const type of messageTypes) prefixes[type] = `{"type":"${type}","messageId":`
  return { limit, context: Json.makeBase(context, true), integrations, prefixes, walk: new Json.Walk(2 * limit, true) }
}

const unexpected = (type: MessageType, key: string): Invalid =>
  invalid([key], `is unexpected: a ${type} message has ${fieldNames(type).join(", ")}`)

const expectedString = (value: unknown, nonEmpty: boolean): string =>
  typeof value === "string" ? "expected a non-empty string" : `expected a${nonEmpty ? " non-empty" : ""} string, got ${Json.describe(value)}`

const propertyIsEnumerable = Object.prototype.propertyIsEnumerable
const hasOwn = Object.prototype.hasOwnProperty

const describeThrown = (what: string, cause: unknown): string => `reading ${what} threw: ${Json.describeThrown(cause)}`

// A MessageTooLarge names the message's own id. When the walk stopped before reaching `messageId`, it
// is read now: for the first time (nothing of this message will be sent).
const idOfTooLarge = (record: Record<string, unknown>, seen: boolean, given: string | undefined, sources: Sources) => {
  if (seen) return given ?? sources.uuid()
  try {
    const value = propertyIsEnumerable.call(record, "messageId") ? record.messageId : undefined
    return messageIdProblem(value) === undefined ? value as string : sources.uuid()
  } catch {
    return sources.uuid()
  }
}

/** The failure of a sub-walk under `key`: its issue, or the message as too large. */
const failure = (
  w: Json.Walk,
  key: string,
  record: Record<string, unknown>,
  idSeen: boolean,
  given: string | undefined,
  sources: Sources,
  prefixBytes: number
): Invalid | TooLarge =>
  w.stopped
    ? { _tag: "TooLarge", messageId: idOfTooLarge(record, idSeen, given, sources), size: prefixBytes + w.bytes, exact: false }
    : invalid(Json.issueOf(w, [key])!.path, w.issue!.reason)

/**
 * Checks and writes one message of the given call type.
 *
 * @internal
 */
export const encode = (encoder: Encoder, type: MessageType, input: unknown, sources: Sources): Result => {
  const fields = rulesOf.get(type)
  if (fields === undefined) {
    const got = typeof type === "string" ? JSON.stringify(type) : Json.describe(type)
    return invalid(["type"], `expected one of ${messageTypes.join(", ")}, got ${got}`)
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return invalid([], `expected a ${type} message (an object), got ${Json.describe(input)}`)
  }
  const record = input as Record<string, unknown>
  try {
    const symbols = Object.getOwnPropertySymbols(record)
    if (symbols.length > 0) return invalid([String(symbols[0])], "is unexpected: a symbol key")
  } catch (cause) {
    return invalid([], describeThrown("the message", cause))
  }
  // The shared walk state, unless a getter of a message being written called in here again.
  const shared = encoder.walk
  const w = shared.busy ? new Json.Walk(2 * encoder.limit, true) : shared.reset()
  w.busy = true
  const result = write(encoder, type, fields, record, w, sources)
  w.busy = false
  return result
}

const write = (
  encoder: Encoder,
  type: MessageType,
  fields: ReadonlyMap<string, Rule>,
  record: Record<string, unknown>,
  w: Json.Walk,
  sources: Sources
): Result => {
  const prefix = encoder.prefixes[type]
  let given: string | undefined
  let idSeen = false
  let idText: string | undefined
  let body = ""
  let bodyNames = 0 // the UTF-8 size of the `,"key":` parts of body (not counted by the walk)
  let has = 0
  let timestamp: string | undefined
  let context: string | undefined
  let integrations: string | undefined
  // The key being read, for the path of a throw; between keys (a Proxy's enumeration) it is cleared.
  let key: string | undefined
  try {
    // The message's own enumerable properties, in order (the order of Object.keys).
    for (const name in record) {
      key = name
      member: {
        if (!hasOwn.call(record, name)) break member
        const rule = fields.get(name)
        if (rule === undefined) return unexpected(type, name)
        const field = rule.field
        if (field === Field.Type) break member
        const value = record[name]
        if (field === Field.MessageId) idSeen = true
        if (value === undefined) break member
        switch (field) {
          case Field.MessageId: {
            const problem = messageIdProblem(value)
            if (problem !== undefined) return invalid([name], problem)
            given = value as string
            idText = Json.writeString(w, given)
            if (idText === undefined) return failure(w, name, record, idSeen, given, sources, prefix.length)
            break
          }
          case Field.Id:
          case Field.Text: {
            if (typeof value !== "string" || (field === Field.Id && value.length === 0)) {
              return invalid([name], expectedString(value, field === Field.Id))
            }
            const text = Json.writeString(w, value)
            if (text === undefined) return failure(w, name, record, idSeen, given, sources, prefix.length)
            body += rule.name + text
            bodyNames += rule.name.length
            has |= rule.bit
            break
          }
          case Field.Object: {
            const text = Json.writeJsonObject(w, value, undefined, undefined)
            if (text === undefined) return failure(w, name, record, idSeen, given, sources, prefix.length)
            body += rule.name + text
            bodyNames += rule.name.length
            break
          }
          case Field.Timestamp: {
            timestamp = Timestamp.toWire(value)
            if (timestamp === undefined) return invalid([name], Timestamp.problem(value)!)
            break
          }
          case Field.Context: {
            // The message's context over the defaults; `library` is always the library's own.
            context = Json.writeJsonObject(w, value, encoder.context, "library")
            if (context === undefined) return failure(w, name, record, idSeen, given, sources, prefix.length)
            break
          }
          case Field.Integrations: {
            integrations = Json.writeIntegrations(w, value, encoder.integrations)
            if (integrations === undefined) return failure(w, name, record, idSeen, given, sources, prefix.length)
            break
          }
        }
      }
      key = undefined
    }
  } catch (cause) {
    // A getter of the message, or a trap of a Proxy (the nested walks catch their own).
    return invalid(key === undefined ? [] : [key], describeThrown(key === undefined ? "the message" : "it", cause))
  }
  if (type === "track" && (has & eventBit) === 0) return invalid(["event"], "is required: a non-empty string")
  if (type === "group" && (has & groupIdBit) === 0) return invalid(["groupId"], "is required: a non-empty string")
  if (type === "alias") {
    if ((has & userIdBit) === 0) return invalid(["userId"], "is required: a non-empty string")
    if ((has & previousIdBit) === 0) return invalid(["previousId"], "is required: a non-empty string")
  } else if ((has & (userIdBit | anonymousIdBit)) === 0) {
    return invalid(["userId"], "a userId or an anonymousId is required")
  }

  const messageId = given ?? sources.uuid()
  // prefix, id, `,"timestamp":` and its 26, body, `,"context":` and context, integrations, `}`
  let bytes = prefix.length + w.bytes + bodyNames + 13 + 26 + 11 + 1
  if (idText === undefined) bytes += 38
  if (context === undefined) bytes += encoder.context.bytes
  if (integrations !== undefined) bytes += 16
  else if (encoder.integrations !== undefined) bytes += 16 + encoder.integrations.bytes
  if (bytes > encoder.limit) return { _tag: "TooLarge", messageId, size: bytes, exact: true }
  const json = prefix + (idText ?? "\"" + messageId + "\"") + ",\"timestamp\":\"" + (timestamp ?? sources.now()) + "\"" +
    body + ",\"context\":" + (context ?? encoder.context.json) +
    (integrations !== undefined
      ? ",\"integrations\":" + integrations
      : encoder.integrations !== undefined
      ? ",\"integrations\":" + encoder.integrations.json
      : "") +
    "}"
  // The text was built by concatenation: a rope of thousands of pieces for a large message. Queued, a
  // rope takes about 8 times the memory of its text and slows the garbage collector; reading one
  // character makes the engine flatten it into one string now, while the pieces are still young.
  json.charCodeAt(0)
  return { type, messageId, json, bytes }
}
