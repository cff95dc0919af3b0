/**
 * The importer's progress line and final summary, as text.
 *
 * The progress line always fits the terminal (at most `columns - 1` characters, so it never wraps and
 * a carriage return redraws it in place): it drops its least useful parts when space is short.
 *
 * Plain TypeScript, no dependencies.
 *
 * @internal
 */

/** Counters of a running import. Mutable: updated on the hot path. @internal */
export interface Stats {
  /** Physical lines seen, blank ones and skipped ones (`--from-line`) included. */
  lines: number
  /** Non-blank lines read. */
  read: number
  invalid: number
  accepted: number
  delivered: number
  failed: number
  dropped: number
  /** Bytes of input read so far. */
  bytes: number
  /** The input's size in bytes, when known (a regular file). */
  readonly totalBytes: number | undefined
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

/** `1234567` as `1,234,567`. @internal */
export const formatCount = (n: number): string => {
  const digits = String(Math.round(n))
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",")
}

/** A duration as `42s`, `3m07s` or `2h05m`. @internal */
export const formatDuration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
}

interface Part {
  readonly full: string
  readonly short: string
}

/**
 * The status line, at most `width` characters: percent of the input read (by bytes), the line
 * reached, delivered, failed (dropped included), invalid, lines per second, ETA.
 *
 * @internal
 */
export const render = (stats: Stats, now: number, width: number): string => {
  const elapsed = Math.max(1, now - stats.startMillis)
  const rate = (stats.lines * 1000) / elapsed
  const parts: Array<Part> = []
  const total = stats.totalBytes
  if (total !== undefined && total > 0) {
    const pct = `${Math.min(100, Math.floor((stats.bytes * 100) / total))}%`
    parts.push({ full: pct, short: pct })
  }
  parts.push({ full: `line ${formatCount(stats.lines)}`, short: `L${formatCount(stats.lines)}` })
  parts.push({ full: `delivered ${formatCount(stats.delivered)}`, short: `ok ${formatCount(stats.delivered)}` })
  parts.push({ full: `failed ${formatCount(stats.failed + stats.dropped)}`, short: `fail ${formatCount(stats.failed + stats.dropped)}` })
  parts.push({ full: `invalid ${formatCount(stats.invalid)}`, short: `inv ${formatCount(stats.invalid)}` })
  parts.push({ full: `${formatCount(rate)} lines/s`, short: `${formatCount(rate)}/s` })
  const byteRate = (stats.bytes * 1000) / elapsed
  if (total !== undefined && byteRate > 0 && stats.bytes > 0) {
    const eta = `ETA ${formatDuration(((total - stats.bytes) * 1000) / byteRate)}`
    parts.push({ full: eta, short: eta })
  }
  const limit = Math.max(1, width)
  // Full labels with room between them; then closer together; then short labels, dropping parts from
  // the least useful (the last) until it fits.
  const full = parts.map((p) => p.full)
  for (const separator of ["  ", " "]) {
    const text = full.join(separator)
    if (text.length <= limit) return text
  }
  const short = parts.map((p) => p.short)
  while (short.length > 1 && short.join(" ").length > limit) short.pop()
  const text = short.join(" ")
  return text.length <= limit ? text : text.slice(0, limit)
}

/** @internal */
export const summarize = (stats: Stats, now: number, dryRun: boolean): Summary => {
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

/** The final summary as a small table. @internal */
export const renderSummary = (s: Summary): string => {
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
  return text
}
