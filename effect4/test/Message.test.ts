import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, type Schema, SchemaIssue } from "effect"
import { Analytics, AnalyticsError, MemoryTransport, Message } from "../src/index.js"

// The real call path: the client over a memory transport.
const clientLayer = (options: Partial<Analytics.Options> = {}) =>
  Analytics.layerWithoutTransport({ writeKey: "k", ...options }).pipe(Layer.provideMerge(MemoryTransport.layer()))

type Input = Record<string, unknown>

const call = (type: Message.MessageType, input: Input) =>
  Effect.flatMap(Analytics.Analytics, (analytics) => analytics[type](input as any))

const send = (type: Message.MessageType, input: Input) =>
  Effect.flatMap(Analytics.Analytics, (analytics) => analytics.send({ ...input, type } as any))

/** The error of a cause that is exactly one typed failure (no defect, no interruption), if it is one. */
const onlyFailure = (exit: Exit.Exit<unknown, unknown>): Cause.Fail<unknown> | undefined => {
  if (Exit.isSuccess(exit) || exit.cause.reasons.length !== 1) return undefined
  const reason = exit.cause.reasons[0]!
  return Cause.isFailReason(reason) ? reason : undefined
}

/** Asserts a typed `InvalidMessage` failure (a `Fail`, never a defect) at `path`. */
const assertInvalid = (
  exit: Exit.Exit<unknown, unknown>,
  type: string,
  path: ReadonlyArray<string | number>
) => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  if (Exit.isSuccess(exit)) return
  const failure = onlyFailure(exit)
  assert.isDefined(failure, `expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  if (failure === undefined) return
  const error = failure.error as AnalyticsError.InvalidMessage
  assert.instanceOf(error, AnalyticsError.InvalidMessage)
  assert.strictEqual(error._tag, "InvalidMessage")
  assert.strictEqual(error.messageType, type)
  assert.deepStrictEqual(error.path, path)
  assert.strictEqual(error.field, AnalyticsError.formatPath(path))
  assert.include(error.message, error.field)
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** The same checks on the `SchemaError` of `Message.decodeUnknown`. */
const assertDecodeFails = (exit: Exit.Exit<unknown, Schema.SchemaError>, path: ReadonlyArray<string | number>) => {
  assert.isTrue(Exit.isFailure(exit), "decodeUnknown: expected a failure")
  if (Exit.isSuccess(exit)) return
  const failure = onlyFailure(exit) as Cause.Fail<Schema.SchemaError> | undefined
  assert.isDefined(failure, `decodeUnknown: expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  if (failure === undefined) return
  const issues = formatIssues(failure.error.issue).issues
  // A segment of a Standard Schema path is a key or `{ key }`.
  const first = issues[0]?.path?.map((segment) => typeof segment === "object" ? segment.key : segment)
  assert.deepStrictEqual<unknown>(first, path)
}

// --- one accepted and one (or more) rejected case per rule, for each of the six types ---

interface Row {
  readonly type: Message.MessageType
  readonly rule: string
  readonly input: Input
  /** Where the error is; absent for an accepted input. */
  readonly path?: ReadonlyArray<string | number>
}

const bases: Record<Message.MessageType, Input> = {
  identify: { userId: "u1" },
  track: { userId: "u1", event: "Signed Up" },
  page: { anonymousId: "a1" },
  screen: { userId: "u1" },
  group: { userId: "u1", groupId: "g1" },
  alias: { userId: "u1", previousId: "p1" }
}

const payloadField: Record<Message.MessageType, "traits" | "properties" | undefined> = {
  identify: "traits",
  track: "properties",
  page: "properties",
  screen: "properties",
  group: "traits",
  alias: undefined
}

const without = (input: Input, ...keys: Array<string>): Input => {
  const out = { ...input }
  for (const key of keys) delete out[key]
  return out
}

