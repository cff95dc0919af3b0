import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Either, FastCheck as fc, ParseResult, Random } from "effect"
import * as Message from "../src/Message.js"
import * as Ids from "../src/internal/ids.js"
import { isValid } from "../src/internal/validate.js"

const types = Object.keys(Message.schemas) as Array<Message.MessageType>

const schemaAccepts = (type: Message.MessageType, input: unknown): boolean =>
  Either.isRight(
    ParseResult.decodeUnknownEither(Message.schemas[type] as any, { errors: "first", onExcessProperty: "error" })(
      typeof input === "object" && input !== null ? { ...input, type } : input
    )
  )

// Values that are valid somewhere and invalid elsewhere, to mix into messages.
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(""),
  fc.string({ maxLength: 5 }),
  fc.string({ minLength: 101, maxLength: 102 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(new Date("invalid")),
  fc.date({ noInvalidDate: true }),
  fc.constant("2024-02-29T13:45:00.000Z"),
  fc.constant("2024-13-45"),
  fc.constant({ All: false, Mixpanel: true, Amplitude: { key: 1 } }),
  fc.constant({ All: { nested: true } }),
  fc.constant({ a: [1, undefined] }),
  fc.constant({ a: Number.NaN }),
  fc.constant({ f: () => 1 }),
  fc.constant([1, 2]),
  fc.constant(new Map()),
  fc.jsonValue({ maxDepth: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
)

const fieldNames = [
  "userId", "anonymousId", "event", "properties", "traits", "context", "integrations", "timestamp",
  "messageId", "name", "category", "groupId", "previousId", "type", "extra"
]

const mutated = fc.tuple(
  fc.constantFrom(...types),
  fc.dictionary(fc.constantFrom(...fieldNames), anyValue, { maxKeys: 6 })
)

describe("the fast validator agrees with the Schemas", () => {
  it("never accepts what a Schema rejects (random field mixes)", () => {
    fc.assert(
      fc.property(mutated, ([type, input]) => {
        if (isValid(type, input)) assert.isTrue(schemaAccepts(type, input), JSON.stringify(input))
      }),
      { numRuns: 5_000 }
    )
  })

  it("accepts the valid messages the Schemas' arbitraries generate (the fast path is taken)", () => {
    let fast = 0
    let total = 0
    fc.assert(
      fc.property(Arbitrary.make(Message.Message), (message) => {
        const { type, ...input } = message as any
        // The arbitrary of a struct with an index signature can emit `All: undefined`, which the
        // Schema itself rejects: only the values the Schema accepts are relevant here.
        if (!schemaAccepts(type, input)) return
        const ok = isValid(type, input)
        if (ok) fast++
        total++
      }),
      { numRuns: 2_000 }
    )
    assert.isAbove(fast / total, 0.9, `fast path taken for ${fast} of ${total}`)
  })

  it("rejects objects the Schema must judge: symbol keys, class instances, non-enumerable keys", () => {
    const withSymbol = { userId: "u", event: "e", [Symbol("s")]: 1 }
    assert.isFalse(isValid("track", withSymbol))
    class Input {
      userId = "u"
      event = "e"
    }
    assert.isFalse(isValid("track", new Input()))
    const hidden = { userId: "u", event: "e" }
    Object.defineProperty(hidden, "secret", { value: 1, enumerable: false })
    assert.isFalse(isValid("track", hidden))
    assert.isTrue(isValid("track", { userId: "u", event: "e" }))
  })
})

describe("ids", () => {
  it.effect("UUIDs are v4, distinct, and reproducible under a seeded Random", () =>
    Effect.gen(function*() {
      const a = yield* Effect.withRandom(Ids.make, Random.make(42))
      const b = yield* Effect.withRandom(Ids.make, Random.make(42))
      const c = yield* Effect.withRandom(Ids.make, Random.make(43))
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
