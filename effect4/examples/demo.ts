/**
 * The demo: the examples of the original Go library's documentation, run through analytics-effect.
 *
 *   npm run demo                    # to a local collector: no write key, nothing leaves this machine
 *   npm run demo -- --segment       # to your Segment source (ANALYTICS_WRITE_KEY, ANALYTICS_HOST)
 *   npm run demo -- --json-out FILE # also write the result as JSON, for scripts
 *
 * By default it starts a local Segment-compatible collector on 127.0.0.1 (an ephemeral port), sends
 * the examples to it, and prints what the collector received. Only with `--segment` does it send them
 * to a real endpoint: `ANALYTICS_WRITE_KEY` (required) and `ANALYTICS_HOST` (optional, for an EU
 * workspace or your own collector); a write key in the environment alone never sends anything.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Duration, Effect, Layer, Option, PubSub, type Redacted } from "effect"
import * as Fs from "node:fs"
import * as Collector from "../src/Collector.js"
import { Analytics, AnalyticsError, type Outcome } from "../src/index.js"

const anonymousUser = "f3a1c6e2-7b4d-4e0a-9d5c-2b8e1f4a6c3d"

const michaelBolton = {
  userId: "019mr8mf4r",
  traits: { name: "Michael Bolton", email: "mbolton@example.com", plan: "Enterprise", friends: 42 }
} as const

/**
 * The seed documentation's examples, in its order. Returns how many calls were accepted, and the
 * MessageTooLarge error the last one provokes.
 */
const examples = Effect.gen(function*() {
  let accepted = 0
  /** One line per call: what was sent, and the messageId it was accepted with. */
  const call = (label: string, effect: Effect.Effect<string, AnalyticsError.CallError, Analytics.Analytics>) =>
    Effect.tap(effect, (messageId) => {
      accepted++
      return Console.log(`  ${label.padEnd(48)} accepted  ${messageId}`)
    })
  yield* Console.log("calls:")

  // Identify
  yield* call("identify 019mr8mf4r (Michael Bolton)", Analytics.identify(michaelBolton))

  // Track
  yield* call(
    "track \"Signed Up\" by f4ca124298",
    Analytics.track({ userId: "f4ca124298", event: "Signed Up", properties: { plan: "Enterprise" } })
  )

  // Page
  yield* call(
    "page Docs / \"Go library\"",
    Analytics.page({
      userId: "f4ca124298",
      category: "Docs",
      name: "Go library",
      properties: { url: "https://segment.com/libraries/go/" }
    })
  )

  // Group
  yield* call(
    "group 56 (Initech)",
    Analytics.group({
      userId: "019mr8mf4r",
      groupId: "56",
      traits: { name: "Initech", description: "Accounting Software" }
    })
  )

  // Alias: the anonymous user does things, signs up, is aliased, identified, and goes on.
  yield* call(
    "track \"Anonymous Event\" (anonymous)",
    Analytics.track({ anonymousId: anonymousUser, event: "Anonymous Event" })
  )
  yield* call("alias anonymous -> 019mr8mf4r", Analytics.alias({ previousId: anonymousUser, userId: "019mr8mf4r" }))
  yield* call("identify 019mr8mf4r (after sign-up)", Analytics.identify(michaelBolton))
  yield* call(
    "track \"Item Viewed\" (lamp)",
    Analytics.track({ userId: "019mr8mf4r", event: "Item Viewed", properties: { item: "lamp" } })
  )

  // Selecting destinations
  yield* call(
    "track \"Membership Upgraded\" (Mixpanel only)",
    Analytics.track({
      userId: "019mr8mf4r",
      event: "Membership Upgraded",
      integrations: { All: false, Mixpanel: true }
    })
  )

  // Historical import: a timestamp in the past is sent as given.
  yield* call(
    "track \"Item Purchased\" on 2015-02-23 (import)",
    Analytics.track({
      userId: "019mr8mf4r",
      event: "Item Purchased",
      properties: { item: "lamp", price: 49.99 },
      timestamp: new Date("2015-02-23T22:28:55.111Z")
    })
  )

  // Over the 32 KB per-call limit: a typed error at the call, never a silent drop.
  const oversize = yield* Analytics.track({
    userId: "019mr8mf4r",
    event: "Report Uploaded",
    properties: { report: "x".repeat(40_000) }
  }).pipe(
    Effect.flatMap(() => Effect.die(new Error("the oversize message was accepted"))),
    Effect.catchTag("MessageTooLarge", (error) =>
      Effect.as(
        Console.log(`  ${"track \"Report Uploaded\" (40 KB of properties)".padEnd(48)} rejected  ${error._tag}: ${error.message}`),
        error
      ))
  )
  return { accepted, oversize }
})