const rowsFor = (type: Message.MessageType): Array<Row> => {
  const base = bases[type]
  const rows: Array<Row> = []
  const ok = (rule: string, input: Input) => rows.push({ type, rule, input })
  const bad = (rule: string, input: Input, path: ReadonlyArray<string | number>) =>
    rows.push({ type, rule, input, path })

  // required fields
  if (type === "alias") {
    ok("required: userId and previousId", base)
    ok("required: userId and previousId, with an anonymousId", { ...base, anonymousId: "a1" })
    bad("required: userId missing", without(base, "userId"), ["userId"])
    bad("required: previousId missing", without(base, "previousId"), ["previousId"])
    bad("required: previousId empty", { ...base, previousId: "" }, ["previousId"])
    bad("required: userId not a string", { ...base, userId: 42 }, ["userId"])
  } else {
    const anonymous = { ...without(base, "userId", "anonymousId"), anonymousId: "a1" }
    const identified = { ...without(base, "userId", "anonymousId"), userId: "u1" }
    ok("identity: userId only", identified)
    ok("identity: anonymousId only", anonymous)
    ok("identity: both", { ...identified, anonymousId: "a1" })
    bad("identity: neither userId nor anonymousId", without(base, "userId", "anonymousId"), ["userId"])
    bad("identity: undefined userId and anonymousId", { ...base, userId: undefined, anonymousId: undefined }, [
      "userId"
    ])
    bad("identity: empty userId", { ...identified, userId: "" }, ["userId"])
    bad("identity: anonymousId not a string", { ...identified, anonymousId: 7 }, ["anonymousId"])
  }
  if (type === "track") {
    bad("required: event missing", without(base, "event"), ["event"])
    bad("required: event empty", { ...base, event: "" }, ["event"])
    bad("required: event not a string", { ...base, event: 1 }, ["event"])
  }
  if (type === "group") {
    bad("required: groupId missing", without(base, "groupId"), ["groupId"])
    bad("required: groupId empty", { ...base, groupId: "" }, ["groupId"])
    bad("required: groupId not a string", { ...base, groupId: 56 }, ["groupId"])
  }
  if (type === "page" || type === "screen") {
    ok("name and category are strings", { ...base, name: "Home", category: "Docs" })
    bad("name must be a string", { ...base, name: 5 }, ["name"])
    bad("category must be a string", { ...base, category: ["Docs"] }, ["category"])
  }

  // traits / properties / context are JSON objects
  const field = payloadField[type]
  if (field !== undefined) {
    ok(`${field}: a JSON object`, { ...base, [field]: { plan: "pro", n: 1.5, list: [1, "x", null, true], o: {} } })
    ok(`${field}: empty`, { ...base, [field]: {} })
    bad(`${field}: an array`, { ...base, [field]: [1, 2] }, [field])
    bad(`${field}: a string`, { ...base, [field]: "pro" }, [field])
    bad(`${field}: null`, { ...base, [field]: null }, [field])
  }
  // the payload field of another call is an unknown field here
  for (const other of ["traits", "properties"] as const) {
    if (other !== field) bad(`unknown field: ${other}`, { ...base, [other]: { a: 1 } }, [other])
  }
  ok("context: a JSON object", { ...base, context: { ip: "203.0.113.7", app: { name: "shop", build: 12 } } })
  bad("context: an array", { ...base, context: [] }, ["context"])
  bad("context: a number", { ...base, context: 3 }, ["context"])

  // integrations
  ok("integrations: All, booleans and settings objects", {
    ...base,
    integrations: { All: false, Mixpanel: true, "Google Analytics": { clientId: "123.456" } }
  })
  ok("integrations: empty", { ...base, integrations: {} })
  bad("integrations: All not a boolean", { ...base, integrations: { All: "yes" } }, ["integrations", "All"])
  bad("integrations: a destination set to a number", { ...base, integrations: { Mixpanel: 1 } }, [
    "integrations",
    "Mixpanel"
  ])
  bad("integrations: a settings object with a function", { ...base, integrations: { Mixpanel: { f: () => 1 } } }, [
    "integrations",
    "Mixpanel",
    "f"
  ])
  bad("integrations: not an object", { ...base, integrations: "all" }, ["integrations"])

  // timestamp: a valid Date of the years 0000-9999, or an ISO-8601 date-time with a zone
  ok("timestamp: a Date", { ...base, timestamp: new Date("2020-01-02T03:04:05.000Z") })
  ok("timestamp: a Date of the year 0000", { ...base, timestamp: new Date(-62_167_219_200_000) })
  ok("timestamp: a Date of the year 9999", { ...base, timestamp: new Date("9999-12-31T23:59:59.999Z") })
  ok("timestamp: a Date subclass", { ...base, timestamp: new (class Stamp extends Date {})(0) })
  ok("timestamp: an ISO-8601 date-time", { ...base, timestamp: "2024-02-29T13:45:00.000Z" })
  ok("timestamp: an ISO-8601 date-time with an offset", { ...base, timestamp: "2024-02-29T13:45:00+01:00" })
  ok("timestamp: without seconds", { ...base, timestamp: "2024-02-29T13:45Z" })
  ok("timestamp: with microseconds", { ...base, timestamp: "2024-02-29T13:45:00.123456-05:30" })
  bad("timestamp: an invalid Date", { ...base, timestamp: new Date(Number.NaN) }, ["timestamp"])
  bad("timestamp: a Date of the year 10000", { ...base, timestamp: new Date("+010000-01-01T00:00:00.000Z") }, [
    "timestamp"
  ])
  bad("timestamp: a Date before the year 0000", { ...base, timestamp: new Date(-62_167_219_200_001) }, ["timestamp"])
  bad("timestamp: an object that only pretends to be a Date", { ...base, timestamp: Object.create(Date.prototype) }, [
    "timestamp"
  ])
  bad("timestamp: not a date", { ...base, timestamp: "yesterday" }, ["timestamp"])
  bad("timestamp: a date alone", { ...base, timestamp: "2024-02-29" }, ["timestamp"])
  bad("timestamp: a date-time without a zone (local time)", { ...base, timestamp: "2024-02-29T13:45:00" }, [
    "timestamp"
  ])
  bad("timestamp: February 30", { ...base, timestamp: "2023-02-30T00:00:00Z" }, ["timestamp"])
  bad("timestamp: February 29 of a common year", { ...base, timestamp: "2023-02-29T00:00:00Z" }, ["timestamp"])
  bad("timestamp: 24:00", { ...base, timestamp: "2024-02-29T24:00:00Z" }, ["timestamp"])
  bad("timestamp: a leap second", { ...base, timestamp: "2016-12-31T23:59:60Z" }, ["timestamp"])
  bad("timestamp: an offset of 24 hours", { ...base, timestamp: "2024-02-29T13:45:00+24:00" }, ["timestamp"])
  bad("timestamp: the year 10000 once in UTC", { ...base, timestamp: "9999-12-31T23:59:59-01:00" }, ["timestamp"])
  bad("timestamp: a six-digit year", { ...base, timestamp: "+010000-01-01T00:00:00.000Z" }, ["timestamp"])
  bad("timestamp: an HTTP date is not ISO-8601", { ...base, timestamp: "Thu, 29 Feb 2024 13:45:00 GMT" }, [
    "timestamp"
  ])
  bad("timestamp: an ISO-looking string that is no date", { ...base, timestamp: "2024-13-45T00:00:00Z" }, [
    "timestamp"
  ])
  bad("timestamp: a number", { ...base, timestamp: 1_700_000_000_000 }, ["timestamp"])

  // messageId: non-empty, fewer than 100 characters
  ok("messageId: 1 character", { ...base, messageId: "m" })
  ok("messageId: 99 characters", { ...base, messageId: "x".repeat(99) })
  bad("messageId: empty", { ...base, messageId: "" }, ["messageId"])
  bad("messageId: 100 characters", { ...base, messageId: "x".repeat(100) }, ["messageId"])
  bad("messageId: 101 characters", { ...base, messageId: "x".repeat(101) }, ["messageId"])
  bad("messageId: not a string", { ...base, messageId: 5 }, ["messageId"])

  // unknown top-level fields
  bad("unknown field", { ...base, foo: 1 }, ["foo"])
  bad("unknown field: names are case-sensitive", { ...base, UserId: "u1" }, ["UserId"])
  if (type !== "track") bad("unknown field: event", { ...base, event: "x" }, ["event"])
  return rows
}

