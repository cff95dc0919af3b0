/**
 * The call path's one-pass encoder against the `Message` Schemas, property by property.
 *
 * The encoder (`core/message.ts`) is the only validator on the call path: it reads each value once
 * and writes what it read. These properties hold it to the Schemas (the public definition of a
 * valid message) in both directions, on plain inputs and on inputs whose properties are getters
 * (stable, or returning something else after the first read), `toJSON` methods, hostile Dates and
 * timestamp strings; and they check that what it writes is the input, faithfully.
 *
 * Effect 4 no longer bundles fast-check: the generators are Effect's own (`effect/Arbitrary`, from
 * Schemas), with the few fast-check combinators the properties use written over them below.
 */
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Cause, Effect, Exit, Random, Result, Schema } from "effect"
import * as Message from "../src/Message.js"
import { formatNumber } from "../src/internal/core/json.js"
import * as Timestamp from "../src/internal/core/timestamp.js"
import * as Encode from "../src/internal/encode.js"
import * as Ids from "../src/internal/ids.js"

const types = Object.keys(Message.schemas) as Array<Message.MessageType>

const fixedIds: Ids.Ids = { uuid: () => "00000000-0000-4000-8000-000000000000", now: () => "2024-01-01T00:00:00.000Z" }
// No size limit to speak of: size is not what these properties are about.
const encode = Result.getOrThrow(
  Encode.makeEncodeSync({ maxMessageBytes: 50_000_000, defaultContext: undefined, defaultIntegrations: undefined }, fixedIds)
)

type Outcome =
  | { readonly ok: true; readonly json: string; readonly bytes: number }
  | { readonly ok: false; readonly tag: string; readonly path: ReadonlyArray<string | number> }

const run = (type: Message.MessageType, input: unknown): Outcome => {
  const result = encode(type, input)
  if (!Effect.isEffect(result)) return { ok: true, json: result.json, bytes: result.bytes }
  const exit = Effect.runSyncExit(result)
  const reason = Exit.isFailure(exit) && exit.cause.reasons.length === 1 ? exit.cause.reasons[0]! : undefined
  if (reason === undefined || !Cause.isFailReason(reason)) throw new Error("expected a typed failure")
  const error = reason.error
  return { ok: false, tag: error._tag, path: error._tag === "InvalidMessage" ? error.path : [] }
}

const decoders = Object.fromEntries(
  types.map((type) => [
    type,
    Schema.decodeUnknownResult(Message.schemas[type] as Schema.Codec<unknown>, { errors: "first", onExcessProperty: "error" })
  ])
) as Record<Message.MessageType, (u: unknown) => Result.Result<unknown, Schema.SchemaError>>

/** The Schema's verdict on the input as a per-type call passes it (`type` set by the call). */
const schemaAccepts = (type: Message.MessageType, input: unknown): boolean =>
  Result.isSuccess(decoders[type](typeof input === "object" && input !== null ? { ...input, type } : input))

// --- the fast-check combinators these properties use, on Effect's Arbitrary ---

type Arb<A> = Arbitrary.Arbitrary<A>

