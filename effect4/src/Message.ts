/**
 * The six Segment calls as Effect Schemas: `identify`, `track`, `page`, `screen`, `group`, `alias`.
 *
 * Each schema carries a `type` literal, so `Message` (their union) decodes any Segment message, for
 * example a line of an NDJSON import. The `...Input` types are what the `Analytics` calls take: the same
 * fields without `type`, with the identity rule ("`userId` or `anonymousId`") in the type, so that
 * `Analytics.track({ event: "Signed Up" })` does not compile.
 *
 * @since 1.0.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Json from "./internal/core/json.js"
import * as Core from "./internal/core/message.js"
import * as Timestamps from "./internal/core/timestamp.js"

/**
 * A value JSON carries faithfully. A `Date` is allowed and is sent as its ISO-8601 string.
 *
 * @since 1.0.0
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
 * @since 1.0.0
 * @category models
 */
export type JsonObject = { readonly [key: string]: JsonValue | undefined }

// Property names the generators leave out: `__proto__` would not be an own key of a literal object.
const GeneratedKey = Schema.String.check(Schema.makeFilter((key: string) => key !== "__proto__"))

// What the generators of `JsonObject` make: up to 8 keys of JSON values (Effect's own `Json`
// generator, whose nesting is bounded by the generation size).
const JsonObjectSource = Schema.Record(GeneratedKey, Schema.Json).check(Schema.isMaxProperties(8))

// A link from a schema the generator knows to the declared type, for `Arbitrary.schema`. Generated
// values are checked by the declaration itself before use.
const passthroughLink = <A>(from: Schema.Top) =>
  Schema.link<A>()(from, {
    decode: SchemaGetter.passthrough({ strict: false }),
    encode: SchemaGetter.passthrough({ strict: false })
  })

// A Schema whose values are judged by one of the core's checks (the same as the call path's). The
// declaration's guard lets every value through to the check, which reports the core's reason at the
// path of the offending value (a guard can only say yes or no, for the whole value).
const checkedBy = <A>(
  check: (input: unknown) => Json.Issue | undefined,
  annotations: {
    readonly identifier: string
    readonly description: string
    readonly arbitrary: () => SchemaAST.Link
  }
): Schema.declare<A> =>
  Schema.declare((_input: unknown): _input is A => true, {
    identifier: annotations.identifier,
    description: annotations.description,
    expected: annotations.description,
    toCodecArbitrary: annotations.arbitrary
  }).check(Schema.makeFilter((input: unknown) => {
    const found = check(input)
    return found === undefined
      ? undefined
      : found.path.length === 0
      ? found.reason
      : { path: found.path, issue: found.reason }
  }))

/**
 * Schema of a JSON object whose every value JSON carries faithfully: `null`, booleans, strings,
 * finite numbers, arrays without holes or `undefined`, plain objects (prototype `Object.prototype` or
 * `null`; their own enumerable string keys) and `Date`s of the years 0000-9999. Functions, symbols
 * (as values or as keys), bigints, cycles, `NaN` and `Infinity`, class instances, objects or arrays
 * with a `toJSON` method, and nesting deeper than 64 levels are rejected with the path of the
 * offending value. A value shared by several properties is checked once.
 *
 * @since 1.0.0
 * @category schemas
 */
export const JsonObject: Schema.declare<JsonObject> = checkedBy<JsonObject>(Json.checkJsonObject, {
  identifier: "JsonObject",
  description: "a JSON object",
  arbitrary: () => passthroughLink<JsonObject>(JsonObjectSource)
})

// Dates inside the years 0000-9999, away from the ends so that any zone offset keeps them inside.
const generatedDates = {
  minimum: new Date(Timestamps.minMillis + 86_400_000),
  maximum: new Date(Timestamps.maxMillis - 86_400_000)
}

const pad2 = (n: number) => String(n).padStart(2, "0")

// What the generator of `IsoTimestamp` makes: a date and an offset of at most ±23:59, written in UTC
// (`Z`) or at the offset (`±hh:mm`), with milliseconds.
const IsoTimestampSource = Schema.Struct({
  date: Schema.Date.check(Schema.isBetweenDate(generatedDates)),
  offset: Schema.Int.check(Schema.isBetween({ minimum: -(23 * 60 + 59), maximum: 23 * 60 + 59 })),
  utc: Schema.Boolean
})

