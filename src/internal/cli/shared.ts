/**
 * What the CLI's commands share: exit codes, the connection options, the client layer, output.
 *
 * Node-only: this module and its siblings are the command line's edge and are never imported by the
 * library (`src/index.ts`).
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Analytics from "../../Analytics.js"
import type { InvalidOptions } from "../../AnalyticsError.js"
import { Transport } from "../../Transport.js"

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

/** @internal */
export const usageError = (text: string): Effect.Effect<never, CliExit> =>
  Effect.zipRight(writeErr(`error: ${text}\n`), exitWith(ExitCodes.usage))

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

/** @internal */
export const stderrIsTTY = (): boolean => process.stderr.isTTY === true

const optionalWithConfig = <A>(options: Options.Options<A>, config: Config.Config<A>) =>
  options.pipe(Options.withFallbackConfig(config), Options.optional)

/**
 * The connection and batching flags shared by `send` and `import`.
 *
 * @internal
 */
export const connectionOptions = {
  writeKey: optionalWithConfig(
    Options.redacted("write-key").pipe(
      Options.withDescription("The source's write key (default: the ANALYTICS_WRITE_KEY environment variable)")
    ),
    Config.redacted("ANALYTICS_WRITE_KEY")
  ),
  host: optionalWithConfig(
    Options.text("host").pipe(
      Options.withDescription("Collector base URL (default: ANALYTICS_HOST, else https://api.segment.io)")
    ),
    Config.string("ANALYTICS_HOST")
  ),
  path: Options.text("path").pipe(
    Options.withDescription("Request path (default /v1/batch)"),
    Options.optional
  ),
  gzip: Options.boolean("gzip").pipe(Options.withDescription("Compress request bodies (Content-Encoding: gzip)")),
  flushAt: Options.integer("flush-at").pipe(
    Options.withDescription("Send as soon as this many messages are waiting"),
    Options.optional
  ),
  maxInFlight: Options.integer("max-in-flight").pipe(
    Options.withDescription("Most requests in progress at once (default 4)"),
    Options.optional
  ),
  maxRetries: Options.integer("max-retries").pipe(
    Options.withDescription("Retries of a failed request before its messages fail (default 10)"),
    Options.optional
  ),
  timeout: Options.integer("timeout").pipe(
    Options.withDescription("Per-request timeout in milliseconds (default 10000)"),
    Options.optional
  ),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Validate only: send nothing"))
}

/** @internal */
export interface ConnectionFlags {
  readonly writeKey: Option.Option<Redacted.Redacted<string>>
  readonly host: Option.Option<string>
  readonly path: Option.Option<string>
  readonly gzip: boolean
  readonly flushAt: Option.Option<number>
  readonly maxInFlight: Option.Option<number>
  readonly maxRetries: Option.Option<number>
  readonly timeout: Option.Option<number>
  readonly dryRun: boolean
}

const nonPositive = (name: string, value: Option.Option<number>, min: number) =>
  Option.isSome(value) && value.value < min ? Option.some(`--${name} must be at least ${min}`) : Option.none()

const debugConfig = Config.map(Config.withDefault(Config.string("DEBUG"), ""), (value) => /\banalytics\b/.test(value))

const refusing = Layer.succeed(Transport, {
  send: () => Effect.dieMessage("a dry run sends nothing")
})

/**
 * The client for a command: over HTTP (Node's undici client), or, with `--dry-run`, a disabled client
 * that validates every message exactly as a real one would and sends nothing.
 *
 * @internal
 */
export const clientLayer = (
  flags: ConnectionFlags,
  overrides: Partial<Analytics.Options>
): Effect.Effect<Layer.Layer<Analytics.Analytics, InvalidOptions>, CliExit> =>
  Effect.gen(function*() {
    const problem = Option.firstSomeOf([
      nonPositive("flush-at", flags.flushAt, 1),
      nonPositive("max-in-flight", flags.maxInFlight, 1),
      nonPositive("max-retries", flags.maxRetries, 0),
      nonPositive("timeout", flags.timeout, 1)
    ])
    if (Option.isSome(problem)) return yield* usageError(problem.value)
    const debug = yield* Effect.orElseSucceed(debugConfig, () => false)
    const base: Analytics.Options = {
      writeKey: Option.getOrElse(flags.writeKey, () => Redacted.make("dry-run")),
      // Reached only when interrupted (a normal run waits for every outcome before closing): keep ^C quick.
      shutdownTimeout: "5 seconds",
      gzip: flags.gzip,
      debug,
      ...(Option.isSome(flags.host) ? { host: flags.host.value } : {}),
      ...(Option.isSome(flags.path) ? { path: flags.path.value } : {}),
      ...(Option.isSome(flags.flushAt) ? { flushAt: flags.flushAt.value } : {}),
      ...(Option.isSome(flags.maxInFlight) ? { maxInFlight: flags.maxInFlight.value } : {}),
      ...(Option.isSome(flags.maxRetries) ? { maxRetries: flags.maxRetries.value } : {}),
      ...(Option.isSome(flags.timeout) ? { timeout: flags.timeout.value } : {}),
      ...overrides
    }
    if (flags.dryRun) {
      return Analytics.layerWithoutTransport({ ...base, enabled: false }).pipe(Layer.provide(refusing))
    }
    if (Option.isNone(flags.writeKey)) {
      return yield* usageError("no write key: pass --write-key or set ANALYTICS_WRITE_KEY")
    }
    if (Option.isSome(flags.host) && !/^https?:\/\/[^/]/.test(flags.host.value)) {
      return yield* usageError(`--host must be an http:// or https:// URL, got ${JSON.stringify(flags.host.value)}`)
    }
    return Analytics.layer(base).pipe(Layer.provide(NodeHttpClient.layerUndici))
  })