const fc = {
  integer: (options: { readonly min?: number; readonly max?: number } = {}): Arb<number> =>
    Arbitrary.schema(
      Schema.Int.check(Schema.isBetween({ minimum: options.min ?? -(2 ** 31), maximum: options.max ?? 2 ** 31 - 1 }))
    ),
  double: (options: { readonly finite?: boolean } = {}): Arb<number> =>
    Arbitrary.schema(options.finite === true ? Schema.Finite : Schema.Number),
  boolean: (): Arb<boolean> => Arbitrary.schema(Schema.Boolean),
  string: (options: { readonly minLength?: number; readonly maxLength?: number } = {}): Arb<string> =>
    Arbitrary.schema(
      Schema.String.check(Schema.isMinLength(options.minLength ?? 0), Schema.isMaxLength(options.maxLength ?? 10))
    ),
  stringMatching: (pattern: RegExp): Arb<string> => Arbitrary.schema(Schema.String.check(Schema.isPattern(pattern))),
  date: (options: { readonly min: Date; readonly max: Date }): Arb<Date> =>
    Arbitrary.schema(Schema.Date.check(Schema.isBetweenDate({ minimum: options.min, maximum: options.max }))),
  /** JSON values (Effect's `Json`; its nesting is bounded by the generation size). */
  jsonValue: (): Arb<unknown> => Arbitrary.schema(Schema.Json),
  constant: <const A>(value: A): Arb<A> => Arbitrary.Constant(value),
  constantFrom: <const A extends ReadonlyArray<unknown>>(...values: A): Arb<A[number]> =>
    Arbitrary.map(fcIndex(values.length), (i) => values[i]),
  oneof: <A extends ReadonlyArray<Arb<any>>>(...arbitraries: A): Arb<A[number] extends Arb<infer T> ? T : never> =>
    Arbitrary.flatMap(fcIndex(arbitraries.length), (i) => arbitraries[i]!),
  option: <A>(arbitrary: Arb<A>): Arb<A | undefined> => fc.oneof(Arbitrary.Constant(undefined), arbitrary),
  tuple: <const A extends ReadonlyArray<Arb<any>>>(...arbitraries: A) => Arbitrary.all(arbitraries),
  record: <const A extends Record<string, Arb<any>>>(arbitraries: A) => Arbitrary.all(arbitraries),
  array: <A>(arbitrary: Arb<A>, options: { readonly minLength?: number; readonly maxLength?: number } = {}) =>
    Arbitrary.array(arbitrary, { minLength: options.minLength, maxLength: options.maxLength ?? 10 }),
  /** Up to `maxKeys` keys (a repeated key keeps its last value, so keys are distinct). */
  dictionary: <A>(key: Arb<string>, value: Arb<A>, options: { readonly maxKeys: number }): Arb<Record<string, A>> =>
    Arbitrary.map(
      Arbitrary.array(Arbitrary.all([key, value]), { maxLength: options.maxKeys }),
      (entries) => {
        const out: Record<string, A> = {}
        for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
        return out
      }
    )
}

function fcIndex(length: number): Arb<number> {
  return Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: length - 1 })))
}

// --- values: valid somewhere, invalid elsewhere, or hostile ---

class LyingDate extends Date {
  override toISOString() {
    return "not a date"
  }
  override toJSON() {
    return "injected"
  }
}

const withHiddenToJSON = <A extends object>(value: A, result: unknown): A =>
  Object.defineProperty(value, "toJSON", { value: () => result, enumerable: false })

const dateAt = (millis: number) => new Date(millis)

const timestampString = fc.oneof(
  fc.constantFrom(
    "2024-02-29T13:45:00.000Z",
    "2024-02-29T14:45:00+01:00",
    "2024-02-29T13:45Z",
    "2024-02-29T13:45:00.123456Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
    "2024-02-29", // a date alone
    "2024-02-29T13:45:00", // no zone
    "2023-02-30T00:00:00Z", // no such day
    "2023-02-29T00:00:00Z", // not a leap year
    "2024-02-29T24:00:00Z",
    "2024-02-29T23:59:60Z",
    "9999-12-31T23:59:59-01:00", // year 10000 in UTC
    "+010000-01-01T00:00:00.000Z",
    "yesterday"
  ),
  Arbitrary.map(fc.date({ min: dateAt(Timestamp.minMillis), max: dateAt(Timestamp.maxMillis) }), (d) => d.toISOString())
)

const timestampValue = fc.oneof(
  timestampString,
  fc.date({ min: dateAt(Timestamp.minMillis), max: dateAt(Timestamp.maxMillis) }),
  Arbitrary.map(fc.constantFrom<ReadonlyArray<() => unknown>>(
    () => new Date(Number.NaN),
    () => new Date(Timestamp.maxMillis + 1),
    () => new Date(Timestamp.minMillis - 1),
    () => new LyingDate("2024-02-29T13:45:00.000Z"),
    () => Object.create(Date.prototype),
    () => withHiddenToJSON(new Date(0), "1999-01-01T00:00:00.000Z"),
    () => 1_700_000_000_000
  ), (make) => make())
)

const jsonish = fc.jsonValue()

