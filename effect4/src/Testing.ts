/**
 * Test kit: an `Analytics` client that records instead of sending, and helpers to read back what it
 * sent. Platform-neutral: no HTTP, no server, no real time.
 *
 * `Testing.layer()` provides `Analytics` (with the write key `"test-write-key"`) over a
 * `MemoryTransport`; `Testing.sent` flushes the client and returns the messages, parsed from the exact
 * request bodies the HTTP transport would have sent.
 *
 * About time, under `it.effect` (which installs a `TestClock`): the clock stands still unless the test
 * moves it. The interval flush (every `flushInterval`, 5 seconds by default) therefore fires only when
 * the test calls `TestClock.adjust`; and the `timestamp` of a message without one is the test clock's
 * time (`1970-01-01T00:00:00.000Z` until adjusted). `flush`, `Testing.sent` and closing the layer do not
 * need the clock: they deliver at once.
 *
 * @example
 * ```ts
 * import { assert, it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { TestClock } from "effect/testing"
 * import { Analytics, Testing } from "analytics-effect"
 *
 * it.effect("tracks the sign-up", () => Effect.gen(function*() {
 *   yield* Analytics.track({ userId: "f4ca124298", event: "Signed Up", properties: { plan: "Enterprise" } })
 *   yield* TestClock.adjust("5 seconds") // only needed to exercise the interval flush; `sent` flushes anyway
 *   assert.deepStrictEqual((yield* Testing.sentOf("track"))[0]?.properties, { plan: "Enterprise" })
 * }).pipe(Effect.provide(Testing.layer())))
 * ```
 *
 * @since 1.0.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Analytics from "./Analytics.js"
import type { InvalidOptions } from "./AnalyticsError.js"
import * as MemoryTransport from "./MemoryTransport.js"
import type * as Message from "./Message.js"

/**
 * The write key of the test client (and of the recorded `Authorization` header and body).
 *
 * @since 1.0.0
 * @category defaults
 */
export const writeKey = "test-write-key"

/**
 * A sent message, as parsed from the request body, narrowed to its `type`.
 *
 * @since 1.0.0
 * @category models
 */
export type SentMessage<T extends Message.MessageType = Message.MessageType> =
  & Readonly<Record<string, unknown>>
  & { readonly type: T; readonly messageId: string; readonly timestamp: string }

/**
 * An `Analytics` client over a `MemoryTransport`, and the `MemoryTransport` companion (to script
 * failures or read every attempt). Options override the defaults; `writeKey` defaults to
 * `"test-write-key"`. Building it fails with `InvalidOptions` when an option is out of range. Provide it
 * to each test, so that every test gets a fresh client and queue.
 *
 * The interval flush runs on Effect's `Clock`: under `it.effect` it fires only when the test calls
 * `TestClock.adjust` past `flushInterval`.
 *
 * @example
 * ```ts
 * import { assert, it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { TestClock } from "effect/testing"
 * import { Analytics, MemoryTransport, Testing } from "analytics-effect"
 *
 * it.effect("sends after the flush interval", () => Effect.gen(function*() {
 *   const memory = yield* MemoryTransport.MemoryTransport
 *   yield* Analytics.track({ userId: "u1", event: "Item Viewed" })
 *   assert.strictEqual((yield* memory.requests).length, 0) // 1 message < flushAt
 *   yield* TestClock.adjust("5 seconds")                  // the interval flush fires
 *   assert.strictEqual((yield* memory.awaitRequests(1)).length, 1)
 * }).pipe(Effect.provide(Testing.layer())))
 * ```
 *
 * @since 1.0.0
 * @category layers
 */
export const layer = (
  options: Partial<Analytics.Options> = {}
): Layer.Layer<Analytics.Analytics | MemoryTransport.MemoryTransport, InvalidOptions> => {
  const key = options.writeKey ?? writeKey
  const redacted = typeof key === "string" ? Redacted.make(key) : key
  return Analytics.layerWithoutTransport({ ...options, writeKey: redacted }).pipe(
    Layer.provideMerge(MemoryTransport.layer({ writeKey: redacted, gzip: options.gzip ?? false }))
  )
}

/**
 * Flushes the client, then returns the messages of every request the transport answered 2xx, parsed
 * from the request bodies, in the order they were sent. Does not need the clock to move.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Analytics, Testing } from "analytics-effect"
 *
 * const events = Effect.gen(function*() {
 *   yield* Analytics.identify({ userId: "019mr8mf4r", traits: { plan: "Enterprise" } })
 *   return yield* Testing.sent // [{ type: "identify", userId: "019mr8mf4r", traits: {...}, ... }]
 * }).pipe(Effect.provide(Testing.layer()))
 * ```
 *
 * @since 1.0.0
 * @category accessors
 */
export const sent: Effect.Effect<
  ReadonlyArray<SentMessage>,
  never,
  Analytics.Analytics | MemoryTransport.MemoryTransport
> = Effect.andThen(
  Analytics.flush,
  Effect.flatMap(
    MemoryTransport.MemoryTransport,
    (memory) => memory.delivered as Effect.Effect<ReadonlyArray<SentMessage>>
  )
)

/**
 * `sent`, keeping the messages of one type.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Testing } from "analytics-effect"
 *
 * const eventNames = Effect.map(Testing.sentOf("track"), (tracks) => tracks.map((t) => t.event))
 * ```
 *
 * @since 1.0.0
 * @category accessors
 */
export const sentOf = <T extends Message.MessageType>(
  type: T
): Effect.Effect<ReadonlyArray<SentMessage<T>>, never, Analytics.Analytics | MemoryTransport.MemoryTransport> =>
  Effect.map(sent, (messages) => messages.filter((m): m is SentMessage<T> => m.type === type))
