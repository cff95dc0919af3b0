/**
 * Property tests of Effect's `Queue` (and `PubSub`) as this library uses them, against the version the
 * package pins. Late Effect 4 fixes concerned exactly these: lost messages, hangs, and a message
 * duplicated when a resumed producer takes from the same queue.
 *
 * Every run draws its shape from a seeded generator and interrupts takers by yielding a drawn number
 * of times (no timer), so a run is the same every time for its seed: a failing seed replays. A run
 * that has not ended after 2 seconds of real time counts as a hang.
 *
 * - the random runs: producers (`offer`, `offerAll`, `offerUnsafe`, some of them taking from the same
 *   queue afterwards) and consumers (every take operation, and takers interrupted while waiting),
 *   then `Queue.end`: every message taken exactly once;
 * - (a) the batcher's own loop: `offerUnsafe` on the call path, the `Latch` handshake, and the
 *   non-waiting take (`sizeUnsafe` then `takeBetween(1, n)`): no wake-up lost, nothing lost;
 * - (b) `Queue.shutdown` while producers are suspended: every offer resolves, none hangs;
 * - (c) `Queue.end` and `Queue.fail` with takers waiting in `takeN` and `takeAll`: the rest is drained,
 *   then every taker sees the end or the error;
 * - (d) `takeN` and `takeBetween` interrupted while waiting with part of a batch buffered: nothing
 *   vanishes;
 * - (e) `PubSub` subscribers created during a `publish` burst (the outcome streams): each sees, in
 *   order, everything published after it subscribed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Latch, Option, PubSub, Queue } from "effect"

/** A seeded generator of numbers in [0, 1) (mulberry32). */
const rng = (seed: number) => () => {
  seed |= 0
  seed = seed + 0x6d2b79f5 | 0
  let t = Math.imul(seed ^ seed >>> 15, 1 | seed)
  t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t
  return ((t ^ t >>> 14) >>> 0) / 4294967296
}

interface Draw {
  readonly next: () => number
  readonly int: (min: number, max: number) => number
  readonly pick: <A>(xs: ReadonlyArray<A>) => A
  readonly chance: (p: number) => boolean
}

const draw = (seed: number): Draw => {
  const next = rng(seed)
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  return { next, int, pick: (xs) => xs[Math.floor(next() * xs.length)]!, chance: (p) => next() < p }
}

const yieldTimes = (n: number) => Effect.repeat(Effect.yieldNow, { times: Math.max(0, n - 1) })

/** Runs `effect` for each seed; a run that does not end within 2 s of real time is a hang. */
const forSeeds = (
  runs: number,
  base: number,
  run: (seed: number, d: Draw) => Effect.Effect<string | undefined>
) =>
  Effect.gen(function*() {
    const failures: Array<string> = []
    for (let i = 0; i < runs; i++) {
      const seed = base + i
      const result = yield* Effect.timeoutOption(run(seed, draw(seed)), "2 seconds")
      if (Option.isNone(result)) failures.push(`seed ${seed}: hang`)
      else if (result.value !== undefined) failures.push(`seed ${seed}: ${result.value}`)
      if (failures.length >= 5) break
    }
    assert.deepStrictEqual(failures, [])
  })

/** What went wrong between what was sent and what was received, or `undefined`. */
const compare = (expected: ReadonlyArray<number>, received: ReadonlyArray<number>): string | undefined => {
  const seen = new Map<number, number>()
  for (const x of received) seen.set(x, (seen.get(x) ?? 0) + 1)
  const lost = expected.filter((x) => !seen.has(x))
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([x]) => x)
  const unknown = received.filter((x) => !expected.includes(x))
  if (lost.length === 0 && duplicated.length === 0 && unknown.length === 0) return undefined
  return `lost ${lost.slice(0, 5)}, duplicated ${duplicated.slice(0, 5)}, unknown ${unknown.slice(0, 5)}`
}

type Op =
  | "take"
  | "takeN"
  | "takeBetween"
  | "takeAll"
  | "clear"
  | "poll"
  | "takeUnsafe"
  | "interruptedTake"
  | "interruptedTakeN"
const ops: ReadonlyArray<Op> = [
  "take",
  "takeN",
  "takeBetween",
  "takeAll",
  "clear",
  "poll",
  "takeUnsafe",
  "interruptedTake",
  "interruptedTakeN"
]

/** A take that is interrupted after a drawn number of yields; what it took before counts. */
const interrupted = <A>(take: Effect.Effect<ReadonlyArray<A>, unknown>, yields: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(take, { startImmediately: true })
    yield* yieldTimes(yields)
    const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
    return Exit.isSuccess(exit) ? exit.value : []
  })

