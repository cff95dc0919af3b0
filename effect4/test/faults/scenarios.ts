/**
 * Fault-injection scenarios, shared by the vitest suite (`faults.test.ts`) and the report
 * (`npm run faults`). Each scenario runs a real client (`Analytics.layer` over `FetchHttpClient` or
 * `NodeHttpClient.layerUndici`) against the fault server, switches the server through its fault
 * phases while messages are being tracked, closes the client, and returns one row of numbers; `check`
 * lists the invariants it breaks.
 *
 * Durations are real but small, so that all scenarios together take well under a minute.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Context, Duration, Effect, Exit, Layer, PubSub, Redacted, References, Schedule, Scope } from "effect"
import { FetchHttpClient } from "effect/http"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import { Analytics, HttpTransport, Outcome, Transport } from "../../src/index.js"
import * as FaultServer from "../support/faultServer.js"

/** A fault phase: a server mode, or the server down (connections refused). */
export type Fault = FaultServer.Mode | { readonly _tag: "down" }

/** One phase of a scenario: the server behaves like `fault` for `millis`. */
export interface Phase {
  readonly fault: Fault
  readonly millis: number
}

/** What a scenario must show, beyond the invariants every scenario keeps. */
export interface Expectations {
  /** The outage is shorter than the retry budget: nothing may fail or be dropped. */
  readonly noLoss: boolean
  /** Requests time out after the server took them: duplicates are allowed, and must all be of that kind. */
  readonly timeouts: "none" | "allowed" | "required"
  /** Some batch needed more than one attempt (the fault was really hit). */
  readonly retries: boolean
  /** Some messages must fail (the outage outlasts the retry budget or the shutdown timeout). */
  readonly someFailed?: boolean
  /** Some messages must be dropped (the queue overflowed). */
  readonly someDropped?: boolean
  /** After a 429 with `Retry-After`, no request may arrive during the pause. */
  readonly pauseHonoured?: boolean
}

/** A scenario. */
export interface Scenario {
  readonly name: string
  /** How many messages are tracked, spread over the fault phases. */
  readonly messages: number
  readonly phases: ReadonlyArray<Phase>
  /** The server's mode while the client closes (default `ok`). */
  readonly finalFault?: Fault
  readonly options?: Partial<Analytics.Options>
  /** The `HttpClient` implementation: `fetch` (default) or Node's undici client. */
  readonly http?: "fetch" | "undici"
  readonly expect: Expectations
}

/** The numbers of one run. */
export interface Row {
  readonly scenario: string
  /** Calls that returned a messageId. */
  readonly accepted: number
  /** Calls that failed (none are expected: every message is valid and tracked before closing). */
  readonly rejected: number
  readonly delivered: number
  readonly failed: number
  readonly dropped: number
  /** Receipts of an id beyond its first, at the server (2xx answers and taken-but-unanswered). */
  readonly serverDuplicates: number
  /**
   * Those of the duplicates explained by an attempt the client gave up on without an answer (a
   * timeout or a cut connection: the server may have taken the batch, or even answered 2xx after the
   * client stopped waiting), or by a batch the server took without answering.
   */
  readonly timeoutDuplicates: number
  /** Requests the server saw (refused connections never reach it). */
  readonly requests: number
  readonly peakHeapMB: number
  /** Delivered batches that needed more than one attempt. */
  readonly retriedBatches: number
  /** Delivered ids the server never accepted. */
  readonly deliveredMissingAtServer: number
  /** Accepted ids without exactly one outcome, plus outcome ids no call returned. */
  readonly outcomeMismatches: number
  /** Failed messages by reason. */
  readonly failureReasons: Readonly<Record<string, number>>
  /** Requests that arrived during the first `Retry-After` pause (only measured for 429 scenarios). */
  readonly requestsDuringPause: number | undefined
  readonly malformedBodies: number
  readonly millis: number
}

