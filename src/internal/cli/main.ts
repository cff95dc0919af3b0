/**
 * The `analytics-effect` command line: `send`, `import` and `collector`.
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
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Version from "../version.js"
import * as Collector from "./collector.js"
import * as Help from "./help.js"
import * as Import from "./import.js"
import * as Send from "./send.js"
import { CliExit, ExitCodes, plainConsole, writeErr, writeOut } from "./shared.js"

const commands = { send: Send, import: Import, collector: Collector } as const

/** `analytics-effect --help`. @internal */
export const help: Help.Page = {
  usage: [
    "analytics-effect send <type> [fields] [options]",
    "analytics-effect import <file.ndjson | -> [options]",
    "analytics-effect collector [options]"
  ],
  summary: "Send Segment calls from a shell, import NDJSON files of them, or run a local collector to see " +
    "what an application sends.",
  sections: [{
    title: "Commands",
    rows: [
      { usage: "send", text: "send one call and wait for its outcome" },
      { usage: "import", text: "import a file of messages, resumably, with progress and a failures file" },
      { usage: "collector", text: "start a local Segment-compatible collector that prints what it receives" }
    ]
  }, {
    title: "Options",
    rows: [
      { usage: "-h, --help", text: "this help; `analytics-effect <command> --help` for a command's" },
      { usage: "--version", text: "the version" },
      { usage: "--log-level LEVEL", text: "show the library's logs from LEVEL (debug, info, warning...)" }
    ]
  }],
  footer: `Exit codes: 0 all delivered, 1 some not delivered, 2 usage error, 3 I/O or internal error, ` +
    `130 interrupted. Version ${Version.version}.`
}

/** @internal */
export const command = Command.make("analytics-effect").pipe(
  Command.withDescription(help.summary),
  Command.withSubcommands([Send.command, Import.command, Collector.command])
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

/** What the command line asks before any parsing: help, the version, or nothing at all. @internal */
export type Request =
  | { readonly _tag: "Help"; readonly page: Help.Page }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Usage" }
  | { readonly _tag: "Run" }

/** @internal */
export const classify = (argv: ReadonlyArray<string>): Request => {
  const args = argv.slice(2)
  const end = args.indexOf("--")
  const options = end === -1 ? args : args.slice(0, end)
  if (args.length === 0) return { _tag: "Usage" }
  const name = options.find((arg): arg is keyof typeof commands => Object.hasOwn(commands, arg))
  if (options.includes("--help") || options.includes("-h")) {
    return { _tag: "Help", page: name === undefined ? help : commands[name].help }
  }
  if (name === undefined && options.includes("--version")) return { _tag: "Version" }
  return { _tag: "Run" }
}

/**
 * The program for a command line (`process.argv`): prints what went wrong readably and fails with a
 * `CliExit` carrying the exit code, or a `ValidationError` (already printed by `@effect/cli`).
 *
 * @internal
 */
export const main = (argv: ReadonlyArray<string>) => {
  const request = classify(argv)
  switch (request._tag) {
    case "Help":
      return writeOut(Help.render(request.page))
    case "Version":
      return writeOut(`${Version.version}\n`)
    case "Usage":
      return Effect.zipRight(writeErr(Help.render(help)), Effect.fail(new CliExit({ code: ExitCodes.usage })))
    case "Run":
      break
  }
  const program = cli(moveDashLast(argv)).pipe(
    Effect.catchAllDefect((defect) =>
      Effect.zipRight(
        writeErr(`internal error: ${Cause.pretty(Cause.die(defect))}\n`),
        Effect.fail(new CliExit({ code: ExitCodes.internal }))
      )
    ),
    // The command reports every outcome itself: the library's warnings about failed batches would say
    // it twice. `--log-level` (or DEBUG=analytics) shows them.
    Logger.withMinimumLogLevel(LogLevel.Error),
    Effect.provide(
      Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true, colors: process.stderr.isTTY === true }))
    )
  )
  return Effect.flatMap(plainConsole, (console) => Effect.withConsole(program, console))
}

/**
 * Maps the program's exit to the documented exit codes.
 *
 * @internal
 */
export const teardown: Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit)) return onExit(ExitCodes.ok)
  if (Cause.isInterruptedOnly(exit.cause)) return onExit(Collector.stoppedByUser() ? ExitCodes.ok : ExitCodes.interrupted)
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
