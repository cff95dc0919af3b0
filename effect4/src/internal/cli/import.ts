/**
 * `analytics-effect import <file.ndjson|->`: a bulk (historical) import, one message per line.
 *
 * The input is streamed through a line splitter that caps a line's length while reading; each line
 * is decoded as strict UTF-8, parsed, and sent through `Analytics.send` with the `suspend` overflow
 * policy (reading waits for room in the queue). A line without a `messageId` gets a deterministic one
 * (UUID v5 of its position and bytes), so running the same import again does not duplicate.
 *
 * The `Ledger` remembers each line until its outcome arrives, and releases the lines that were not
 * delivered in line order to the failures file. Memory holds the queue, the requests in flight, and
 * the lines waiting for an outcome.
 *
 * @internal
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as PubSub from "effect/PubSub"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stdio from "effect/Stdio"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Analytics from "../../Analytics.js"
import { describeReason } from "../../AnalyticsError.js"
import type * as Message from "../../Message.js"
import type * as Outcome from "../../Outcome.js"
import { Ledger } from "../core/ledger.js"
import { defaultNamespace, lineMessageId, namespaceOf, type Sha1 } from "../core/lineIds.js"
import { decodeLine, LineSplitter } from "../core/lines.js"
import * as Ndjson from "../core/ndjson.js"
import * as ProgressText from "../core/progress.js"
import { escapeForTerminal, shellQuote } from "../core/text.js"
import * as Help from "./help.js"
import { boolFlag, flag, intFlag, textFlag } from "./help.js"
import * as Progress from "./progress.js"
import {
  clientLayer,
  type CommandDefaults,
  type ConnectionFlags,
  connectionFlags,
  exitWith,
  ExitCodes,
  stderrIsTTY,
  usageError,
  writeErr,
  writeOut
} from "./shared.js"

/** The most invalid lines reported one by one on standard error; the rest are counted. */
const maxReportedInvalid = 1_000

/** `import`'s defaults: big requests; the library's retries. */
const defaults: CommandDefaults = { flushAt: 500, maxRetries: Analytics.defaults.maxRetries }

/** The default cap on a line's length: far above the 32 KB message limit, far below memory trouble. */
const defaultMaxLineBytes = 1_048_576

const connection = connectionFlags(defaults)

const importFlags = {
  failedOut: textFlag(
    "failed-out",
    "FILE",
    "write every line not delivered to FILE, in line order, as {\"line\",\"reason\",\"message\"}; import FILE to retry them"
  ),
  fromLine: intFlag("from-line", "skip the lines before line N (to resume an import where it stopped)"),
  idNamespace: textFlag(
    "id-namespace",
    "NS",
    "namespace (a UUID or any text) of the messageIds given to lines that have none (default: a fixed one)"
  ),
  maxLineBytes: intFlag("max-line-bytes", `longer lines are invalid, skipped unread (default ${defaultMaxLineBytes})`),
  maxQueueSize: intFlag(
    "max-queue-size",
    `messages buffered ahead of the requests (default ${Analytics.defaults.maxQueueSize})`
  ),
  strict: boolFlag("strict", "stop reading at the first invalid line"),
  quiet: flag(
    Flag.Boolean("quiet").pipe(Flag.withAlias("q"), Flag.withDefault(false)),
    "-q, --quiet",
    "no progress display"
  ),
  json: boolFlag("json", "print the final summary as one JSON object")
}

type ImportFlags = ConnectionFlags & Help.FlagValues<typeof importFlags> & { readonly input: string }

/** `import --help`. @internal */
export const help: Help.Page = {
  usage: ["analytics-effect import <file.ndjson | -> [options]"],
  summary: "Imports messages from NDJSON (one message with its \"type\" per line; - reads standard input), " +
    "with backpressure: nothing is dropped. Lines without a messageId get one derived from their position " +
    "and content, so running an import again does not duplicate. Prints progress on a terminal, then a summary.",
  sections: [
    { title: "Import options", rows: Help.rowsOf(importFlags) },
    { title: "Connection options", rows: Help.rowsOf(connection) }
  ],
  footer: "Exit codes: 0 all delivered, 1 some not delivered, 2 usage error or unreadable input, " +
    "3 I/O error while running, 130 interrupted (the command that resumes it is printed)."
}

const utf8 = new TextEncoder()
let scratch = new Uint8Array(64 * 1024)

// `crypto.hash` (Node 20.12+) hashes in one native call, about twice as fast per line as a `Hash`
// object (measured on the import benchmark's lines): the parts are copied into one buffer first.
const oneShot = (Crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: "buffer") => Uint8Array }).hash

