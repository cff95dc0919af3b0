/**
 * The import's progress display, on standard error.
 *
 * On a terminal: one status line, drawn at once and redrawn in place every quarter second, never wider
 * than the terminal (so it never wraps). Otherwise (a pipe, a log file): a plain `progress: ...` line
 * every 2 seconds, without terminal escapes.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as ProgressText from "../core/progress.js"
import { stderrColumns, writeErr } from "./shared.js"

/** Carriage return, the line, then erase to the end of the line: a redraw in place. */
const redraw = (line: string) => `\r${line}\x1b[K`

// One column short of the terminal: a terminal that wraps on the last column then never wraps.
const width = () => Math.max(20, stderrColumns() - 1)

/**
 * Runs until interrupted.
 *
 * @internal
 */
export const loop = (stats: ProgressText.Stats, tty: boolean): Effect.Effect<never> => {
  const every = Duration.millis(tty ? 250 : 2_000)
  const show = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    writeErr(
      tty ? redraw(ProgressText.render(stats, now, width())) : `progress: ${ProgressText.render(stats, now, 200)}\n`
    ))
  // A terminal shows the status line at once; a log gets its first line after one period.
  return (tty ? show : Effect.sleep(every)).pipe(
    Effect.andThen(Effect.repeat(show, Schedule.spaced(every))),
    Effect.andThen(Effect.never)
  )
}

/**
 * Stops the display, leaving the last status line on the terminal.
 *
 * @internal
 */
export const finish = (fiber: Fiber.Fiber<never>, stats: ProgressText.Stats, tty: boolean): Effect.Effect<void> =>
  Effect.andThen(
    Fiber.interrupt(fiber),
    tty
      ? Effect.flatMap(Clock.currentTimeMillis, (now) => writeErr(redraw(ProgressText.render(stats, now, width())) + "\n"))
      : Effect.void
  )