const hostile: Arb<unknown> = Arbitrary.map(fc.constantFrom<ReadonlyArray<() => unknown>>(
  () => ({ a: [1, undefined] }),
  () => ({ a: Number.NaN }),
  () => ({ f: () => 1 }),
  () => ({ [Symbol("s")]: 1 }),
  () => Object.defineProperty({ a: 1 }, Symbol("hidden"), { value: 1, enumerable: false }),
  () => withHiddenToJSON({ a: 1 }, "replaced"),
  () => ({ list: withHiddenToJSON([1, 2], "replaced") }),
  () => ({ at: new LyingDate(0) }),
  () => ({ at: new Date(Timestamp.maxMillis + 1) }),
  () => ({ zero: -0, list: [-0, 0] }),
  () => Object.assign(Object.create(null), { bare: true }),
  () => new Map(),
  () => [1, 2]
), (make) => make())

const anyValue: Arb<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(""),
  fc.string({ maxLength: 5 }),
  fc.string({ minLength: 99, maxLength: 100 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  timestampValue,
  fc.constant({ All: false, Mixpanel: true, Amplitude: { key: 1 } }),
  fc.constant({ All: { nested: true } }),
  fc.constant({ Mixpanel: undefined, All: undefined }),
  hostile,
  jsonish,
  fc.dictionary(fc.string({ maxLength: 4 }), jsonish, { maxKeys: 3 })
)

const fieldNames = [
  "userId", "anonymousId", "event", "properties", "traits", "context", "integrations", "timestamp",
  "messageId", "name", "category", "groupId", "previousId", "type", "extra"
]

/** A type and a plain model input: a random mix of fields and values. */
const model = fc.tuple(
  fc.constantFrom(...types),
  fc.dictionary(fc.constantFrom(...fieldNames), anyValue, { maxKeys: 6 })
)

/** Valid messages from the Schemas' own arbitraries, without `type` (a per-type call sets it). */
const validModel: Arb<readonly [Message.MessageType, Record<string, unknown>]> = Arbitrary.map(
  Arbitrary.schema(Message.Message),
  (message) => {
    const { type, ...input } = message as Record<string, unknown> & { type: Message.MessageType }
    return [type, input] as const
  }
)

/** The valid model inputs the Schema accepts (fast-check's `pre`, as a filter of the generator). */
const acceptedModel = Arbitrary.filter(validModel, ([type, input]) => schemaAccepts(type, input))

const runs = (n: number) => ({ arbitrary: { runs: n } })

/** The same values behind enumerable getters that return the same value on every read. */
const behindGetters = (input: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(input)) {
    const value = input[key]
    Object.defineProperty(out, key, { enumerable: true, configurable: true, get: () => value })
  }
  return out
}

/** Getters that return the model's value on the first read and `later` on every read after it. */
const changingGetters = (
  input: Record<string, unknown>,
  later: ReadonlyArray<unknown>
): { readonly input: Record<string, unknown>; readonly reads: Record<string, number> } => {
  const out: Record<string, unknown> = {}
  const reads: Record<string, number> = {}
  Object.keys(input).forEach((key, i) => {
    const first = input[key]
    reads[key] = 0
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get: () => reads[key]!++ === 0 ? first : later[i % later.length]
    })
  })
  return { input: out, reads }
}

// JSON.stringify sends -0 as 0; the encoder sends -0. Compared as numbers, they are the same.
const parseForCompare = (json: string): unknown => JSON.parse(json, (_key, value) => Object.is(value, -0) ? 0 : value)

const minusZero = "\u0000-0\u0000"
const canonical = (json: string): string =>
  JSON.stringify(JSON.parse(json), (_key, value) => Object.is(value, -0) ? minusZero : value)
    .replaceAll(JSON.stringify(minusZero), "-0")