const isoTimestampOf = ({ date, offset, utc }: typeof IsoTimestampSource.Type): string => {
  if (utc) return date.toISOString()
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 23)
  const abs = Math.abs(offset)
  return `${local}${offset < 0 ? "-" : "+"}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
}

/**
 * An ISO-8601 date-time with a zone, such as `2024-02-29T13:45:00.000Z` or
 * `2024-02-29T14:45:00+01:00`: a real date of the years 0000 to 9999 (after conversion to UTC), a time
 * of day with or without seconds and fractions, and `Z` or an offset `±hh:mm`. A date alone, a time
 * without a zone (it would be read as local time) and an impossible date (`2023-02-30`) are rejected.
 *
 * @since 1.0.0
 * @category schemas
 */
export const IsoTimestamp: Schema.declare<string> = Schema.declare(
  (input: unknown): input is string => typeof input === "string",
  {
    identifier: "IsoTimestamp",
    description: "an ISO-8601 date-time with a zone",
    expected: "an ISO-8601 date-time with a zone, such as 2024-02-29T13:45:00.000Z",
    // A declaration, for this generator: a string's own generator would draw from a pattern, and
    // Effect's draws from a pattern with optional parts rarely take them (no offsets).
    toCodecArbitrary: () =>
      Schema.link<string>()(IsoTimestampSource, {
        decode: SchemaGetter.transform(isoTimestampOf),
        encode: SchemaGetter.transform((s) => ({ date: new Date(s), offset: 0, utc: true }))
      })
  }
).check(Schema.makeFilter((s: string) => Timestamps.stringProblem(s)))

// What the generator of `Timestamp` makes: a Date of the years 0000-9999, or an `IsoTimestamp`.
const TimestampSource = Schema.Union([
  Schema.Date.check(Schema.isBetweenDate(generatedDates)),
  IsoTimestamp
])

/**
 * When the event happened: a valid `Date` of the years 0000-9999, or an ISO-8601 date-time with a
 * zone (`IsoTimestamp`). Leave it out for "now" (read from Effect's `Clock`); set it in the past for a
 * historical import. It is sent in one normalized form, `YYYY-MM-DDTHH:mm:ss.sssZ` in UTC, made by the
 * library (never by a method of the value).
 *
 * @since 1.0.0
 * @category schemas
 */
export const Timestamp: Schema.declare<Date | string> = Schema.declare(
  // Judged by the core's check below, which names the problem of the value itself: one problem for
  // the field rather than one per member of a union (and an object that only pretends to be a Date
  // is a problem of the input here, where `Schema.Date` would throw on it).
  (_input: unknown): _input is Date | string => true,
  {
    identifier: "Timestamp",
    description: "a valid Date or an ISO-8601 date-time with a zone",
    expected: "a valid Date or an ISO-8601 date-time with a zone, such as 2024-02-29T13:45:00.000Z",
    toCodecArbitrary: () => passthroughLink<Date | string>(TimestampSource)
  }
).check(Schema.makeFilter((input: unknown) => Timestamps.problem(input)))

/**
 * @since 1.0.0
 * @category models
 */
export type Timestamp = typeof Timestamp.Type

const NonEmptyString = Schema.String.check(Schema.isMinLength(1, { message: "expected a non-empty string" }))

/**
 * A message id: the server's dedupe key, a non-empty string of fewer than 100 characters (UTF-16
 * units). Generated (a random UUID v4) when left out.
 *
 * @since 1.0.0
 * @category schemas
 */
export const MessageId = Schema.String.check(
  Schema.makeFilter((s: string) => Core.messageIdProblem(s), {
    arbitraryConstraint: { minLength: 1, maxLength: Core.messageIdLimit - 1 }
  })
).annotate({ identifier: "MessageId" })

/**
 * Which destinations receive a message: `{ All: false, Mixpanel: true }`. Names are case-sensitive.
 * `All` is `true` or `false`; a destination's value is `true`, `false`, or a JSON object of settings
 * for it. A destination whose value is `undefined` is left out.
 *
 * @since 1.0.0
 * @category models
 */
export interface Integrations {
  readonly All?: boolean | undefined
  readonly [destination: string]: boolean | JsonObject | undefined
}

// What the generator of `Integrations` makes: maybe `All`, and up to 4 destinations set to a
// boolean or to settings.
const IntegrationsSource = Schema.Struct({
  all: Schema.optionalKey(Schema.Boolean),
  destinations: Schema.Record(
    GeneratedKey.check(Schema.makeFilter((key: string) => key !== "All")),
    Schema.Union([Schema.Boolean, JsonObjectSource])
  ).check(Schema.isMaxProperties(4))
})

/**
 * Schema of `Integrations`. A bad value is reported at its own path, inside a settings object too.
 *
 * @since 1.0.0
 * @category schemas
 */
export const Integrations: Schema.declare<Integrations> = checkedBy<Integrations>(Json.checkIntegrations, {
  identifier: "Integrations",
  description: "an object of destinations: { All?: boolean, [name]: boolean | object }",
  arbitrary: () =>
    Schema.link<Integrations>()(IntegrationsSource, {
      decode: SchemaGetter.transform(({ all, destinations }) =>
        (all === undefined ? destinations : { All: all, ...destinations }) as Integrations
      ),
      encode: SchemaGetter.transform((integrations) => {
        const { All, ...destinations } = integrations
        return (All === undefined ? { destinations } : { all: All, destinations }) as typeof IntegrationsSource.Type
      })
    })
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

const identityRule = Schema.makeFilter(
  (message: { readonly userId?: string | undefined; readonly anonymousId?: string | undefined }) =>
    message.userId !== undefined || message.anonymousId !== undefined
      ? undefined
      : { path: ["userId"], issue: "a userId or an anonymousId is required" }
)

/**
 * `identify`: who the user is, and traits about them.
 *
 * @since 1.0.0
 * @category schemas
 */
export const Identify = Schema.Struct({
  type: Schema.Literal("identify"),
  ...identityFields,
  traits: Schema.optional(JsonObject),
  ...commonFields
}).check(identityRule).annotate({ identifier: "Identify" })

/**
 * `track`: an action the user performed. `event` is required and non-empty.
 *
 * @since 1.0.0
 * @category schemas
 */
export const Track = Schema.Struct({
  type: Schema.Literal("track"),
  ...identityFields,
  event: NonEmptyString,
  properties: Schema.optional(JsonObject),
  ...commonFields
}).check(identityRule).annotate({ identifier: "Track" })

// Page and screen views carry the same fields; only their `type` differs.
const view = <T extends "page" | "screen">(type: T) =>
  Schema.Struct({
    type: Schema.Literal(type),
    ...identityFields,
    name: Schema.optional(Schema.String),
    category: Schema.optional(Schema.String),
    properties: Schema.optional(JsonObject),
    ...commonFields
  }).check(identityRule)

/**
 * `page`: a page view on a website.
 *
 * @since 1.0.0
 * @category schemas
 */
export const Page = view("page").annotate({ identifier: "Page" })

/**
 * `screen`: a screen view in a mobile app.
 *
 * @since 1.0.0
 * @category schemas
 */
export const Screen = view("screen").annotate({ identifier: "Screen" })

/**
 * `group`: ties the user to a group (a company, an account, a team). `groupId` is required.
 *
 * @since 1.0.0
 * @category schemas
 */
export const Group = Schema.Struct({
  type: Schema.Literal("group"),
  ...identityFields,
  groupId: NonEmptyString,
  traits: Schema.optional(JsonObject),
  ...commonFields
}).check(identityRule).annotate({ identifier: "Group" })

/**
 * `alias`: one identity is another. `userId` and `previousId` are required.
 *
 * @since 1.0.0
 * @category schemas
 */
export const Alias = Schema.Struct({
  type: Schema.Literal("alias"),
  userId: NonEmptyString,
  previousId: NonEmptyString,
  anonymousId: Schema.optional(NonEmptyString),
  ...commonFields
}).annotate({ identifier: "Alias" })

/**
 * Any of the six messages, told apart by `type`.
 *
 * @since 1.0.0
 * @category schemas
 */
export const Message = Schema.Union([Identify, Track, Page, Screen, Group, Alias])

/**
 * @since 1.0.0
 * @category models
 */
export type Identify = typeof Identify.Type
/**
 * @since 1.0.0
 * @category models
 */
export type Track = typeof Track.Type
/**
 * @since 1.0.0
 * @category models
 */
export type Page = typeof Page.Type
/**
 * @since 1.0.0
 * @category models
 */
export type Screen = typeof Screen.Type
/**
 * @since 1.0.0
 * @category models
 */
export type Group = typeof Group.Type
/**
 * @since 1.0.0
 * @category models
 */
export type Alias = typeof Alias.Type
/**
 * @since 1.0.0
 * @category models
 */
export type Message = typeof Message.Type

/**
 * The six call types.
 *
 * @since 1.0.0
 * @category models
 */
export type MessageType = Message["type"]

/**
 * The identity every call but `alias` needs: a `userId`, an `anonymousId`, or both.
 *
 * @since 1.0.0
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
 * @since 1.0.0
 * @category inputs
 */
export type IdentifyInput = Identity & InputOf<Identify>
/**
 * What `Analytics.track` takes.
 *
 * @since 1.0.0
 * @category inputs
 */
export type TrackInput = Identity & InputOf<Track>
/**
 * What `Analytics.page` takes.
 *
 * @since 1.0.0
 * @category inputs
 */
export type PageInput = Identity & InputOf<Page>
/**
 * What `Analytics.screen` takes.
 *
 * @since 1.0.0
 * @category inputs
 */
export type ScreenInput = Identity & InputOf<Screen>
/**
 * What `Analytics.group` takes.
 *
 * @since 1.0.0
 * @category inputs
 */
export type GroupInput = Identity & InputOf<Group>
/**
 * What `Analytics.alias` takes.
 *
 * @since 1.0.0
 * @category inputs
 */
export type AliasInput = Omit<Alias, "type">

/**
 * A message after validation, enrichment and its one serialization: what the batcher queues and a
 * `Transport` sends. `json` is the message's wire form; `bytes` its UTF-8 size.
 *
 * @since 1.0.0
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
 * @since 1.0.0
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
 * the `SchemaError` of the first problem found.
 *
 * @example
 * ```ts
 * import { Effect, SchemaIssue } from "effect"
 * import { Message } from "analytics-effect"
 *
 * const line = Message.decodeUnknown({ type: "track", userId: "u1", event: "" }).pipe(
 *   Effect.mapError((error) => SchemaIssue.makeFormatterStandardSchemaV1()(error.issue).issues[0])
 * )
 * // fails with { path: ["event"], message: "expected a non-empty string" }
 * ```
 *
 * @since 1.0.0
 * @category decoding
 */
export const decodeUnknown = (input: unknown): Effect.Effect<Message, Schema.SchemaError> =>
  Effect.suspend(() => decodeMessage(input)).pipe(
    // Only the first problem: its description never reads the values of the union's other members.
    Effect.mapError((error) => new Schema.SchemaError(firstIssue(unknownType(input, error.issue)))),
    // A getter or a proxy trap of the input that throws is a problem of the input, not a defect.
    Effect.catchDefect(() =>
      Effect.fail(
        new Schema.SchemaError(
          new SchemaIssue.InvalidValue({ message: "reading the value threw; JSON cannot encode it" }, input)
        )
      )
    )
  )

const decodeMessage = Schema.decodeUnknownEffect(Message, { errors: "first", onExcessProperty: "error" })

const typeExpected = `expected ${Core.messageTypes.map((type) => JSON.stringify(type)).join(" | ")}`

// An object that none of the six schemas takes up has a `type` that is none of theirs: the problem is
// there (Effect 4's union reports it as a mismatch of the whole value).
const unknownType = (input: unknown, issue: SchemaIssue.Issue): SchemaIssue.Issue =>
  issue._tag === "AnyOf" && issue.issues.length === 0 && typeof input === "object" && input !== null
    ? new SchemaIssue.Pointer(["type"], new SchemaIssue.InvalidValue({ message: typeExpected }))
    : issue

// Rebuilds an issue node around a new inner issue, keeping its input only where it had one.
const inputOf = (issue: SchemaIssue.Issue) =>
  SchemaIssue.hasInput(issue) ? [issue.input, { reportInput: true }] as const : [undefined, undefined] as const

// Keeps only the first problem of every composite issue (a union reports one issue per member), so
// that formatting describes the first problem only and never looks at the other members' values.
const firstIssue = (issue: SchemaIssue.Issue): SchemaIssue.Issue => {
  switch (issue._tag) {
    case "Composite":
      return new SchemaIssue.Composite(issue.ast, [firstIssue(issue.issues[0])], ...inputOf(issue))
    case "AnyOf":
      return issue.issues.length === 0
        ? issue
        : new SchemaIssue.AnyOf(issue.ast, [firstIssue(issue.issues[0]!)], ...inputOf(issue))
    case "Pointer":
      return new SchemaIssue.Pointer(issue.path, firstIssue(issue.issue))
    case "Filter":
      return new SchemaIssue.Filter(issue.filter, firstIssue(issue.issue), ...inputOf(issue))
    case "Encoding":
      return new SchemaIssue.Encoding(issue.ast, firstIssue(issue.issue), ...inputOf(issue))
    default:
      return issue
  }
}
