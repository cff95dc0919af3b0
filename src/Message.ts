/**
 * The six Segment calls as Effect Schemas: `identify`, `track`, `page`, `screen`, `group`, `alias`.
 *
 * Each schema carries a `type` literal, so `Message` (their union) decodes any Segment message, for
 * example a line of an NDJSON import. The `...Input` types are what the `Analytics` calls take: the same
 * fields without `type`, with the identity rule ("`userId` or `anonymousId`") in the type, so that
 * `Analytics.track({ event: "Signed Up" })` does not compile.
 *
 * @since 0.1.0
 */
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import * as Json from "./internal/json.js"
import { isIsoTimestamp } from "./internal/validate.js"

/**
 * A value JSON carries faithfully. A `Date` is allowed and is sent as its ISO-8601 string.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | Date
  | ReadonlyArray<JsonValue>
  | { readonly [key: string]: JsonValue | undefined }

/**
 * A JSON object: the shape of `properties`, `traits` and `context`. A property whose value is
 * `undefined` is left out, as `JSON.stringify` does.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonObject = { readonly [key: string]: JsonValue | undefined }

const jsonObjectArbitrary = (): Arbitrary.LazyArbitrary<JsonObject> => (fc) =>
  fc.dictionary(
    fc.string().filter((key) => key !== "__proto__"),
    fc.jsonValue({ maxDepth: 3 }) as any,
    { maxKeys: 8 }
  ) as any

const jsonIssue = (ast: AST.AST, input: unknown, found: Json.JsonIssue): ParseResult.ParseIssue =>
  found.path.length === 0
    ? new ParseResult.Type(ast, input, found.reason)
    : new ParseResult.Pointer(
      found.path as [PropertyKey, ...Array<PropertyKey>],
      input,
      new ParseResult.Type(ast, input, found.reason)
    )

/**
 * Schema of a JSON object whose every value JSON carries faithfully. Functions, symbols, bigints,
 * cycles, non-finite numbers, `undefined` inside arrays, sparse arrays, class instances other than
 * `Date`, and nesting deeper than 64 levels are rejected with the path of the offending value.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JsonObject: Schema.Schema<JsonObject> = Schema.declare<JsonObject, JsonObject, readonly []>(
  [],
  {
    decode: () => (input, _options, ast) => {
      const found = Json.findJsonObjectIssue(input)
      return found === undefined ? ParseResult.succeed(input as JsonObject) : ParseResult.fail(jsonIssue(ast, input, found))
    },
    encode: () => (input) => ParseResult.succeed(input as JsonObject)
  },
  {
    identifier: "JsonObject",
    description: "a JSON object",
    arbitrary: jsonObjectArbitrary
  }
)

/**
 * An ISO-8601 date or date-time string, such as `2024-02-29T13:45:00.000Z` or `2024-02-29`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IsoTimestamp = Schema.String.pipe(
  Schema.filter(isIsoTimestamp, {
    message: () => "expected an ISO-8601 timestamp, such as 2024-02-29T13:45:00.000Z"
  }),
  Schema.annotations({
    identifier: "IsoTimestamp",
    arbitrary: () => (fc) =>
      fc.date({ min: new Date("1970-01-01T00:00:00.000Z"), max: new Date("2999-12-31T23:59:59.999Z"), noInvalidDate: true })
        .map((d) => d.toISOString())
  })
)

/**
 * When the event happened: a valid `Date` or an ISO-8601 string. Leave it out for "now" (read from
 * Effect's `Clock`); set it in the past for a historical import.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timestamp = Schema.Union(
  Schema.DateFromSelf.pipe(
    Schema.filter((d) => !Number.isNaN(d.getTime()), { message: () => "expected a valid Date" }),
    Schema.annotations({
      arbitrary: () => (fc) =>
        fc.date({ min: new Date("1970-01-01T00:00:00.000Z"), max: new Date("2999-12-31T23:59:59.999Z"), noInvalidDate: true })
    })
  ),
  IsoTimestamp
).annotations({
  message: () => ({
    message: "expected a valid Date or an ISO-8601 string, such as 2024-02-29T13:45:00.000Z",
    override: true
  })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Timestamp = typeof Timestamp.Type

const NonEmptyString = Schema.String.pipe(
  Schema.filter((s) => s.length > 0, { message: () => "expected a non-empty string" })
)

/**
 * A message id: the server's dedupe key, 1 to 100 characters. Generated (a random UUID v4) when left
 * out.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MessageId = Schema.String.pipe(
  Schema.filter((s) => s.length > 0 && s.length <= 100, {
    message: () => "expected a non-empty string of at most 100 characters"
  })
)

// One destination's entry: `true`, `false` or a JSON object of settings. A declaration rather than a
// union, so that a bad value inside a settings object is reported at its own path.
const IntegrationSettings: Schema.Schema<boolean | JsonObject> = Schema.declare<
  boolean | JsonObject,
  boolean | JsonObject,
  readonly []
>(
  [],
  {
    decode: () => (input, _options, ast) => {
      if (typeof input === "boolean") return ParseResult.succeed(input)
      const found = Json.findJsonObjectIssue(input)
      if (found === undefined) return ParseResult.succeed(input as JsonObject)
      return ParseResult.fail(
        found.path.length === 0
          ? new ParseResult.Type(ast, input, "expected true, false or a JSON object of settings")
          : jsonIssue(ast, input, found)
      )
    },
    encode: () => (input) => ParseResult.succeed(input as boolean | JsonObject)
  },
  {
    identifier: "IntegrationSettings",
    description: "true, false or a JSON object of settings",
    arbitrary: () => (fc) => fc.oneof(fc.boolean(), jsonObjectArbitrary()(fc))
  }
)

/**
 * Which destinations receive a message: `{ All: false, Mixpanel: true }`. Names are case-sensitive.
 * A destination's value is `true`, `false`, or an object of settings for it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Integrations = Schema.Struct(
  // Exact optional (`All?: boolean`, no `| undefined`): the index signature's values are
  // `boolean | JsonObject`, so `undefined` is refused for `All` as for any other key, and the
  // emitted declarations stay valid under `exactOptionalPropertyTypes`.
  { All: Schema.optionalWith(Schema.Boolean, { exact: true }) },
  Schema.Record({ key: Schema.String, value: IntegrationSettings })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Integrations = typeof Integrations.Type

const commonFields = {
  messageId: Schema.optional(MessageId),
  timestamp: Schema.optional(Timestamp),
  context: Schema.optional(JsonObject),
  integrations: Schema.optional(Integrations)
}

const identityFields = {
  userId: Schema.optional(NonEmptyString),
  anonymousId: Schema.optional(NonEmptyString)
}

const identityRule = (message: { readonly userId?: string | undefined; readonly anonymousId?: string | undefined }) =>
  message.userId !== undefined || message.anonymousId !== undefined ||
  { path: ["userId"], message: "a userId or an anonymousId is required" }

/**
 * `identify`: who the user is, and traits about them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Identify = Schema.Struct({
  type: Schema.Literal("identify"),
  ...identityFields,
  traits: Schema.optional(JsonObject),
  ...commonFields
}).pipe(Schema.filter(identityRule), Schema.annotations({ identifier: "Identify" }))

/**
 * `track`: an action the user performed. `event` is required and non-empty.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Track = Schema.Struct({
  type: Schema.Literal("track"),
  ...identityFields,
  event: NonEmptyString,
  properties: Schema.optional(JsonObject),
  ...commonFields
}).pipe(Schema.filter(identityRule), Schema.annotations({ identifier: "Track" }))

/**
 * `page`: a page view on a website.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Page = Schema.Struct({
  type: Schema.Literal("page"),
  ...identityFields,
  name: Schema.optional(Schema.String),
  category: Schema.optional(Schema.String),
  properties: Schema.optional(JsonObject),
  ...commonFields
}).pipe(Schema.filter(identityRule), Schema.annotations({ identifier: "Page" }))

/**
 * `screen`: a screen view in a mobile app.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Screen = Schema.Struct({
  type: Schema.Literal("screen"),
  ...identityFields,
  name: Schema.optional(Schema.String),
  category: Schema.optional(Schema.String),
  properties: Schema.optional(JsonObject),
  ...commonFields
}).pipe(Schema.filter(identityRule), Schema.annotations({ identifier: "Screen" }))

/**
 * `group`: ties the user to a group (a company, an account, a team). `groupId` is required.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Group = Schema.Struct({
  type: Schema.Literal("group"),
  ...identityFields,
  groupId: NonEmptyString,
  traits: Schema.optional(JsonObject),
  ...commonFields
}).pipe(Schema.filter(identityRule), Schema.annotations({ identifier: "Group" }))

/**
 * `alias`: one identity is another. `userId` and `previousId` are required.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Alias = Schema.Struct({
  type: Schema.Literal("alias"),
  userId: NonEmptyString,
  previousId: NonEmptyString,
  anonymousId: Schema.optional(NonEmptyString),
  ...commonFields
}).pipe(Schema.annotations({ identifier: "Alias" }))

/**
 * Any of the six messages, told apart by `type`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Message = Schema.Union(Identify, Track, Page, Screen, Group, Alias)

/**
 * @since 0.1.0
 * @category models
 */
