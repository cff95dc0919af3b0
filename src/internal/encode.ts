/**
 * Validation, enrichment and the one serialization of each message.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import { InvalidMessage, MessageTooLarge } from "../AnalyticsError.js"
import * as Message from "../Message.js"
import * as Ids from "./ids.js"
import * as Json from "./json.js"
import * as Validate from "./validate.js"
import * as Version from "./version.js"

/** @internal */
export interface EncoderSettings {
  readonly maxMessageBytes: number
  readonly defaultContext: Message.JsonObject | undefined
  readonly defaultIntegrations: Message.Integrations | undefined
}

const utf8 = new TextEncoder()

/**
 * The UTF-8 size of a string, counted without allocating.
 *
 * @internal
 */
export const utf8Length = (s: string): number => {
  let bytes = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) bytes += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        // a surrogate pair: 4 bytes for 2 UTF-16 units
        bytes += 2
        i++
      } else bytes += 2
    } else bytes += 2
  }
  return bytes
}

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Date)

/**
 * Deep-merges `override` onto `base`: nested plain objects merge, anything else in `override` wins.
 *
 * @internal
 */
export const deepMerge = (base: Message.JsonObject, override: Message.JsonObject): Message.JsonObject => {
  const out: Record<string, unknown> = { ...base }
  for (const key in override) {
    const value = override[key]
    const current = out[key]
    const merged = isPlainObject(current) && isPlainObject(value)
      ? deepMerge(current as Message.JsonObject, value as Message.JsonObject)
      : value
    // `out.__proto__ = x` would set the prototype (and JSON would lose the key): define it instead.
    if (key === "__proto__") {
      Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true })
    } else out[key] = merged
  }
  return out as Message.JsonObject
}

const parseOptions = { errors: "first", onExcessProperty: "error" } as const

const pathKey = (key: PropertyKey): string | number => typeof key === "symbol" ? String(key) : key

// The path of the first problem, without formatting any value.
const firstPath = (issue: ParseResult.ParseIssue): Array<string | number> => {
  const path: Array<string | number> = []
  for (let current: ParseResult.ParseIssue | undefined = issue; current !== undefined;) {
    switch (current._tag) {
      case "Pointer":
        if (Array.isArray(current.path)) for (const key of current.path) path.push(pathKey(key))
        else path.push(pathKey(current.path as PropertyKey))
        current = current.issue
        break
      case "Composite":
        current = Array.isArray(current.issues) ? current.issues[0] : current.issues as ParseResult.ParseIssue
        break
      case "Refinement":
      case "Transformation":
        current = current.issue
        break
      default:
        current = undefined
    }
  }
  return path
}

const toInvalid = (type: string, issue: ParseResult.ParseIssue): Effect.Effect<InvalidMessage> => {
  const first = Json.firstIssue(issue)
  return Effect.suspend(() => ParseResult.ArrayFormatter.formatIssue(first)).pipe(
    Effect.map((issues): InvalidMessage => {
      const formatted = issues[0]
      return new InvalidMessage({
        messageType: type,
        path: formatted ? formatted.path.map(pathKey) : firstPath(first),
        reason: formatted ? formatted.message : "invalid message"
      })
    }),
    // Describing the offending value can run the user's getters; one that throws must not become a
    // defect of the call.
    Effect.catchAllDefect(() =>
      Effect.succeed(new InvalidMessage({ messageType: type, path: firstPath(first), reason: "invalid value" }))
    )
  )
}

const unknownTypeReason = (type: unknown): string => {
  const got = typeof type === "string" ? JSON.stringify(type) : typeof type
  return `expected one of ${Object.keys(Message.schemas).join(", ")}, got ${got}`
}

// The values were validated already; this only guards against a `toJSON` or a getter that throws
// while serializing, which must not become a defect.
const stringify = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

const decodeIntegrations = ParseResult.decodeUnknownEither(Message.Integrations, parseOptions)