/**
 * Runs the examples on a client, flushes it, and collects the outcome of every accepted message
 * before the client's layer closes.
 */
const runOn = <E>(layer: Layer.Layer<Analytics.Analytics, E>) =>
  Effect.gen(function*() {
    const outcomes = yield* Analytics.subscribe
    const { accepted, oversize } = yield* examples
    yield* Analytics.flush
    // Every accepted message ends in exactly one outcome: wait for all of them.
    const collected: Array<Outcome.Outcome> = []
    let settled = 0
    while (settled < accepted) {
      const outcome = yield* PubSub.take(outcomes)
      collected.push(outcome)
      settled += outcome.messages.length
    }
    return { oversize, outcomes: collected }
  }).pipe(Effect.scoped, Effect.provide(layer), Effect.timeout(Duration.seconds(60)))

const describeOutcome = (outcome: Outcome.Outcome): string => {
  const n = `${outcome.messages.length} message${outcome.messages.length === 1 ? "" : "s"}`
  switch (outcome._tag) {
    case "Delivered":
      return `Delivered ${n} (HTTP ${outcome.status}, ${outcome.attempts} attempt${outcome.attempts === 1 ? "" : "s"}, ${outcome.bodyBytes} bytes)`
    case "Failed":
      return `Failed ${n}: ${outcome.reason}${
        outcome.error === undefined ? "" : ` (${AnalyticsError.describeReason(outcome.error.reason)})`
      }`
    case "Dropped":
      return `Dropped ${n}: ${outcome.reason}`
  }
}

const truncate = (text: string, width: number) => text.length <= width ? text : text.slice(0, width - 1) + "…"

const show = (value: unknown): string =>
  typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)

const props = (message: Record<string, unknown>): string => {
  const fields = [message.traits, message.properties, message.integrations]
    .filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null)
    .flatMap((record) => Object.entries(record).map(([k, v]) => `${k}=${show(v)}`))
  return fields.join(" ")
}