export type Identify = typeof Identify.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Track = typeof Track.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Page = typeof Page.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Screen = typeof Screen.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Group = typeof Group.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Alias = typeof Alias.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Message = typeof Message.Type

/**
 * The six call types.
 *
 * @since 0.1.0
 * @category models
 */
export type MessageType = Message["type"]

/**
 * The identity every call but `alias` needs: a `userId`, an `anonymousId`, or both.
 *
 * @since 0.1.0
 * @category models
 */
export type Identity =
  | { readonly userId: string; readonly anonymousId?: string | undefined }
  | { readonly userId?: string | undefined; readonly anonymousId: string }

type InputOf<M> = Omit<M, "type" | "userId" | "anonymousId">

/**
 * What `Analytics.identify` takes.
 *
 * @example
 * ```ts
 * import type { Message } from "analytics-effect"
 *
 * const input: Message.IdentifyInput = {
 *   userId: "019mr8mf4r",
 *   traits: { name: "Michael Bolton", email: "mbolton@example.com", plan: "Enterprise", friends: 42 }
 * }
 * ```
 *
 * @since 0.1.0
 * @category inputs
 */
export type IdentifyInput = Identity & InputOf<Identify>
/**
 * What `Analytics.track` takes.
 *
 * @since 0.1.0
 * @category inputs
 */
