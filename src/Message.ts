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
import * as Json from "./internal/core/json.js"
import * as Core from "./internal/core/message.js"
import * as Timestamps from "./internal/core/timestamp.js"

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

const jsonIssue = (ast: AST.AST, input: unknown, found: Json.Issue): ParseResult.ParseIssue =>
  found.path.length === 0
    ? new ParseResult.Type(ast, input, found.reason)
    : new ParseResult.Pointer(
      found.path as [PropertyKey, ...Array<PropertyKey>],
      input,
      new ParseResult.Type(ast, input, found.reason)
    )

// A Schema whose values are judged by one of the core's checks (the same as the call path's).
const checkedBy = <A>(
  check: (input: unknown) => Json.Issue | undefined,
  annotations: Schema.Annotations.Schema<A>
): Schema.Schema<A> =>
  Schema.declare<A, A, readonly []>(
    [],
    {
      decode: () => (input, _options, ast) => {
        const found = check(input)
        return found === undefined ? ParseResult.succeed(input as A) : ParseResult.fail(jsonIssue(ast, input, found))
      },
      encode: () => (input) => ParseResult.succeed(input as A)
    },
    annotations
  )

/**
 * Schema of a JSON object whose every value JSON carries faithfully: `null`, booleans, strings,
 * finite numbers, arrays without holes or `undefined`, plain objects (prototype `Object.prototype` or
 * `null`; their own enumerable string keys) and `Date`s of the years 0000-9999. Functions, symbols
 * (as values or as keys), bigints, cycles, `NaN` and `Infinity`, class instances, objects or arrays
 * with a `toJSON` method, and nesting deeper than 64 levels are rejected with the path of the
 * offending value. A value shared by several properties is checked once.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JsonObject: Schema.Schema<JsonObject> = checkedBy<JsonObject>(Json.checkJsonObject, {
  identifier: "JsonObject",
  description: "a JSON object",
  arbitrary: jsonObjectArbitrary
})

// Dates inside the years 0000-9999, away from the ends so that any zone offset keeps them inside.
const dateArbitrary = (fc: Parameters<Arbitrary.LazyArbitrary<Date>>[0]) =>
  fc.date({
    min: new Date(Timestamps.minMillis + 86_400_000),
    max: new Date(Timestamps.maxMillis - 86_400_000),
    noInvalidDate: true
  })

const pad2 = (n: number) => String(n).padStart(2, "0")

/**
 * An ISO-8601 date-time with a zone, such as `2024-02-29T13:45:00.000Z` or
 * `2024-02-29T14:45:00+01:00`: a real date of the years 0000 to 9999 (after conversion to UTC), a time
 * of day with or without seconds and fractions, and `Z` or an offset `±hh:mm`. A date alone, a time
 * without a zone (it would be read as local time) and an impossible date (`2023-02-30`) are rejected.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IsoTimestamp = Schema.String.pipe(
  Schema.filter((s) => Timestamps.stringProblem(s)),
  Schema.annotations({
    identifier: "IsoTimestamp",
    description: "an ISO-8601 date-time with a zone",
    arbitrary: () => (fc) =>
      fc.tuple(dateArbitrary(fc), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), fc.boolean()).map(
        ([date, offset, utc]) => {
          if (utc) return date.toISOString()
          const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 23)
          const abs = Math.abs(offset)
          return `${local}${offset < 0 ? "-" : "+"}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
        }
      )
  })
)

/**
 * When the event happened: a valid `Date` of the years 0000-9999, or an ISO-8601 date-time with a
 * zone (`IsoTimestamp`). Leave it out for "now" (read from Effect's `Clock`); set it in the past for a
 * historical import. It is sent in one normalized form, `YYYY-MM-DDTHH:mm:ss.sssZ` in UTC, made by the
 * library (never by a method of the value).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timestamp = Schema.Union(
  Schema.DateFromSelf.pipe(
    Schema.filter((d) => Timestamps.dateProblem(d)),
    Schema.annotations({ arbitrary: () => (fc) => dateArbitrary(fc) })
  ),
  IsoTimestamp
).annotations({
  message: (issue) => ({
    message: Timestamps.problem(issue.actual) ??
      "expected a valid Date or an ISO-8601 date-time with a zone, such as 2024-02-29T13:45:00.000Z",
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
 * A message id: the server's dedupe key, a non-empty string of fewer than 100 characters (UTF-16
 * units). Generated (a random UUID v4) when left out.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MessageId = Schema.String.pipe(
  Schema.filter((s) => Core.messageIdProblem(s)),
  Schema.annotations({
    identifier: "MessageId",
    arbitrary: () => (fc) => fc.string({ minLength: 1, maxLength: Core.messageIdLimit - 1 })
  })
)

/**
 * Which destinations receive a message: `{ All: false, Mixpanel: true }`. Names are case-sensitive.
 * `All` is `true` or `false`; a destination's value is `true`, `false`, or a JSON object of settings
 * for it. A destination whose value is `undefined` is left out.
 *
 * @since 0.1.0
 * @category models
 */
export interface Integrations {
  readonly All?: boolean | undefined
  readonly [destination: string]: boolean | JsonObject | undefined
}

/**
 * Schema of `Integrations`. A bad value is reported at its own path, inside a settings object too.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Integrations: Schema.Schema<Integrations> = checkedBy<Integrations>(Json.checkIntegrations, {
  identifier: "Integrations",
  description: "an object of destinations: { All?: boolean, [name]: boolean | object }",
  arbitrary: () => (fc) =>
    fc.tuple(
      fc.option(fc.boolean(), { nil: undefined }),
      fc.dictionary(
        fc.string().filter((key) => key !== "__proto__" && key !== "All"),
        fc.oneof(fc.boolean(), jsonObjectArbitrary()(fc)),
        { maxKeys: 4 }
      )
    ).map(([all, destinations]) => (all === undefined ? destinations : { All: all, ...destinations }) as Integrations)
})

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

// Page and screen views carry the same fields; only their `type` differs.
const view = <T extends "page" | "screen">(type: T) =>
  Schema.Struct({
    type: Schema.Literal(type),
    ...identityFields,
    name: Schema.optional(Schema.String),
    category: Schema.optional(Schema.String),
    properties: Schema.optional(JsonObject),
    ...commonFields
  }).pipe(Schema.filter(identityRule))

/**
 * `page`: a page view on a website.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Page = view("page").annotations({ identifier: "Page" })

/**
 * `screen`: a screen view in a mobile app.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Screen = view("screen").annotations({ identifier: "Screen" })

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
    Effect.mapError((error) => new ParseResult.ParseError({ issue: firstIssue(error.issue) })),
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

// Keeps only the first problem of every composite issue (a union reports one issue per member), so
// that formatting describes the first problem only and never looks at the other members' values.
const firstIssue = (issue: ParseResult.ParseIssue): ParseResult.ParseIssue => {
  switch (issue._tag) {
    case "Composite": {
      const inner = Array.isArray(issue.issues) ? issue.issues[0]! : issue.issues as ParseResult.ParseIssue
      return new ParseResult.Composite(issue.ast, issue.actual, firstIssue(inner), issue.output)
    }
    case "Pointer":
      return new ParseResult.Pointer(issue.path, issue.actual, firstIssue(issue.issue))
    case "Refinement":
      return new ParseResult.Refinement(issue.ast, issue.actual, issue.kind, firstIssue(issue.issue))
    case "Transformation":
      return new ParseResult.Transformation(issue.ast, issue.actual, issue.kind, firstIssue(issue.issue))
    default:
      return issue
  }
}
