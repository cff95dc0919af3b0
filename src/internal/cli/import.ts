/**
 * `analytics-effect import <file.ndjson|->`: a bulk (historical) import, one message per line.
 *
 * The file is streamed: memory holds the queue, the requests in flight, and for each message not yet
 * settled its line number and original text (needed to write it to the failures file). An entry is
 * forgotten as soon as its message's outcome arrives.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Analytics from "../../Analytics.js"
import { describeReason } from "../../AnalyticsError.js"
import type * as Message from "../../Message.js"
import type * as Outcome from "../../Outcome.js"
import * as Ids from "../ids.js"
import * as Ndjson from "./ndjson.js"
import * as Progress from "./progress.js"
import {
  clientLayer,
  type ConnectionFlags,
  connectionOptions,
  exitWith,
  ExitCodes,
  stderrIsTTY,
  usageError,
  writeErr,
  writeOut
} from "./shared.js"

/** Ends the reading of the input early (`--strict`). */
const stop = new Error("stop reading")

/** The most invalid lines reported one by one on standard error; the rest are counted. */
const maxReportedInvalid = 1_000

interface Pending {
  readonly line: number
  readonly original: string
  next: Pending | undefined
}

interface ImportFlags extends ConnectionFlags {
  readonly input: string
  readonly failedOut: Option.Option<string>
  readonly strict: boolean
  readonly quiet: boolean
  readonly json: boolean
  readonly maxQueueSize: Option.Option<number>
}

const utf8 = new TextEncoder()

/** Counts the line breaks of a file, for the progress display's ETA. */
const countLines = (fs: FileSystem.FileSystem, path: string) =>
  fs.stream(path, { chunkSize: FileSystem.KiB(256) }).pipe(
    Stream.runFold({ lines: 0, last: 10 }, (acc, chunk) => {
      let lines = acc.lines
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++
      return { lines, last: chunk.length > 0 ? chunk[chunk.length - 1]! : acc.last }
    }),
    Effect.map(({ last, lines }) => (last === 10 ? lines : lines + 1))
  )

const outcomeReason = (outcome: Outcome.Failed | Outcome.Dropped): string =>
  outcome._tag === "Dropped"
    ? `dropped: ${outcome.reason}`
    : `failed: ${outcome.reason}${outcome.error ? ` (${describeReason(outcome.error.reason)})` : ""} after ${outcome.attempts} attempt${outcome.attempts === 1 ? "" : "s"}`