// Short exponential backoff (50 ms doubling, capped at 400 ms), 20 retries: about 7 s of retrying.
const fastRetries = Schedule.max([
  Schedule.exponential(Duration.millis(50), 2).pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.millis(400))))
  ),
  Schedule.recurs(20)
])

const baseOptions: Partial<Analytics.Options> = {
  flushAt: 100,
  flushInterval: Duration.millis(100),
  timeout: Duration.seconds(2),
  retrySchedule: fastRetries,
  shutdownTimeout: Duration.seconds(15)
}

/** The scenarios, in the order the report prints them. */
export const scenarios: ReadonlyArray<Scenario> = [
  {
    name: "500 for 1 s, then ok (gzip)",
    messages: 3_000,
    phases: [{ fault: FaultServer.Mode.status(500), millis: 1_000 }],
    options: { gzip: true },
    expect: { noLoss: true, timeouts: "none", retries: true }
  },
  {
    name: "429 Retry-After: 1 for 1.5 s, then ok",
    messages: 3_000,
    phases: [{ fault: FaultServer.Mode.tooManyRequests(1), millis: 1_500 }],
    expect: { noLoss: true, timeouts: "none", retries: true, pauseHonoured: true }
  },
  {
    name: "connection resets for 1 s, then ok (undici)",
    messages: 3_000,
    phases: [{ fault: FaultServer.Mode.reset, millis: 1_000 }],
    http: "undici",
    expect: { noLoss: true, timeouts: "none", retries: true }
  },
  {
    name: "slow answers (150 ms) for 1.5 s",
    messages: 3_000,
    phases: [{ fault: FaultServer.Mode.slow(150), millis: 1_500 }],
    expect: { noLoss: true, timeouts: "none", retries: false }
  },
  {
    name: "hang past a 300 ms timeout for 1 s, then ok (undici)",
    messages: 3_000,
    phases: [{ fault: FaultServer.Mode.hang, millis: 1_000 }],
    http: "undici",
    options: { timeout: Duration.millis(300) },
    expect: { noLoss: true, timeouts: "required", retries: true }
  },
  {
    name: "server down for 1.5 s, then back",
    messages: 3_000,
    phases: [{ fault: { _tag: "down" }, millis: 1_500 }],
    expect: { noLoss: true, timeouts: "none", retries: true }
  },
  {
    name: "503 for 2 s, retry budget 600 ms",
    messages: 2_000,
    phases: [{ fault: FaultServer.Mode.status(503), millis: 2_000 }],
    options: { retryBudget: Duration.millis(600) },
    expect: { noLoss: false, timeouts: "none", retries: true, someFailed: true }
  },
  {
    name: "down 1.5 s with a 500-message queue, callers wait (the default)",
    messages: 3_000,
    phases: [{ fault: { _tag: "down" }, millis: 1_500 }],
    options: { maxQueueSize: 500 },
    expect: { noLoss: true, timeouts: "none", retries: true }
  },
  {
    name: "down 1.5 s with a 500-message queue, dropNewest",
    messages: 3_000,
    phases: [{ fault: { _tag: "down" }, millis: 1_500 }],
    options: { maxQueueSize: 500, overflow: "dropNewest" },
    expect: { noLoss: false, timeouts: "none", retries: true, someDropped: true }
  },
  {
    name: "hang through shutdown (timeout 1 s)",
    messages: 1_000,
    phases: [{ fault: FaultServer.Mode.hang, millis: 500 }],
    finalFault: FaultServer.Mode.hang,
    options: { timeout: Duration.millis(300), shutdownTimeout: Duration.seconds(1) },
    expect: { noLoss: false, timeouts: "allowed", retries: false, someFailed: true }
  }
]

const setFault = (server: FaultServer.FaultServer, fault: Fault) =>
  Effect.promise(async () => {
    if (fault._tag === "down") return server.down()
    server.setMode(fault)
    await server.up()
  })