export type TrackInput = Identity & InputOf<Track>
/**
 * What `Analytics.page` takes.
 *
 * @since 0.1.0
 * @category inputs
 */
export type PageInput = Identity & InputOf<Page>
/**
 * What `Analytics.screen` takes.
 *
 * @since 0.1.0
 * @category inputs
 */
export type ScreenInput = Identity & InputOf<Screen>
/**
 * What `Analytics.group` takes.
 *
 * @since 0.1.0
 * @category inputs
 */
export type GroupInput = Identity & InputOf<Group>
/**
 * What `Analytics.alias` takes.
 *
 * @since 0.1.0
 * @category inputs
 */
export type AliasInput = Omit<Alias, "type">

/**
 * A message after validation, enrichment and its one serialization: what the batcher queues and a
 * `Transport` sends. `json` is the message's wire form; `bytes` its UTF-8 size.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodedMessage {
  readonly type: MessageType
  readonly messageId: string
  readonly json: string
  readonly bytes: number
}

/**
 * The schema of each call type, by `type`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schemas = {
  identify: Identify,
  track: Track,
  page: Page,
  screen: Screen,
  group: Group,
  alias: Alias
} as const

/**
 * Decodes an unknown value (for example a parsed line of an import file) as a `Message`, failing with
 * the `ParseError` of the first problem found.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown = (input: unknown): Effect.Effect<Message, ParseResult.ParseError> =>
  Effect.suspend(() => decodeMessage(input)).pipe(
    // Only the first problem: its description never reads the values of the union's other members.
    Effect.mapError((error) => new ParseResult.ParseError({ issue: Json.firstIssue(error.issue) })),
    // A getter or a proxy trap of the input that throws is a problem of the input, not a defect.
    Effect.catchAllDefect(() =>
      Effect.fail(
        new ParseResult.ParseError({
          issue: new ParseResult.Type(Message.ast, input, "reading the value threw; JSON cannot encode it")
        })
      )
    )
  )

const decodeMessage = Schema.decodeUnknown(Message, { errors: "first", onExcessProperty: "error" })