// The client-wide defaults are checked once, when the client is built: a default that JSON cannot
// carry would otherwise be dropped or fail the serialization of every message. Each call then fails
// with an error that names the option.
const checkDefaults = (
  settings: EncoderSettings
): { readonly path: Array<string | number>; readonly reason: string } | undefined => {
  if (settings.defaultContext !== undefined) {
    const found = Json.findJsonObjectIssue(settings.defaultContext)
    if (found !== undefined) {
      return { path: ["context", ...found.path], reason: `the client's defaultContext is invalid: ${found.reason}` }
    }
  }
  if (settings.defaultIntegrations !== undefined) {
    const decoded = decodeIntegrations(settings.defaultIntegrations)
    if (Either.isLeft(decoded)) {
      return {
        path: ["integrations", ...firstPath(decoded.left)],
        reason: "the client's defaultIntegrations is invalid: expected { All?: boolean, [name]: boolean | object }"
      }
    }
  }
  return undefined
}

type Decode = (u: unknown) => Either.Either<Message.Message, ParseResult.ParseIssue>

// A getter or a proxy trap that throws while the input is read must not become a defect.
const decodeInput = (
  decode: Decode,
  type: Message.MessageType,
  input: unknown
): Either.Either<Message.Message, ParseResult.ParseIssue> | InvalidMessage => {
  try {
    return decode(typeof input === "object" && input !== null ? { ...input, type } : input)
  } catch (cause) {
    return new InvalidMessage({ messageType: type, path: [], reason: `reading the message threw: ${describeThrown(cause)}` })
  }
}

const describeThrown = (cause: unknown): string => {
  try {
    return cause instanceof Error ? cause.message : String(cause)
  } catch {
    return "an unprintable value"
  }
}

// A getter or proxy that throws while the fast check reads it sends the input to the Schema, which
// reports it as an InvalidMessage.
const isValidSafely = (type: Message.MessageType, input: unknown): boolean => {
  try {
    return Validate.isValid(type, input)
  } catch {
    return false
  }
}

/** @internal */
export type Encoder = (
  type: Message.MessageType,
  input: unknown
) => Effect.Effect<Message.EncodedMessage, InvalidMessage | MessageTooLarge>

/**
 * A message ready for the queue: its wire form, its size, and the batcher's position counter `seq`
 * (set when the message is queued).
 *
 * @internal
 */
export type Encoded = Message.EncodedMessage & { seq: number }

/**
 * The synchronous encoder of the call path: an `Encoded` message, or an Effect that fails with the
 * typed error. No Effect runs for a valid message.
 *
 * @internal
 */
export type EncodeSync = (
  type: Message.MessageType,
  input: unknown
) => Encoded | Effect.Effect<never, InvalidMessage | MessageTooLarge>

const failEffect = (error: InvalidMessage | MessageTooLarge): Effect.Effect<never, InvalidMessage | MessageTooLarge> =>
  Effect.fail(error)

// The Schemas' decoders, compiled once for every client. No prototype: an unknown `type` such as
// "toString" finds nothing.
const decoders = Object.create(null) as Partial<Record<Message.MessageType, Decode>>
for (const [type, schema] of Object.entries(Message.schemas)) {
  decoders[type as Message.MessageType] = ParseResult.decodeUnknownEither(
    schema as Schema.Schema<Message.Message, Message.Message>,
    parseOptions
  )
}

/**
 * Builds the encoder a client uses for every call: validate (a fast check, or the call's Schema when
 * the fast check cannot accept the input), fill `messageId` and `timestamp`, merge the default context
 * and integrations, set `context.library`, serialize once, and check the size of that serialization.
 *
 * @internal
 */