describe("Queue: random producers and consumers", () => {
  const coverage = { ops: new Map<Op, number>(), suspendedOffers: 0, takenByProducers: 0 }

  const runOne = (_seed: number, d: Draw) =>
    Effect.gen(function*() {
      const capacity = d.pick([1, 2, 3, 5, 16, Number.POSITIVE_INFINITY])
      const producers = d.int(1, 4)
      const perProducer = d.int(1, 30)
      const consumers = d.int(1, 3)
      const q = yield* (capacity === Number.POSITIVE_INFINITY
        ? Queue.unbounded<number, Cause.Done>()
        : Queue.bounded<number, Cause.Done>(capacity))
      const taken: Array<number> = []

      // Some producers also take from the queue after their offers: the "resumed producer takes from
      // the same queue" case of the duplicated-message bug.
      const producer = (p: number, alsoTakes: boolean) =>
        Effect.gen(function*() {
          const mine = Array.from({ length: perProducer }, (_, i) => p * 10_000 + i)
          let i = 0
          while (i < mine.length) {
            const mode = d.next()
            if (mode < 0.2) {
              const batch = mine.slice(i, i + d.int(1, 4))
              const rest = yield* Queue.offerAll(q, batch)
              if (rest.length > 0) return yield* Effect.die(`offerAll left ${rest.length} behind on an open queue`)
              i += batch.length
            } else if (mode < 0.3) {
              while (!Queue.offerUnsafe(q, mine[i]!)) yield* Effect.yieldNow
              i++
            } else {
              if (Queue.isFullUnsafe(q)) coverage.suspendedOffers++
              if (!(yield* Queue.offer(q, mine[i]!))) return yield* Effect.die("offer returned false on an open queue")
              i++
            }
            if (alsoTakes && d.chance(0.5)) {
              const got = yield* Queue.poll(q)
              if (Option.isSome(got)) {
                taken.push(got.value)
                coverage.takenByProducers++
              }
            }
            if (d.chance(0.5)) yield* Effect.yieldNow
          }
        })

      const takeWith = (op: Op): Effect.Effect<ReadonlyArray<number>, Cause.Done> => {
        switch (op) {
          case "take":
            return Effect.map(Queue.take(q), (a) => [a])
          case "takeN":
            return Queue.takeN(q, d.int(1, 4))
          case "takeBetween":
            return Queue.takeBetween(q, 1, d.int(1, 5))
          case "takeAll":
            return Queue.takeAll(q)
          case "clear":
            return Queue.clear(q)
          case "poll":
            return Effect.map(Queue.poll(q), Option.match({ onNone: () => [], onSome: (a) => [a] }))
          case "takeUnsafe":
            return Effect.suspend(() => {
              const exit = Queue.takeUnsafe(q)
              return exit === undefined ? Effect.succeed([]) : Effect.map(exit, (a) => [a])
            })
          case "interruptedTake":
            return interrupted(Effect.map(Queue.take(q), (a) => [a]), d.int(0, 3))
          case "interruptedTakeN":
            return interrupted(Queue.takeN(q, d.int(1, 4)), d.int(0, 3))
        }
      }

      const consumer = Effect.gen(function*() {
        while (true) {
          const op = d.pick(ops)
          const exit = yield* Effect.exit(takeWith(op))
          if (Exit.isFailure(exit)) {
            if (Cause.hasDies(exit.cause)) return yield* Effect.die(Cause.squash(exit.cause))
            return // the queue is done
          }
          if (exit.value.length > 0) coverage.ops.set(op, (coverage.ops.get(op) ?? 0) + 1)
          else yield* Effect.yieldNow
          taken.push(...exit.value)
        }
      })

      const producerFibers = yield* Effect.forEach(
        Array.from({ length: producers }, (_, p) => p),
        (p) => Effect.forkChild(producer(p, p % 2 === 1))
      )
      const consumerFibers = yield* Effect.forEach(
        Array.from({ length: consumers }, () => consumer),
        (c) => Effect.forkChild(c)
      )
      yield* Fiber.joinAll(producerFibers)
      yield* Queue.end(q)
      yield* Fiber.joinAll(consumerFibers)
      const expected = Array.from({ length: producers }, (_, p) =>
        Array.from({ length: perProducer }, (_, i) => p * 10_000 + i)).flat()
      return compare(expected, taken)
    }).pipe(Effect.scoped, Effect.catchDefect((defect) => Effect.succeed(`defect: ${String(defect)}`)))

  it.live("1,500 seeded runs: every message taken exactly once, no hang", () =>
    Effect.gen(function*() {
      yield* forSeeds(1_500, 1, runOne)
      // The runs reached what they are for: every operation took messages, offers suspended on a
      // full queue, and producers took from the queue they offer to.
      for (const op of ops) assert.isAbove(coverage.ops.get(op) ?? 0, 0, `${op} never took a message`)
      assert.isAbove(coverage.suspendedOffers, 100)
      assert.isAbove(coverage.takenByProducers, 100)
    }), 120_000)

  it.live("the checker itself reports a lost and a duplicated message", () =>
    Effect.sync(() => {
      assert.match(compare([1, 2, 3], [1, 2]) ?? "", /lost 3/)
      assert.match(compare([1, 2, 3], [1, 2, 3, 3]) ?? "", /duplicated 3/)
      assert.isUndefined(compare([1, 2, 3], [3, 1, 2]))
    }))

  it.live("a producer suspended on a full queue, resumed by a take, then taking itself: its message once", () =>
    Effect.gen(function*() {
      const q = yield* Queue.bounded<string>(1)
      yield* Queue.offer(q, "a")
      const producer = yield* Effect.forkChild(Effect.gen(function*() {
        yield* Queue.offer(q, "b") // suspends: the queue is full
        return yield* Queue.take(q)
      }))
      yield* Effect.yieldNow
      assert.strictEqual(yield* Queue.take(q), "a") // room: "b" moves in and the producer resumes
      assert.strictEqual(yield* Fiber.join(producer), "b")
      assert.strictEqual(Queue.sizeUnsafe(q), 0)
    }))

  it.live("clear on a full queue with a suspended offer: the buffered messages, then the pending one", () =>
    Effect.gen(function*() {
      const q = yield* Queue.bounded<number>(2)
      yield* Queue.offerAll(q, [1, 2])
      const pending = yield* Effect.forkChild(Queue.offer(q, 3))
      yield* Effect.yieldNow
      const cleared = yield* Queue.clear(q)
      assert.isTrue(yield* Fiber.join(pending))
      assert.deepStrictEqual([...cleared, ...(yield* Queue.clear(q))], [1, 2, 3])
    }))
})

