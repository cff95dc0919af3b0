import { assert, describe, it, vi } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, FastCheck, Layer, Random, TestClock } from "effect"
import { readFileSync } from "node:fs"
import { Analytics, type AnalyticsError, MemoryTransport } from "../src/index.js"
import * as Ids from "../src/internal/ids.js"
import * as Version from "../src/internal/version.js"

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  readonly name: string
  readonly version: string
}

const clientLayer = (options: Partial<Analytics.Options> = {}) =>
  Analytics.layerWithoutTransport({ writeKey: "k", ...options }).pipe(Layer.provideMerge(MemoryTransport.layer()))

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

type Sent = Record<string, any>

const fixedClock = (nanos: bigint): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => Number(nanos / 1_000_000n),
  unsafeCurrentTimeNanos: () => nanos,
  currentTimeMillis: Effect.sync(() => Number(nanos / 1_000_000n)),
  currentTimeNanos: Effect.sync(() => nanos),
  sleep: () => Effect.void
})

/** Flushes and returns the messages as the collector would receive them. */
const sent = Effect.gen(function*() {
  yield* Analytics.flush
  const memory = yield* MemoryTransport.MemoryTransport
  return (yield* memory.delivered) as ReadonlyArray<Sent>
})

describe("messageId", () => {
  it.effect("kept when given, the same in the batch and in the call's result", () =>
    Effect.gen(function*() {
      const id = yield* Analytics.track({ userId: "u1", event: "e", messageId: "my-dedupe-key" })
      assert.strictEqual(id, "my-dedupe-key")
      const [message] = yield* sent
      assert.strictEqual(message!.messageId, "my-dedupe-key")
    }).pipe(Effect.provide(clientLayer())))

  it.effect("otherwise a UUID v4, different on every call", () =>
    Effect.gen(function*() {
      const ids: Array<string> = []
      for (let i = 0; i < 200; i++) ids.push(yield* Analytics.track({ userId: "u1", event: "e" }))
      for (const id of ids) assert.match(id, uuidV4)
      assert.strictEqual(new Set(ids).size, ids.length)
      const messages = yield* sent
      assert.deepStrictEqual(messages.map((m) => m.messageId), ids)
    }).pipe(Effect.provide(clientLayer())))

  const idsUnderSeed = (seed: number) =>
    Effect.gen(function*() {
      const ids: Array<string> = []
      ids.push(yield* Analytics.track({ userId: "u1", event: "e" }))
      ids.push(yield* Analytics.identify({ anonymousId: "a1" }))
      ids.push(yield* Analytics.alias({ userId: "u1", previousId: "a1" }))
      return ids
    }).pipe(
      Effect.provide(clientLayer()),
      // The client seeds its id generator when it is built: the seeded Random must be in place then.
      Effect.withRandom(Random.make(seed))
    )

  it.effect("deterministic under a seeded Random", () =>
    Effect.gen(function*() {
      const first = yield* idsUnderSeed(42)
      const again = yield* idsUnderSeed(42)
      const other = yield* idsUnderSeed(43)
      assert.deepStrictEqual(first, again)
      assert.notDeepEqual(first, other)
      for (const id of [...first, ...other]) assert.match(id, uuidV4)
      assert.strictEqual(new Set(first).size, 3)
    }))

  it.effect("two processes whose Random has the same seed still get different ids at different times", () =>
    Effect.gen(function*() {
      // Effect's default Random has a 32-bit seed: processes do share seeds. The time keeps them apart.
      const early = yield* idsUnderSeed(7)
      yield* TestClock.adjust("3 millis")
      const later = yield* idsUnderSeed(7)
      for (let i = 0; i < early.length; i++) assert.notStrictEqual(early[i], later[i])
      for (const id of [...early, ...later]) assert.match(id, uuidV4)
    }))

  it.prop(
    "every id is a well-formed UUID v4, whatever the draws and the time",
    [
      FastCheck.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      FastCheck.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      FastCheck.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      FastCheck.bigInt({ min: 0n, max: 2n ** 64n })
    ],
    ([a, b, c, nanos]) => {
      const id = Effect.runSync(
        Effect.map(Ids.make, (ids) => ids.uuid()).pipe(
          Effect.withRandom(Random.fixed([a, b, c])),
          Effect.withClock(fixedClock(nanos))
        )
      )
      assert.match(id, uuidV4)
    }
  )
})

