/**
 * What the collector remembers: counters, the receipts of each messageId, the request log, and (with
 * `retain: "messages"`) every accepted request. One mutable object, updated synchronously by the
 * request handler at the moment it answers, so that what it counts is exactly what a client was told.
 *
 * @internal
 */
import type * as Collector from "../../Collector.js"

/** @internal */
export type Retain = "messages" | "ids" | "counts"

const bump = (map: Map<string, number>, id: string): number => {
  const n = (map.get(id) ?? 0) + 1
  map.set(id, n)
  return n
}

/** @internal */
export class Recorder {
  received: Array<Collector.ReceivedBatch> = []
  rejected: Array<Collector.Rejection> = []
  log: Array<Collector.RequestRecord> = []
  accepted = new Map<string, number>()
  taken = new Map<string, number>()
  requests = 0
  okRequests = 0
  rejectedRequests = 0
  malformedRequests = 0
  messages = 0
  duplicates = 0
  bytes = 0
  largestRequestBytes = 0
  largestBatchMessages = 0
  retriedRequests = 0
  connections = 0
  openConnections = 0
  maxConcurrentConnections = 0
  activeRequests = 0
  maxConcurrentRequests = 0

  constructor(readonly retain: Retain) {}

  clear(): void {
    const fresh = new Recorder(this.retain)
    const { activeRequests, openConnections } = this
    Object.assign(this, fresh, { activeRequests, openConnections })
  }

  connected(): void {
    this.connections++
    this.openConnections++
    if (this.openConnections > this.maxConcurrentConnections) this.maxConcurrentConnections = this.openConnections
  }

  /** A request's headers arrived: its index. */
  arrived(retried: boolean): number {
    this.activeRequests++
    if (this.activeRequests > this.maxConcurrentRequests) this.maxConcurrentRequests = this.activeRequests
    if (retried) this.retriedRequests++
    return this.requests++
  }

  /** The body of a request, once read (its uncompressed size, its messages). */
  bodyRead(plainBytes: number, messageCount: number): void {
    if (plainBytes > this.largestRequestBytes) this.largestRequestBytes = plainBytes
    if (messageCount > this.largestBatchMessages) this.largestBatchMessages = messageCount
  }

  /** A request answered 2xx: its messages count as received by the client's measure. */
  answeredOk(ids: ReadonlyArray<string>, rawBytes: number, batch: Collector.ReceivedBatch | undefined): void {
    this.okRequests++
    this.messages += ids.length
    this.bytes += rawBytes
    if (this.retain !== "counts") {
      for (const id of ids) if (bump(this.accepted, id) > 1) this.duplicates++
    }
    if (batch !== undefined && this.retain === "messages") this.received.push(batch)
  }

  /** A request whose body was read but that got no answer: its ids were taken all the same. */
  tookWithoutAnswer(ids: ReadonlyArray<string>): void {
    if (this.retain !== "counts") for (const id of ids) bump(this.taken, id)
  }

  refused(rejection: Collector.Rejection, malformed: boolean): void {
    this.rejectedRequests++
    if (malformed) this.malformedRequests++
    if (this.retain !== "counts") this.rejected.push(rejection)
  }

  ended(record: Collector.RequestRecord): void {
    this.activeRequests--
    if (this.retain !== "counts") this.log.push(record)
  }

  /** The index the next accepted request gets. */
  get nextReceivedIndex(): number {
    return this.okRequests
  }

  stats(): Collector.Stats {
    return {
      requests: this.requests,
      okRequests: this.okRequests,
      rejectedRequests: this.rejectedRequests,
      malformedRequests: this.malformedRequests,
      messages: this.messages,
      uniqueMessageIds: this.accepted.size,
      duplicates: this.duplicates,
      bytes: this.bytes,
      largestRequestBytes: this.largestRequestBytes,
      largestBatchMessages: this.largestBatchMessages,
      retriedRequests: this.retriedRequests,
      connections: this.connections,
      maxConcurrentConnections: this.maxConcurrentConnections,
      maxConcurrentRequests: this.maxConcurrentRequests,
      accepted: new Map(this.accepted),
      taken: new Map(this.taken)
    }
  }
}
