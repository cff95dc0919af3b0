/**
 * Batch cutting (src/internal/core/batch.ts): plain functions over message sizes, tested without
 * fibers, against a brute-force definition of "fits".
 */
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import * as Batch from "../src/internal/core/batch.js"

const sized = (...bytes: Array<number>): Array<Batch.Sized> => bytes.map((b) => ({ bytes: b }))

const limits = (maxMessages: number, maxBytes: number, envelopeBytes = 10): Batch.Limits => ({
  maxMessages,
  maxBytes,
  envelopeBytes
})

describe("bodyBytes", () => {
  it("is the envelope, each message and one comma between two", () => {
    assert.strictEqual(Batch.bodyBytes(limits(10, 1000), sized()), 10)
    assert.strictEqual(Batch.bodyBytes(limits(10, 1000), sized(5)), 15)
    assert.strictEqual(Batch.bodyBytes(limits(10, 1000), sized(5, 6, 7)), 10 + 18 + 2)
    assert.strictEqual(Batch.bodyBytes(limits(10, 1000), sized(5, 6, 7), 1, 3), 10 + 13 + 1)
  })

  it("matches the length of a body assembled the way the wire does", () => {
    const messages = ["{\"a\":1}", "{\"b\":\"é\"}", "{}"]
    const envelope = "{\"batch\":[],\"sentAt\":\"2024-01-01T00:00:00.000Z\",\"writeKey\":\"k\"}"
    const utf8 = (s: string) => new TextEncoder().encode(s).length
    const body = `{"batch":[${messages.join(",")}],"sentAt":"2024-01-01T00:00:00.000Z","writeKey":"k"}`
    const items = messages.map((m) => ({ bytes: utf8(m) }))
    assert.strictEqual(Batch.bodyBytes(limits(10, 10_000, utf8(envelope)), items), utf8(body))
  })
})

describe("cutEnd", () => {
  it("stops at the message count", () => {
    assert.strictEqual(Batch.cutEnd(limits(3, 1000), sized(1, 1, 1, 1, 1)), 3)
    assert.strictEqual(Batch.cutEnd(limits(3, 1000), sized(1, 1, 1, 1, 1), 3), 5)
  })

  it("stops before the message that would pass the byte limit, counting the commas", () => {
    // envelope 10 + 40 + 1 + 40 = 91 fits 91; a third would make 132
    assert.strictEqual(Batch.cutEnd(limits(100, 91), sized(40, 40, 40)), 2)
    assert.strictEqual(Batch.cutEnd(limits(100, 90), sized(40, 40, 40)), 1)
  })

  it("always takes one message, even one over the limits, and nothing past the end", () => {
    assert.strictEqual(Batch.cutEnd(limits(100, 20), sized(500, 1)), 1)
    assert.strictEqual(Batch.cutEnd(limits(100, 20), sized(500, 1), 2), 2)
    assert.strictEqual(Batch.cutEnd(limits(100, 20), sized()), 0)
  })
})

describe("fillsRequest", () => {
  it("holds when the carry reaches the count or holds more bytes than one body", () => {
    assert.isFalse(Batch.fillsRequest(limits(3, 1000), sized(1, 1)))
    assert.isTrue(Batch.fillsRequest(limits(3, 1000), sized(1, 1, 1)))
    assert.isFalse(Batch.fillsRequest(limits(100, 91), sized(40, 40)))
    assert.isTrue(Batch.fillsRequest(limits(100, 91), sized(40, 40, 40)))
    assert.isFalse(Batch.fillsRequest(limits(3, 1000), sized()))
  })
})

describe("cutAll", () => {
  const int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))
  const arbitrary = Arbitrary.schema(Schema.Struct({
    maxMessages: int(1, 30),
    maxBytes: int(30, 400),
    envelopeBytes: int(0, 25),
    bytes: Schema.Array(int(1, 60)).check(Schema.isMaxLength(200))
  }))

  // `size` lets the arrays grow to their 200 messages (Effect's generator keeps them short by default).
  it.prop(
    "covers every message once, in order, each body within the limits and as full as it can be",
    [arbitrary],
    ([{ bytes, envelopeBytes, maxBytes, maxMessages }]) => {
      const l = limits(maxMessages, maxBytes, envelopeBytes)
      const items = sized(...bytes)
      const cuts = Batch.cutAll(l, items)
      let next = 0
      for (const [start, end] of cuts) {
        assert.strictEqual(start, next, "contiguous")
        assert.isAbove(end, start, "never empty")
        assert.isAtMost(end - start, maxMessages)
        if (end - start > 1) assert.isAtMost(Batch.bodyBytes(l, items, start, end), maxBytes)
        // greedy: the next message would not have fitted
        if (end < items.length && end - start < maxMessages) {
          assert.isAbove(Batch.bodyBytes(l, items, start, end + 1), maxBytes)
        }
        next = end
      }
      assert.strictEqual(next, items.length, "every message is in a body")
    },
    { arbitrary: { runs: 100, size: 200 } }
  )
})

describe("halve", () => {
  it("splits into two non-empty halves in order, and not a single message", () => {
    assert.deepStrictEqual(Batch.halve([1, 2, 3, 4, 5]), [[1, 2, 3], [4, 5]])
    assert.deepStrictEqual(Batch.halve([1, 2]), [[1], [2]])
    assert.isUndefined(Batch.halve([1]))
    assert.isUndefined(Batch.halve([]))
  })
})
