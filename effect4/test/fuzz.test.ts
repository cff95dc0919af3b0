/**
 * Property-based tests of the call path: 10,000 generated inputs, valid messages and hostile ones (deep
 * nesting, huge strings, cycles, odd Unicode, wrong types for every field, functions, symbols and
 * bigints, extra fields, non-objects), each through a per-type call or `send`.
 *
 * Each input either succeeds with a message id or fails with a typed `InvalidMessage` or
 * `MessageTooLarge`: never a defect, an interruption or an untyped error, and never a hang (each run is
 * bounded by fast-check's `timeout`). Afterwards the batcher still works: `flush` completes and every
 * accepted message was delivered exactly once, with one `Delivered` outcome each.
 *
 * Effect 4 no longer bundles fast-check: the generators are fast-check's own (a dev dependency), and
 * the valid messages come from the Schema itself through `effect/Arbitrary`, drawn once per suite with
 * a seed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Result, Schema } from "effect"
import * as Arbitrary from "effect/Arbitrary"
import fc from "fast-check"
import { Analytics, MemoryTransport, Message, Outcome } from "../src/index.js"
import { takeAll } from "./support/client.js"

type MessageType = Message.MessageType
type Expect = "ok" | "InvalidMessage" | "MessageTooLarge" | "typed"

/** One generated case: which call, what input, and what it must produce. */
interface Case {
  readonly kind: string
  readonly call: MessageType | "send"
  readonly input: unknown
  readonly expect: Expect
}

const types: ReadonlyArray<MessageType> = ["identify", "track", "page", "screen", "group", "alias"]
const maxMessageBytes = 32_000

/** Valid messages from the Schema's own arbitrary, sampled once (with a seed) and drawn by fast-check. */
const samples: ReadonlyArray<Message.Message> = Effect.runSync(
  Arbitrary.sampleEffect(Arbitrary.schema(Message.Message), { count: 2_000, seed: 20261127, size: 30 })
)
const validMessage: fc.Arbitrary<Message.Message> = fc.nat({ max: samples.length - 1 }).map((i) => samples[i]!)
const decodeStrict = Schema.decodeUnknownResult(Message.Message, { onExcessProperty: "error" })
/** The UTF-8 size of a value's JSON. */
const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? "", "utf8")

/** Valid messages that the Schema itself accepts, as the base of the hostile cases. */
const baseMessage = validMessage.filter((message) => Result.isSuccess(decodeStrict(message)))

/** The Schema as oracle: what a message must produce (the encoder adds an id, a timestamp, a library). */
const oracle = (message: unknown): Expect =>
  Result.isFailure(decodeStrict(message))
    ? "InvalidMessage"
    : jsonBytes(message) + 500 < maxMessageBytes
    ? "ok"
    : "typed"

/** The fields each message type may carry (besides `type`). */
const fieldsOf: Record<MessageType, ReadonlyArray<string>> = {
  identify: ["userId", "anonymousId", "traits", "messageId", "timestamp", "context", "integrations"],
  track: ["userId", "anonymousId", "event", "properties", "messageId", "timestamp", "context", "integrations"],
  page: ["userId", "anonymousId", "name", "category", "properties", "messageId", "timestamp", "context", "integrations"],
  screen: ["userId", "anonymousId", "name", "category", "properties", "messageId", "timestamp", "context", "integrations"],
  group: ["userId", "anonymousId", "groupId", "traits", "messageId", "timestamp", "context", "integrations"],
  alias: ["userId", "previousId", "anonymousId", "messageId", "timestamp", "context", "integrations"]
}
const allFields = new Set(Object.values(fieldsOf).flat().concat("type"))

// --- building blocks ---

const oddPieces = [
  "\uD800", // lone high surrogate
  "\uDFFF", // lone low surrogate
  "\uDBFF\uDFFF", // the last code point
  "😀",
  "👩‍👩‍👧‍👦", // a ZWJ sequence
  "\u202E", // right-to-left override
  "\u200F", // right-to-left mark
  "مرحبا",
  "שלום",
  "\u0000", // NUL
  "\u2028", // line separator
  "\uFEFF", // byte order mark
  "\"",
  "\\",
  "\n\t",
  "e\u0301", // combining accent
  "𝕏",
  "a"
]

/** A non-empty string of odd Unicode. */
const oddString = fc.array(fc.constantFrom(...oddPieces), { minLength: 1, maxLength: 12 }).map((parts) => parts.join(""))