const types: ReadonlyArray<Message.MessageType> = ["identify", "track", "page", "screen", "group", "alias"]

describe("validation rules (SPEC section 1)", () => {
  for (const type of types) {
    const rows = rowsFor(type)
    // each type has at least one accepted and one rejected case per rule
    it(`${type}: the table covers accepted and rejected cases`, () => {
      assert.isAtLeast(rows.filter((r) => r.path === undefined).length, 8)
      assert.isAtLeast(rows.filter((r) => r.path !== undefined).length, 15)
    })
    it.effect.each(rows)(`${type}: $rule`, (row) =>
      Effect.gen(function*() {
        const viaCall = yield* Effect.exit(call(row.type, row.input))
        const viaSend = yield* Effect.exit(send(row.type, row.input))
        const viaDecode = yield* Effect.exit(Message.decodeUnknown({ ...row.input, type: row.type }))
        if (row.path === undefined) {
          assert.isTrue(Exit.isSuccess(viaCall), `call: ${Exit.isFailure(viaCall) ? Cause.pretty(viaCall.cause) : ""}`)
          assert.isTrue(Exit.isSuccess(viaSend), "send")
          assert.isTrue(Exit.isSuccess(viaDecode), "decodeUnknown")
        } else {
          assertInvalid(viaCall, row.type, row.path)
          assertInvalid(viaSend, row.type, row.path)
          assertDecodeFails(viaDecode, row.path)
        }
      }).pipe(Effect.provide(clientLayer())))
  }

  it.effect("an accepted call returns its messageId and the message is sent; a rejected one is not", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      const id = yield* call("track", { userId: "u1", event: "Signed Up", messageId: "keep-me" })
      assert.strictEqual(id, "keep-me")
      yield* Effect.exit(call("track", { userId: "u1", event: "" }))
      yield* Analytics.flush
      const delivered = yield* memory.delivered
      assert.deepStrictEqual(delivered.map((m) => m.messageId), ["keep-me"])
    }).pipe(Effect.provide(clientLayer())))

  it.effect("an input that is not an object, an unknown type, or one that throws when read: typed failures", () =>
    Effect.gen(function*() {
      assertInvalid(yield* Effect.exit(Analytics.track(null as any)), "track", [])
      assertInvalid(yield* Effect.exit(Analytics.identify("u1" as any)), "identify", [])
      assertInvalid(yield* Effect.exit(Analytics.send({ type: "nope", userId: "u1" } as any)), "nope", ["type"])
      assertInvalid(yield* Effect.exit(Analytics.send({ type: "toString", userId: "u1" } as any)), "toString", [
        "type"
      ])
      const throwing = Object.defineProperty({ event: "e" }, "userId", {
        enumerable: true,
        get() {
          throw new Error("no")
        }
      })
      // The call path reads each field itself and names the one that threw.
      assertInvalid(yield* Effect.exit(Analytics.track(throwing as any)), "track", ["userId"])
      const proxy = new Proxy({ userId: "u1" }, {
        ownKeys() {
          throw new Error("no keys")
        }
      })
      assertInvalid(yield* Effect.exit(Analytics.identify(proxy)), "identify", [])
      const throwingTrack = Object.defineProperty({ type: "track", event: "e" }, "userId", {
        enumerable: true,
        get() {
          throw new Error("no")
        }
      })
      assertDecodeFails(yield* Effect.exit(Message.decodeUnknown(throwingTrack)), [])
      const typedProxy = new Proxy({ type: "identify", userId: "u1" }, {
        ownKeys() {
          throw new Error("no keys")
        }
      })
      assertDecodeFails(yield* Effect.exit(Message.decodeUnknown(typedProxy)), [])
      assertDecodeFails(yield* Effect.exit(Message.decodeUnknown({ type: "nope", userId: "u1" })), ["type"])
      assertDecodeFails(yield* Effect.exit(Message.decodeUnknown(null)), [])
    }).pipe(Effect.provide(clientLayer())))
})

