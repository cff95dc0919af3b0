/**
 * The importer's ledger: which lines still wait for their outcome, and which were not delivered, so
 * that the failures file is exact and in line order although outcomes arrive in any order.
 *
 * A line is *open* from the moment it is sent until its outcome arrives. A line that was not
 * delivered (invalid at reading, refused by the client, failed, dropped) becomes a *failure*; failures
 * are released in line order, each once no open line comes before it. Memory holds the open lines and
 * the failures waiting for an earlier line: delivered lines are forgotten at once.
 *
 * Plain TypeScript, no dependencies.
 *
 * @internal
 */

/** One line of the failures file, before it is serialized. @internal */
export interface Failure {
  readonly line: number
  readonly reason: string
  /**
   * The line's text: JSON (written as is), or not (written as a JSON string when `raw`); `undefined`
   * for a line too long to keep (written as `null`).
   */
  readonly text: string | undefined
  readonly raw: boolean
  /** The id the importer gave a line that had none, to be written into `text`'s object. */
  readonly generatedId: string | undefined
}

/** @internal */
export interface OpenLine {
  readonly line: number
  readonly messageId: string
  readonly text: string
  readonly generatedId: string | undefined
  /** The next open line with the same messageId (a file may repeat an id). */
  next: OpenLine | undefined
  /** Its outcome arrived (it stays in the line-ordered queue until the queue's head passes it). */
  settled: boolean
}

/** @internal */
export class Ledger {
  // Lines are opened in line order: a queue of them, whose head is the first line still open once
  // settled entries are skipped. Settled entries behind the head are dropped when they are the
  // majority, so the queue holds at most about twice the open lines. (A `Map` keyed by line number
  // did the same job at several times the cost per line.)
  private queue: Array<OpenLine> = []
  private head = 0
  private open = 0
  /** The oldest open line of each messageId; later ones hang off `next`. */
  private readonly byId = new Map<string, OpenLine>()
  /** Failures not yet released: a binary min-heap on the line number. */
  private readonly heap: Array<Failure> = []

  /** Lines waiting for their outcome. */
  get openLines(): number {
    return this.open
  }

  /** The first line still waiting for its outcome. */
  get firstOpenLine(): number | undefined {
    const queue = this.queue
    while (this.head < queue.length && queue[this.head]!.settled) this.head++
    if (this.head > 1_024 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head)
      this.head = 0
    }
    return this.head < this.queue.length ? this.queue[this.head]!.line : undefined
  }

  /** Records a line about to be sent. */
  opened(line: number, messageId: string, text: string, generatedId: string | undefined): OpenLine {
    const entry: OpenLine = { line, messageId, text, generatedId, next: undefined, settled: false }
    this.queue.push(entry)
    this.open++
    const head = this.byId.get(messageId)
    if (head === undefined) this.byId.set(messageId, entry)
    else {
      let last = head
      while (last.next !== undefined) last = last.next
      last.next = entry
    }
    return entry
  }

  /**
   * A line that was opened but refused by the client (validation): it fails at once, written as it
   * was read (it was never accepted, so the id it was given does not matter).
   */
  refused(entry: OpenLine, reason: string): void {
    this.unlink(entry)
    this.fail({ line: entry.line, reason, text: entry.text, raw: false, generatedId: undefined })
  }

  /** A line that failed before it could be sent (not JSON, not UTF-8, too long...). */
  fail(failure: Failure): void {
    const heap = this.heap
    heap.push(failure)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.line <= heap[i]!.line) break
      ;[heap[parent], heap[i]] = [heap[i]!, heap[parent]!]
      i = parent
    }
  }

  /**
   * The outcome of the oldest open line with this messageId (outcomes of one id arrive in the order
   * its lines were sent): `undefined` for delivered, else the reason. Returns the line, or `undefined`
   * when no line with that id is open.
   */
  settle(messageId: string, failure: string | undefined): OpenLine | undefined {
    const entry = this.byId.get(messageId)
    if (entry === undefined) return undefined
    this.unlink(entry)
    if (failure !== undefined) {
      this.fail({ line: entry.line, reason: failure, text: entry.text, raw: false, generatedId: entry.generatedId })
    }
    return entry
  }

  /**
   * Removes and returns, in line order, the failures before `before` that no open line precedes: the
   * ones that can be written now. `before` is the first line not yet read (or `Infinity` at the end).
   */
  release(before: number): Array<Failure> {
    const first = this.firstOpenLine
    const limit = first === undefined ? before : Math.min(first, before)
    const out: Array<Failure> = []
    while (this.heap.length > 0 && this.heap[0]!.line < limit) out.push(this.pop())
    return out
  }

  /** The failures not released yet (their lines come after an open line). */
  get heldFailures(): number {
    return this.heap.length
  }

  private unlink(entry: OpenLine): void {
    entry.settled = true
    this.open--
    if (this.open === 0) {
      this.queue = []
      this.head = 0
    }
    const head = this.byId.get(entry.messageId)
    if (head === entry) {
      if (entry.next === undefined) this.byId.delete(entry.messageId)
      else this.byId.set(entry.messageId, entry.next)
      return
    }
    for (let prev = head; prev !== undefined; prev = prev.next) {
      if (prev.next === entry) {
        prev.next = entry.next
        return
      }
    }
  }

  private pop(): Failure {
    const heap = this.heap
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && heap[l]!.line < heap[m]!.line) m = l
        if (r < heap.length && heap[r]!.line < heap[m]!.line) m = r
        if (m === i) break
        ;[heap[m], heap[i]] = [heap[i]!, heap[m]!]
        i = m
      }
    }
    return top
  }
}