const run = (flags: ImportFlags) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const fromStdin = flags.input === "-"
    if (!fromStdin && !(yield* Effect.orElseSucceed(fs.exists(flags.input), () => false))) {
      return yield* usageError(`cannot read ${flags.input}: no such file`)
    }
    if (
      Option.isSome(flags.failedOut) && !fromStdin &&
      pathService.resolve(flags.failedOut.value) === pathService.resolve(flags.input)
    ) {
      return yield* usageError("--failed-out must not be the input file (it is rewritten from the start)")
    }
    if (Option.isSome(flags.maxQueueSize) && flags.maxQueueSize.value < 1) {
      return yield* usageError("--max-queue-size must be at least 1")
    }
    const layer = yield* clientLayer(flags, {
      overflow: "suspend",
      flushAt: Option.getOrElse(flags.flushAt, () => 500),
      ...(Option.isSome(flags.maxQueueSize) ? { maxQueueSize: flags.maxQueueSize.value } : {})
    })

    const tty = stderrIsTTY()
    const showProgress = !flags.quiet
    const isRegularFile = !fromStdin &&
      (yield* fs.stat(flags.input).pipe(Effect.map((info) => info.type === "File"), Effect.orElseSucceed(() => false)))
    const total = showProgress && isRegularFile
      ? yield* Effect.orElseSucceed(countLines(fs, flags.input), () => undefined)
      : undefined

    const stats: Progress.Stats = {
      lines: 0,
      read: 0,
      invalid: 0,
      accepted: 0,
      delivered: 0,
      failed: 0,
      dropped: 0,
      total,
      startMillis: yield* Clock.currentTimeMillis
    }

    return yield* Effect.gen(function*() {
      const analytics = yield* Analytics.Analytics
      // Ids for lines without a messageId, from the same generator the client uses.
      const ids = yield* Ids.make
      const outcomes = yield* analytics.subscribe

      // --- the failures file ---
      const failures = Option.isSome(flags.failedOut)
        ? yield* Effect.catchAll(
          fs.open(flags.failedOut.value, { flag: "w" }),
          (error) => usageError(`cannot write ${flags.failedOut.pipe(Option.getOrElse(() => ""))}: ${error.message}`)
        )
        : undefined
      let failureBuffer: Array<string> = []
      let failuresBroken = false
      // Never fails: a write error is reported once and turns the exit code to 3, and the import goes on.
      const writeFailures = Effect.suspend(() => {
        if (failures === undefined || failureBuffer.length === 0 || failuresBroken) return Effect.void
        const text = failureBuffer.join("")
        failureBuffer = []
        return failures.writeAll(utf8.encode(text)).pipe(
          Effect.catchAll((error) => {
            failuresBroken = true
            return writeErr(`error: writing the failures file: ${error.message}\n`)
          })
        )
      })

      // --- messages in flight: messageId -> line and original text ---
      const pending = new Map<string, Pending>()
      const register = (messageId: string, line: number, original: string) => {
        const entry: Pending = { line, original, next: undefined }
        const head = pending.get(messageId)
        if (head === undefined) pending.set(messageId, entry)
        else {
          let last = head
          while (last.next !== undefined) last = last.next
          last.next = entry
        }
      }
      const unregisterLast = (messageId: string) => {
        const head = pending.get(messageId)
        if (head === undefined) return
        if (head.next === undefined) return void pending.delete(messageId)
        let prev = head
        while (prev.next!.next !== undefined) prev = prev.next!
        prev.next = undefined
      }
      const take = (messageId: string): Pending | undefined => {
        const head = pending.get(messageId)
        if (head === undefined) return undefined
        if (head.next === undefined) pending.delete(messageId)
        else pending.set(messageId, head.next)
        return head
      }

      // --- outcomes ---
      let inputDone = false
      const allSettled = yield* Deferred.make<void>()
      const checkSettled = () => {
        if (inputDone && (flags.dryRun || stats.delivered + stats.failed + stats.dropped >= stats.accepted)) {
          Deferred.unsafeDone(allSettled, Effect.void)
        }
      }
      const onOutcome = (outcome: Outcome.Outcome) => {
        const n = outcome.messages.length
        // A dry run's client is disabled: every valid message is "dropped" unsent, by design.
        if (outcome._tag === "Dropped" && outcome.reason === "Disabled" && flags.dryRun) return
        if (outcome._tag === "Delivered") {
          stats.delivered += n
          for (const ref of outcome.messages) take(ref.messageId)
          return
        }
        if (outcome._tag === "Failed") stats.failed += n
        else stats.dropped += n
        const reason = outcomeReason(outcome)
        for (const ref of outcome.messages) {
          const entry = take(ref.messageId)
          if (entry !== undefined && failures !== undefined) {
            failureBuffer.push(Ndjson.failureLine(entry.line, reason, entry.original, false))
          }
        }
      }
      const processor = yield* Effect.forkScoped(
        Effect.forever(
          Effect.gen(function*() {
            const batch = yield* Queue.takeBetween(outcomes, 1, 4_096)
            for (const outcome of batch) onOutcome(outcome)
            yield* writeFailures
            checkSettled()
          })
        )
      )

      // --- progress ---
      const progress = showProgress
        ? yield* Effect.forkScoped(Progress.loop(stats, tty))
        : undefined

      // --- the lines ---
      const reportInvalid = (line: number, reason: string, original: string, raw: boolean) =>
        Effect.suspend(() => {
          stats.invalid++
          if (failures !== undefined) failureBuffer.push(Ndjson.failureLine(line, reason, original, raw))
          if (stats.invalid > maxReportedInvalid) return Effect.void
          const more = stats.invalid === maxReportedInvalid ? ` (further invalid lines are only counted${failures ? " and written to the failures file" : ""})` : ""
          return writeErr(`${tty && showProgress ? "\r\x1b[2K" : ""}line ${line}: ${reason}${more}\n`)
        })

      const handleLine = (text: string): Effect.Effect<boolean> =>
        Effect.suspend(() => {
          const line = ++stats.lines
          const parsed = Ndjson.parseLine(text)
          if (parsed._tag === "Blank") return Effect.succeed(true)
          stats.read++
          if (parsed._tag === "Invalid") {
            return Effect.as(reportInvalid(line, parsed.reason, parsed.original, parsed.raw), !flags.strict)
          }
          return Effect.gen(function*() {
            let messageId = parsed.messageId
            let original = parsed.original
            const message = parsed.message
            if (message.messageId === undefined) {
              messageId = ids.uuid()
              message.messageId = messageId
              original = Ndjson.withMessageId(original, messageId)
            }
            if (messageId !== undefined && !flags.dryRun) register(messageId, line, original)
            const result = yield* Effect.either(analytics.send(message as Message.Message))
            if (result._tag === "Left") {
              if (messageId !== undefined) unregisterLast(messageId)
              yield* reportInvalid(line, result.left.message, parsed.original, false)
              return !flags.strict
            }
            stats.accepted++
            return true
          })
        })

      // On SIGINT/SIGTERM: every message whose outcome is not known yet goes to the failures file (the
      // client's shutdown may still deliver some of them: their messageId is kept, so a re-import of
      // the file cannot duplicate them).
      const interrupted = Effect.gen(function*() {
        for (const head of pending.values()) {
          for (let entry: Pending | undefined = head; entry !== undefined; entry = entry.next) {
            if (failures !== undefined) {
              failureBuffer.push(Ndjson.failureLine(entry.line, "interrupted before its outcome was known", entry.original, false))
            }
          }
        }
        yield* Effect.ignore(writeFailures)
        if (progress !== undefined) yield* Progress.finish(stats, tty)
        const summary = Progress.summary(stats, yield* Clock.currentTimeMillis, flags.dryRun)
        yield* writeErr(
          `interrupted after line ${stats.lines}: ${pending.size} messages without an outcome` +
            `${failures === undefined ? "" : " written to the failures file"}; lines after ${stats.lines} were not read\n` +
            Progress.renderSummary(summary, undefined)
        )
      })

      const completed = yield* Effect.gen(function*() {
        // A Node read stream rather than positional reads, so that pipes and FIFOs (`<(zcat f.gz)`) work.
        const bytes = fromStdin
          ? NodeStream.stdin
          : NodeStream.fromReadable(
            () => Fs.createReadStream(flags.input, { highWaterMark: 64 * 1024 }),
            (cause) => new Error(cause instanceof Error ? cause.message : String(cause))
          )
        // Chunk by chunk (`Stream.runForEachWhile` nests an error handler per element, so its memory
        // grows with the number of lines); `--strict` ends the stream with the `stop` sentinel.
        const readAll = yield* bytes.pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.runForEachChunk((lines) =>
            Effect.gen(function*() {
              for (const text of lines) {
                if (!(yield* handleLine(text))) return yield* Effect.fail(stop)
              }
            })
          ),
          Effect.as(true),
          Effect.catchAll((error) =>
            error === stop
              ? Effect.succeed(true)
              : Effect.as(writeErr(`error: reading ${fromStdin ? "standard input" : flags.input}: ${error.message}\n`), false)
          )
        )

        // --- drain ---
        yield* analytics.flush
        inputDone = true
        checkSettled()
        yield* Deferred.await(allSettled)
        return readAll
      }).pipe(Effect.onInterrupt(() => interrupted))
      yield* Fiber.interrupt(processor)
      // Outcomes still buffered in the dequeue (published after the processor's last take).
      for (const outcome of yield* Queue.takeAll(outcomes)) onOutcome(outcome)
      yield* writeFailures
      if (progress !== undefined) {
        yield* Fiber.interrupt(progress)
        yield* Progress.finish(stats, tty)
      }
      const now = yield* Clock.currentTimeMillis
      const summary = Progress.summary(stats, now, flags.dryRun)
      yield* flags.json
        ? writeOut(JSON.stringify(summary) + "\n")
        : writeOut(Progress.renderSummary(summary, Option.getOrUndefined(flags.failedOut)))
      if (!completed || failuresBroken) return yield* exitWith(ExitCodes.internal)
      const clean = stats.invalid === 0 && stats.failed === 0 && stats.dropped === 0 &&
        (flags.dryRun || stats.delivered === stats.accepted)
      if (!clean) return yield* exitWith(ExitCodes.notDelivered)
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

/**
 * The `import` command.
 *
 * @internal
 */
export const command = Command.make(
  "import",
  {
    input: Args.text({ name: "file.ndjson|-" }).pipe(
      Args.withDescription("An NDJSON file, one message (with its `type`) per line; - reads standard input")
    ),
    failedOut: Options.text("failed-out").pipe(
      Options.withDescription(
        "Write every line not delivered (invalid, failed, dropped) to this file as {\"line\",\"reason\",\"message\"}; import it again to retry them"
      ),
      Options.optional
    ),
    strict: Options.boolean("strict").pipe(Options.withDescription("Stop reading at the first invalid line")),
    quiet: Options.boolean("quiet").pipe(Options.withAlias("q"), Options.withDescription("No progress display")),
    json: Options.boolean("json").pipe(Options.withDescription("Print the final summary as one JSON object")),
    maxQueueSize: Options.integer("max-queue-size").pipe(
      Options.withDescription("Messages buffered ahead of the requests (default 10000)"),
      Options.optional
    ),
    ...connectionOptions
  },
  (flags) => run(flags)
).pipe(
  Command.withDescription(
    "Import messages from NDJSON with backpressure (nothing is dropped): progress, summary, failures file"
  )
)