export const makeEncodeSync = (settings: EncoderSettings, ids: Ids.Ids): EncodeSync => {
  const defaultsProblem = checkDefaults(settings)
  const library = { name: Version.name, version: Version.version }
  const libraryContext: Message.JsonObject = { library }
  const defaultContext = settings.defaultContext === undefined
    ? libraryContext
    : deepMerge(settings.defaultContext, libraryContext)
  // The message's context over the defaults, then ours: `deepMerge` returns a fresh object.
  const withLibrary = (context: Message.JsonObject): Message.JsonObject => {
    const merged = deepMerge(defaultContext, context) as Record<string, unknown>
    merged.library = library
    return merged as Message.JsonObject
  }
  const defaultIntegrations = settings.defaultIntegrations
  const limit = settings.maxMessageBytes
  const scratch = new Uint8Array(limit)

  const measure = (json: string): number => {
    // encodeInto stops when the buffer is full: a message that fits is measured exactly, one that does
    // not is counted on the (rare) error path only.
    const result = utf8.encodeInto(json, scratch)
    return result.read === json.length ? result.written : utf8Length(json)
  }

  const sized = (type: Message.MessageType, messageId: string, json: string) => {
    const bytes = measure(json)
    if (bytes > limit) {
      return failEffect(new MessageTooLarge({ messageType: type, messageId, size: bytes, limit }))
    }
    return { type, messageId, json, bytes, seq: -1 }
  }
  const prefixes = {} as Record<Message.MessageType, string>
  for (const type of Object.keys(Message.schemas) as Array<Message.MessageType>) {
    prefixes[type] = `{"type":${JSON.stringify(type)},"messageId":"`
  }
  // (An invalid default fails every call above, so a serialization that throws is never used.)
  const defaultsTail = `,"context":${stringify(defaultContext) ?? "{}"}` +
    (defaultIntegrations === undefined ? "" : `,"integrations":${stringify(defaultIntegrations) ?? "{}"}`) + "}"

  return (type, input) => {
    if (defaultsProblem !== undefined) {
      return failEffect(new InvalidMessage({ messageType: String(type), ...defaultsProblem }))
    }
    let message: Record<string, any>
    if (isValidSafely(type, input)) {
      // The fast check accepts only what the Schema accepts, and leaves the value as the Schema would.
      message = input as Record<string, any>
    } else {
      const decode = decoders[type]
      if (decode === undefined) {
        return failEffect(
          new InvalidMessage({ messageType: String(type), path: ["type"], reason: unknownTypeReason(type) })
        )
      }
      const decoded = decodeInput(decode, type, input)
      if (decoded instanceof InvalidMessage) return failEffect(decoded)
      if (Either.isLeft(decoded)) return Effect.flip(toInvalid(type, decoded.left))
      message = decoded.right
    }
    const given = message.timestamp as Message.Timestamp | undefined
    const messageId: string = message.messageId ?? ids.uuid()
    const timestamp = given === undefined ? ids.now() : typeof given === "string" ? given : given.toISOString()
    if (
      message.context === undefined && message.integrations === undefined && message.type === undefined &&
      message.messageId === undefined && message.timestamp === undefined
    ) {
      // The common case: serialize the caller's object as it is, and put the generated fields and the
      // pre-serialized default context around it (JSON leaves out keys whose value is undefined).
      const inner = stringify(message)
      if (inner !== undefined && inner.length > 2) {
        const json = prefixes[type] + messageId + "\",\"timestamp\":\"" + timestamp + "\"," + inner.slice(1, -1) +
          defaultsTail
        return sized(type, messageId, json)
      }
    }
    const context = message.context === undefined ? defaultContext : withLibrary(message.context)
    // The new keys come first and the message's own after: V8 copies into a literal with known keys
    // much faster than it appends keys to a spread. The four are then set again over the message's.
    const wire: Record<string, unknown> = { type, messageId, timestamp, context, ...message }
    wire.type = type
    wire.messageId = messageId
    wire.timestamp = timestamp
    wire.context = context
    if (defaultIntegrations !== undefined) {
      wire.integrations = message.integrations === undefined
        ? defaultIntegrations
        : { ...defaultIntegrations, ...message.integrations }
    }
    const json = stringify(wire)
    if (json === undefined) {
      return failEffect(
        new InvalidMessage({ messageType: type, path: [], reason: "JSON.stringify failed on the message" })
      )
    }
    return sized(type, messageId, json)
  }
}

/**
 * The encoder as an Effect-returning function, with ids and time from the `Random` and `Clock` in
 * context at each call (for tests and tools; the client uses `makeEncodeSync`).
 *
 * @internal
 */
export const makeEncoder = (settings: EncoderSettings): Encoder => (type, input) =>
  Effect.flatMap(Ids.make, (ids) => {
    const result = makeEncodeSync(settings, ids)(type, input)
    return Effect.isEffect(result) ? result : Effect.succeed(result)
  })