/** A string of up to ~100 KB, built by repetition so generating it is cheap. */
const hugeString = fc.tuple(
  fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), oddString),
  fc.integer({ min: 1, max: 100_000 })
).map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length))


class Opaque {
  readonly x = 1
}

/** Values JSON cannot carry faithfully: every one must be rejected with `InvalidMessage`. */
const unjsonable: fc.Arbitrary<unknown> = fc.constantFrom<() => unknown>(
  () => () => 1,
  () => function named() {},
  () => Symbol("s"),
  () => 10n,
  () => Number.NaN,
  () => Number.POSITIVE_INFINITY,
  () => Number.NEGATIVE_INFINITY,
  () => new Map([["a", 1]]),
  () => new Set([1]),
  () => new Opaque(),
  () => new Date(Number.NaN),
  () => [1, undefined, 3],
  // eslint-disable-next-line no-sparse-arrays
  () => [1, , 3],
  () => new Uint8Array(2),
  () => /re/,
  () => new Error("boom"),
  () => new Boolean(true),
  () => new String("s")
).map((make) => make())

/** Values of the wrong type for some field (some may happen to be valid for some fields). */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<() => unknown>(
    () => 42,
    () => -0,
    () => Number.NaN,
    () => true,
    () => null,
    () => undefined,
    () => "",
    () => "not a date",
    () => [],
    () => [1, "two"],
    () => ({}),
    () => ({ nested: { deep: true } }),
    () => new Date(0),
    () => new Date(Number.NaN),
    () => () => "fn",
    () => Symbol("field"),
    () => 7n,
    () => new Map(),
    () => "x".repeat(101)
  ).map((make) => make()),
  unjsonable
)

/** An object nested `depth` levels: `{ k: { k: ... } }` or arrays, ending in a leaf. */
const nested = (depth: number, useArrays: boolean, leaf: unknown): unknown => {
  let value: unknown = leaf
  for (let i = 0; i < depth; i++) value = useArrays && i % 2 === 1 ? [value] : { k: value }
  return value
}

/** A plain object containing itself somewhere below. */
const cyclic = (depth: number, viaArray: boolean): Record<string, unknown> => {
  const root: Record<string, unknown> = { a: 1 }
  let node: Record<string, unknown> = root
  for (let i = 0; i < depth; i++) {
    const child: Record<string, unknown> = { i }
    node.next = child
    node = child
  }
  node.back = viaArray ? [1, root] : root
  return root
}

/** The JSON-object fields a message of this type may carry. */
const containersOf = (type: MessageType): ReadonlyArray<"context" | "properties" | "traits"> =>
  type === "track" || type === "page" || type === "screen"
    ? ["context", "properties"]
    : type === "identify" || type === "group"
    ? ["context", "traits"]
    : ["context"]

/** Puts `value` under `key` inside one of the message's JSON objects, `depth` plain objects down. */
const place = (
  message: Message.Message,
  container: "context" | "properties" | "traits",
  key: string,
  depth: number,
  value: unknown
): Record<string, unknown> => {
  const existing = (message as Record<string, unknown>)[container] as Record<string, unknown> | undefined
  const inner = nested(depth, false, value)
  return { ...message, [container]: { ...existing, [key]: inner } }
}

const containerFor = (message: Message.Message, pick: number) => {
  const containers = containersOf(message.type)
  return containers[pick % containers.length]!
}

const withoutType = (message: Record<string, unknown>): Record<string, unknown> => {
  const { type: _type, ...rest } = message
  return rest
}

/** Turns a message into a per-type call (`track(input)`) or a `send(message)`. */
const asCall = (kind: string, message: Record<string, unknown>, viaSend: boolean, expect: Expect): Case => {
  const type = message.type as MessageType
  return viaSend
    ? { kind, call: "send", input: message, expect }
    : { kind, call: type, input: withoutType(message), expect }
}

const propertyKey = fc.oneof(fc.string({ minLength: 0, maxLength: 12 }), oddString)

// --- the generators: each yields cases carrying the expected result ---

/** Valid messages from the Schema's own arbitrary: the oracle is the Schema itself. */
const validCase = fc.tuple(validMessage, fc.boolean()).map(([message, viaSend]) =>
  asCall(
    "valid",
    message as Record<string, unknown>,
    viaSend,
    oracle(message)
  )
)