// --- values JSON cannot carry faithfully ---

class Point {
  constructor(readonly x: number, readonly y: number) {}
}

const cyclic = () => {
  const o: Record<string, unknown> = { a: { b: 1 } }
  ;(o.a as Record<string, unknown>).self = o
  return o
}

const cyclicArray = () => {
  const list: Array<unknown> = [1]
  list.push(list)
  return { list }
}

const nested = (levels: number): Record<string, unknown> => {
  let out: Record<string, unknown> = { leaf: true }
  for (let i = 1; i < levels; i++) out = { a: out }
  return out
}

const throwingGetter = () => {
  const o: Record<string, unknown> = {}
  Object.defineProperty(o, "boom", {
    enumerable: true,
    get() {
      throw new Error("no")
    }
  })
  return o
}

const throwingProxy = () =>
  new Proxy({}, {
    ownKeys() {
      throw new Error("no keys")
    }
  })

const proxyThrowingOn = (trap: "get" | "getPrototypeOf") =>
  new Proxy({ a: 1 }, {
    [trap](target: object, key?: PropertyKey) {
      // get: only the data key throws (the lookup of `toJSON` reads through).
      if (trap === "get" && key !== "a") return Reflect.get(target, key!)
      throw new Error(`no ${trap}`)
    }
  })

const throwingElement = () => {
  const list: Array<unknown> = [1, 2]
  Object.defineProperty(list, 1, {
    enumerable: true,
    get() {
      throw new Error("no")
    }
  })
  return { list }
}

