import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Base64 } from "effect/encoding"
import { TestClock } from "effect/testing"
import { Analytics, MemoryTransport } from "../src/index.js"
import * as Testing from "../src/Testing.js"

describe("Testing", () => {
  // The example of the module's documentation, as a user would write it.
  it.effect("documentation example: tracks the sign-up", () =>
    Effect.gen(function*() {
      yield* Analytics.track({ userId: "f4ca124298", event: "Signed Up", properties: { plan: "Enterprise" } })
      yield* TestClock.adjust("5 seconds")
      assert.deepStrictEqual((yield* Testing.sentOf("track"))[0]?.properties, { plan: "Enterprise" })
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("sent flushes and returns every message in order, without moving the clock", () =>
    Effect.gen(function*() {
      yield* Analytics.identify({ userId: "019mr8mf4r", traits: { name: "Michael Bolton", friends: 42 } })
      yield* Analytics.track({ userId: "f4ca124298", event: "Signed Up" })
      yield* Analytics.group({ userId: "019mr8mf4r", groupId: "56", traits: { name: "Initech" } })
      const memory = yield* MemoryTransport.MemoryTransport
      assert.strictEqual((yield* memory.requests).length, 0, "nothing is sent before the flush")

      const sent = yield* Testing.sent
      assert.deepStrictEqual(sent.map((m) => m.type), ["identify", "track", "group"])
      assert.deepStrictEqual(sent[0]!.traits, { name: "Michael Bolton", friends: 42 })
      assert.isString(sent[0]!.messageId)
      // The test clock has not moved: a message without a timestamp carries the clock's time, 0.
      assert.strictEqual(sent[1]!.timestamp, "1970-01-01T00:00:00.000Z")
      assert.strictEqual((yield* memory.requests).length, 1)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("the interval flush fires only when the test clock is adjusted", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* Analytics.track({ userId: "u1", event: "Item Viewed" })
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual((yield* memory.requests).length, 0)
      yield* TestClock.adjust("1 millis")
      const requests = yield* memory.awaitRequests(1)
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(requests[0]!.batch[0]!.event, "Item Viewed")
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("sentOf keeps one type, narrowed", () =>
    Effect.gen(function*() {
      yield* Analytics.track({ userId: "u1", event: "A" })
      yield* Analytics.page({ userId: "u1", name: "Home" })
      yield* Analytics.track({ userId: "u1", event: "B" })
      yield* Analytics.alias({ userId: "u1", previousId: "anon" })
      const tracks = yield* Testing.sentOf("track")
      assert.deepStrictEqual(tracks.map((t) => t.event), ["A", "B"])
      const aliases = yield* Testing.sentOf("alias")
      assert.deepStrictEqual(aliases.map((a) => [a.type, a.previousId]), [["alias", "anon"]])
      assert.deepStrictEqual(yield* Testing.sentOf("screen"), [])
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("options override the defaults, the write key included", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      // flushAt: 1 sends each call at once, without a flush or the clock.
      yield* Analytics.track({ userId: "u1", event: "A" })
      yield* memory.awaitRequests(1)
      yield* Analytics.track({ userId: "u1", event: "B" })
      const requests = yield* memory.awaitRequests(2)
      assert.deepStrictEqual(requests.map((r) => r.batch.map((m) => m.event)), [["A"], ["B"]])
      assert.strictEqual(requests[0]!.headers["authorization"], `Basic ${Base64.encode("custom-key:")}`)
      assert.strictEqual(JSON.parse(requests[0]!.body).writeKey, "custom-key")
      const [first] = yield* Testing.sent
      const context = first!.context as { readonly app?: unknown; readonly library?: { readonly name?: unknown } }
      assert.strictEqual(context.app, "demo")
      assert.strictEqual(context.library?.name, "analytics-effect")
    }).pipe(Effect.provide(Testing.layer({ writeKey: "custom-key", flushAt: 1, defaultContext: { app: "demo" } }))))

  it.effect("the default write key is test-write-key", () =>
    Effect.gen(function*() {
      yield* Analytics.track({ userId: "u1", event: "A" })
      yield* Testing.sent
      const memory = yield* MemoryTransport.MemoryTransport
      const [request] = yield* memory.requests
      assert.strictEqual(JSON.parse(request!.body).writeKey, Testing.writeKey)
      assert.strictEqual(Testing.writeKey, "test-write-key")
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("messages of a request the transport refused are not in sent", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* memory.setScript([MemoryTransport.status(400)])
      yield* Analytics.track({ userId: "u1", event: "Refused" })
      assert.deepStrictEqual(yield* Testing.sent, [])
      yield* Analytics.track({ userId: "u1", event: "Accepted" })
      assert.deepStrictEqual((yield* Testing.sent).map((m) => m.event), ["Accepted"])
      assert.strictEqual((yield* memory.requests).length, 2)
    }).pipe(Effect.provide(Testing.layer())))

  it.effect("each provided layer is a fresh client", () =>
    Effect.gen(function*() {
      const first = yield* Effect.gen(function*() {
        yield* Analytics.track({ userId: "u1", event: "First" })
        return yield* Testing.sent
      }).pipe(Effect.provide(Testing.layer()))
      const second = yield* Testing.sent.pipe(Effect.provide(Testing.layer()))
      assert.strictEqual(first.length, 1)
      assert.deepStrictEqual(second, [])
    }))
})
