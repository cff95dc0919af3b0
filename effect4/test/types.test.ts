/**
 * The type-level rules of the calls.
 *
 * vitest does not type-check: the guard is `npm run typecheck` (`tsc -p tsconfig.json`, which includes
 * test/). Each `@ts-expect-error` below marks a call that must NOT compile; if the rule it checks were
 * removed from the types (say `TrackInput` stopped requiring `userId` or `anonymousId`), the call would
 * compile, the directive would be unused, and tsc would fail with "Unused '@ts-expect-error'
 * directive" (TS2578). The `expectTypeOf` lines fail tsc the same way. At runtime, each rejected call is
 * also run, untyped, and must fail with `InvalidMessage`: the Schema enforces what the type promises.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import type * as Schema from "effect/Schema"
import { Analytics, type AnalyticsError, MemoryTransport, Message } from "../src/index.js"

const clientLayer = Analytics.layerWithoutTransport({ writeKey: "k" }).pipe(Layer.provideMerge(MemoryTransport.layer()))

/** The error of a cause that is exactly one typed failure (no defect, no interruption), if it is one. */
const onlyFailure = (exit: Exit.Exit<unknown, unknown>): Cause.Fail<unknown> | undefined => {
  if (Exit.isSuccess(exit) || exit.cause.reasons.length !== 1) return undefined
  const reason = exit.cause.reasons[0]!
  return Cause.isFailReason(reason) ? reason : undefined
}

const assertInvalidAt = (exit: Exit.Exit<unknown, unknown>, field: string) => {
  const failure = onlyFailure(exit)
  assert.isDefined(failure, "expected a typed failure")
  if (failure !== undefined) {
    const error = failure.error as AnalyticsError.InvalidMessage
    assert.strictEqual(error._tag, "InvalidMessage")
    assert.strictEqual(error.field, field)
  }
}