const hiddenToJSON = <A extends object>(value: A, result: unknown): A =>
  Object.defineProperty(value, "toJSON", { value: () => result, enumerable: false })

const dateWithThrowingToJSON = () => {
  const d = new Date("2024-01-01T00:00:00.000Z") as Date & { toJSON: () => string }
  d.toJSON = () => {
    throw new Error("no")
  }
  return { d }
}

// eslint-disable-next-line no-sparse-arrays
const sparse = [1, , 3]

interface JsonCase {
  readonly name: string
  readonly properties: () => unknown
  /** Path under `properties`. */
  readonly path: ReadonlyArray<string | number>
}

const jsonCases: ReadonlyArray<JsonCase> = [
  { name: "a function", properties: () => ({ f: () => 1 }), path: ["f"] },
  { name: "a symbol", properties: () => ({ s: Symbol("s") }), path: ["s"] },
  { name: "a bigint", properties: () => ({ n: { big: 10n } }), path: ["n", "big"] },
  { name: "a cycle", properties: cyclic, path: ["a", "self"] },
  { name: "a cycle through an array", properties: cyclicArray, path: ["list", 1] },
  { name: "NaN", properties: () => ({ x: Number.NaN }), path: ["x"] },
  { name: "Infinity", properties: () => ({ x: [1, Number.POSITIVE_INFINITY] }), path: ["x", 1] },
  { name: "-Infinity", properties: () => ({ x: { y: Number.NEGATIVE_INFINITY } }), path: ["x", "y"] },
  { name: "undefined inside an array", properties: () => ({ list: [1, undefined] }), path: ["list", 1] },
  { name: "a sparse array hole", properties: () => ({ list: sparse }), path: ["list", 1] },
  { name: "a Map", properties: () => ({ m: new Map([["a", 1]]) }), path: ["m"] },
  { name: "a Set", properties: () => ({ s: new Set([1]) }), path: ["s"] },
  { name: "a class instance", properties: () => ({ p: new Point(1, 2) }), path: ["p"] },
  { name: "an invalid Date", properties: () => ({ at: new Date("nope") }), path: ["at"] },
  {
    name: "nesting deeper than 64 levels",
    properties: () => nested(65),
    path: Array.from({ length: 64 }, () => "a")
  },
  { name: "a getter that throws", properties: throwingGetter, path: ["boom"] },
  { name: "a proxy that throws", properties: throwingProxy, path: [] },
  { name: "a proxy whose get trap throws", properties: () => proxyThrowingOn("get"), path: ["a"] },
  { name: "a proxy whose getPrototypeOf trap throws", properties: () => ({ p: proxyThrowingOn("getPrototypeOf") }), path: ["p"] },
  { name: "an array element getter that throws", properties: throwingElement, path: ["list", 1] },
  { name: "a symbol key", properties: () => ({ nested: { [Symbol("s")]: 1, a: 1 } }), path: ["nested"] },
  { name: "a hidden toJSON on an object", properties: () => ({ o: hiddenToJSON({ a: 1 }, "replaced") }), path: ["o"] },
  { name: "a toJSON on an array", properties: () => ({ list: hiddenToJSON([1, 2], { a: 1 }) }), path: ["list"] },
  { name: "a toJSON on the properties object", properties: () => hiddenToJSON({ a: 1 }, {}), path: [] },
  { name: "a Date of the year 10000", properties: () => ({ at: new Date("+010000-01-01T00:00:00.000Z") }), path: ["at"] },
  { name: "an object pretending to be a Date", properties: () => ({ at: Object.create(Date.prototype) }), path: ["at"] }
]