// A full collection before each scenario, so that its peak heap is its own and not the garbage of the
// one before (`--expose-gc` turned on at run time; without it the peak is only less precise).
const collectGarbage: (() => void) | undefined = (() => {
  try {
    V8.setFlagsFromString("--expose-gc")
    return Vm.runInNewContext("gc") as () => void
  } catch {
    return undefined
  }
})()

const heapSampler = Effect.acquireRelease(
  Effect.sync(() => {
    collectGarbage?.()
    const state = { peak: process.memoryUsage().heapUsed, timer: undefined as NodeJS.Timeout | undefined }
    state.timer = setInterval(() => {
      const used = process.memoryUsage().heapUsed
      if (used > state.peak) state.peak = used
    }, 10)
    return state
  }),
  (state) => Effect.sync(() => clearInterval(state.timer))
)

/**
 * Counts duplicates at the server: every receipt of an id beyond the first. A receipt is explained
 * when the client abandoned an attempt carrying that id without reading an answer (`abandoned`: how
 * many such attempts per id), or when the server took a batch without answering: the client cannot
 * know whether those arrived, so it sends them again. A 2xx answer that reached its socket after the
 * client's timeout had fired is one of them: the server counts it as accepted, the client never saw it.
 */
export const countDuplicates = (stats: FaultServer.FaultStats, abandoned: ReadonlyMap<string, number> = new Map()) => {
  let serverDuplicates = 0
  let timeoutDuplicates = 0
  const ids = new Set([...stats.accepted.keys(), ...stats.taken.keys()])
  for (const id of ids) {
    const accepted = stats.accepted.get(id) ?? 0
    const taken = stats.taken.get(id) ?? 0
    const extra = Math.max(0, accepted + taken - 1)
    serverDuplicates += extra
    // Each receipt the client could not have known about explains one more.
    timeoutDuplicates += Math.min(extra, Math.max(taken, abandoned.get(id) ?? 0))
  }
  return { serverDuplicates, timeoutDuplicates }
}

/**
 * The real HTTP transport, recording the ids of every attempt the client gave up on without an answer:
 * a timeout, a network error (the request may have reached the server), or an interruption (the close
 * ran out of time).
 */
const recordingTransport = (options: Analytics.Options & HttpTransport.Options, abandoned: Map<string, number>) => {
  const record = (request: Transport.BatchRequest) =>
    Effect.sync(() => {
      for (const message of request.messages) abandoned.set(message.messageId, (abandoned.get(message.messageId) ?? 0) + 1)
    })
  return Layer.effect(
    Transport.Transport,
    Effect.map(Transport.Transport, (inner) => ({
      send: (request: Transport.BatchRequest) =>
        inner.send(request).pipe(
          Effect.tapError((error) =>
            error.reason._tag === "Timeout" || error.reason._tag === "Network" ? record(request) : Effect.void
          ),
          Effect.onInterrupt(() => record(request))
        )
    }))
  ).pipe(Layer.provide(HttpTransport.layer(options)))
}

const requestsDuringPause = (stats: FaultServer.FaultStats, retryAfterMillis: number): number | undefined => {
  const first = stats.log.find((entry) => entry.status === 429)
  if (first === undefined) return undefined
  // Requests already on their way when the 429 was answered may still arrive just after it.
  const from = first.at + 250
  const to = first.at + retryAfterMillis - 250
  return stats.log.filter((entry) => entry.at > from && entry.at < to).length
}

