/**
 * Cutting queued messages into request bodies: plain functions over sizes, shared by every edition.
 *
 * A body is `{"batch":[m1,m2,...],"sentAt":"...","writeKey":"..."}`: the envelope around the messages
 * (its size is fixed for a client), each message's JSON, and one comma between two messages.
 *
 * @internal
 */

/** What a batch cut needs to know of a message: the UTF-8 size of its JSON. @internal */
export interface Sized {
  readonly bytes: number
}

/** The limits of one request body. @internal */
export interface Limits {
  /** The most messages in one body (2,500 for Segment). */
  readonly maxMessages: number
  /** The most bytes in one body, envelope included (500,000 for Segment). */
  readonly maxBytes: number
  /** The bytes of the envelope around the messages. */
  readonly envelopeBytes: number
}

/**
 * The UTF-8 size of the body that carries `items[start]` up to (not including) `items[end]`.
 *
 * @internal
 */
export const bodyBytes = (limits: Limits, items: ReadonlyArray<Sized>, start = 0, end = items.length): number => {
  let bytes = limits.envelopeBytes + (end > start ? end - start - 1 : 0)
  for (let i = start; i < end; i++) bytes += items[i]!.bytes
  return bytes
}

/**
 * Where the next request body ends: the index after the longest run of `items` from `start` that fits
 * the limits. A single message always makes a body, even one over the limits (the call path refuses
 * such messages, so that only happens with a misconfigured limit), so the result is greater than
 * `start` whenever an item is left.
 *
 * @internal
 */
export const cutEnd = (limits: Limits, items: ReadonlyArray<Sized>, start = 0): number => {
  const last = Math.min(items.length, start + limits.maxMessages)
  if (start >= last) return start
  let bytes = limits.envelopeBytes + items[start]!.bytes
  let end = start + 1
  while (end < last) {
    const next = bytes + 1 + items[end]!.bytes
    if (next > limits.maxBytes) break
    bytes = next
    end++
  }
  return end
}

/**
 * Splits `items` into consecutive request bodies that each fit the limits, as `[start, end)` index
 * pairs, in order.
 *
 * @internal
 */
export const cutAll = (limits: Limits, items: ReadonlyArray<Sized>): Array<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  for (let start = 0; start < items.length;) {
    const end = cutEnd(limits, items, start)
    out.push([start, end])
    start = end
  }
  return out
}

/**
 * Whether `items` from `start` fill a request body (its message count, or more bytes than one body
 * carries): waiting for more messages cannot make the next body any fuller, so it should go now.
 *
 * @internal
 */
export const fillsRequest = (limits: Limits, items: ReadonlyArray<Sized>, start = 0): boolean =>
  items.length - start >= limits.maxMessages ||
  (items.length > start && cutEnd(limits, items, start) < items.length)

/**
 * Halves a batch that the collector refused as too large (413): the two halves, each non-empty, or
 * `undefined` for a single message, which cannot be split.
 *
 * @internal
 */
export const halve = <A>(items: ReadonlyArray<A>): readonly [ReadonlyArray<A>, ReadonlyArray<A>] | undefined => {
  if (items.length < 2) return undefined
  const middle = Math.ceil(items.length / 2)
  return [items.slice(0, middle), items.slice(middle)]
}
