/**
 * A bounded FIFO over a preallocated circular array: O(1) push, shift and peek, no allocation per
 * message. The batcher needs `peek` (to cut batches by bytes without taking too much) and a
 * synchronous `shift` (to drop the oldest message and report which one it was).
 *
 * @internal
 */
export class Ring<A> {
  private readonly items: Array<A | undefined>
  private head = 0
  private count = 0

  constructor(readonly capacity: number) {
    this.items = new Array(capacity)
  }

  get size(): number {
    return this.count
  }

  get full(): boolean {
    return this.count >= this.capacity
  }

  push(item: A): boolean {
    if (this.count >= this.capacity) return false
    this.items[(this.head + this.count) % this.capacity] = item
    this.count++
    return true
  }

  peek(): A | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  shift(): A | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.capacity
    this.count--
    return item
  }
}