/** Nesting from 10 to 200 levels; at most 64 is allowed. */
const deepCase = fc.tuple(baseMessage, fc.integer({ min: 10, max: 200 }), fc.boolean(), fc.nat(), fc.boolean())
  .map(([message, depth, useArrays, pick, viaSend]) => {
    const container = containerFor(message, pick)
    const value = nested(depth, useArrays, "leaf")
    // `container.deep` sits one level down, and the value adds `depth` levels: around the limit of
    // 64 the exact count is the encoder's business, so both results are accepted there.
    const expect: Expect = depth <= 60 ? "ok" : depth >= 66 ? "InvalidMessage" : "typed"
    const patched = place(message, container, "deep", 0, value)
    return asCall("deep", patched, viaSend, expect === "ok" ? oracle(patched) : expect)
  })

/** Strings up to ~100 KB in a property, an id or an event name. */
const hugeCase = fc.tuple(baseMessage, hugeString, fc.nat(), fc.constantFrom("json", "userId", "event"), fc.boolean())
  .map(([message, text, pick, where, viaSend]) => {
    let patched: Record<string, unknown>
    if (where === "userId" && message.type !== "alias" || where === "event" && message.type === "track") {
      patched = { ...message, [where]: text }
    } else {
      patched = place(message, containerFor(message, pick), "huge", pick % 3, text)
    }
    const expect: Expect = jsonBytes(text) > maxMessageBytes ? "MessageTooLarge" : oracle(patched)
    return asCall("huge", patched, viaSend, expect)
  })

/** Cycles, directly or through an array, somewhere inside a JSON object. */
const cyclicCase = fc.tuple(baseMessage, fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.nat(), fc.boolean())
  .map(([message, depth, viaArray, pick, viaSend]) =>
    asCall("cyclic", place(message, containerFor(message, pick), "loop", pick % 3, cyclic(depth, viaArray)), viaSend, "InvalidMessage")
  )

/** Odd Unicode in ids, names, keys and values: all valid. */
const unicodeCase = fc.tuple(baseMessage, oddString, oddString, oddString, fc.nat(), fc.boolean())
  .map(([message, id, key, value, pick, viaSend]) => {
    const patched: Record<string, unknown> = message.type === "alias"
      ? { ...message, userId: id, previousId: value }
      : { ...message, userId: id }
    if (message.type === "track") patched.event = value
    if (message.type === "group") patched.groupId = value
    const placed = place(patched as Message.Message, containerFor(message, pick), key, pick % 3, { [value]: [value, key] })
    return asCall("unicode", placed, viaSend, oracle(placed))
  })

/** A wrong value for one field (known or `type` itself through `send`). */
const wrongTypeCase = fc.tuple(baseMessage, fc.nat(), wrongValue, fc.boolean())
  .map(([message, pick, value, viaSend]) => {
    const fields = fieldsOf[message.type]
    const field = fields[pick % fields.length]!
    const patched = { ...message, [field]: value }
    return asCall("wrongType", patched, viaSend, oracle(patched))
  })

/** Functions, symbols, bigints and other values JSON cannot carry, at some depth. */
const unjsonableCase = fc.tuple(baseMessage, unjsonable, fc.nat(), propertyKey, fc.boolean())
  .map(([message, value, pick, key, viaSend]) =>
    asCall("unjsonable", place(message, containerFor(message, pick), key, pick % 4, value), viaSend, "InvalidMessage")
  )

/** A field no message type has. */
const extraFieldCase = fc.tuple(
  baseMessage,
  fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.constantFrom("__proto__", "constructor", "toString", "Type")),
  fc.jsonValue({ maxDepth: 2 }),
  fc.boolean()
)
  .filter(([message, key]) => !allFields.has(key) && !fieldsOf[message.type].includes(key))
  .map(([message, key, value, viaSend]) => {
    const patched: Record<string, unknown> = { ...message }
    Object.defineProperty(patched, key, { value, enumerable: true, writable: true, configurable: true })
    return asCall("extraField", patched, viaSend, "InvalidMessage")
  })

/** Not a message at all, through a per-type call. */
const nonObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<() => unknown>(
    () => null,
    () => undefined,
    () => 0,
    () => Number.NaN,
    () => "track",
    () => true,
    () => [],
    () => [{ userId: "u", event: "e" }],
    () => () => ({ userId: "u" }),
    () => Symbol("m"),
    () => 3n,
    () => new Date(0),
    () => Object.create(null)
  ).map((make) => make()),
  fc.integer(),
  fc.string()
)
const nonObjectCase = fc.tuple(nonObject, fc.constantFrom(...types))
  .map(([input, call]): Case => ({ kind: "nonObject", call, input, expect: "InvalidMessage" }))