describe("(a) the batcher's loop: offerUnsafe, the Latch handshake, the non-waiting take", () => {
  // A model of `consumer.ts` and `admission.ts`: a message wakes the consumer when it starts a batch
  // (nothing queued or carried) or completes one (`flushAt`); a marker always does. The consumer closes
  // the latch, then takes at most a batch's worth without waiting, sends once `flushAt` are carried,
  // and signals again when its take stopped at a batch's worth.
  const runOne = (_seed: number, d: Draw) =>
    Effect.gen(function*() {
      const flushAt = d.int(1, 6)
      const maxMessages = d.int(1, 8)
      const producers = d.int(1, 3)
      const perProducer = d.int(1, 40)
      const q = yield* Queue.unbounded<number | "close">()
      const ready = yield* Latch.make(false)
      let count = 0 // queued and carried, as admission's budget counts them
      const sent: Array<number> = []
      let idle = false
      const problems: Array<string> = []

      const takeUpTo = (max: number) =>
        Effect.suspend(() => Queue.sizeUnsafe(q) > 0 ? Queue.takeBetween(q, 1, max) : Effect.succeed([]))

      const consumer = Effect.gen(function*() {
        let carry: Array<number> = []
        while (true) {
          idle = true
          yield* ready.await
          idle = false
          ready.closeUnsafe()
          if (d.chance(0.3)) yield* yieldTimes(d.int(1, 3)) // a producer may run between the two
          const items = yield* takeUpTo(maxMessages)
          for (const item of items) {
            if (item === "close") {
              sent.push(...carry)
              count -= carry.length
              return
            }
            carry.push(item)
          }
          if (carry.length >= flushAt) {
            sent.push(...carry)
            count -= carry.length
            carry = []
          }
          if (items.length >= maxMessages) ready.openUnsafe()
        }
      })

      const producer = (p: number) =>
        Effect.gen(function*() {
          for (let i = 0; i < perProducer; i++) {
            count++
            Queue.offerUnsafe(q, p * 10_000 + i)
            if (count === 1 || count >= flushAt) ready.openUnsafe()
            if (d.chance(0.6)) yield* yieldTimes(d.int(1, 3))
          }
        })

      const consuming = yield* Effect.forkChild(consumer)
      yield* Effect.forEach(Array.from({ length: producers }, (_, p) => producer(p)), (e) => Effect.forkChild(e))
        .pipe(Effect.flatMap(Fiber.joinAll))
      // Quiet now: the consumer sleeps only if no wake-up was lost, that is, if what it has not sent
      // is less than a batch, and nothing is queued unless a batch was started (carried).
      while (!idle || ready.isOpen()) yield* Effect.yieldNow
      const queued = Queue.sizeUnsafe(q)
      if (count >= flushAt) problems.push(`asleep with ${count} messages, flushAt ${flushAt}`)
      if (queued > 0 && queued === count) problems.push(`asleep with ${queued} queued and nothing carried`)
      Queue.offerUnsafe(q, "close")
      ready.openUnsafe()
      yield* Fiber.join(consuming)
      const expected = Array.from({ length: producers }, (_, p) => Array.from({ length: perProducer }, (_, i) => p * 10_000 + i))
      const order = expected.map((mine) => sent.filter((x) => mine.includes(x)).join() === mine.join())
      if (!order.every(Boolean)) problems.push("a producer's messages were sent out of order")
      return problems.length > 0 ? problems.join("; ") : compare(expected.flat(), sent)
    }).pipe(Effect.scoped)

  it.live("1,000 seeded runs: no lost wake-up, every message sent once and in order", () => forSeeds(1_000, 10_001, runOne), 120_000)
})

