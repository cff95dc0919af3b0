/**
 * What the CLI's commands share: exit codes, output, the connection flags and the client layer.
 *
 * Node-only: this module and its siblings are the command line's edge and are never imported by the
 * library (`src/index.ts`).
 *
 * @internal
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Flag from "effect/cli/Flag"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Analytics from "../../Analytics.js"
import type { InvalidOptions } from "../../AnalyticsError.js"
import { Transport } from "../../Transport.js"
import { escapeForTerminal } from "../core/text.js"
import { boolFlag, flag, type FlagValues, intFlag, textFlag } from "./help.js"

/**
 * The exit codes of `analytics-effect`.
 *
 * @internal
 */
export const ExitCodes = {
  /** Every message was delivered (or, with `--dry-run`, is valid). */
  ok: 0,
  /** Some messages were not delivered: failed, dropped, or invalid. */
  notDelivered: 1,
  /** The command line or the configuration is wrong (unknown flag, bad JSON in a flag, no write key, unreadable input). */
  usage: 2,
  /** The run could not complete: an I/O error while running, or an internal error. */
  internal: 3,
  /** Interrupted by SIGINT or SIGTERM. */
  interrupted: 130
} as const

/**
 * Ends the program with an exit code; whatever there was to say has been printed already.
 *
 * @internal
 */
export class CliExit extends Schema.TaggedError<CliExit>("analytics-effect/CliExit")("CliExit", {
  code: Schema.Number
}) {}

/** @internal */
export const exitWith = (code: number): Effect.Effect<never, CliExit> => Effect.fail(new CliExit({ code }))

/**
 * Writes to standard error without adding a line break (the progress line rewrites itself).
 *
 * @internal
 */
export const writeErr = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(text))

/**
 * Writes to standard output without adding a line break.
 *
 * @internal
 */
export const writeOut = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stdout.write(text))

/** `error: ...` on standard error, input in it escaped; then exit code 2. @internal */
export const usageError = (text: string): Effect.Effect<never, CliExit> =>
  Effect.andThen(writeErr(`error: ${escapeForTerminal(text, 500)}\n`), exitWith(ExitCodes.usage))

/** @internal */
export const stderrIsTTY = (): boolean => process.stderr.isTTY === true

/** The terminal's width (80 when unknown). @internal */
export const stderrColumns = (): number => process.stderr.columns ?? 80

/** The defaults a command gives the client (the library's defaults otherwise). @internal */
export interface CommandDefaults {
  readonly flushAt: number
  readonly maxRetries: number
}

const optionalWithConfig = <A>(definition: Flag.Flag<A>, config: Config.Config<A>) =>
  definition.pipe(Flag.withFallbackConfig(config), Flag.optional)

/**
 * The connection and batching flags shared by `send` and `import`, with that command's defaults.
 *
 * @internal
 */
export const connectionFlags = (defaults: CommandDefaults) => ({
  writeKey: flag(
    optionalWithConfig(Flag.Redacted("write-key"), Config.Redacted("ANALYTICS_WRITE_KEY")),
    "--write-key KEY",
    "the source's write key (default: $ANALYTICS_WRITE_KEY)"
  ),
  host: flag(
    optionalWithConfig(Flag.String("host"), Config.String("ANALYTICS_HOST")),
    "--host URL",
    `collector base URL (default: $ANALYTICS_HOST, else ${Analytics.defaults.host})`
  ),
  path: textFlag("path", "PATH", `request path (default ${Analytics.defaults.path})`),
  gzip: boolFlag("gzip", "compress request bodies"),
  flushAt: intFlag("flush-at", `send once N messages wait (default ${defaults.flushAt})`),
  maxInFlight: intFlag("max-in-flight", `requests in progress at once (default ${Analytics.defaults.maxInFlight})`),
  maxRetries: intFlag(
    "max-retries",
    `retries of a failed request, backoff doubling from about 1 s (default ${defaults.maxRetries})`
  ),
  timeout: intFlag(
    "timeout",
    `per-request timeout in milliseconds (default ${Duration.toMillis(Analytics.defaults.timeout)})`,
    "MS"
  ),
  dryRun: boolFlag("dry-run", "validate only, send nothing (no write key needed)")
})

/** @internal */
export type ConnectionFlags = FlagValues<ReturnType<typeof connectionFlags>>

const tooSmall = (name: string, value: Option.Option<number>, min: number) =>
  Option.isSome(value) && value.value < min ? Option.some(`--${name} must be at least ${min}`) : Option.none()

const debugConfig = Config.map(Config.withDefault(Config.String("DEBUG"), ""), (value) => /\banalytics\b/.test(value))

const refusing = Layer.succeed(Transport, {
  send: () => Effect.die(new Error("a dry run sends nothing"))
})

/**
 * The client for a command: over HTTP (Node's undici client), or, with `--dry-run`, a disabled client
 * that validates every message exactly as a real one would and sends nothing.
 *
 * @internal
 */
export const clientLayer = (
  flags: ConnectionFlags,
  defaults: CommandDefaults,
  overrides: Partial<Analytics.Options>
): Effect.Effect<Layer.Layer<Analytics.Analytics, InvalidOptions>, CliExit> =>
  Effect.gen(function*() {
    const problem = Option.firstSomeOf([
      tooSmall("flush-at", flags.flushAt, 1),
      tooSmall("max-in-flight", flags.maxInFlight, 1),
      tooSmall("max-retries", flags.maxRetries, 0),
      tooSmall("timeout", flags.timeout, 1)
    ])
    if (Option.isSome(problem)) return yield* usageError(problem.value)
    const debug = yield* Effect.orElseSucceed(debugConfig, () => false)
    const base: Analytics.Options = {
      writeKey: Option.getOrElse(flags.writeKey, () => Redacted.make("dry-run")),
      // Reached only when interrupted (a normal run waits for every outcome before closing): keep ^C quick.
      shutdownTimeout: "5 seconds",
      gzip: flags.gzip,
      debug,
      flushAt: Option.getOrElse(flags.flushAt, () => defaults.flushAt),
      maxRetries: Option.getOrElse(flags.maxRetries, () => defaults.maxRetries),
      ...(Option.isSome(flags.host) ? { host: flags.host.value } : {}),
      ...(Option.isSome(flags.path) ? { path: flags.path.value } : {}),
      ...(Option.isSome(flags.maxInFlight) ? { maxInFlight: flags.maxInFlight.value } : {}),
      ...(Option.isSome(flags.timeout) ? { timeout: flags.timeout.value } : {}),
      ...overrides
    }
    const invalid = Analytics.checkOptions(base)
    if (invalid !== undefined) return yield* usageError(invalid.message)
    // The options were checked just above: building the client cannot fail with InvalidOptions.
    if (flags.dryRun) {
      return Analytics.layerWithoutTransport({ ...base, enabled: false }).pipe(Layer.provide(refusing), Layer.orDie)
    }
    if (Option.isNone(flags.writeKey)) {
      return yield* usageError("no write key: pass --write-key or set ANALYTICS_WRITE_KEY")
    }
    if (Option.isSome(flags.host) && !/^https?:\/\/[^/]/.test(flags.host.value)) {
      return yield* usageError(`--host must be an http:// or https:// URL, got ${JSON.stringify(flags.host.value)}`)
    }
    return Analytics.layer(base).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.orDie)
  })