describe("JSON safety: rejected with a typed InvalidMessage and the path, never a defect", () => {
  it.effect.each(jsonCases)("properties: $name", (c) =>
    Effect.gen(function*() {
      const properties = c.properties()
      const path = ["properties", ...c.path]
      assertInvalid(yield* Effect.exit(call("track", { userId: "u1", event: "e", properties })), "track", path)
      assertInvalid(yield* Effect.exit(send("page", { userId: "u1", properties })), "page", path)
      assertDecodeFails(
        yield* Effect.exit(Message.decodeUnknown({ type: "track", userId: "u1", event: "e", properties })),
        path
      )
    }).pipe(Effect.provide(clientLayer())))

  it.effect("the same checks apply to traits, context and integration settings", () =>
    Effect.gen(function*() {
      const fn = () => 1
      assertInvalid(yield* Effect.exit(call("identify", { userId: "u1", traits: { f: fn } })), "identify", [
        "traits",
        "f"
      ])
      assertInvalid(
        yield* Effect.exit(call("group", { userId: "u1", groupId: "g", traits: { list: [1, Number.NaN] } })),
        "group",
        ["traits", "list", 1]
      )
      assertInvalid(yield* Effect.exit(call("screen", { userId: "u1", context: { app: { v: 1n } } })), "screen", [
        "context",
        "app",
        "v"
      ])
      assertInvalid(
        yield* Effect.exit(call("alias", { userId: "u1", previousId: "p", integrations: { X: { m: new Map() } } })),
        "alias",
        ["integrations", "X", "m"]
      )
    }).pipe(Effect.provide(clientLayer())))

  it.effect("a Date is sent as the ISO string of its value: its own toJSON, toISOString or class are never used", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      class Lying extends Date {
        override toISOString() {
          return "any string at all"
        }
      }
      const throwingIso = new Date("2024-01-01T00:00:00.000Z")
      throwingIso.toISOString = () => {
        throw new Error("no")
      }
      yield* call("track", {
        userId: "u1",
        event: "e",
        properties: { ...dateWithThrowingToJSON(), lying: new Lying("2024-02-29T13:45:00.000Z"), throwingIso }
      })
      yield* Analytics.flush
      const [message] = yield* memory.delivered
      assert.deepStrictEqual(message!.properties, {
        d: "2024-01-01T00:00:00.000Z",
        lying: "2024-02-29T13:45:00.000Z",
        throwingIso: "2024-01-01T00:00:00.000Z"
      })
    }).pipe(Effect.provide(clientLayer())))

  it.effect("sent faithfully: -0 as -0; a non-enumerable symbol key is not data and is left out", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      const tagged = Object.defineProperty({ a: 1 }, Symbol("meta"), { value: "internal", enumerable: false })
      yield* call("track", { userId: "u1", event: "e", properties: { zero: -0, list: [-0, 0], tagged } })
      yield* Analytics.flush
      const [request] = yield* memory.requests
      const json = request!.messages[0]!.json
      assert.include(json, "\"properties\":{\"zero\":-0,\"list\":[-0,0],\"tagged\":{\"a\":1}}")
      assert.isTrue(Object.is(JSON.parse(json).properties.zero, -0))
    }).pipe(Effect.provide(clientLayer())))

  it.effect("accepted: nesting of 64 levels, null-prototype objects, undefined properties, and Dates as ISO strings", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      const bare = Object.assign(Object.create(null) as Record<string, unknown>, { k: "v" })
      yield* call("track", {
        userId: "u1",
        event: "e",
        messageId: "m1",
        properties: {
          deep: nested(63),
          bare,
          gone: undefined,
          at: new Date("2024-02-29T13:45:00.123Z"),
          list: [new Date("2000-01-01T00:00:00.000Z")]
        }
      })
      yield* Analytics.flush
      const [message] = yield* memory.delivered
      const properties = message!.properties as Record<string, unknown>
      assert.strictEqual(properties.at, "2024-02-29T13:45:00.123Z")
      assert.deepStrictEqual(properties.list, ["2000-01-01T00:00:00.000Z"])
      assert.deepStrictEqual(properties.bare, { k: "v" })
      assert.isFalse("gone" in properties)
      assert.deepStrictEqual(properties.deep, nested(63))
    }).pipe(Effect.provide(clientLayer())))
})

// --- the per-message size limit (SPEC section 3) ---

const fixed = { messageId: "fixed-id", timestamp: "2024-01-01T00:00:00.000Z" }

const trackPadded = (pad: string) => call("track", { userId: "u1", event: "e", ...fixed, properties: { pad } })

/** The UTF-8 size of the serialized message with an empty pad, read from what the client sends. */
const baseSize = Effect.gen(function*() {
  const memory = yield* MemoryTransport.MemoryTransport
  yield* trackPadded("")
  yield* Analytics.flush
  const requests = yield* memory.requests
  const json = requests[requests.length - 1]!.messages[0]!.json
  yield* memory.clear
  return Buffer.byteLength(json, "utf8")
})

const assertTooLarge = (exit: Exit.Exit<unknown, unknown>, size: number, limit: number) => {
  const failure = onlyFailure(exit)
  assert.isDefined(failure, "expected a typed failure")
  if (failure !== undefined) {
    const error = failure.error as AnalyticsError.MessageTooLarge
    assert.instanceOf(error, AnalyticsError.MessageTooLarge)
    assert.strictEqual(error._tag, "MessageTooLarge")
    assert.strictEqual(error.size, size)
    assert.strictEqual(error.limit, limit)
    assert.strictEqual(error.messageId, "fixed-id")
    assert.strictEqual(error.messageType, "track")
  }
}

