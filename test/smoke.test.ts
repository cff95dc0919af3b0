import { assert, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { Analytics, MemoryTransport } from "../src/index.js"

const layer = (options: Partial<Analytics.Options> = {}) =>
  Analytics.layerWithoutTransport({ writeKey: "k", ...options }).pipe(Layer.provideMerge(MemoryTransport.layer()))

it.scoped("smoke", () =>
  Effect.gen(function*() {
    const analytics = yield* Analytics.Analytics
    const memory = yield* MemoryTransport.MemoryTransport
    for (let i = 0; i < 19; i++) yield* analytics.track({ userId: "u", event: "e" + i })
    yield* TestClock.adjust("4900 millis")
    assert.strictEqual((yield* memory.requests).length, 0)
    yield* TestClock.adjust("100 millis")
    const requests = yield* memory.awaitRequests(1)
    assert.strictEqual(requests.length, 1)
    assert.strictEqual(requests[0]!.batch.length, 19)
    console.log(requests[0]!.body.slice(0, 400))
  }).pipe(Effect.provide(layer())))
