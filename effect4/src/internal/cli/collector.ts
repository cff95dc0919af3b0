/**
 * `analytics-effect collector`: the local Segment-compatible collector, run from a shell. Point an
 * application's `host` at it and watch what it sends: one line per message (NDJSON with `--json`),
 * refused requests on standard error with the reason. Ctrl-C stops it (exit code 0).
 *
 * @internal
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Collector from "../../Collector.js"
import { formatCount } from "../core/progress.js"
import { escapeForTerminal, terminalSafeJson } from "../core/text.js"
import * as Help from "./help.js"
import { boolFlag, flag, intFlag, textFlag } from "./help.js"
import { usageError, writeErr, writeOut } from "./shared.js"

const collectorFlags = {
  port: intFlag("port", "the port to listen on (default: a free one)"),
  bind: textFlag(
    "bind",
    "ADDRESS",
    `the interface to listen on (default ${Collector.defaults.host}: this machine only)`
  ),
  path: textFlag("path", "PATH", `the batch path (default ${Collector.defaults.path})`),
  writeKey: flag(
    Flag.optional(Flag.Redacted("write-key")),
    "--write-key KEY",
    "refuse requests (401) that do not carry this write key (default: accept any)"
  ),
  json: boolFlag("json", "print each message as one line of JSON (NDJSON) instead")
}

/** `collector --help`. @internal */
export const help: Help.Page = {
  usage: ["analytics-effect collector [options]"],
  summary: "Starts a local Segment-compatible collector (POST /v1/batch) and prints each message it receives " +
    "as one line on standard output; refused requests (bad write key, over the API's limits) go to standard " +
    "error with the reason. Point your application's host at the URL it prints. Ctrl-C stops it.",
  sections: [{ title: "Options", rows: Help.rowsOf(collectorFlags) }],
  footer: "Example: analytics-effect collector --port 8787, then run your app with " +
    "ANALYTICS_HOST=http://127.0.0.1:8787 (or host: \"http://127.0.0.1:8787\")."
}

let stopped = false

/**
 * Whether an interruption ended a collector that was running: that is how it is meant to stop.
 *
 * @internal
 */
export const stoppedByUser = (): boolean => stopped

const two = (n: number) => String(n).padStart(2, "0")

const clock = (millis: number): string => {
  const d = new Date(millis)
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`
}

const text = (value: unknown): string => typeof value === "string" ? value : JSON.stringify(value) ?? String(value)

/** Who a message is about, and what it says, in a few words. */
const describe = (m: Record<string, unknown>): string => {
  const who = m.userId !== undefined ? text(m.userId) : m.anonymousId !== undefined ? `anon ${text(m.anonymousId)}` : "?"
  const what = m.type === "track"
    ? JSON.stringify(text(m.event))
    : m.type === "group"
    ? `group ${text(m.groupId)}`
    : m.type === "alias"
    ? `was ${text(m.previousId)}`
    : m.name !== undefined
    ? [m.category, m.name].filter((v) => v !== undefined).map(text).join(" / ")
    : ""
  const fields = [m.properties, m.traits].find((v) => typeof v === "object" && v !== null)
  return [who, what, fields === undefined ? "" : JSON.stringify(fields)].filter((s) => s !== "").join("  ")
}

/**
 * One message as a line: time, type, who, what, properties or traits. Cut to `width` on a terminal.
 *
 * @internal
 */
export const messageLine = (receivedAt: number, m: Record<string, unknown>, width: number | undefined): string => {
  const line = `${clock(receivedAt)}  ${escapeForTerminal(text(m.type), 20).padEnd(8)}  ${escapeForTerminal(describe(m), 2_000)}`
  return width !== undefined && line.length > width ? line.slice(0, Math.max(1, width - 1)) + "…" : line
}

const run = (flags: Help.FlagValues<typeof collectorFlags>) =>
  Effect.gen(function*() {
    const port = Option.getOrElse(flags.port, () => 0)
    if (port < 0 || port > 65_535 || !Number.isInteger(port)) return yield* usageError("--port must be 0 to 65535")
    const collector = yield* Collector.make({
      port,
      retain: "counts",
      ...(Option.isSome(flags.bind) ? { host: flags.bind.value } : {}),
      ...(Option.isSome(flags.path) ? { path: flags.path.value } : {}),
      ...(Option.isSome(flags.writeKey) ? { writeKey: flags.writeKey.value } : {})
    }).pipe(
      Effect.catchTag("ServeError", (error) =>
        usageError(`cannot listen on ${Option.getOrElse(flags.bind, () => Collector.defaults.host)}:${port}: ${
          error.cause instanceof Error ? error.cause.message : String(error.cause)
        }`))
    )
    const events = yield* collector.subscribe
    stopped = true
    yield* writeErr(
      `collector listening on ${collector.endpoint} (${
        Option.isSome(flags.writeKey) ? "checking the write key" : "any write key"
      })\nsend to it with host ${collector.url}; Ctrl-C stops it\n`
    )
    const tty = process.stdout.isTTY === true
    yield* Effect.forever(Effect.gen(function*() {
      const batch = yield* PubSub.takeBetween(events, 1, 1_024)
      let out = ""
      let err = ""
      for (const event of batch) {
        if (event._tag === "Rejected") {
          err += `${clock(event.receivedAt)}  refused ${event.status} ${event.code}: ${escapeForTerminal(event.message, 500)}\n`
          continue
        }
        for (const message of event.messages) {
          out += flags.json
            ? terminalSafeJson(JSON.stringify(message)) + "\n"
            : messageLine(event.receivedAt, message, tty ? (process.stdout.columns ?? 80) - 1 : undefined) + "\n"
        }
      }
      if (out !== "") yield* writeOut(out)
      if (err !== "") yield* writeErr(err)
    })).pipe(
      Effect.onInterrupt(() =>
        Effect.flatMap(collector.stats, (s) =>
          writeErr(
            `\nstopped: ${formatCount(s.requests)} requests, ${formatCount(s.messages)} messages accepted, ` +
              `${formatCount(s.rejectedRequests)} refused\n`
          ))
      )
    )
  }).pipe(Effect.scoped)

/**
 * The `collector` command.
 *
 * @internal
 */
export const command = Command.make("collector", Help.flagsOf(collectorFlags), run).pipe(
  Command.withDescription(help.summary)
)
