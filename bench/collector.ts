/**
 * A Segment-compatible collector for the benchmark, run in its own process (`fork`ed by `run.ts` and
 * `import.ts`): the library's own `Collector` (retaining ids, not messages), driven over IPC.
 *
 * It listens on 127.0.0.1 with an ephemeral port, reports `{ type: "ready", port }` to its parent over
 * IPC (or prints `PORT <n>` when started by hand), and answers `POST /v1/batch` as the Segment API
 * would (validating every batch). It counts messages, bytes, requests, unique messageIds, the largest
 * request body, concurrent and total connections, and concurrent requests.
 *
 * Commands over IPC (each answered with a message of the same `type`):
 * - `{ type: "configure", delayMs, down: { mode: "refuse" | "503" } | undefined, script }`: answer
 *   every request after `delayMs`; when `down` is set, go down at once (`refuse`: stop listening and
 *   reset every connection; `503`: answer 503 without counting) until an `up` command; `script`, a list
 *   of `{ status, times?, retryAfter? }`, answers the next requests first (`[{ status: 500, times: 5 },
 *   { status: 429, retryAfter: "1" }]`: the first 5 requests 500, then one 429, then the rest as usual);
 * - `{ type: "up", afterMs }`: come back up `afterMs` from now;
 * - `{ type: "stats" }`: the counters.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Collector from "../src/Collector.js"

export interface CollectorStats {
  readonly type: "stats"
  /** Messages received in accepted (2xx) requests, duplicates included. */
  readonly messages: number
  readonly uniqueMessageIds: number
  readonly duplicates: number
  /** Bytes of accepted request bodies (as sent, compressed or not). */
  readonly bytes: number
  /** Requests answered 2xx. */
  readonly requests: number
  /** Requests refused (503 while down, or by the collector's checks). */
  readonly rejectedRequests: number
  /** Of those, bodies that were not a batch at all. */
  readonly malformedRequests: number
  readonly largestRequestBytes: number
  /** Requests refused because their body (uncompressed) exceeded 500,000 bytes. */
  readonly oversizeRequests: number
  readonly largestBatchMessages: number
  readonly maxConcurrentConnections: number
  readonly totalConnections: number
  readonly maxConcurrentRequests: number
  /** Requests that carried `X-Retry-Count`. */
  readonly retriedRequests: number
}

/** One step of a scripted sequence of answers. */
export interface ScriptStep {
  readonly status: number
  readonly times?: number
  readonly retryAfter?: string
}

type Command =
  | {
    readonly type: "configure"
    readonly delayMs?: number
    readonly down?: { readonly mode: Collector.DownMode }
    readonly script?: ReadonlyArray<ScriptStep>
  }
  | { readonly type: "up"; readonly afterMs: number }
  | { readonly type: "stats" }

const scope = Effect.runSync(Scope.make())
const collector = await Effect.runPromise(Scope.extend(Collector.make({ retain: "ids" }), scope))
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

const stats = async (): Promise<CollectorStats> => {
  const s = await run(collector.stats)
  const rejected = await run(collector.rejected)
  return {
    type: "stats",
    messages: s.messages,
    uniqueMessageIds: s.uniqueMessageIds,
    duplicates: s.duplicates,
    bytes: s.bytes,
    requests: s.okRequests,
    rejectedRequests: s.rejectedRequests,
    malformedRequests: s.malformedRequests,
    largestRequestBytes: s.largestRequestBytes,
    oversizeRequests: rejected.filter((r) => r.code === "too_large").length,
    largestBatchMessages: s.largestBatchMessages,
    maxConcurrentConnections: s.maxConcurrentConnections,
    totalConnections: s.connections,
    maxConcurrentRequests: s.maxConcurrentRequests,
    retriedRequests: s.retriedRequests
  }
}

const configure = async (command: Extract<Command, { type: "configure" }>) => {
  const delayMs = command.delayMs ?? 0
  // Every answer, scripted or not, comes `delayMs` late.
  const late = (answer: Collector.Answer) => delayMs > 0 ? Collector.delay(`${delayMs} millis`, answer) : answer
  await run(collector.setFallback(late(Collector.accept)))
  const script = (command.script ?? []).flatMap((step) =>
    Collector.times(step.times ?? 1, late(Collector.status(step.status, { retryAfter: step.retryAfter })))
  )
  await run(collector.setScript(script))
  if (command.down !== undefined) await run(collector.down(command.down.mode))
}

const reply = (message: object) => {
  if (process.send) process.send(message)
}

process.on("message", (command: Command) => {
  switch (command.type) {
    case "configure": {
      void configure(command).then(() => reply({ type: "configure" }))
      break
    }
    case "up": {
      setTimeout(() => void run(collector.up), command.afterMs)
      reply({ type: "up" })
      break
    }
    case "stats": {
      void stats().then(reply)
      break
    }
  }
})

// Exit with the parent.
process.on("disconnect", () => void run(Scope.close(scope, Exit.void)).then(() => process.exit(0)))

if (process.send) process.send({ type: "ready", port: collector.port })
else {
  console.log(`PORT ${collector.port}`)
  process.on("SIGINT", () => {
    void stats().then((s) => {
      console.log(JSON.stringify(s, null, 2))
      process.exit(0)
    })
  })
}
