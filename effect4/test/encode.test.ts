import { assert, describe, it, vi } from "@effect/vitest"
import { Arbitrary, Cause, Clock, Effect, Exit, Layer, Random, Schema } from "effect"
import { TestClock } from "effect/testing"
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
  currentTimeMillisUnsafe: () => Number(nanos / 1_000_000n),
  currentTimeNanosUnsafe: () => nanos,
  currentTimeMillis: Effect.sync(() => Number(nanos / 1_000_000n)),
  currentTimeNanos: Effect.sync(() => nanos),
  monotonicTimeNanosUnsafe: () => nanos,
  monotonicTimeNanos: Effect.sync(() => nanos),
  sleep: () => Effect.void
})

/** A `Random` that returns `draws` in turn, over and over (Effect 3's `Random.fixed`). */
const fixedRandom = (draws: ReadonlyArray<number>): Random.Random => {
  let i = 0
  const next = () => draws[i++ % draws.length]!
  return {
    nextDoubleUnsafe: next,
    nextIntUnsafe: () => Math.floor(next() * 2 ** 53)
  }
}

/** The failure of a cause that is exactly one typed failure (no defect, no interruption), if it is one. */
const onlyFailure = (exit: Exit.Exit<unknown, unknown>): Cause.Fail<unknown> | undefined => {
  if (Exit.isSuccess(exit) || exit.cause.reasons.length !== 1) return undefined
  const reason = exit.cause.reasons[0]!
  return Cause.isFailReason(reason) ? reason : undefined
}

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
      Random.withSeed(seed)
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
      // Processes can share a seed (a seeded Random, or a default one seeded alike). The time keeps
      // them apart.
      const early = yield* idsUnderSeed(7)
      yield* TestClock.adjust("3 millis")
      const later = yield* idsUnderSeed(7)
      for (let i = 0; i < early.length; i++) assert.notStrictEqual(early[i], later[i])
      for (const id of [...early, ...later]) assert.match(id, uuidV4)
    }))

  // A draw of Effect 4's Random is a double in [0, 1): any of its 2^53 values.
  const draw = Arbitrary.map(
    Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 ** 53 - 1 }))),
    (n) => n / 2 ** 53
  )

  it.prop(
    "every id is a well-formed UUID v4, whatever the draws and the time",
    [draw, draw, draw, Schema.BigInt.check(Schema.isBetweenBigInt({ minimum: 0n, maximum: 2n ** 64n }))],
    ([a, b, c, nanos]) => {
      const id = Effect.runSync(
        Effect.map(Ids.make, (ids) => ids.uuid()).pipe(
          Effect.provideService(Random.Random, fixedRandom([a, b, c])),
          Effect.provideService(Clock.Clock, fixedClock(nanos))
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
    Effect.andThen(TestClock.setTime(Date.parse(iso)), effect)

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

  it.effect("a given timestamp is sent in one form: UTC, milliseconds, `YYYY-MM-DDTHH:mm:ss.sssZ`", () =>
    Effect.gen(function*() {
      class Lying extends Date {
        override toISOString() {
          return "+999999-01-01T00:00:00.000Z"
        }
      }
      const given: ReadonlyArray<readonly [Date | string, string]> = [
        [new Date("2020-01-02T03:04:05.678Z"), "2020-01-02T03:04:05.678Z"],
        [new Lying("2020-01-02T03:04:05.678Z"), "2020-01-02T03:04:05.678Z"],
        [new Date(-62_167_219_200_000), "0000-01-01T00:00:00.000Z"],
        ["2024-02-29T13:45:00+01:00", "2024-02-29T12:45:00.000Z"],
        ["2024-02-29T23:30:00-01:00", "2024-03-01T00:30:00.000Z"],
        ["2024-02-29T13:45Z", "2024-02-29T13:45:00.000Z"],
        ["2024-02-29t13:45:00.5z", "2024-02-29T13:45:00.500Z"],
        ["2024-02-29T13:45:00.123456789Z", "2024-02-29T13:45:00.123Z"],
        ["1999-12-31T23:59:59.999Z", "1999-12-31T23:59:59.999Z"],
        ["0000-01-01T01:00:00+01:00", "0000-01-01T00:00:00.000Z"]
      ]
      for (const [timestamp] of given) yield* Analytics.track({ userId: "u1", event: "historical", timestamp })
      const messages = yield* sent
      assert.deepStrictEqual(messages.map((m) => m.timestamp), given.map(([, wire]) => wire))
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

describe("client defaults: read once, snapshotted, and a bad one fails the layer", () => {
  const buildFailure = (options: Partial<Analytics.Options>) =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(clientLayer(options))))
      const failure = onlyFailure(exit) as Cause.Fail<AnalyticsError.InvalidOptions> | undefined
      assert.isDefined(failure, "expected the layer to fail with a typed error")
      assert.strictEqual(failure!.error._tag, "InvalidOptions")
      return failure!.error
    })

  const throwingGetter = Object.defineProperty({}, "app", {
    enumerable: true,
    get() {
      throw new Error("no app")
    }
  })
  const hiddenToJSON = Object.defineProperty({ ip: "203.0.113.7" }, "toJSON", { value: () => ({}), enumerable: false })
  const trappedProxy = new Proxy({ a: 1 }, {
    ownKeys() {
      throw new Error("no keys")
    }
  })
  let dag: Record<string, unknown> = { leaf: 1 }
  for (let i = 0; i < 40; i++) dag = { a: dag, b: dag }

  const cases: ReadonlyArray<{
    readonly name: string
    readonly options: Partial<Analytics.Options>
    readonly option: string
    readonly path: ReadonlyArray<string | number>
  }> = [
    { name: "a bigint", options: { defaultContext: { app: { build: 1n } } as any }, option: "defaultContext", path: ["app", "build"] },
    { name: "a throwing getter", options: { defaultContext: throwingGetter as any }, option: "defaultContext", path: ["app"] },
    { name: "a toJSON", options: { defaultContext: hiddenToJSON }, option: "defaultContext", path: [] },
    { name: "a Proxy whose trap throws", options: { defaultContext: trappedProxy }, option: "defaultContext", path: [] },
    { name: "not an object", options: { defaultContext: [1] as any }, option: "defaultContext", path: [] },
    { name: "a DAG over the size limit", options: { defaultContext: dag as any }, option: "defaultContext", path: [] },
    {
      name: "a destination set to a number",
      options: { defaultIntegrations: { Mixpanel: 1 } as any },
      option: "defaultIntegrations",
      path: ["Mixpanel"]
    },
    {
      name: "All not a boolean",
      options: { defaultIntegrations: { All: "yes" } as any },
      option: "defaultIntegrations",
      path: ["All"]
    }
  ]

  it.effect.each(cases)("$option with $name: the layer fails with InvalidOptions naming it", (c) =>
    Effect.gen(function*() {
      const error = yield* buildFailure(c.options)
      assert.strictEqual(error.option, c.option)
      assert.deepStrictEqual(error.path, c.path)
      assert.include(error.message, c.option)
    }))

  it.effect("a default whose getter changes is read once: every message carries the first value", () =>
    Effect.gen(function*() {
      let reads = 0
      const defaultContext = Object.defineProperty({}, "tenant", {
        enumerable: true,
        get: () => reads++ === 0 ? "acme" : { changed: Number.NaN }
      })
      const messages = yield* Effect.gen(function*() {
        yield* Analytics.track({ userId: "u1", event: "a" })
        yield* Analytics.track({ userId: "u1", event: "b", context: { ip: "203.0.113.7" } })
        return yield* sent
      }).pipe(Effect.provide(clientLayer({ defaultContext: defaultContext as any })))
      assert.strictEqual(reads, 1)
      assert.deepStrictEqual(messages.map((m) => m.context.tenant), ["acme", "acme"])
    }))
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

  it.effect("the caller's objects never reach JSON.stringify (so no toJSON or getter runs outside the one pass)", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      const spy = vi.spyOn(JSON, "stringify")
      try {
        for (let i = 0; i < 10; i++) {
          yield* Analytics.track({
            userId: "u1",
            event: "e",
            properties: { i, price: i + 0.25, name: "Zoë", nested: { list: [i, String(i)] } },
            context: { ip: "203.0.113.7" }
          })
        }
        yield* Analytics.flush
        const [request] = yield* memory.requests
        assert.strictEqual(request!.messages.length, 10)
        // Effect itself may stringify its own data types (an `Option` with `_id`); numbers and
        // non-ASCII strings go through the native formatter, as primitives.
        const objects = spy.mock.calls.map((args) => args[0]).filter((value) =>
          typeof value === "object" && value !== null && !("_id" in value)
        )
        assert.deepStrictEqual(objects, [])
      } finally {
        spy.mockRestore()
      }
    }).pipe(Effect.provide(clientLayer())))

  /** Wraps an object graph in Proxies that count the reads of each property, by path. */
  const counting = (value: unknown, reads: Map<string, number>, path = ""): unknown => {
    if (typeof value !== "object" || value === null || value instanceof Date) return value
    return new Proxy(value, {
      get(target, key, receiver) {
        const result = Reflect.get(target, key, receiver)
        if (typeof key === "symbol" || key === "toJSON" || key === "length") return result
        const at = `${path}.${key}`
        reads.set(at, (reads.get(at) ?? 0) + 1)
        return counting(result, reads, at)
      }
    })
  }

  it.effect("each property of the input is read exactly once, at every depth", () =>
    Effect.gen(function*() {
      const reads = new Map<string, number>()
      const input = counting({
        userId: "u1",
        event: "Order Completed",
        messageId: "m-1",
        timestamp: "2024-02-29T13:45:00+01:00",
        properties: { revenue: 41.25, items: [{ sku: "a", qty: 1 }, { sku: "b", qty: 2 }], tags: ["x", "y"] },
        context: { ip: "203.0.113.7", app: { name: "shop" }, library: { name: "spoofed" } },
        integrations: { All: false, Mixpanel: { key: "k" } }
      }, reads)
      yield* Analytics.track(input as any)
      const [message] = yield* sent
      assert.strictEqual(message!.messageId, "m-1")
      assert.isAbove(reads.size, 20)
      const readTwice = Array.from(reads).filter(([, n]) => n !== 1)
      assert.deepStrictEqual(readTwice, [])
    }).pipe(Effect.provide(clientLayer({ defaultContext: { app: { version: "1.0" } } }))))

  it.effect("each key is written once, even when the input carries the generated and merged ones", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryTransport.MemoryTransport
      yield* Analytics.send({
        type: "track",
        userId: "u1",
        event: "e",
        messageId: "given",
        timestamp: "2024-02-29T13:45:00.000Z",
        context: { library: { name: "spoofed" }, ip: "203.0.113.7" },
        integrations: { Mixpanel: true }
      })
      yield* Analytics.track({ userId: "u1", event: "plain" })
      yield* Analytics.flush
      const [request] = yield* memory.requests
      for (const m of request!.messages) {
        for (const key of ["type", "messageId", "timestamp", "context", "integrations", "library"]) {
          assert.isAtMost(m.json.split(`"${key}":`).length - 1, 1, `${key} in ${m.json}`)
        }
      }
    }).pipe(Effect.provide(clientLayer({ defaultContext: { app: { name: "shop" } }, defaultIntegrations: { All: true } }))))

  it.effect("getters that change after being read: what was validated is what is sent (the issue's probes)", () =>
    Effect.gen(function*() {
      const changing = <A, B>(first: A, later: B) => {
        let reads = 0
        return () => reads++ === 0 ? first : later
      }
      const input = Object.defineProperties({}, {
        event: { enumerable: true, get: changing("Signed Up", "") },
        userId: { enumerable: true, get: changing("u1", undefined) },
        messageId: { enumerable: true, get: changing("m-7", "x".repeat(5_000)) },
        properties: { enumerable: true, get: changing({ plan: "pro" }, { f: () => 1 }) },
        boom: { enumerable: false, get: () => 1 } // not enumerable: not data, never read
      })
      const id = yield* Analytics.track(input as any)
      assert.strictEqual(id, "m-7")
      const [message] = yield* sent
      assert.deepStrictEqual(
        { event: message!.event, userId: message!.userId, messageId: message!.messageId, properties: message!.properties },
        { event: "Signed Up", userId: "u1", messageId: "m-7", properties: { plan: "pro" } }
      )
      // A getter that would throw on its second read is only read once.
      const once = Object.defineProperty({ userId: "u1" }, "event", {
        enumerable: true,
        get: (() => {
          let reads = 0
          return () => {
            if (reads++ > 0) throw new Error("second read")
            return "Once"
          }
        })()
      })
      yield* Analytics.track(once as any)
    }).pipe(Effect.provide(clientLayer())))
})