/** Everything above, through per-type calls and `send` with a known `type`. */
const anyCase: fc.Arbitrary<Case> = fc.oneof(
  { weight: 3, arbitrary: validCase },
  { weight: 1, arbitrary: deepCase },
  { weight: 1, arbitrary: hugeCase },
  { weight: 1, arbitrary: cyclicCase },
  { weight: 1, arbitrary: unicodeCase },
  { weight: 2, arbitrary: wrongTypeCase },
  { weight: 1, arbitrary: unjsonableCase },
  { weight: 1, arbitrary: extraFieldCase },
  { weight: 1, arbitrary: nonObjectCase }
)

/** `send` with something that is not one of the six messages: no object, or an unknown `type`. */
const badSendCase: fc.Arbitrary<Case> = fc.oneof(
  nonObject.map((input): Case => ({ kind: "sendNonObject", call: "send", input, expect: "InvalidMessage" })),
  fc.tuple(
    validMessage,
    fc.oneof(
      fc.constantFrom<unknown>("bogus", "Track", "constructor", "toString", "__proto__", "hasOwnProperty", "", 42, null),
      fc.string({ maxLength: 10 }).filter((s) => !types.includes(s as MessageType))
    ),
    fc.boolean()
  ).map(([message, type, drop]): Case => {
    const input: Record<string, unknown> = { ...message }
    if (drop) delete input.type
    else input.type = type
    return { kind: "sendBadType", call: "send", input, expect: "InvalidMessage" }
  })
)

// --- running the cases ---

const allowedErrors = new Set(["InvalidMessage", "MessageTooLarge"])

/** What one call did, or a sentence saying how it went wrong. */
const classify = (testCase: Case, exit: Exit.Exit<string, unknown>): Result.Result<string | undefined, string> => {
  if (Exit.isSuccess(exit)) {
    if (typeof exit.value !== "string" || exit.value.length === 0) {
      return Result.fail(`succeeded without a message id: ${String(exit.value)}`)
    }
    if (testCase.expect !== "ok" && testCase.expect !== "typed") {
      return Result.fail(`succeeded, expected ${testCase.expect}`)
    }
    return Result.succeed(exit.value)
  }
  const cause = exit.cause
  if (Cause.hasDies(cause)) return Result.fail(`defect: ${Cause.pretty(cause).split("\n")[0]}`)
  if (Cause.hasInterrupts(cause)) return Result.fail("interrupted")
  const failures = cause.reasons.filter(Cause.isFailReason).map((reason) => reason.error)
  if (failures.length !== 1) return Result.fail(`${failures.length} failures in the cause`)
  const error = failures[0] as { readonly _tag?: unknown } | null | undefined
  const tag = typeof error === "object" && error !== null ? error._tag : undefined
  if (typeof tag !== "string" || !allowedErrors.has(tag)) {
    return Result.fail(`untyped or unexpected error: ${String(tag ?? error)}`)
  }
  if (testCase.expect === "ok") return Result.fail(`failed with ${tag}, expected success`)
  if (testCase.expect !== "typed" && testCase.expect !== tag) {
    return Result.fail(`failed with ${tag}, expected ${testCase.expect}`)
  }
  return Result.succeed(undefined)
}

const describeCase = (testCase: Case): string => {
  let shown: string
  try {
    shown = JSON.stringify(testCase.input, (_key, value) =>
      typeof value === "string" && value.length > 80
        ? `${value.slice(0, 80)}…(${value.length})`
        : typeof value === "bigint" || typeof value === "symbol" || typeof value === "function"
        ? String(value)
        : value)
  } catch {
    shown = "(cyclic)"
  }
  return `${testCase.kind} via ${testCase.call}: ${shown?.slice(0, 400)}`
}

const makeCall = (analytics: Analytics.AnalyticsService, testCase: Case): Effect.Effect<string, unknown> =>
  // `suspend`: a call that throws while building its Effect shows up as a defect, not a crash.
  Effect.suspend(() =>
    testCase.call === "send"
      ? analytics.send(testCase.input as Message.Message)
      : (analytics[testCase.call] as (input: unknown) => Effect.Effect<string, unknown>)(testCase.input)
  )