const sha1: Sha1 = oneShot === undefined
  ? (parts) => {
    const hash = Crypto.createHash("sha1")
    for (const part of parts) hash.update(part)
    return hash.digest()
  }
  : (parts) => {
    let length = 0
    for (const part of parts) length += typeof part === "string" ? part.length * 3 : part.length
    if (scratch.length < length) scratch = new Uint8Array(length * 2)
    let at = 0
    for (const part of parts) {
      if (typeof part === "string") at += utf8.encodeInto(part, scratch.subarray(at)).written
      else {
        scratch.set(part, at)
        at += part.length
      }
    }
    return oneShot("sha1", scratch.subarray(0, at), "buffer")
  }

const attempts = (n: number) => `${n} attempt${n === 1 ? "" : "s"}`

const linesWere = (n: number) => n === 1 ? "1 line was" : `${n} lines were`

const outcomeReason = (outcome: Outcome.Failed | Outcome.Dropped): string =>
  outcome._tag === "Dropped"
    ? `dropped: ${outcome.reason}`
    : `failed: ${outcome.reason}${outcome.error ? ` (${describeReason(outcome.error.reason)})` : ""} after ${
      attempts(outcome.attempts)
    }`

/** Outcomes caused by the interruption itself: their lines stay open, to be sent again on resume. */
const causedByInterruption = (outcome: Outcome.Outcome): boolean =>
  (outcome._tag === "Failed" && outcome.reason === "ShutdownTimeout") ||
  (outcome._tag === "Dropped" && outcome.reason !== "Disabled")

/** One line read and decoded, waiting to be parsed and sent. */
interface Work {
  readonly line: number
  readonly text: string
}

/** Where the input is: checked before anything starts, so that a bad path is a usage error. */
const checkInput = (input: string) =>
  Effect.gen(function*() {
    if (input === "-") return { size: undefined }
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.result(fs.stat(input))
    if (Result.isFailure(info)) {
      const reason = info.failure.reason._tag === "NotFound" ? "no such file" : info.failure.message
      return yield* usageError(`cannot read ${input}: ${reason}`)
    }
    if (info.success.type === "Directory") return yield* usageError(`cannot read ${input}: it is a directory`)
    const readable = yield* Effect.result(fs.access(input, { readable: true }))
    if (Result.isFailure(readable)) return yield* usageError(`cannot read ${input}: ${readable.failure.message}`)
    return { size: info.success.type === "File" ? Number(info.success.size) : undefined }
  })

/** The failures file next to `path` that a resumed or retried run writes (never the same file). */
const nextFailuresFile = (path: string, suffix: string): string => {
  const dot = path.lastIndexOf(".")
  const slash = path.lastIndexOf("/")
  return dot > slash + 1 ? `${path.slice(0, dot)}.${suffix}${path.slice(dot)}` : `${path}.${suffix}`
}

/** The command that runs `import` again on `input` with the user's options, and `extra`. */
const importCommand = (flags: ImportFlags, input: string, extra: ReadonlyArray<string>): string => {
  const args: Array<string> = ["analytics-effect", "import", input, ...extra]
  const value = (name: string, option: Option.Option<string | number>) => {
    if (Option.isSome(option)) args.push(`--${name}`, String(option.value))
  }
  const bool = (name: string, on: boolean) => {
    if (on) args.push(`--${name}`)
  }
  if (input === flags.input) value("id-namespace", flags.idNamespace)
  value("max-line-bytes", flags.maxLineBytes)
  value("max-queue-size", flags.maxQueueSize)
  value("host", flags.host)
  value("path", flags.path)
  value("flush-at", flags.flushAt)
  value("max-in-flight", flags.maxInFlight)
  value("max-retries", flags.maxRetries)
  value("timeout", flags.timeout)
  bool("gzip", flags.gzip)
  bool("strict", flags.strict)
  bool("quiet", flags.quiet)
  bool("json", flags.json)
  bool("dry-run", flags.dryRun)
  return args.map(shellQuote).join(" ")
}

