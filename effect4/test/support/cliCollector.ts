/**
 * The collector for the CLI tests: the library's own `Collector` (on 127.0.0.1, an ephemeral port),
 * wrapped for tests that drive child processes with promises. It can be told to answer every request
 * with an error status (to test the failures file) or a script of answers, and to recover.
 */
import { Effect, Exit, Scope } from "effect"
import * as Collector from "../../src/Collector.js"

export interface CliCollector {
  /** `http://127.0.0.1:PORT`, to pass as `--host`. */
  readonly url: string
  readonly service: Collector.CollectorService
  /** Messages of the requests answered 2xx, in arrival order. */
  readonly messages: () => ReadonlyArray<Record<string, any>>
  /** Requests answered 2xx, with their headers. */
  readonly received: () => ReadonlyArray<Collector.ReceivedBatch>
  /** Every request on the batch path, with what it was answered. */
  readonly requests: () => ReadonlyArray<Collector.RequestRecord>
  /** Answer every request with this status from now on (200 to recover). */
  readonly failWith: (status: number) => void
  /** Answer the next requests from `answers`, then as before. */
  readonly script: (answers: ReadonlyArray<Collector.Answer>) => void
  readonly clear: () => void
  readonly close: () => Promise<void>
}

export const startCliCollector = async (options: Collector.Options = {}): Promise<CliCollector> => {
  const scope = Effect.runSync(Scope.make())
  const service = await Effect.runPromise(Scope.provide(Collector.make(options), scope))
  const run = <A>(effect: Effect.Effect<A>) => Effect.runSync(effect)
  return {
    url: service.url,
    service,
    messages: () => run(service.messages),
    received: () => run(service.received),
    requests: () => run(service.requests),
    failWith: (status) => run(service.setFallback(status === 200 ? Collector.accept : Collector.status(status))),
    script: (answers) => run(service.setScript(answers)),
    clear: () => run(Effect.andThen(service.clear, service.setScript([]))),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
