/**
 * The fault-injection harness's server: the library's own `Collector` (on 127.0.0.1, an ephemeral
 * port), driven through its fault answers, behind the interface the fault scenarios use. A fix to how
 * the collector reads requests lands here too.
 *
 * The collector parses and validates every batch (gunzipping `Content-Encoding: gzip`), counts
 * requests, and records the message ids it accepted (answered 2xx) and the ids it "took" without
 * answering (a `hang`, or a slow answer whose client had gone away): a retry of a batch the server
 * had already taken is the one legitimate source of a duplicate.
 */
import { Effect, Exit, Scope } from "effect"
import * as Collector from "../../src/Collector.js"

/** What the server does with the next requests. */
export type Mode =
  | { readonly _tag: "ok" }
  | { readonly _tag: "status"; readonly status: number; readonly retryAfter?: string | undefined }
  | { readonly _tag: "reset" }
  | { readonly _tag: "slow"; readonly ms: number }
  | { readonly _tag: "hang" }

/** Mode constructors. */
export const Mode = {
  ok: { _tag: "ok" } as Mode,
  status: (status: number, retryAfter?: string): Mode => ({ _tag: "status", status, retryAfter }),
  tooManyRequests: (seconds: number): Mode => ({ _tag: "status", status: 429, retryAfter: String(seconds) }),
  reset: { _tag: "reset" } as Mode,
  slow: (ms: number): Mode => ({ _tag: "slow", ms }),
  hang: { _tag: "hang" } as Mode
} as const

/** The collector's answer for a mode. */
export const answerOf = (mode: Mode): Collector.Answer => {
  switch (mode._tag) {
    case "ok":
      return Collector.accept
    case "status":
      return Collector.status(mode.status, { retryAfter: mode.retryAfter })
    case "reset":
      return Collector.reset
    case "slow":
      return Collector.delay(`${mode.ms} millis`)
    case "hang":
      return Collector.hang
  }
}

/** A snapshot of what the server saw. */
export interface FaultStats {
  /** Requests whose headers arrived (including refused, reset and hung ones). */
  readonly requests: number
  /** Requests answered 2xx. */
  readonly okRequests: number
  /** How many times each id arrived in a request answered 2xx. */
  readonly accepted: ReadonlyMap<string, number>
  /** How many times each id arrived in a request whose body was read but never answered. */
  readonly taken: ReadonlyMap<string, number>
  /** Requests the collector refused (not a valid batch): should stay 0. */
  readonly malformed: number
  /** Every request, in order of arrival. */
  readonly log: ReadonlyArray<RequestLog>
}

/** One request as the server saw it. */
export interface RequestLog {
  /** When it was answered (or cut, or parked), in milliseconds. */
  readonly at: number
  /** The status answered, or what happened instead. */
  readonly status: number | "reset" | "hang" | "gone"
  readonly messages: number
}

/** The server's handle. */
export interface FaultServer {
  readonly port: number
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly collector: Collector.CollectorService
  readonly mode: () => Mode
  readonly setMode: (mode: Mode) => void
  /** Stops listening and cuts idle connections and hung requests: new connections are refused. */
  readonly down: () => Promise<void>
  /** Listens again on the same port. */
  readonly up: () => Promise<void>
  readonly isUp: () => boolean
  readonly stats: () => FaultStats
  /** Stops everything for good. */
  readonly close: () => Promise<void>
}

/** Starts a server on 127.0.0.1 with an ephemeral port, in mode `ok`. */
export const start = async (initial: Mode = Mode.ok): Promise<FaultServer> => {
  const scope = Effect.runSync(Scope.make())
  const collector = await Effect.runPromise(Scope.provide(Collector.make({ retain: "ids" }), scope))
  let mode = initial
  let up = true
  Effect.runSync(collector.setFallback(answerOf(mode)))
  return {
    port: collector.port,
    url: collector.url,
    collector,
    mode: () => mode,
    setMode: (next) => {
      mode = next
      Effect.runSync(collector.setFallback(answerOf(next)))
    },
    down: async () => {
      up = false
      await Effect.runPromise(collector.down("refuse"))
    },
    up: async () => {
      await Effect.runPromise(collector.up)
      up = true
    },
    isUp: () => up,
    stats: () => {
      const stats = Effect.runSync(collector.stats)
      const log = Effect.runSync(collector.requests)
      return {
        requests: stats.requests,
        okRequests: stats.okRequests,
        accepted: stats.accepted,
        taken: stats.taken,
        malformed: stats.rejectedRequests,
        log: log.map((r) => ({ at: r.endedAt, status: r.result, messages: r.messages }))
      }
    },
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