const run = (flags: ImportFlags) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const fromStdin = flags.input === "-"
    const failedOut = Option.getOrUndefined(flags.failedOut)
    const { size } = yield* checkInput(flags.input)
    if (failedOut !== undefined && !fromStdin && pathService.resolve(failedOut) === pathService.resolve(flags.input)) {
      return yield* usageError("--failed-out must not be the input file (it is rewritten from the start)")
    }
    const intAtLeast = (name: string, option: Option.Option<number>, min: number) =>
      Option.isSome(option) && option.value < min ? usageError(`--${name} must be at least ${min}`) : Effect.void
    yield* intAtLeast("max-queue-size", flags.maxQueueSize, 1)
    yield* intAtLeast("max-line-bytes", flags.maxLineBytes, 1)
    yield* intAtLeast("from-line", flags.fromLine, 1)
    const fromLine = Option.getOrElse(flags.fromLine, () => 1)
    const maxLineBytes = Option.getOrElse(flags.maxLineBytes, () => defaultMaxLineBytes)
    const namespace = namespaceOf(sha1, Option.getOrElse(flags.idNamespace, () => defaultNamespace))
    const layer = yield* clientLayer(flags, defaults, {
      overflow: "suspend",
      ...(Option.isSome(flags.maxQueueSize) ? { maxQueueSize: flags.maxQueueSize.value } : {})
    })
    const keyInEnvironment = Option.isSome(yield* Effect.orElseSucceed(
      Config.option(Config.Redacted("ANALYTICS_WRITE_KEY")),
      () => Option.none()
    ))

    const tty = stderrIsTTY()
    const stats: ProgressText.Stats = {
      lines: 0,
      read: 0,
      invalid: 0,
      accepted: 0,
      delivered: 0,
      failed: 0,
      dropped: 0,
      bytes: 0,
      totalBytes: size,
      startMillis: yield* Clock.currentTimeMillis
    }
    const ledger = new Ledger()
    const progress = flags.quiet ? undefined : yield* Effect.forkScoped(Progress.loop(stats, tty))
    // Messages on standard error clear the status line first; it is redrawn at the next tick.
    const say = (text: string) => writeErr(`${progress !== undefined && tty ? "\r\x1b[K" : ""}${text}\n`)

    // --- the failures file: one writer at a time, lines released by the ledger in line order ---
    const failures = failedOut === undefined ? undefined : yield* Effect.catch(
      fs.open(failedOut, { flag: "w" }),
      (error) => usageError(`cannot write ${failedOut}: ${error.message}`)
    )
    let failuresBroken = false
    const writer = yield* Semaphore.make(1)
    // Never fails: a write error is reported once and turns the exit code to 3, and the import goes on.
    const release = (before: number) =>
      writer.withPermits(1)(Effect.suspend(() => {
        const ready = ledger.release(before)
        if (failures === undefined || failuresBroken || ready.length === 0) return Effect.void
        return failures.writeAll(utf8.encode(ready.map(Ndjson.failureLine).join(""))).pipe(
          Effect.catch((error) => {
            failuresBroken = true
            return say(`error: writing the failures file: ${escapeForTerminal(error.message)}`)
          })
        )
      }))

    // The first line not handed to the ledger yet: a failure is written only once every line before
    // it is known (open, delivered or failed).
    let frontier = fromLine

    // --- the client, in a scope of its own: an interruption closes it, then reads its last outcomes ---
    const outer = yield* Effect.scope
    const clientScope = yield* Scope.fork(outer, "sequential")
    const analytics = Context.get(yield* Layer.buildWithScope(layer, clientScope), Analytics.Analytics)
    const outcomes = yield* analytics.subscribe

    // --- outcomes ---
    let interrupting = false
    const reported = new Set<string>()
    const onOutcome = (outcome: Outcome.Outcome): Effect.Effect<void> => {
      // A dry run's client is disabled: every valid message is "dropped" unsent, by design.
      if (flags.dryRun || (interrupting && causedByInterruption(outcome))) return Effect.void
      const n = outcome.messages.length
      if (outcome._tag === "Delivered") {
        stats.delivered += n
        for (const ref of outcome.messages) ledger.settle(ref.messageId, undefined)
        return Effect.void
      }
      if (outcome._tag === "Failed") stats.failed += n
      else stats.dropped += n
      const reason = outcomeReason(outcome)
      for (const ref of outcome.messages) ledger.settle(ref.messageId, reason)
      // Each kind of delivery failure once: the rest are counted (and in the failures file).
      const kind = reason.replace(/ after \d+ attempts?$/, "")
      if (reported.has(kind)) return Effect.void
      reported.add(kind)
      return say(`${escapeForTerminal(reason, 300)} (${n} messages; further failures of this kind are counted)`)
    }
    const allSettled = yield* Deferred.make<void>()
    let inputDone = false
    const processor = yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      for (const outcome of yield* PubSub.takeBetween(outcomes, 1, 4_096)) yield* onOutcome(outcome)
      yield* release(frontier)
      if (inputDone && ledger.openLines === 0) yield* Deferred.succeed(allSettled, undefined)
    })))

    // --- the lines ---
    const notices: Array<string> = []
    const invalid = (line: number, reason: string, text: string | undefined, raw: boolean) => {
      stats.read++
      stats.invalid++
      ledger.fail({ line, reason, text, raw, generatedId: undefined })
      if (stats.invalid <= maxReportedInvalid) {
        const more = stats.invalid === maxReportedInvalid
          ? ` (further invalid lines are only counted${failures ? " and written to the failures file" : ""})`
          : ""
        notices.push(`line ${line}: ${escapeForTerminal(reason, 300)}${more}`)
      }
    }
    let stoppedAt: number | undefined // --strict: the first invalid line
    let work: Array<Work> = []
    // The splitter's callbacks: synchronous, so they only decode; lines are parsed just before they
    // are sent (`sendWork`), so that a parsed message lives for one call, not for a whole chunk.
    const sink = {
      line: (line: number, bytes: Uint8Array) => {
        stats.lines = line
        if (line < fromLine || stoppedAt !== undefined) return
        const decoded = decodeLine(bytes, line)
        if (decoded._tag === "Text") {
          if (decoded.text.trim() !== "") work.push({ line, text: decoded.text })
          return
        }
        invalid(line, `invalid UTF-8 at byte ${decoded.offset}`, decoded.text, true)
        if (flags.strict) stoppedAt = line
      },
      tooLong: (line: number, length: number) => {
        stats.lines = line
        if (line < fromLine || stoppedAt !== undefined) return
        invalid(line, `the line is ${length} bytes, over the limit of ${maxLineBytes} (--max-line-bytes): not read`, undefined, false)
        if (flags.strict) stoppedAt = line
      }
    }
    const splitter = new LineSplitter(maxLineBytes)

    // Parses and sends the lines of one chunk, in order. Runs once per chunk, not per line.
    const sendWork = Effect.gen(function*() {
      const items = work
      work = []
      for (const item of items) {
        if (stoppedAt !== undefined && item.line > stoppedAt) break
        frontier = item.line
        const parsed = Ndjson.parseLine(item.text)
        if (parsed._tag === "Blank") continue
        if (parsed._tag === "Invalid") {
          invalid(item.line, parsed.reason, parsed.text, parsed.raw)
          if (flags.strict) stoppedAt = item.line
          continue
        }
        stats.read++
        let generatedId: string | undefined
        if (!parsed.hasMessageId) {
          generatedId = lineMessageId(sha1, namespace, item.line, item.text)
          parsed.message.messageId = generatedId
        }
        const id = parsed.messageId ?? generatedId
        const entry = flags.dryRun || id === undefined ? undefined : ledger.opened(item.line, id, parsed.text, generatedId)
        const result = yield* Effect.result(analytics.send(parsed.message as unknown as Message.Message))
        if (Result.isSuccess(result)) stats.accepted++
        else {
          stats.invalid++
          const reason = result.failure.message
          if (entry !== undefined) ledger.refused(entry, reason)
          else ledger.fail({ line: item.line, reason, text: parsed.text, raw: false, generatedId: undefined })
          if (stats.invalid <= maxReportedInvalid) notices.push(`line ${item.line}: ${escapeForTerminal(reason, 300)}`)
          if (flags.strict) stoppedAt = Math.min(stoppedAt ?? item.line, item.line)
        }
      }
      frontier = stoppedAt === undefined ? stats.lines + 1 : stoppedAt + 1
      if (notices.length > 0) yield* say(notices.splice(0).join("\n"))
      yield* release(frontier)
    })

    const onChunk = (bytes: Uint8Array) =>
      Effect.suspend(() => {
        if (stoppedAt !== undefined) return Effect.void
        stats.bytes += bytes.length
        splitter.push(bytes, sink)
        return sendWork
      })

    // A Node read stream rather than positional reads, so that pipes and FIFOs (`<(zcat f.gz)`) work.
    const input: Stream.Stream<Uint8Array, { readonly message: string }> = fromStdin
      ? (yield* Stdio.Stdio).stdin
      : NodeStream.fromReadable({
        evaluate: () => Fs.createReadStream(flags.input, { highWaterMark: 256 * 1024 }),
        onError: (cause) => new Error(cause instanceof Error ? cause.message : String(cause))
      })

    const readAll = input.pipe(
      Stream.takeWhile(() => stoppedAt === undefined),
      Stream.runForEach(onChunk),
      Effect.andThen(Effect.suspend(() => {
        if (stoppedAt === undefined) splitter.end(sink)
        return sendWork
      })),
      Effect.map((): string | undefined => undefined),
      Effect.catch((error) => Effect.succeed(error.message))
    )

    // The line a resumed run starts from: the first line whose outcome is not known.
    const resumeLine = () => ledger.firstOpenLine ?? frontier

    const resumeHint = (line: number) => {
      const extra = ["--from-line", String(line)]
      if (failedOut !== undefined) extra.push("--failed-out", nextFailuresFile(failedOut, `from-${line}`))
      return `resume with:\n  ${importCommand(flags, flags.input, extra)}${
        keyInEnvironment || flags.dryRun ? "" : "\n(with your --write-key: it is not repeated here)"
      }\n`
    }

    const interrupted = Effect.gen(function*() {
      interrupting = true
      // The client gets its shutdown time to deliver what it accepted; what it could not deliver
      // because of the interruption stays open, and is sent again by the resumed run.
      yield* Scope.close(clientScope, Exit.void)
      yield* Fiber.interrupt(processor)
      for (const outcome of yield* PubSub.takeUpTo(outcomes, Number.POSITIVE_INFINITY)) yield* onOutcome(outcome)
      const line = resumeLine()
      yield* release(line)
      if (progress !== undefined) yield* Progress.finish(progress, stats, tty)
      const summary = ProgressText.summarize(stats, yield* Clock.currentTimeMillis, flags.dryRun)
      yield* writeErr(
        `interrupted at line ${stats.lines}: the lines before line ${line} are done` +
          `${failures === undefined ? "" : ` (delivered, or written to ${escapeForTerminal(failedOut!)})`}; ` +
          `${ledger.openLines} sent lines had no outcome yet\n` + ProgressText.renderSummary(summary) +
          resumeHint(line)
      )
    })

    const readError = yield* Effect.gen(function*() {
      const error = yield* readAll
      // --- drain: every accepted message gets its outcome ---
      yield* analytics.flush
      inputDone = true
      if (ledger.openLines === 0 || flags.dryRun) yield* Deferred.succeed(allSettled, undefined)
      yield* Deferred.await(allSettled)
      return error
    }).pipe(Effect.onInterrupt(() => interrupted))
    yield* Fiber.interrupt(processor)
    // Outcomes still buffered in the subscription (published after the processor's last take).
    for (const outcome of yield* PubSub.takeUpTo(outcomes, Number.POSITIVE_INFINITY)) yield* onOutcome(outcome)
    yield* Scope.close(clientScope, Exit.void)
    const stoppedEarly = readError !== undefined || stoppedAt !== undefined
    const line = resumeLine()
    yield* release(stoppedEarly ? line : Number.POSITIVE_INFINITY)
    if (progress !== undefined) yield* Progress.finish(progress, stats, tty)

    const summary = ProgressText.summarize(stats, yield* Clock.currentTimeMillis, flags.dryRun)
    yield* flags.json ? writeOut(JSON.stringify(summary) + "\n") : writeOut(ProgressText.renderSummary(summary))
    if (readError !== undefined) {
      yield* writeErr(
        `error: reading ${fromStdin ? "standard input" : escapeForTerminal(flags.input)} after line ${stats.lines}: ` +
          `${escapeForTerminal(readError)}\n${resumeHint(line)}`
      )
    } else if (stoppedAt !== undefined) {
      yield* writeErr(`stopped at line ${stoppedAt} (--strict); fix it, then ${resumeHint(stoppedAt)}`)
    }
    const notDelivered = stats.invalid + stats.failed + stats.dropped
    if (notDelivered > 0 && !stoppedEarly) {
      yield* writeErr(
        failedOut === undefined
          ? `${linesWere(notDelivered)} not delivered. To keep them in a file, run again with --failed-out FILE ` +
            "(lines keep their messageIds, so what was delivered is not duplicated)\n"
          : `${linesWere(notDelivered)} not delivered; they are in ${escapeForTerminal(failedOut)}. Retry them with:\n  ${
            importCommand(flags, failedOut, ["--failed-out", nextFailuresFile(failedOut, "retry")])
          }\n`
      )
    }
    if (readError !== undefined || failuresBroken) return yield* exitWith(ExitCodes.internal)
    if (notDelivered > 0 || (!flags.dryRun && stats.delivered !== stats.accepted)) {
      return yield* exitWith(ExitCodes.notDelivered)
    }
  }).pipe(Effect.scoped)

/**
 * The `import` command.
 *
 * @internal
 */
export const command = Command.make(
  "import",
  {
    input: Argument.String("file.ndjson|-").pipe(
      Argument.withDescription("An NDJSON file, one message (with its `type`) per line; - reads standard input")
    ),
    ...Help.flagsOf(importFlags),
    ...Help.flagsOf(connection)
  },
  (flags) => run(flags)
).pipe(Command.withDescription(help.summary))