/** Sends `pad`, and checks the message went out at exactly `size` bytes. */
const assertAcceptedAt = (pad: string, size: number) =>
  Effect.gen(function*() {
    const memory = yield* MemoryTransport.MemoryTransport
    yield* trackPadded(pad)
    yield* Analytics.flush
    const requests = yield* memory.requests
    const sent = requests[requests.length - 1]!.messages[0]!
    assert.strictEqual(sent.bytes, size)
    assert.strictEqual(Buffer.byteLength(sent.json, "utf8"), size)
    assert.strictEqual((JSON.parse(sent.json).properties as { pad: string }).pad, pad)
    yield* memory.clear
  })

describe("the 32 KB message limit", () => {
  it.effect("32,000 bytes is accepted, 32,001 is MessageTooLarge { size: 32001, limit: 32000 }", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      const room = 32_000 - (yield* baseSize)
      yield* assertAcceptedAt("a".repeat(room), 32_000)
      assertTooLarge(yield* Effect.exit(trackPadded("a".repeat(room + 1))), 32_001, 32_000)
      assertTooLarge(yield* Effect.exit(trackPadded("a".repeat(room + 1000))), 33_000, 32_000)
      yield* Analytics.flush
      assert.strictEqual((yield* memory.requests).length, 0, "an oversize message is never sent")
    }).pipe(Effect.provide(clientLayer())))

  it.effect("multi-byte UTF-8 at the boundary: bytes are counted, not characters", () =>
    Effect.gen(function*() {
      const room = 32_000 - (yield* baseSize)
      // "é": 2 bytes
      const e2 = "a".repeat(room % 2) + "é".repeat(Math.floor(room / 2))
      yield* assertAcceptedAt(e2, 32_000)
      assertTooLarge(yield* Effect.exit(trackPadded(e2 + "a")), 32_001, 32_000)
      assertTooLarge(yield* Effect.exit(trackPadded("a".repeat(room - 1) + "é")), 32_001, 32_000)
      // "€": 3 bytes, straddling the limit
      yield* assertAcceptedAt("a".repeat(room - 3) + "€", 32_000)
      assertTooLarge(yield* Effect.exit(trackPadded("a".repeat(room - 2) + "€")), 32_001, 32_000)
      // an emoji: 4 bytes, 2 UTF-16 code units
      yield* assertAcceptedAt("a".repeat(room - 4) + "😀", 32_000)
      assertTooLarge(yield* Effect.exit(trackPadded("a".repeat(room - 3) + "😀")), 32_001, 32_000)
      assertTooLarge(yield* Effect.exit(trackPadded("a".repeat(room - 1) + "😀")), 32_003, 32_000)
      const emojis = "😀".repeat(Math.floor(room / 4)) + "a".repeat(room % 4)
      assert.isBelow(emojis.length, 20_000, "far fewer UTF-16 units than bytes")
      yield* assertAcceptedAt(emojis, 32_000)
      const over = "😀".repeat(Math.floor(room / 4) + 1)
      assertTooLarge(yield* Effect.exit(trackPadded(over)), 32_000 - room + 4 * (Math.floor(room / 4) + 1), 32_000)
      // JSON escapes count: each `"` is sent as `\"` (2 bytes)
      const quotes = "\"".repeat(Math.floor(room / 2)) + "a".repeat(room % 2)
      yield* assertAcceptedAt(quotes, 32_000)
      assertTooLarge(yield* Effect.exit(trackPadded(quotes + "a")), 32_001, 32_000)
    }).pipe(Effect.provide(clientLayer())))

  it.effect("maxMessageBytes is configurable", () =>
    Effect.gen(function*() {
      const room = 1_000 - (yield* baseSize)
      yield* assertAcceptedAt("a".repeat(room), 1_000)
      assertTooLarge(yield* Effect.exit(trackPadded("a".repeat(room + 1))), 1_001, 1_000)
      assertTooLarge(yield* Effect.exit(trackPadded("a".repeat(room - 2) + "€")), 1_001, 1_000)
    }).pipe(Effect.provide(clientLayer({ maxMessageBytes: 1_000 }))))

  it.effect("a limit larger than the default lets a 40,000-byte message through", () =>
    Effect.gen(function*() {
      const room = 40_000 - (yield* baseSize)
      yield* assertAcceptedAt("a".repeat(room), 40_000)
      assertTooLarge(yield* Effect.exit(trackPadded("a".repeat(room + 1))), 40_001, 40_000)
    }).pipe(Effect.provide(clientLayer({ maxMessageBytes: 40_000 }))))
})