describe("timestamp", () => {
  // The clock is set before the client starts: moving a TestClock years ahead under a running client
  // would replay its interval ticker once per flushInterval.
  const at = <A, E, R>(iso: string, effect: Effect.Effect<A, E, R>) =>
    Effect.zipRight(TestClock.setTime(Date.parse(iso)), effect)

  it.effect("filled from the Clock at the moment of the call", () =>
    at(
      "2024-03-01T12:34:56.789Z",
      Effect.gen(function*() {
        yield* Analytics.track({ userId: "u1", event: "first" })
        yield* TestClock.adjust("1500 millis")
        yield* Analytics.track({ userId: "u1", event: "second" })
        const messages = yield* sent
        assert.deepStrictEqual(messages.map((m) => m.timestamp), [
          "2024-03-01T12:34:56.789Z",
          "2024-03-01T12:34:58.289Z"
        ])
      }).pipe(Effect.provide(clientLayer()))
    ))

  it.effect("a given Date is sent as its ISO string; a given ISO string is sent as given", () =>
    Effect.gen(function*() {
      const given = [
        new Date("2020-01-02T03:04:05.678Z"),
        "2024-02-29T13:45:00+01:00",
        "2024-02-29",
        "1999-12-31T23:59:59.999Z"
      ]
      for (const timestamp of given) yield* Analytics.track({ userId: "u1", event: "historical", timestamp })
      const messages = yield* sent
      assert.deepStrictEqual(messages.map((m) => m.timestamp), [
        "2020-01-02T03:04:05.678Z",
        "2024-02-29T13:45:00+01:00",
        "2024-02-29",
        "1999-12-31T23:59:59.999Z"
      ])
    }).pipe(Effect.provide(clientLayer())))
})

describe("context", () => {
  it("src/internal/version.ts matches package.json", () => {
    assert.strictEqual(Version.name, pkg.name)
    assert.strictEqual(Version.version, pkg.version)
  })

  it.effect("context.library is set on every message, and wins over the message's own", () =>
    Effect.gen(function*() {
      const library = { name: "analytics-effect", version: pkg.version }
      yield* Analytics.identify({ userId: "u1" })
      yield* Analytics.page({ anonymousId: "a1", context: { ip: "203.0.113.7" } })
      const own = { library: { name: "spoofed", version: "9" } }
      yield* Analytics.track({ userId: "u1", event: "e", context: own })
      const messages = yield* sent
      for (const m of messages) assert.deepStrictEqual(m.context.library, library)
      assert.strictEqual(messages[1]!.context.ip, "203.0.113.7")
      assert.deepStrictEqual(own, { library: { name: "spoofed", version: "9" } }, "the caller's object is not mutated")
    }).pipe(Effect.provide(clientLayer())))

  const defaultContext = {
    app: { name: "shop", version: "1.0", build: { number: 1, sha: "abc" } },
    locale: "en-US",
    tags: ["a", "b"],
    library: { name: "not-us" }
  }

  it.effect("the default context is deep-merged under the message's own; the message wins", () =>
    Effect.gen(function*() {
      const library = { name: "analytics-effect", version: pkg.version }
      yield* Analytics.track({ userId: "u1", event: "plain" })
      yield* Analytics.track({
        userId: "u1",
        event: "merged",
        context: { app: { version: "2.0", build: { sha: "def" } }, ip: "203.0.113.7", tags: ["c"] }
      })
      yield* Analytics.track({ userId: "u1", event: "flat", context: { app: "flat" } })
      const [plain, merged, flat] = yield* sent
      assert.deepStrictEqual(plain!.context, { ...defaultContext, library })
      assert.deepStrictEqual(merged!.context, {
        app: { name: "shop", version: "2.0", build: { number: 1, sha: "def" } },
        locale: "en-US",
        tags: ["c"],
        library,
        ip: "203.0.113.7"
      })
      assert.deepStrictEqual(flat!.context, { app: "flat", locale: "en-US", tags: ["a", "b"], library })
      assert.deepStrictEqual(defaultContext.app, { name: "shop", version: "1.0", build: { number: 1, sha: "abc" } })
    }).pipe(Effect.provide(clientLayer({ defaultContext }))))

  it.effect("a __proto__ key (as JSON.parse makes it) is sent as a key, not turned into a prototype", () =>
    Effect.gen(function*() {
      const context = JSON.parse("{\"__proto__\":{\"polluted\":true},\"ip\":\"203.0.113.7\"}")
      yield* Analytics.track({ userId: "u1", event: "e", messageId: "m1", context })
      yield* Analytics.flush
      const memory = yield* MemoryTransport.MemoryTransport
      const [request] = yield* memory.requests
      assert.include(request!.messages[0]!.json, "\"__proto__\":{\"polluted\":true}")
      assert.isUndefined(({} as Record<string, unknown>).polluted)
    }).pipe(Effect.provide(clientLayer({ defaultContext: { app: { name: "shop" } } }))))
})