/** Runs one scenario against a fresh fault server and returns its row. */
export const run = (scenario: Scenario): Effect.Effect<Row> =>
  Effect.scoped(Effect.gen(function*() {
    const started = performance.now()
    const server = yield* Effect.acquireRelease(
      Effect.promise(() => FaultServer.start()),
      (s) => Effect.promise(() => s.close())
    )
    const heap = yield* heapSampler
    const options: Analytics.Options & HttpTransport.Options = {
      host: server.url,
      ...baseOptions,
      ...scenario.options,
      writeKey: Redacted.make("fault-write-key")
    }
    const abandoned = new Map<string, number>()
    const layer = Analytics.layerWithoutTransport(options).pipe(
      Layer.provide(recordingTransport(options, abandoned)),
      Layer.provide(scenario.http === "undici" ? NodeHttpClient.layerUndici : FetchHttpClient.layer),
      Layer.orDie
    )

    // The client's own scope, closed explicitly below; a child of the run's scope, so that an
    // interrupted run still closes the client.
    const clientScope = yield* Scope.fork(yield* Effect.scope, "sequential")
    const context = yield* Layer.buildWithScope(layer, clientScope)
    const analytics = Context.get(context, Analytics.Analytics)

    // Subscribed before the first call, in this (outer) scope, so that it outlives the client: the
    // outcomes wait in it until they are taken after the client has closed.
    const subscription = yield* analytics.subscribe

    const acceptedIds: Array<string> = []
    let rejected = 0
    const totalMillis = scenario.phases.reduce((n, p) => n + p.millis, 0)
    const chunks = 20
    const chunkSize = Math.ceil(scenario.messages / chunks)
    const gap = Duration.millis(Math.max(1, Math.floor(totalMillis / chunks)))

    const producer = Effect.gen(function*() {
      let i = 0
      for (let c = 0; c < chunks && i < scenario.messages; c++) {
        for (let k = 0; k < chunkSize && i < scenario.messages; k++, i++) {
          const result = yield* Effect.result(analytics.track({
            userId: `user-${i % 97}`,
            event: "Fault Tested",
            properties: { scenario: scenario.name, i, payload: "x".repeat(64) }
          }))
          if (result._tag === "Success") acceptedIds.push(result.success)
          else rejected++
        }
        yield* Effect.sleep(gap)
      }
    })

    const driver = Effect.gen(function*() {
      for (const phase of scenario.phases) {
        yield* setFault(server, phase.fault)
        yield* Effect.sleep(Duration.millis(phase.millis))
      }
      yield* setFault(server, scenario.finalFault ?? FaultServer.Mode.ok)
    })

    yield* Effect.all([producer, driver], { concurrency: 2, discard: true })
    yield* Scope.close(clientScope, Exit.void)
    // Everything the client published before it closed, without waiting for more.
    const outcomes = yield* PubSub.takeUpTo(subscription, Number.POSITIVE_INFINITY)

    const stats = server.stats()
    const counts = Outcome.count(outcomes)
    const seen = new Map<string, number>()
    const delivered = new Set<string>()
    const failureReasons: Record<string, number> = {}
    let retriedBatches = 0
    for (const outcome of outcomes) {
      for (const ref of outcome.messages) {
        seen.set(ref.messageId, (seen.get(ref.messageId) ?? 0) + 1)
        if (outcome._tag === "Delivered") delivered.add(ref.messageId)
      }
      if (outcome._tag === "Delivered" && outcome.attempts > 1) retriedBatches++
      if (outcome._tag === "Failed") {
        failureReasons[outcome.reason] = (failureReasons[outcome.reason] ?? 0) + outcome.messages.length
      }
    }
    const acceptedSet = new Set(acceptedIds)
    let outcomeMismatches = acceptedIds.length - acceptedSet.size // an id returned twice
    for (const id of acceptedSet) if (seen.get(id) !== 1) outcomeMismatches++
    for (const id of seen.keys()) if (!acceptedSet.has(id)) outcomeMismatches++
    let deliveredMissingAtServer = 0
    for (const id of delivered) if (!stats.accepted.has(id)) deliveredMissingAtServer++

    const retryAfter = scenario.phases.find((p) => p.fault._tag === "status" && p.fault.status === 429)?.fault
    return {
      scenario: scenario.name,
      accepted: acceptedIds.length,
      rejected,
      delivered: counts.delivered,
      failed: counts.failed,
      dropped: counts.dropped,
      ...countDuplicates(stats, abandoned),
      requests: stats.requests,
      peakHeapMB: Math.round(heap.peak / 1024 / 102.4) / 10,
      retriedBatches,
      deliveredMissingAtServer,
      outcomeMismatches,
      failureReasons,
      requestsDuringPause: retryAfter !== undefined && retryAfter._tag === "status" && retryAfter.retryAfter !== undefined
        ? requestsDuringPause(stats, Number(retryAfter.retryAfter) * 1000)
        : undefined,
      malformedBodies: stats.malformed,
      millis: Math.round(performance.now() - started)
    } satisfies Row
  })).pipe(
    // The client's warnings (failed batches, full queue) are expected here; FAULTS_VERBOSE=1 shows them.
    Effect.provideService(References.MinimumLogLevel, process.env.FAULTS_VERBOSE ? "Debug" : "None")
  )