describe("types", () => {
  it.effect("track needs a userId or an anonymousId, in the type and at runtime", () =>
    Effect.gen(function*() {
      const analytics = yield* Analytics.Analytics
      // These compile:
      yield* analytics.track({ userId: "u1", event: "x" })
      yield* analytics.track({ anonymousId: "a1", event: "x" })
      yield* analytics.track({ userId: "u1", anonymousId: "a1", event: "x" })
      // exactOptionalPropertyTypes: an explicit undefined for the other identity is fine.
      yield* analytics.track({ userId: "u1", anonymousId: undefined, event: "x" })
      yield* Analytics.track({ anonymousId: "a1", event: "x", properties: { at: new Date(0), list: [1, "a", null] } })

      // These do not:
      // @ts-expect-error: neither userId nor anonymousId
      const neither = yield* Effect.exit(analytics.track({ event: "x" }))
      assertInvalidAt(neither, "userId")
      // @ts-expect-error: the accessor has the same type
      const viaAccessor = yield* Effect.exit(Analytics.track({ event: "x" }))
      assertInvalidAt(viaAccessor, "userId")
      // @ts-expect-error: event is required
      const noEvent = yield* Effect.exit(analytics.track({ userId: "u1" }))
      assertInvalidAt(noEvent, "event")
    }).pipe(Effect.provide(clientLayer)))

  it.effect("properties must hold JSON values", () =>
    Effect.gen(function*() {
      const analytics = yield* Analytics.Analytics
      // @ts-expect-error: a function is not a JSON value
      const fn = yield* Effect.exit(analytics.track({ userId: "u1", event: "x", properties: { f: () => 1 } }))
      assertInvalidAt(fn, "properties.f")
      // @ts-expect-error: nor is a bigint
      const big = yield* Effect.exit(analytics.track({ userId: "u1", event: "x", properties: { n: 1n } }))
      assertInvalidAt(big, "properties.n")
      // @ts-expect-error: properties is an object, not an array
      const list = yield* Effect.exit(analytics.track({ userId: "u1", event: "x", properties: [1] }))
      assertInvalidAt(list, "properties")
    }).pipe(Effect.provide(clientLayer)))

  it.effect("alias needs userId and previousId; group needs groupId", () =>
    Effect.gen(function*() {
      const analytics = yield* Analytics.Analytics
      yield* analytics.alias({ userId: "u1", previousId: "a1" })
      yield* analytics.group({ anonymousId: "a1", groupId: "g1" })
      // @ts-expect-error: previousId is required
      const noPrevious = yield* Effect.exit(analytics.alias({ userId: "u1" }))
      assertInvalidAt(noPrevious, "previousId")
      // @ts-expect-error: userId is required (an anonymousId does not replace it)
      const noUser = yield* Effect.exit(analytics.alias({ anonymousId: "a1", previousId: "p1" }))
      assertInvalidAt(noUser, "userId")
      // @ts-expect-error: groupId is required
      const noGroup = yield* Effect.exit(analytics.group({ userId: "u1" }))
      assertInvalidAt(noGroup, "groupId")
      // @ts-expect-error: a timestamp is a Date or a string, not a number
      const numeric = yield* Effect.exit(analytics.identify({ userId: "u1", timestamp: 0 }))
      assertInvalidAt(numeric, "timestamp")
    }).pipe(Effect.provide(clientLayer)))

  it("the input types, checked with expectTypeOf", () => {
    expectTypeOf<{ readonly event: string }>().not.toExtend<Message.TrackInput>()
    expectTypeOf<{ readonly userId: string; readonly event: string }>().toExtend<Message.TrackInput>()
    expectTypeOf<{ readonly anonymousId: string; readonly event: string }>().toExtend<Message.TrackInput>()
    expectTypeOf<{ readonly userId: string }>().not.toExtend<Message.TrackInput>()
    expectTypeOf<{ readonly userId: string; readonly event: string; readonly properties: { f: () => number } }>()
      .not.toExtend<Message.TrackInput>()

    expectTypeOf<{ readonly userId: string }>().not.toExtend<Message.AliasInput>()
    expectTypeOf<{ readonly previousId: string }>().not.toExtend<Message.AliasInput>()
    expectTypeOf<{ readonly userId: string; readonly previousId: string }>().toExtend<Message.AliasInput>()

    for (const input of [{}, { traits: {} }] as const) expectTypeOf(input).not.toExtend<Message.IdentifyInput>()
    expectTypeOf<{ readonly userId: string }>().toExtend<Message.PageInput>()
    expectTypeOf<{ readonly anonymousId: string }>().toExtend<Message.ScreenInput>()
    expectTypeOf<{ readonly userId: string }>().not.toExtend<Message.GroupInput>()

    // Integrations: `All` is a boolean, a destination a boolean or a settings object.
    expectTypeOf<{ readonly All: false; readonly Mixpanel: true; readonly Amplitude: { readonly apiKey: string } }>()
      .toExtend<Message.Integrations>()
    expectTypeOf<{ readonly All: "yes" }>().not.toExtend<Message.Integrations>()
    expectTypeOf<{ readonly Mixpanel: 1 }>().not.toExtend<Message.Integrations>()
    expectTypeOf<{ readonly Mixpanel: ReadonlyArray<string> }>().not.toExtend<Message.Integrations>()
    expectTypeOf<Message.Track["integrations"]>().toEqualTypeOf<Message.Integrations | undefined>()

    // A call's error channel holds only the call errors; delivery problems are outcomes.
    expectTypeOf<Analytics.AnalyticsService["track"]>().returns.toEqualTypeOf<
      Effect.Effect<string, AnalyticsError.CallError>
    >()
    expectTypeOf(Message.decodeUnknown).returns.toEqualTypeOf<
      Effect.Effect<Message.Message, Schema.SchemaError>
    >()
    expectTypeOf<Message.MessageType>().toEqualTypeOf<"identify" | "track" | "page" | "screen" | "group" | "alias">()
    // Runtime counterpart of the rules above: the Schemas accept exactly the typed shapes.
    assert.deepStrictEqual(Object.keys(Message.schemas).sort(), ["alias", "group", "identify", "page", "screen", "track"])
  })
})
