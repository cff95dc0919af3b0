/**
 * The `analytics-effect` command line: `send`, `import` and `collector`.
 *
 * @internal
 */
import * as CliError from "effect/cli/CliError"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as References from "effect/References"
import type * as Runtime from "effect/Runtime"
import * as Util from "node:util"
import * as Version from "../version.js"
import * as Collector from "./collector.js"
import * as Help from "./help.js"
import * as Import from "./import.js"
import * as Send from "./send.js"
import { CliExit, ExitCodes, stderrIsTTY, writeErr, writeOut } from "./shared.js"

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

const cli = Command.runWith(command, { version: Version.version })

/** The help page of a command path (`["analytics-effect", "send"]`), the root's for anything else. */
const pageOf = (commandPath: ReadonlyArray<string>): Help.Page => {
  const name = commandPath[1]
  return name !== undefined && Object.hasOwn(commands, name) ? commands[name as keyof typeof commands].help : help
}

const errorFormatter = CliOutput.defaultFormatter({ colors: false })

/**
 * What `effect/cli` shows, shown the way this command line shows it: its own help pages instead of the
 * generated ones, the version alone, and a usage error as its plain message on standard error (as the
 * Effect 3 edition's command line did). The exit code follows from the error (see `teardown`).
 *
 * @internal
 */
export const presenter: CliOutput.Presenter = {
  present: (event) => {
    switch (event._tag) {
      case "Help":
        // Asked for: standard output. Shown because a command is missing: a usage error, on standard error.
        return (event.reason === "Requested" ? writeOut : writeErr)(Help.render(pageOf(event.commandPath)))
      case "Version":
        return writeOut(`${Version.version}\n`)
      case "InvalidInvocation":
        return writeErr(
          event.errors.map((error) => `error: ${Util.stripVTControlCharacters(errorFormatter.formatCliError(error))}\n`)
            .join("")
        )
    }
  }
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

// The library's logs, when `--log-level` (or DEBUG=analytics) asks for them: on standard error, so that
// standard output stays the command's (an import's `--json` summary).
const logger = Layer.merge(
  Logger.layer([Logger.consolePretty({ colors: stderrIsTTY() })]),
  Layer.succeed(Logger.LogToStderr, true)
)

/**
 * The program for a command line (`process.argv`): prints what went wrong readably and fails with a
 * `CliExit` carrying the exit code, or a `CliError` (already shown by the presenter).
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
      return Effect.andThen(writeErr(Help.render(help)), Effect.fail(new CliExit({ code: ExitCodes.usage })))
    case "Run":
      break
  }
  return cli(argv.slice(2)).pipe(
    Effect.catchDefect((defect) =>
      Effect.andThen(
        writeErr(`internal error: ${Cause.pretty(Cause.die(defect))}\n`),
        Effect.fail(new CliExit({ code: ExitCodes.internal }))
      )
    ),
    // The command reports every outcome itself: the library's warnings about failed batches would say
    // it twice. `--log-level` (or DEBUG=analytics) shows them.
    Effect.provideService(References.MinimumLogLevel, "Error"),
    Effect.provide([logger, CliOutput.layerPresenter(presenter)])
  )
}

/**
 * Maps the program's exit to the documented exit codes.
 *
 * @internal
 */
export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit)) return onExit(ExitCodes.ok)
  if (Cause.hasInterruptsOnly(exit.cause)) {
    return onExit(Collector.stoppedByUser() ? ExitCodes.ok : ExitCodes.interrupted)
  }
  const failure = Cause.findErrorOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error instanceof CliExit) return onExit(error.code)
    // `--help` and `--version` succeed: an error of the parser is a usage error.
    if (CliError.isCliError(error)) return onExit(ExitCodes.usage)
  }
  onExit(ExitCodes.internal)
}
