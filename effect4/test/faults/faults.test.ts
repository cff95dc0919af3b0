/**
 * Fault injection through the real HTTP transport: each scenario runs a client over `FetchHttpClient`
 * against a local fault server (500s, 429 with Retry-After, resets, slow answers, hangs past the
 * timeout, the server down) and checks that every accepted message ends in exactly one outcome, that
 * the server saw no duplicate but those a timeout explains, and that a short outage loses nothing.
 * Real time, but short: about 20 s for all scenarios.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as FaultServer from "../support/faultServer.js"
import { check, countDuplicates, type Row, run, scenarios } from "./scenarios.js"

describe("faults over HTTP", () => {
  for (const scenario of scenarios) {
    it.live(scenario.name, () =>
      Effect.gen(function*() {
        const row = yield* run(scenario)
        // The invariants, one by one, so that a failure names the one that broke.
        assert.strictEqual(row.accepted, scenario.messages, "every call returned a messageId")
        assert.strictEqual(row.delivered + row.failed + row.dropped, row.accepted, "accepted = delivered + failed + dropped")
        assert.strictEqual(row.outcomeMismatches, 0, "every accepted id has exactly one outcome")
        assert.strictEqual(row.deliveredMissingAtServer, 0, "every delivered id is at the server")
        assert.strictEqual(row.serverDuplicates, row.timeoutDuplicates, "duplicates only after a timeout")
        if (scenario.expect.noLoss) {
          assert.deepStrictEqual({ failed: row.failed, dropped: row.dropped }, { failed: 0, dropped: 0 })
        }
        // Everything else the scenario expects (the fault was hit, the pause was honoured, ...).
        assert.deepStrictEqual(check(scenario, row), [])
      }), 30_000)
  }
})

describe("fault harness", () => {
  it.live("the server refuses connections while down and comes back on the same port", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => FaultServer.start()),
        (s) => Effect.promise(() => s.close())
      )
      const post = (ids: ReadonlyArray<string>) =>
        Effect.promise(() =>
          fetch(`${server.url}/v1/batch`, {
            method: "POST",
            headers: { "content-type": "application/json", connection: "close" },
            body: JSON.stringify({ batch: ids.map((messageId) => ({ type: "track", userId: "u", event: "e", messageId })) })
          }).then((r) => r.status, () => "refused" as const)
        )
      assert.strictEqual(yield* post(["a"]), 200)
      yield* Effect.promise(() => server.down())
      assert.strictEqual(yield* post(["b"]), "refused")
      yield* Effect.promise(() => server.up())
      server.setMode(FaultServer.Mode.tooManyRequests(3))
      assert.strictEqual(yield* post(["c"]), 429)
      server.setMode(FaultServer.Mode.ok)
      assert.strictEqual(yield* post(["a", "d"]), 200)
      const stats = server.stats()
      assert.deepStrictEqual(Object.fromEntries(stats.accepted), { a: 2, d: 1 })
      assert.deepStrictEqual(countDuplicates(stats), { serverDuplicates: 1, timeoutDuplicates: 0 })
      // "a" answered 2xx twice: explained only if the client gave up on an attempt carrying it (its
      // timeout fired before it read the 2xx), and only once per abandoned attempt.
      assert.deepStrictEqual(countDuplicates(stats, new Map([["a", 1]])), { serverDuplicates: 1, timeoutDuplicates: 1 })
      assert.deepStrictEqual(countDuplicates(stats, new Map([["d", 1]])), { serverDuplicates: 1, timeoutDuplicates: 0 })
    }).pipe(Effect.scoped))

  // A negative control for the pause check: with `maxRetryAfter` at 50 ms the client may retry during the
  // server's 1 s pause, and the check must say so.
  it.live("the Retry-After check fails when the pause is capped below the server's Retry-After", () =>
    Effect.gen(function*() {
      const honoured = scenarios.find((s) => s.expect.pauseHonoured === true)!
      const capped = {
        ...honoured,
        name: "429 with Retry-After capped at 50 ms",
        messages: 500,
        phases: [{ fault: FaultServer.Mode.tooManyRequests(1), millis: 1_200 }],
        options: { maxRetryAfter: Duration.millis(50) }
      }
      const row = yield* run(capped)
      assert.isAbove(row.requestsDuringPause ?? 0, 0)
      assert.isTrue(check(capped, row).some((problem) => problem.includes("during the Retry-After pause")))
      // The accounting still holds.
      assert.strictEqual(row.delivered + row.failed + row.dropped, row.accepted)
    }), 30_000)

  it("the checker reports each broken invariant", () => {
    const scenario = scenarios[0]!
    const good: Row = {
      scenario: scenario.name,
      accepted: scenario.messages,
      rejected: 0,
      delivered: scenario.messages,
      failed: 0,
      dropped: 0,
      serverDuplicates: 0,
      timeoutDuplicates: 0,
      requests: 10,
      peakHeapMB: 50,
      retriedBatches: 2,
      deliveredMissingAtServer: 0,
      outcomeMismatches: 0,
      failureReasons: {},
      requestsDuringPause: undefined,
      malformedBodies: 0,
      millis: 1
    }
    assert.deepStrictEqual(check(scenario, good), [])
    const broken: Row = { ...good, delivered: good.delivered - 5, serverDuplicates: 3, retriedBatches: 0 }
    const problems = check(scenario, broken)
    assert.strictEqual(problems.length, 3)
    assert.match(problems[0]!, /accepted 3000 != delivered 2995/)
    assert.match(problems[1]!, /3 duplicates at the server not caused by a timeout/)
    assert.match(problems[2]!, /no batch was retried/)
    const lossy = check(scenario, { ...good, delivered: good.delivered - 1, failed: 1, failureReasons: { X: 1 } })
    assert.deepStrictEqual(lossy.length, 1)
    assert.match(lossy[0]!, /lost messages: failed 1/)
  })
})