describe("integrations", () => {
  it.effect("passed through as given", () =>
    Effect.gen(function*() {
      const integrations = { All: false, Mixpanel: true, "Google Analytics": { clientId: "123.456" } }
      yield* Analytics.track({ userId: "u1", event: "with", integrations })
      yield* Analytics.track({ userId: "u1", event: "without" })
      const [withIntegrations, without] = yield* sent
      assert.deepStrictEqual(withIntegrations!.integrations, integrations)
      assert.isFalse("integrations" in without!)
    }).pipe(Effect.provide(clientLayer())))

  it.effect("defaultIntegrations are merged under the message's own", () =>
    Effect.gen(function*() {
      yield* Analytics.track({ userId: "u1", event: "defaults" })
      yield* Analytics.track({
        userId: "u1",
        event: "override",
        integrations: { Mixpanel: false, Amplitude: { apiKey: "k2" } }
      })
      yield* Analytics.identify({ userId: "u1", integrations: { All: true } })
      const [defaults, override, all] = yield* sent
      assert.deepStrictEqual(defaults!.integrations, { All: false, Mixpanel: true })
      assert.deepStrictEqual(override!.integrations, { All: false, Mixpanel: false, Amplitude: { apiKey: "k2" } })
      assert.deepStrictEqual(all!.integrations, { All: true, Mixpanel: true })
    }).pipe(Effect.provide(clientLayer({ defaultIntegrations: { All: false, Mixpanel: true } }))))
})

describe("invalid client defaults", () => {
  const failure = (exit: Exit.Exit<unknown, unknown>) =>
    Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error as AnalyticsError.InvalidMessage : undefined

  it.effect("a defaultContext JSON cannot carry fails each call with a typed error naming it", () =>
    Effect.gen(function*() {
      const error = failure(yield* Effect.exit(Analytics.track({ userId: "u1", event: "e" })))
      assert.strictEqual(error?._tag, "InvalidMessage")
      assert.deepStrictEqual(error?.path, ["context", "app", "build"])
      assert.include(error?.reason, "defaultContext")
    }).pipe(Effect.provide(clientLayer({ defaultContext: { app: { build: 1n } } as any }))))

  it.effect("so does a malformed defaultIntegrations", () =>
    Effect.gen(function*() {
      const error = failure(yield* Effect.exit(Analytics.identify({ userId: "u1" })))
      assert.strictEqual(error?._tag, "InvalidMessage")
      assert.deepStrictEqual(error?.path, ["integrations", "Mixpanel"])
      assert.include(error?.reason, "defaultIntegrations")
    }).pipe(Effect.provide(clientLayer({ defaultIntegrations: { Mixpanel: 1 } as any }))))
})

describe("the one serialization", () => {
  it.effect("the encoded JSON is what lands, byte for byte, in the recorded request", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* Analytics.identify({ userId: "u1", traits: { name: "Zoë", plan: "€ pro 😀" } })
      yield* Analytics.track({ userId: "u1", anonymousId: undefined, event: "Signed Up", properties: { n: 1 } })
      yield* Analytics.page({ anonymousId: "a1", name: "Home", category: "Docs" })
      yield* Analytics.screen({ userId: "u1", name: "Settings" })
      yield* Analytics.group({ userId: "u1", groupId: "g1", traits: { employees: 42 } })
      yield* Analytics.alias({ userId: "u1", previousId: "a1" })
      yield* Analytics.flush
      const requests = yield* memory.requests
      assert.strictEqual(requests.length, 1)
      const request = requests[0]!
      const { messages, batch, body } = request
      assert.deepStrictEqual(messages.map((m) => m.type), ["identify", "track", "page", "screen", "group", "alias"])
      assert.strictEqual(
        body,
        `{"batch":[${messages.map((m) => m.json).join(",")}],"sentAt":"${request.sentAt}","writeKey":"test-write-key"}`
      )
      messages.forEach((m, i) => {
        assert.deepStrictEqual(JSON.parse(m.json), batch[i])
        assert.strictEqual(m.bytes, Buffer.byteLength(m.json, "utf8"))
        assert.strictEqual(batch[i]!.messageId, m.messageId)
        assert.strictEqual(batch[i]!.type, m.type)
      })
      assert.strictEqual(request.bodyBytes, Buffer.byteLength(body, "utf8"))
      assert.isFalse("anonymousId" in batch[1]!, "an undefined field is left out")
      assert.deepStrictEqual(batch[0]!.traits, { name: "Zoë", plan: "€ pro 😀" })
      assert.deepStrictEqual(
        { name: batch[2]!.name, category: batch[2]!.category },
        { name: "Home", category: "Docs" }
      )
    }).pipe(Effect.provide(clientLayer())))

  it.effect("exactly one JSON.stringify per message, from the call to the recorded request", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      const spy = vi.spyOn(JSON, "stringify")
      try {
        for (let i = 0; i < 10; i++) {
          yield* Analytics.track({ userId: "u1", event: "e", properties: { i, nested: { list: [i, String(i)] } } })
        }
        yield* Analytics.flush
        const [request] = yield* memory.requests
        assert.strictEqual(request!.messages.length, 10)
        // Effect itself may stringify its own data types (an `Option` with `_id`); everything else
        // serialized must be one of our messages, once each.
        const ours = spy.mock.calls.map((args) => args[0]).filter((value) =>
          !(typeof value === "object" && value !== null && "_id" in value)
        )
        assert.strictEqual(ours.length, 10)
        // (in the common case the caller's own object is serialized, the generated fields around it)
        for (const value of ours) assert.strictEqual((value as { event: string }).event, "e")
      } finally {
        spy.mockRestore()
      }
    }).pipe(Effect.provide(clientLayer())))
})