describe("the call path agrees with the Schemas", () => {
  it.prop("accepts exactly what the Schema accepts (random field mixes, hostile values, timestamps)", [model], ([[type, input]]) => {
    const outcome = run(type, input)
    assert.strictEqual(outcome.ok, schemaAccepts(type, input), `${type} ${String(outcome.ok)}`)
  }, runs(10_000))

  // The arbitrary of a struct could emit what its own Schema rejects: only what the Schema accepts
  // is relevant.
  it.prop("accepts every valid message the Schemas' arbitraries generate", [acceptedModel], ([[type, input]]) => {
    assert.isTrue(run(type, input).ok)
  }, runs(3_000))

  it.prop(
    "getters that always return the same value: the same verdict and the same JSON as plain data",
    [fc.oneof(model, validModel)],
    ([[type, input]]) => {
      assert.deepStrictEqual(run(type, behindGetters(input)), run(type, input))
    },
    runs(3_000)
  )

  it.prop(
    "getters that change after the first read: each is read once, and the first read is what is judged and sent",
    [fc.oneof(model, validModel), fc.array(anyValue, { minLength: 1, maxLength: 3 })],
    ([[type, input], later]) => {
      const changing = changingGetters(input, later)
      const outcome = run(type, changing.input)
      // The same as the plain model of the first reads, which the Schema judges the same way.
      assert.deepStrictEqual(outcome, run(type, input))
      assert.strictEqual(outcome.ok, schemaAccepts(type, input))
      for (const [key, count] of Object.entries(changing.reads)) {
        // `type` is the call's, never read; a failure may stop before later keys.
        assert.isAtMost(count, 1, `${key} read ${count} times`)
        if (outcome.ok && key !== "type") assert.strictEqual(count, 1, `${key} read ${count} times`)
      }
    },
    runs(3_000)
  )
})

describe("what is sent is the input", () => {
  it.prop(
    "the JSON parses back to the input's fields (timestamp normalized), once each, with its exact UTF-8 size",
    [acceptedModel],
    ([[type, input]]) => {
        const outcome = run(type, input)
        if (!outcome.ok) return assert.fail("rejected a valid message")
        assert.strictEqual(outcome.bytes, Buffer.byteLength(outcome.json, "utf8"))
        const sent = parseForCompare(outcome.json) as Record<string, unknown>
        const { context, integrations, messageId, timestamp, type: sentType, ...rest } = sent
        assert.strictEqual(sentType, type)
        assert.strictEqual(messageId, input.messageId ?? fixedIds.uuid())
        assert.strictEqual(
          timestamp,
          input.timestamp === undefined ? fixedIds.now() : Timestamp.toWire(input.timestamp)
        )
        const { context: ownContext, integrations: ownIntegrations, messageId: _m, timestamp: _t, ...fields } = input
        // The reference: what JSON.stringify makes of plain data (Dates as their ISO strings).
        assert.deepStrictEqual(rest, parseForCompare(JSON.stringify(fields)))
        assert.deepStrictEqual(
          context,
          parseForCompare(JSON.stringify({ ...(ownContext as object), library: (context as any).library }))
        )
        if (ownIntegrations === undefined) assert.isUndefined(integrations)
        else assert.deepStrictEqual(integrations, parseForCompare(JSON.stringify(ownIntegrations)))
        // Text for text what JSON.stringify writes for the parsed value (with -0 kept): so no key is
        // written twice (JSON.parse would have kept one), and keys, escapes and numbers are canonical.
        assert.strictEqual(canonical(outcome.json), outcome.json)
    },
    runs(3_000)
  )
})

describe("re-entrance", () => {
  it("a getter that encodes another message in the middle of a walk leaves both messages whole", () => {
    const inner = { userId: "inner", event: "Inner", properties: { deep: { list: [1, "two"] } } }
    let innerJson = ""
    const outer = {
      userId: "outer",
      event: "Outer",
      properties: {
        before: "b",
        get during() {
          const result = run("track", inner)
          if (result.ok) innerJson = result.json
          return { fine: true }
        },
        after: [3, 4]
      }
    }
    const result = run("track", outer)
    assert.isTrue(result.ok)
    if (!result.ok) return
    assert.deepStrictEqual(JSON.parse(result.json).properties, { before: "b", during: { fine: true }, after: [3, 4] })
    assert.deepStrictEqual(JSON.parse(innerJson).properties, inner.properties)
    assert.strictEqual(result.bytes, Buffer.byteLength(result.json))
    // And the shared state is usable again afterwards.
    assert.deepStrictEqual(run("track", inner), { ok: true, json: innerJson, bytes: Buffer.byteLength(innerJson) })
  })
})