/** The collector's messages as a table. */
const table = (messages: ReadonlyArray<Record<string, unknown>>): string => {
  const rows = messages.map((m, i) => [
    String(i + 1),
    String(m.type),
    String(m.userId ?? `anon:${String(m.anonymousId).slice(0, 8)}…`),
    m.event !== undefined
      ? String(m.event)
      : m.groupId !== undefined
      ? `groupId=${String(m.groupId)}`
      : m.previousId !== undefined
      ? `previousId=${String(m.previousId).slice(0, 8)}…`
      : m.name !== undefined
      ? `${String(m.category ?? "")}/${String(m.name)}`
      : "",
    truncate(props(m), 66),
    String(m.timestamp)
  ])
  const header = ["#", "type", "user", "event / name / group", "properties, traits, integrations", "timestamp"]
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

const oversizeJson = (error: AnalyticsError.MessageTooLarge) => ({
  _tag: error._tag,
  messageType: error.messageType,
  size: error.size,
  limit: error.limit,
  message: error.message
})

/** The demo's command line: `--segment` and `--json-out FILE`. */
const args = process.argv.slice(2)
const toSegment = args.includes("--segment")
const jsonOut = args.includes("--json-out") ? args[args.indexOf("--json-out") + 1] : undefined

/** Writes the result for scripts, when asked to. */
const writeResult = (result: object) =>
  jsonOut === undefined ? Effect.void : Effect.sync(() => Fs.writeFileSync(jsonOut, JSON.stringify(result, null, 2) + "\n"))

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/** Sends to the local collector and shows what it received. */
const local = Effect.gen(function*() {
  const writeKey = "demo-write-key"
  const collector = yield* Collector.make({ writeKey })
  yield* Console.log(`local collector listening on ${collector.endpoint} (it checks the write key and Segment's limits)`)
  yield* Console.log("")

  const client = Analytics.layer({ writeKey, host: collector.url }).pipe(
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
  const { outcomes, oversize } = yield* runOn(client)
  // The client's layer is closed here: everything it accepted was flushed.

  const received = yield* collector.received
  const messages = yield* collector.messages
  const rejected = yield* collector.rejected
  yield* Console.log("")
  yield* Console.log(`outcomes: ${outcomes.map(describeOutcome).join("; ")}`)
  yield* Console.log("")
  yield* Console.log(
    `the collector received ${received.length} request${received.length === 1 ? "" : "s"}, ${messages.length} messages, rejected ${rejected.length}:`
  )
  yield* Console.log("")
  yield* Console.log(table(messages))
  yield* Console.log("")
  yield* writeResult({
    mode: "local",
    endpoint: collector.endpoint,
    requests: received.map((r) => ({ messages: r.messages.length, bodyBytes: r.bodyBytes, userAgent: r.headers["user-agent"] })),
    rejected: rejected.length,
    messages,
    outcomes: outcomes.map((o) => ({ _tag: o._tag, messages: o.messages.length })),
    oversize: oversizeJson(oversize)
  })
  const delivered = outcomes.filter((o) => o._tag === "Delivered").reduce((n, o) => n + o.messages.length, 0)
  yield* Console.log(
    `done: ${plural(delivered, "message")} delivered to the local collector; the oversize call was refused at the call ` +
      `(${oversize._tag}, ${oversize.size} bytes > ${oversize.limit}). Nothing was sent to Segment.`
  )
  yield* Console.log("to send these examples to your own Segment source: ANALYTICS_WRITE_KEY=... npm run demo -- --segment")
}).pipe(Effect.scoped)

/** Sends to a real endpoint, and shows the outcomes. */
const remote = (writeKey: Redacted.Redacted<string>, host: Option.Option<string>) =>
  Effect.gen(function*() {
    // A few retries only, so that the demo ends soon when the endpoint cannot be reached.
    const options = Option.match(host, {
      onNone: () => ({ writeKey, maxRetries: 3 }),
      onSome: (h) => ({ writeKey, maxRetries: 3, host: h })
    })
    yield* Console.log(`sending to ${Option.getOrElse(host, () => "https://api.segment.io")} with ANALYTICS_WRITE_KEY`)
    yield* Console.log("")
    const client = Analytics.layer(options).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.orDie)
    const { outcomes, oversize } = yield* runOn(client)
    yield* Console.log("")
    for (const outcome of outcomes) yield* Console.log(`outcome: ${describeOutcome(outcome)}`)
    yield* writeResult({
      mode: "remote",
      outcomes: outcomes.map((o) => ({ _tag: o._tag, messages: o.messages.length })),
      oversize: oversizeJson(oversize)
    })
    const delivered = outcomes.filter((o) => o._tag === "Delivered").reduce((n, o) => n + o.messages.length, 0)
    yield* Console.log(
      `done: ${plural(delivered, "message")} of ${plural(outcomes.reduce((n, o) => n + o.messages.length, 0), "message")} ` +
        `delivered to ${Option.getOrElse(host, () => "https://api.segment.io")}; the oversize call was refused at the call ` +
        `(${oversize._tag}), not sent.`
    )
  })

const main = Effect.gen(function*() {
  yield* Console.log("analytics-effect demo: the examples of the Go library's documentation")
  if (!toSegment) return yield* local
  // Only on request: a write key exported for something else must never send the demo's fake users.
  const writeKey = yield* Config.option(Config.Redacted("ANALYTICS_WRITE_KEY"))
  const host = yield* Config.option(Config.NonEmptyString("ANALYTICS_HOST"))
  if (Option.isNone(writeKey)) {
    yield* Console.error("--segment sends to your Segment source: set ANALYTICS_WRITE_KEY to its write key")
    return yield* Effect.sync(() => process.exit(2))
  }
  yield* remote(writeKey.value, host)
})

NodeRuntime.runMain(main)