/** The invariants a row breaks, as sentences (empty when all hold). */
export const check = (scenario: Scenario, row: Row): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const expect = scenario.expect
  if (row.accepted !== scenario.messages) {
    problems.push(`${scenario.messages - row.accepted} of ${scenario.messages} calls were rejected`)
  }
  if (row.accepted !== row.delivered + row.failed + row.dropped) {
    problems.push(
      `accepted ${row.accepted} != delivered ${row.delivered} + failed ${row.failed} + dropped ${row.dropped}`
    )
  }
  if (row.outcomeMismatches !== 0) {
    problems.push(`${row.outcomeMismatches} accepted ids without exactly one outcome (or outcomes for unknown ids)`)
  }
  if (row.deliveredMissingAtServer !== 0) {
    problems.push(`${row.deliveredMissingAtServer} delivered ids were never accepted by the server`)
  }
  if (row.serverDuplicates !== row.timeoutDuplicates) {
    problems.push(`${row.serverDuplicates - row.timeoutDuplicates} duplicates at the server not caused by a timeout`)
  }
  if (expect.timeouts === "none" && row.timeoutDuplicates !== 0) {
    problems.push(`${row.timeoutDuplicates} timeout duplicates where no request should time out`)
  }
  if (expect.timeouts === "required" && row.timeoutDuplicates === 0) {
    problems.push("no timeout duplicates: the hang was not exercised")
  }
  if (expect.noLoss && (row.failed !== 0 || row.dropped !== 0)) {
    problems.push(
      `an outage shorter than the retry budget lost messages: failed ${row.failed} ${
        JSON.stringify(row.failureReasons)
      }, dropped ${row.dropped}`
    )
  }
  if (expect.retries && row.retriedBatches === 0) problems.push("no batch was retried: the fault was not exercised")
  if (expect.someFailed === true && row.failed === 0) problems.push("expected some failed messages, got none")
  if (expect.someDropped === true && row.dropped === 0) problems.push("expected some dropped messages, got none")
  if (expect.pauseHonoured === true) {
    if (row.requestsDuringPause === undefined) problems.push("the server never answered 429")
    else if (row.requestsDuringPause !== 0) {
      problems.push(`${row.requestsDuringPause} requests arrived during the Retry-After pause`)
    }
  }
  if (row.malformedBodies !== 0) problems.push(`${row.malformedBodies} request bodies did not parse`)
  return problems
}

/** Renders rows as a markdown table. */
export const table = (rows: ReadonlyArray<Row>): string => {
  const header = [
    "scenario",
    "accepted",
    "delivered",
    "failed",
    "dropped",
    "server duplicates",
    "timeout duplicates",
    "requests",
    "peak heap MB"
  ]
  const lines = [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`
  ]
  for (const row of rows) {
    lines.push(
      `| ${
        [
          row.scenario,
          row.accepted,
          row.delivered,
          row.failed,
          row.dropped,
          row.serverDuplicates,
          row.timeoutDuplicates,
          row.requests,
          row.peakHeapMB.toFixed(1)
        ].join(" | ")
      } |`
    )
  }
  return lines.join("\n")
}