describe("(b) Queue.shutdown while producers are suspended", () => {
  let pendingAtShutdown = 0
  const runOne = (_seed: number, d: Draw) =>
    Effect.gen(function*() {
      const q = yield* Queue.bounded<number>(d.int(1, 4))
      let accepted = 0
      let refused = 0
      let taken = 0
      const producer = (p: number) =>
        Effect.gen(function*() {
          for (let i = 0; i < 20; i++) {
            if (d.chance(0.3)) {
              const rest = yield* Queue.offerAll(q, [p * 100 + i, p * 100 + i + 50])
              accepted += 2 - rest.length
              refused += rest.length
            } else if (yield* Queue.offer(q, p * 100 + i)) accepted++
            else refused++
          }
        })
      const producers = yield* Effect.forEach(Array.from({ length: d.int(1, 4) }, (_, p) => p), (p) => Effect.forkChild(producer(p)))
      const consumer = yield* Effect.forkChild(Effect.forever(Effect.map(Queue.take(q), () => {
        taken++
      })))
      yield* yieldTimes(d.int(1, 30))
      // What is buffered is dropped by the shutdown: read in the same step.
      const buffered = Queue.sizeUnsafe(q)
      Queue.shutdownUnsafe(q)
      // Every producer ends: its pending offer resolves (refused), and so does every later one.
      yield* Fiber.joinAll(producers)
      const consumerExit = yield* Fiber.await(consumer)
      if (!(Exit.isFailure(consumerExit) && Cause.hasInterruptsOnly(consumerExit.cause))) {
        return "the waiting taker was not interrupted"
      }
      if (refused > 0) pendingAtShutdown++
      // Each accepted message was taken or was buffered at the shutdown: none accepted after it.
      return accepted === taken + buffered ? undefined : `accepted ${accepted}, taken ${taken}, buffered ${buffered}`
    }).pipe(Effect.scoped)

  it.live("500 seeded runs: every offer resolves, those after shutdown refused; no hang", () =>
    Effect.gen(function*() {
      yield* forSeeds(500, 20_001, runOne)
      assert.isAbove(pendingAtShutdown, 100, "runs with producers still offering at the shutdown")
    }), 60_000)
})

describe("(c) Queue.end and Queue.fail with takers waiting in takeN and takeAll", () => {
  const runOne = (_seed: number, d: Draw) =>
    Effect.gen(function*() {
      const failing = d.chance(0.5)
      const q = yield* Queue.make<number, Cause.Done | "boom">()
      const received: Array<number> = []
      const endings: Array<string> = []
      const taker = Effect.gen(function*() {
        while (true) {
          const exit = yield* Effect.exit(d.chance(0.5) ? Queue.takeN(q, d.int(1, 6)) : Queue.takeAll(q))
          if (Exit.isSuccess(exit)) received.push(...exit.value)
          else {
            const error = Cause.findErrorOption(exit.cause)
            endings.push(Option.isSome(error) ? (Cause.isDone(error.value) ? "done" : String(error.value)) : "other")
            return
          }
        }
      })
      const takers = d.int(1, 4)
      const fibers = yield* Effect.forEach(Array.from({ length: takers }, () => taker), (t) => Effect.forkChild(t))
      const messages = Array.from({ length: d.int(0, 25) }, (_, i) => i)
      for (const m of messages) {
        yield* Queue.offer(q, m)
        if (d.chance(0.3)) yield* yieldTimes(d.int(1, 3))
      }
      yield* failing ? Queue.fail(q, "boom") : Queue.end(q)
      yield* Fiber.joinAll(fibers)
      if (endings.length !== takers) return `${takers - endings.length} takers never resumed`
      const want = failing ? "boom" : "done"
      if (endings.some((e) => e !== want)) return `takers ended with ${endings.join()}, expected ${want}`
      return compare(messages, received)
    }).pipe(Effect.scoped)

  it.live("500 seeded runs: the rest is drained, then every taker ends with the end or the error", () => forSeeds(500, 30_001, runOne), 60_000)
})

