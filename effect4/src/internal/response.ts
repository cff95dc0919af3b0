/**
 * Reading at most a few kilobytes of a response body. The transport decides an attempt on the status
 * and headers; the body is only drained (so that a small one frees the connection for reuse) or, for
 * an error, read for its first characters. A huge or endless body is cut at `maxBytes`, a stalled one
 * by the caller's timeout: neither can hold memory or change the outcome.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** The bytes read, and whether they are the whole body. @internal */
export interface Prefix {
  readonly bytes: Uint8Array
  readonly complete: boolean
}

interface Fold {
  readonly chunks: Array<Uint8Array>
  size: number
}

const concat = (fold: Fold, limit: number): Uint8Array => {
  const out = new Uint8Array(Math.min(fold.size, limit))
  let offset = 0
  for (const chunk of fold.chunks) {
    if (offset >= out.length) break
    const part = chunk.length > out.length - offset ? chunk.subarray(0, out.length - offset) : chunk
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * Reads the body until it ends, `maxBytes` have arrived or `timeout` has passed, whichever is first; a
 * body that fails to read or stalls gives what had arrived. Never fails.
 *
 * @internal
 */
export const readPrefix = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number,
  timeout: Duration.Input
): Effect.Effect<Prefix> => {
  const fold: Fold = { chunks: [], size: 0 }
  // Stops right after the chunk that goes past `maxBytes`: more than that is never read.
  const read = Stream.runForEachWhile(response.stream, (chunk) =>
    Effect.sync(() => {
      fold.chunks.push(chunk)
      fold.size += chunk.length
      return fold.size <= maxBytes
    }))
  return read.pipe(
    Effect.timeoutOption(timeout),
    Effect.map((done): Prefix => ({
      bytes: concat(fold, maxBytes),
      complete: Option.isSome(done) && fold.size <= maxBytes
    })),
    // A response without a body (fetch's 204) fails with EmptyBodyError: that is a complete, empty body.
    Effect.catch((error) =>
      Effect.succeed<Prefix>({
        bytes: concat(fold, maxBytes),
        complete: error.reason._tag === "EmptyBodyError"
      })
    )
  )
}

/**
 * The text of a body prefix, without a character cut in half at its end.
 *
 * @internal
 */
export const prefixText = (prefix: Prefix): string => {
  const text = new TextDecoder("utf-8").decode(prefix.bytes)
  return prefix.complete ? text : text.replace(/\uFFFD+$/, "")
}
