/**
 * The `analytics-effect` command line: `send` and `import`.
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import type { Teardown } from "@effect/platform/Runtime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Version from "../version.js"
import * as Import from "./import.js"
import * as Send from "./send.js"
import { CliExit, ExitCodes, writeErr } from "./shared.js"

/** @internal */
export const command = Command.make("analytics-effect").pipe(
  Command.withDescription(
    "Send Segment calls from a shell, or import NDJSON files of them. Exit codes: 0 all delivered, 1 some not delivered (failed, dropped or invalid), 2 usage or configuration error, 3 I/O or internal error, 130 interrupted."
  ),
  Command.withSubcommands([Send.command, Import.command])
)

const cli = Command.run(command, { name: "analytics-effect", version: Version.version })

/**
 * `@effect/cli` stops reading options after a bare `-` argument: move it to the end, so that
 * `import - --dry-run` works as well as `import --dry-run -`.
 *
 * @internal
 */
export const moveDashLast = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const i = argv.indexOf("-", 2)
  return i === -1 ? argv : [...argv.slice(0, i), ...argv.slice(i + 1), "-"]
}

/**
 * The program for a command line (`process.argv`): prints what went wrong readably and fails with a
 * `CliExit` carrying the exit code, or a `ValidationError` (already printed by `@effect/cli`).
 *
 * @internal
 */
export const main = (argv: ReadonlyArray<string>) =>
  cli(moveDashLast(argv)).pipe(
    Effect.catchAllDefect((defect) =>
      Effect.zipRight(
        writeErr(`internal error: ${Cause.pretty(Cause.die(defect))}\n`),
        Effect.fail(new CliExit({ code: ExitCodes.internal }))
      )
    ),
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true })))
  )

/**
 * Maps the program's exit to the documented exit codes.
 *
 * @internal
 */
export const teardown: Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit)) return onExit(ExitCodes.ok)
  if (Cause.isInterruptedOnly(exit.cause)) return onExit(ExitCodes.interrupted)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error instanceof CliExit) return onExit(error.code)
    if (ValidationError.isValidationError(error)) {
      return onExit(ValidationError.isHelpRequested(error) ? ExitCodes.ok : ExitCodes.usage)
    }
  }
  onExit(ExitCodes.internal)
}
