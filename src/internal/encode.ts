/**
 * Validation, enrichment and the one serialization of each message.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import type * as Schema from "effect/Schema"
import { InvalidMessage, MessageTooLarge } from "../AnalyticsError.js"
import * as Message from "../Message.js"
import * as Version from "./version.js"

/** @internal */
export interface EncoderSettings {
  readonly maxMessageBytes: number
  readonly defaultContext: Message.JsonObject | undefined
  readonly defaultIntegrations: Message.Integrations | undefined
}

const hex = (n: number): string => (n % 0x1000000000000).toString(16).padStart(12, "0")

/**
 * A random UUID v4 from Effect's `Random` service (122 random bits from three 53-bit draws), so tests
 * can seed it.
 *
 * @internal
 */
export const randomUuid: Effect.Effect<string> = Effect.map(
  Effect.all([Random.nextInt, Random.nextInt, Random.nextInt]),
  ([a, b, c]) => uuidFromInts(a, b, c)
)

/** @internal */
export const uuidFromInts = (a: number, b: number, c: number): string => {
  const h = hex(a) + hex(b) + hex(c)
  const variant = "89ab"[parseInt(h[16]!, 16) & 3]
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
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
    out[key] = isPlainObject(current) && isPlainObject(value)
      ? deepMerge(current as Message.JsonObject, value as Message.JsonObject)
      : value
  }
  return out as Message.JsonObject
}

const parseOptions = { errors: "first", onExcessProperty: "error" } as const

const toInvalid = (type: string, issue: ParseResult.ParseIssue): Effect.Effect<InvalidMessage> =>
  Effect.map(ParseResult.ArrayFormatter.formatIssue(issue), (issues) => {
    const first = issues[0]
    return new InvalidMessage({
      messageType: type,
      path: first ? first.path.map((p) => typeof p === "symbol" ? String(p) : p) : [],
      reason: first ? first.message : "invalid message"
    })
  })

/** @internal */
export type Encoder = (
  type: Message.MessageType,
  input: unknown
) => Effect.Effect<Message.EncodedMessage, InvalidMessage | MessageTooLarge>

/**
 * Builds the encoder a client uses for every call: decode with the call's Schema, fill `messageId`
 * and `timestamp`, merge the default context and integrations, set `context.library`, serialize once,
 * and check the size of that serialization.
 *
 * @internal
 */
export const makeEncoder = (settings: EncoderSettings): Encoder => {
  const decoders = {} as Record<
    Message.MessageType,
    (u: unknown) => Either.Either<Message.Message, ParseResult.ParseIssue>
  >
  for (const [type, schema] of Object.entries(Message.schemas)) {
    decoders[type as Message.MessageType] = ParseResult.decodeUnknownEither(
      schema as Schema.Schema<Message.Message, Message.Message>,
      parseOptions
    )
  }
  const library = { name: Version.name, version: Version.version }
  const libraryContext: Message.JsonObject = { library }
  const defaultContext = settings.defaultContext === undefined
    ? libraryContext
    : deepMerge(settings.defaultContext, libraryContext)
  const defaultIntegrations = settings.defaultIntegrations
  const limit = settings.maxMessageBytes
  const scratch = new Uint8Array(limit)

  const measure = (json: string): number => {
    // encodeInto stops when the buffer is full: a message that fits is measured exactly, one that does
    // not is counted on the (rare) error path only.
    const result = utf8.encodeInto(json, scratch)
    return result.read === json.length ? result.written : utf8Length(json)
  }

  return (type, input) =>
    Effect.gen(function*() {
      const raw = typeof input === "object" && input !== null ? { ...input, type } : input
      const decoded = decoders[type](raw)
      if (Either.isLeft(decoded)) {
        return yield* Effect.flip(toInvalid(type, decoded.left))
      }
      const message = decoded.right
      const messageId = message.messageId ?? (yield* randomUuid)
      const timestamp = message.timestamp === undefined
        ? new Date(yield* Clock.currentTimeMillis).toISOString()
        : typeof message.timestamp === "string"
        ? message.timestamp
        : message.timestamp.toISOString()
      const context = message.context === undefined
        ? defaultContext
        : deepMerge(deepMerge(defaultContext, message.context), libraryContext)
      const wire: Record<string, unknown> = { ...message, messageId, timestamp, context }
      if (defaultIntegrations !== undefined) {
        wire.integrations = message.integrations === undefined
          ? defaultIntegrations
          : { ...defaultIntegrations, ...message.integrations }
      }
      const json = JSON.stringify(wire)
      const bytes = measure(json)
      if (bytes > limit) {
        return yield* Effect.fail(new MessageTooLarge({ messageType: type, messageId, size: bytes, limit }))
      }
      // `seq` is the batcher's position counter, set when the message is queued.
      return { type, messageId, json, bytes, seq: -1 }
    })
}