describe("timestamps", () => {
  const dates = fc.date({ min: dateAt(Timestamp.minMillis), max: dateAt(Timestamp.maxMillis) })

  it.prop("a Date of the years 0000-9999 is sent as its ISO string, whatever its class says", [dates], ([date]) => {
    const lying = new LyingDate(date.getTime())
    assert.strictEqual(Timestamp.toWire(date), date.toISOString())
    assert.strictEqual(Timestamp.toWire(lying), date.toISOString())
  }, runs(2_000))

  const pad = (n: number, width: number) => String(Math.abs(n)).padStart(width, "0")

  // Field values in and out of range, some impossible; zones or none.
  const parts = fc.record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 24 }),
    minute: fc.integer({ min: 0, max: 60 }),
    second: fc.option(fc.integer({ min: 0, max: 60 })),
    fraction: fc.option(fc.stringMatching(/^\d{1,7}$/)),
    zone: fc.oneof(
      fc.constant("Z"),
      fc.constant(""),
      Arbitrary.map(
        fc.tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 60 })),
        ([sign, h, m]) => `${sign}${pad(h, 2)}:${pad(m, 2)}`
      )
    )
  })

  type Parts = typeof parts extends Arb<infer A> ? A : never

  const format = (p: Parts) =>
    `${pad(p.year, 4)}-${pad(p.month, 2)}-${pad(p.day, 2)}T${pad(p.hour, 2)}:${pad(p.minute, 2)}` +
    (p.second === undefined ? "" : `:${pad(p.second, 2)}${p.fraction === undefined ? "" : "." + p.fraction}`) + p.zone

  const isRealDay = (year: number, month: number, day: number) => {
    const d = new Date(0)
    d.setUTCFullYear(year, month - 1, day)
    return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day
  }

  it.prop(
    "a string is accepted exactly when it is a real date-time with a zone, and normalized to UTC milliseconds",
    [parts],
    ([p]) => {
        const s = format(p)
        const zoned = p.zone !== ""
        const offsetOk = p.zone.length !== 6 || (Number(p.zone.slice(1, 3)) <= 23 && Number(p.zone.slice(4, 6)) <= 59)
        const real = isRealDay(p.year, p.month, p.day) && p.hour <= 23 && p.minute <= 59 &&
          (p.second === undefined || p.second <= 59)
        // Date.parse as the oracle of the instant (it rolls impossible dates over: judged above).
        const parsed = Date.parse(s.replace(/(\.\d{3})\d+/, "$1"))
        const inRange = parsed >= Timestamp.minMillis && parsed <= Timestamp.maxMillis
        const wire = Timestamp.toWire(s)
        if (zoned && offsetOk && real && inRange) {
          assert.strictEqual(wire, new Date(parsed).toISOString(), s)
        } else {
          assert.isUndefined(wire, s)
          assert.isString(Timestamp.problem(s), s)
        }
    },
    runs(10_000)
  )
})

describe("numbers", () => {
  // Any double, and amounts: whole numbers of hundredths, which have their own fast path.
  const amounts = Arbitrary.map(fc.integer({ min: -(2 ** 33), max: 2 ** 33 }), (cents) => cents / 100)
  const numbers = fc.oneof(fc.double({ finite: true }), amounts, Arbitrary.map(fc.integer(), (n) => n / 10))

  it.prop("are written as JSON.stringify writes them (and -0 as -0)", [numbers], ([n]) => {
    assert.strictEqual(formatNumber(n), Object.is(n, -0) ? "-0" : JSON.stringify(n), String(n))
    assert.isTrue(Object.is(JSON.parse(formatNumber(n)), n))
  }, runs(50_000))
})

describe("ids", () => {
  it.effect("UUIDs are v4, distinct, and reproducible under a seeded Random", () =>
    Effect.gen(function*() {
      const a = yield* Random.withSeed(Ids.make, 42)
      const b = yield* Random.withSeed(Ids.make, 42)
      const c = yield* Random.withSeed(Ids.make, 43)
      const seen = new Set<string>()
      for (let i = 0; i < 10_000; i++) {
        const id = a.uuid()
        assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        assert.strictEqual(b.uuid(), id)
        seen.add(id)
      }
      assert.strictEqual(seen.size, 10_000)
      assert.notStrictEqual(c.uuid(), a.uuid())
    }))
})
