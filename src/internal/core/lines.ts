/**
 * Splitting a byte stream into lines, for the importer: LF, CRLF and CR endings (mixed, and a CRLF
 * split across two chunks), a cap on a line's length enforced while reading (a longer line is skipped
 * as it streams by, never buffered), and strict UTF-8 decoding.
 *
 * Plain TypeScript, no dependencies: shared by every edition of the command line.
 *
 * @internal
 */

/** @internal */
export interface LineSink {
  /**
   * A complete line: its number (from 1) and its bytes, without the line break. `bytes` is a view into
   * the reader's buffers, valid only during the call.
   */
  readonly line: (lineNumber: number, bytes: Uint8Array) => void
  /** A line longer than the cap, skipped: its number and its whole length in bytes. */
  readonly tooLong: (lineNumber: number, length: number) => void
}

const LF = 10
const CR = 13

/**
 * A line splitter. Feed it chunks with `push`, then call `end` once. Lines are numbered as a text
 * editor numbers them: every LF, CRLF or lone CR ends one; an empty last line (the file ends with a
 * line break) is not a line.
 *
 * @internal
 */
export class LineSplitter {
  /** Lines ended so far. */
  private count = 0
  /** The start of the current line, held from earlier chunks (empty while none). */
  private held: Array<Uint8Array> = []
  private heldBytes = 0
  /** The current line passed the cap: its bytes are counted, not kept. */
  private skipping = false
  /** The previous chunk ended with a CR: an LF at the start of the next one belongs to it. */
  private afterCR = false

  constructor(readonly maxLineBytes: number) {}

  /** The number of the last line ended so far. */
  get lines(): number {
    return this.count
  }

  push(chunk: Uint8Array, sink: LineSink): void {
    let start = 0
    if (this.afterCR) {
      this.afterCR = false
      if (chunk.length > 0 && chunk[0] === LF) start = 1
    }
    // Most files have no CR at all: then the native `indexOf` finds every break.
    const hasCR = chunk.indexOf(CR, start) !== -1
    while (start < chunk.length) {
      const end = hasCR ? nextBreak(chunk, start) : chunk.indexOf(LF, start)
      if (end === -1) {
        this.hold(chunk.subarray(start))
        return
      }
      this.finish(chunk.subarray(start, end), sink)
      if (chunk[end] === CR) {
        if (end + 1 === chunk.length) {
          this.afterCR = true
          return
        }
        start = chunk[end + 1] === LF ? end + 2 : end + 1
      } else {
        start = end + 1
      }
    }
  }

  /** Ends the input: a last line without a line break is still a line. */
  end(sink: LineSink): void {
    if (this.heldBytes > 0 || this.skipping) this.finish(new Uint8Array(0), sink)
    this.afterCR = false
  }

  private hold(part: Uint8Array): void {
    if (part.length === 0) return
    if (!this.skipping && this.heldBytes + part.length > this.maxLineBytes) {
      this.skipping = true
      this.held = []
    }
    // The pieces of a held line are copied: the caller may reuse its chunk's memory.
    if (!this.skipping) this.held.push(part.slice())
    this.heldBytes += part.length
  }

  private finish(tail: Uint8Array, sink: LineSink): void {
    const lineNumber = ++this.count
    const length = this.heldBytes + tail.length
    if (this.skipping || length > this.maxLineBytes) {
      this.reset()
      return sink.tooLong(lineNumber, length)
    }
    if (this.heldBytes === 0) return sink.line(lineNumber, tail)
    const whole = new Uint8Array(length)
    let offset = 0
    for (const part of this.held) {
      whole.set(part, offset)
      offset += part.length
    }
    whole.set(tail, offset)
    this.reset()
    sink.line(lineNumber, whole)
  }

  private reset(): void {
    this.held = []
    this.heldBytes = 0
    this.skipping = false
  }
}

const nextBreak = (chunk: Uint8Array, from: number): number => {
  for (let i = from; i < chunk.length; i++) {
    const byte = chunk[i]
    if (byte === LF || byte === CR) return i
  }
  return -1
}

/** A line's text, or where its UTF-8 goes wrong. @internal */
export type Decoded =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "InvalidUtf8"; readonly offset: number; readonly text: string }

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true })

/**
 * Decodes a line as UTF-8, refusing invalid sequences (never silently turned into U+FFFD). A byte
 * order mark at the start of the first line is dropped.
 *
 * @internal
 */
export const decodeLine = (bytes: Uint8Array, lineNumber: number): Decoded => {
  const body = lineNumber === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
    ? bytes.subarray(3)
    : bytes
  try {
    return { _tag: "Text", text: strict.decode(body) }
  } catch {
    return { _tag: "InvalidUtf8", offset: invalidUtf8Offset(body), text: lenient.decode(body) }
  }
}

/**
 * The offset of the first byte that does not start or continue a valid UTF-8 sequence (overlong
 * forms, surrogates and code points past U+10FFFF included), or -1 when the bytes are valid.
 *
 * @internal
 */
export const invalidUtf8Offset = (bytes: Uint8Array): number => {
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]!
    if (b < 0x80) {
      i++
      continue
    }
    let need: number
    let min: number
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1
      min = 0x80
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2
      min = 0x800
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3
      min = 0x10000
    } else {
      return i
    }
    let cp = b & (0x3f >> need)
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]
      if (c === undefined || (c & 0xc0) !== 0x80) return i
      cp = (cp << 6) | (c & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i
    i += need + 1
  }
  return -1
}