describe("(d) takeN and takeBetween interrupted with part of a batch buffered", () => {
  const runOne = (_seed: number, d: Draw) =>
    Effect.gen(function*() {
      const q = yield* Queue.unbounded<number>()
      const offered: Array<number> = []
      let next = 0
      const offer = (n: number) => {
        for (let i = 0; i < n; i++) {
          Queue.offerUnsafe(q, next)
          offered.push(next++)
        }
      }
      offer(d.int(0, 4))
      const takers = yield* Effect.forEach(Array.from({ length: d.int(1, 3) }, () => d.chance(0.5)), (useN) => {
        const min = d.int(2, 8)
        return Effect.forkChild(useN ? Queue.takeN(q, min) : Queue.takeBetween(q, min, min + d.int(0, 4)))
      })
      yield* yieldTimes(d.int(1, 5))
      offer(d.int(0, 6))
      yield* yieldTimes(d.int(0, 5))
      const chunks: Array<ReadonlyArray<number>> = []
      for (const fiber of takers) {
        const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
        if (Exit.isSuccess(exit)) chunks.push(exit.value)
      }
      chunks.push(yield* Queue.clear(q))
      const problem = compare(offered, chunks.flat())
      if (problem !== undefined) return problem
      // Each take got a run of consecutive messages, in order.
      const broken = chunks.find((chunk) => chunk.some((x, i) => i > 0 && x !== chunk[i - 1]! + 1))
      return broken === undefined ? undefined : `a take got ${broken.join()}`
    }).pipe(Effect.scoped)

  it.live("1,000 seeded runs: an interrupted take leaves every message in the queue", () => forSeeds(1_000, 40_001, runOne), 60_000)
})

describe("(e) PubSub subscribers created during a publish burst", () => {
  const runOne = (_seed: number, d: Draw) =>
    Effect.gen(function*() {
      const hub = yield* PubSub.unbounded<number>()
      const burstOver = yield* Deferred.make<void>()
      const total = d.int(1, 60)
      let published = 0
      const subscriber = Effect.gen(function*() {
        yield* yieldTimes(d.int(0, 40))
        const before = published
        const subscription = yield* PubSub.subscribe(hub)
        const after = published
        const got: Array<number> = []
        if (after >= total) {
          // Subscribed as the burst ended: whatever it caught, without waiting.
          yield* Deferred.await(burstOver)
          got.push(...(yield* PubSub.takeUpTo(subscription, Number.POSITIVE_INFINITY)))
        } else {
          // Subscribed before the last message: it arrives, so waiting for it cannot hang.
          while (got.length === 0 || got[got.length - 1]! < total) got.push(yield* PubSub.take(subscription))
        }
        return { before, after, got }
      }).pipe(Effect.scoped)
      const subscribers = yield* Effect.forEach(Array.from({ length: d.int(1, 5) }, () => subscriber), (s) => Effect.forkChild(s))
      for (let i = 1; i <= total; i++) {
        yield* PubSub.publish(hub, i)
        published = i
        if (d.chance(0.5)) yield* Effect.yieldNow
      }
      yield* Deferred.succeed(burstOver, undefined)
      for (const fiber of subscribers) {
        const { after, before, got } = yield* Fiber.join(fiber)
        if (got.length === 0) {
          if (before < total) return `subscribed at ${before} of ${total} and got nothing`
          continue
        }
        const first = got[0]!
        if (first < before + 1 || first > after + 1) return `first message ${first}, subscribed between ${before} and ${after}`
        const expected = Array.from({ length: total - first + 1 }, (_, i) => first + i)
        if (got.join() !== expected.join()) return `got ${got.join()}, expected ${first}..${total}`
      }
      return undefined
    }).pipe(Effect.scoped)

  it.live("1,000 seeded runs: each subscriber sees everything after it subscribed, once and in order", () => forSeeds(1_000, 50_001, runOne), 60_000)
})