// --- bounded work: the cost of a call stops at the size limit ---

/** `levels` objects, each referencing the next twice: its JSON doubles with every level. */
const sharedTwice = (levels: number): Record<string, unknown> => {
  let node: Record<string, unknown> = { leaf: "x" }
  for (let i = 0; i < levels; i++) node = { a: node, b: node }
  return node
}

const tooLargeOf = (exit: Exit.Exit<unknown, unknown>): AnalyticsError.MessageTooLarge => {
  const failure = onlyFailure(exit)
  assert.isDefined(failure, "expected a typed failure")
  assert.instanceOf(failure!.error, AnalyticsError.MessageTooLarge)
  return failure!.error as AnalyticsError.MessageTooLarge
}

describe("bounded work: huge messages end at the size limit, never after building a giant string", () => {
  it.effect("shared references (a DAG whose JSON is gigabytes) end with MessageTooLarge, its size a lower bound", () =>
    Effect.gen(function*() {
      for (const levels of [25, 31, 60]) {
        const error = tooLargeOf(
          yield* Effect.exit(call("track", { userId: "u1", event: "e", messageId: "dag", properties: sharedTwice(levels) }))
        )
        assert.strictEqual(error.messageId, "dag")
        assert.isFalse(error.exact)
        assert.isAbove(error.size, 2 * 32_000)
        assert.isBelow(error.size, 3 * 32_000, "stopped near twice the limit")
        assert.include(error.message, `more than ${error.size} bytes`)
      }
    }).pipe(Effect.provide(clientLayer())))

  it.effect("a MessageTooLarge names the message's own id, also when it comes after what stopped the walk", () =>
    Effect.gen(function*() {
      const error = tooLargeOf(
        yield* Effect.exit(call("track", { userId: "u1", event: "e", properties: sharedTwice(30), messageId: "late-id" }))
      )
      assert.strictEqual(error.messageId, "late-id")
      assert.isFalse(error.exact)
    }).pipe(Effect.provide(clientLayer())))

  it.effect("the Schema checks a shared object once: decodeUnknown of the same DAG succeeds (it has no size limit)", () =>
    Effect.gen(function*() {
      const decoded = yield* Message.decodeUnknown({ type: "track", userId: "u1", event: "e", properties: sharedTwice(60) })
      assert.strictEqual(decoded.type, "track")
    }))

  it.effect("a huge array and a huge string: MessageTooLarge; a sparse array of a billion: InvalidMessage at its hole", () =>
    Effect.gen(function*() {
      const zeros = tooLargeOf(
        yield* Effect.exit(call("track", { userId: "u1", event: "e", properties: { list: new Array(1_000_000).fill(0) } }))
      )
      assert.isFalse(zeros.exact)
      const text = tooLargeOf(
        yield* Effect.exit(call("track", { userId: "u1", event: "e", properties: { text: "a".repeat(20_000_000) } }))
      )
      assert.isFalse(text.exact)
      assertInvalid(
        yield* Effect.exit(call("track", { userId: "u1", event: "e", properties: { list: new Array(1_000_000_000) } })),
        "track",
        ["properties", "list", 0]
      )
    }).pipe(Effect.provide(clientLayer())))

  it.effect("nesting 100,000 levels deep: InvalidMessage at the 64th level, no stack overflow", () =>
    Effect.gen(function*() {
      const deep = nested(100_000)
      const path = ["properties", ...Array.from({ length: 64 }, () => "a")]
      assertInvalid(yield* Effect.exit(call("track", { userId: "u1", event: "e", properties: deep })), "track", path)
      assertDecodeFails(
        yield* Effect.exit(Message.decodeUnknown({ type: "track", userId: "u1", event: "e", properties: deep })),
        path
      )
    }).pipe(Effect.provide(clientLayer())))

  it.effect("just over the limit the size stays exact", () =>
    Effect.gen(function*() {
      const error = tooLargeOf(
        yield* Effect.exit(call("track", { userId: "u1", event: "e", properties: { text: "a".repeat(40_000) } }))
      )
      assert.isTrue(error.exact)
      assert.notInclude(error.message, "more than")
    }).pipe(Effect.provide(clientLayer())))
})
