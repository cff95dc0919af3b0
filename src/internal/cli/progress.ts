/**
 * The import's progress display and final summary.
 *
 * On a terminal, one status line on standard error rewritten every quarter second; otherwise a plain
 * line every 2 seconds.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { writeErr } from "./shared.js"

/** @internal */
export interface Stats {
  /** Physical lines seen, blank ones included (the current line number). */
  lines: number
  /** Non-blank lines read. */
  read: number
  invalid: number
  accepted: number
  delivered: number
  failed: number
  dropped: number
  /** Lines in the file, when known (not for standard input). */
  readonly total: number | undefined
  readonly startMillis: number
}

/** @internal */
export interface Summary {
  readonly read: number
  readonly invalid: number
  readonly accepted: number
  readonly delivered: number
  readonly failed: number
  readonly dropped: number
  readonly elapsedMs: number
  readonly linesPerSecond: number
  readonly dryRun: boolean
}

const clearLine = "\r\x1b[2K"

const formatDuration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
}

/**
 * One status line: lines read, delivered, failed, rate, and the ETA when the total is known.
 *
 * @internal
 */
export const render = (stats: Stats, now: number): string => {
  const elapsed = Math.max(1, now - stats.startMillis)
  const rate = (stats.lines * 1000) / elapsed
  let text = `read ${stats.read}`
  if (stats.total !== undefined && stats.total > 0) {
    text += `/${stats.total} (${Math.min(100, Math.floor((stats.lines * 100) / stats.total))}%)`
  }
  text += `  delivered ${stats.delivered}  failed ${stats.failed + stats.dropped}  invalid ${stats.invalid}`
  text += `  ${Math.round(rate)} lines/s`
  if (stats.total !== undefined && rate > 0) {
    text += `  ETA ${formatDuration(((stats.total - stats.lines) * 1000) / rate)}`
  }
  return text
}

/**
 * Runs until interrupted: on a terminal rewrites the status line, otherwise prints one every 2 s.
 *
 * @internal
 */
export const loop = (stats: Stats, tty: boolean): Effect.Effect<never> => {
  const every = Duration.millis(tty ? 250 : 2_000)
  const show = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    writeErr(tty ? clearLine + render(stats, now) : `progress: ${render(stats, now)}\n`))
  // A terminal shows the status line at once; a log gets its first line after one period.
  return (tty ? show : Effect.sleep(every)).pipe(
    Effect.zipRight(Effect.repeat(show, Schedule.spaced(every))),
    Effect.zipRight(Effect.never)
  )
}

/**
 * Leaves the last status line on the terminal.
 *
 * @internal
 */
export const finish = (stats: Stats, tty: boolean): Effect.Effect<void> =>
  tty ? Effect.flatMap(Clock.currentTimeMillis, (now) => writeErr(clearLine + render(stats, now) + "\n")) : Effect.void

/** @internal */
export const summary = (stats: Stats, now: number, dryRun: boolean): Summary => {
  const elapsedMs = Math.max(0, now - stats.startMillis)
  return {
    read: stats.read,
    invalid: stats.invalid,
    accepted: stats.accepted,
    delivered: stats.delivered,
    failed: stats.failed,
    dropped: stats.dropped,
    elapsedMs,
    linesPerSecond: Math.round((stats.read * 1000) / Math.max(1, elapsedMs)),
    dryRun
  }
}

/** @internal */
export const renderSummary = (s: Summary, failedOut: string | undefined): string => {
  const rows: Array<[string, string]> = s.dryRun
    ? [["read", String(s.read)], ["invalid", String(s.invalid)], ["valid", String(s.accepted)]]
    : [
      ["read", String(s.read)],
      ["invalid", String(s.invalid)],
      ["accepted", String(s.accepted)],
      ["delivered", String(s.delivered)],
      ["failed", String(s.failed)],
      ["dropped", String(s.dropped)]
    ]
  rows.push(["elapsed", `${(s.elapsedMs / 1000).toFixed(1)}s`], ["lines/s", String(s.linesPerSecond)])
  const width = Math.max(...rows.map(([k]) => k.length))
  let text = s.dryRun ? "dry run (nothing sent)\n" : ""
  for (const [k, v] of rows) text += `${k.padEnd(width)}  ${v}\n`
  const notDelivered = s.invalid + s.failed + s.dropped
  if (failedOut !== undefined && notDelivered > 0) {
    text += `${notDelivered} lines written to ${failedOut}: fix them if needed and import that file to retry\n`
  }
  return text
}