const ClientLayer = Analytics.layerWithoutTransport({
  writeKey: "fuzz-write-key",
  maxQueueSize: 50_000
}).pipe(Layer.provideMerge(MemoryTransport.layer()))

interface Tally {
  readonly accepted: Array<string>
  readonly byKind: Record<string, { ok: number; rejected: number }>
}

/**
 * Runs `numRuns` cases through one client, then flushes and checks that every accepted message was
 * delivered exactly once.
 */
const fuzz = (arbitrary: fc.Arbitrary<Case>, numRuns: number, seed: number) =>
  Effect.gen(function*() {
    const analytics = yield* Analytics.Analytics
    const memory = yield* MemoryTransport.MemoryTransport
    const outcomes = yield* analytics.subscribe
    const run = Effect.runPromiseExitWith(yield* Effect.context<never>())
    const tally: Tally = { accepted: [], byKind: {} }

    const property = fc.asyncProperty(arbitrary, async (testCase) => {
      const exit = await run(makeCall(analytics, testCase))
      const result = classify(testCase, exit)
      if (Result.isFailure(result)) throw new Error(`${result.failure}\n  input: ${describeCase(testCase)}`)
      const counts = tally.byKind[testCase.kind] ??= { ok: 0, rejected: 0 }
      if (result.success === undefined) counts.rejected++
      else {
        counts.ok++
        tally.accepted.push(result.success)
      }
    })
    const report = yield* Effect.promise(() => fc.check(property, { numRuns, seed, timeout: 5_000, endOnFailure: true }))
    if (report.failed) {
      assert.fail(
        `counterexample after ${report.numRuns} runs (seed ${report.seed}, path ${report.counterexamplePath}): ${
          report.errorInstance instanceof Error ? report.errorInstance.message : String(report.errorInstance)
        }`
      )
    }
    assert.strictEqual(report.numRuns, numRuns)

    // The batcher still works after all that.
    yield* analytics.flush
    const delivered = (yield* memory.delivered).map((m) => m.messageId as string)
    const expected = new Map<string, number>()
    for (const id of tally.accepted) expected.set(id, (expected.get(id) ?? 0) + 1)
    const got = new Map<string, number>()
    for (const id of delivered) got.set(id, (got.get(id) ?? 0) + 1)
    const mismatched = Array.from(new Set([...expected.keys(), ...got.keys()])).filter((id) =>
      expected.get(id) !== got.get(id)
    )
    assert.deepStrictEqual(mismatched.slice(0, 10), [], "accepted ids delivered other than exactly once")
    assert.strictEqual(delivered.length, tally.accepted.length)
    const counts = Outcome.count(yield* takeAll(outcomes))
    assert.deepStrictEqual(counts, { delivered: tally.accepted.length, failed: 0, dropped: 0 })
    return tally
  }).pipe(Effect.provide(ClientLayer))

/** Each generator must really have produced both accepted and rejected inputs where it can. */
const assertCoverage = (tally: Tally, kinds: Record<string, "ok" | "rejected" | "both">) => {
  for (const [kind, want] of Object.entries(kinds)) {
    const counts = tally.byKind[kind]
    assert.isDefined(counts, `no ${kind} case was generated`)
    if (want !== "rejected") assert.isAbove(counts!.ok, 0, `no ${kind} case was accepted`)
    if (want !== "ok") assert.isAbove(counts!.rejected, 0, `no ${kind} case was rejected`)
  }
}

describe("fuzz", () => {
  it.effect("9,000 valid and hostile inputs through the six calls and send: typed errors only, nothing lost", () =>
    Effect.gen(function*() {
      const tally = yield* fuzz(anyCase, 9_000, 20261127)
      assertCoverage(tally, {
        valid: "ok",
        deep: "both",
        huge: "both",
        cyclic: "rejected",
        unicode: "ok",
        wrongType: "both",
        unjsonable: "rejected",
        extraField: "rejected",
        nonObject: "rejected"
      })
    }), 60_000)

  // Found by this suite: `send` with something that is not one of the six messages must fail with
  // `InvalidMessage` like the per-type calls do, not throw or die.
  it.effect("1,000 non-messages and unknown types through send: InvalidMessage, never a defect", () =>
    Effect.gen(function*() {
      const tally = yield* fuzz(badSendCase, 1_000, 4242)
      assertCoverage(tally, { sendNonObject: "rejected", sendBadType: "rejected" })
    }), 60_000)
})
