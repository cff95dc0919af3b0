/**
 * Shared by every driver: the workload's events, the driver's settings (from the environment: this
 * is bench code, not library code), CPU and memory accounting, and the report sent to the parent.
 */

import type { JsonObject } from "../../src/Message.js"

/** What the parent passes to a driver, through the environment. */
export interface DriverSettings {
  /** The collector's base URL, for example `http://127.0.0.1:40123`. */
  readonly url: string
  /** How many events to send. */
  readonly count: number
  /** `small` (~300 B on the wire) or `large` (~20 KB). */
  readonly size: "small" | "large"
  /** Driver-specific variant (for analytics-effect: `fetch-default`, `undici-suspend`, ...). */
  readonly variant: string
  readonly writeKey: string
  /** For a paced producer: events per second (`BENCH_RATE`). */
  readonly rate: number
}

export const readSettings = (): DriverSettings => {
  const url = process.env.BENCH_URL ?? process.argv[2]
  if (url === undefined || url === "") throw new Error("BENCH_URL (or argv[2]) must name the collector")
  const count = Number(process.env.BENCH_COUNT ?? process.argv[3] ?? "100000")
  const size = (process.env.BENCH_SIZE ?? process.argv[4] ?? "small") === "large" ? "large" : "small"
  const variant = process.env.BENCH_VARIANT ?? process.argv[5] ?? "default"
  const rate = Number(process.env.BENCH_RATE ?? "10000")
  return { url, count, size, variant, writeKey: process.env.BENCH_WRITE_KEY ?? "bench-write-key", rate }
}

/** How often a paced producer emits its events. */
export const paceTickMs = 10

/**
 * A paced producer, as a server handling requests is: every `paceTickMs` it emits the events due by
 * then (at `settings.rate` per second), calling `emit(i)` for each, until `settings.count`.
 */
export const paced = async (settings: DriverSettings, emit: (i: number) => void): Promise<void> => {
  const start = performance.now()
  let i = 0
  while (i < settings.count) {
    const due = Math.min(settings.count, Math.floor(((performance.now() - start) / 1000) * settings.rate) + 1)
    for (; i < due; i++) emit(i)
    if (i < settings.count) await new Promise((resolve) => setTimeout(resolve, paceTickMs))
  }
}

/** The input of one `track` call: what a user of any of the libraries would pass. */
export interface TrackEvent {
  readonly userId: string
  readonly event: string
  readonly properties: JsonObject
}

const plans = ["free", "team", "business", "enterprise"] as const

// The large event's line items: built once and shared (every event still serializes all of them).
const lineItems = Array.from({ length: 74 }, (_, i) => ({
  sku: `SKU-${String(100000 + i * 7919)}`,
  name: `Product number ${i} with a reasonably descriptive name`,
  category: i % 3 === 0 ? "books" : i % 3 === 1 ? "electronics" : "garden & outdoors",
  price: 9.99 + i,
  quantity: 1 + (i % 4),
  url: `https://shop.example.com/products/${i}/product-number-${i}-with-a-reasonably-descriptive-name`,
  tags: ["sale", "new", `batch-${i % 10}`]
}))

/**
 * The `i`-th event of a workload. `small` serializes to ~300 bytes once a library adds `type`,
 * `messageId`, `timestamp` and `context.library`; `large` to ~20 KB.
 */
export const makeEvent = (i: number, size: "small" | "large"): TrackEvent =>
  size === "small"
    ? {
      userId: `user-${i % 5000}`,
      event: "Order Completed",
      properties: {
        orderId: `order-${i}`,
        revenue: 40 + (i % 100) + 0.25,
        currency: "USD",
        plan: plans[i % 4]!,
        items: 1 + (i % 9)
      }
    }
    : {
      userId: `user-${i % 5000}`,
      event: "Cart Viewed",
      properties: {
        cartId: `cart-${i}`,
        currency: "USD",
        plan: plans[i % 4]!,
        items: lineItems
      }
    }

/** Tracks CPU time and peak RSS from the moment it is created (after the driver's imports). */
export const startMeter = (sampleEveryMs = 20) => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  // On the monotonic clock V8's CPU profiler uses, so a profile can be cut to the measured window.
  const startedAtUs = Number(process.hrtime.bigint() / 1000n)
  let peakRss = process.memoryUsage.rss()
  const startRss = peakRss
  let atPeak = process.memoryUsage()
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss()
    if (rss > peakRss) {
      peakRss = rss
      atPeak = process.memoryUsage()
    }
  }, sampleEveryMs)
  timer.unref()
  return {
    /** Call when the work (including the final flush) is done. */
    stop: () => {
      const wallMs = performance.now() - t0
      clearInterval(timer)
      const rss = process.memoryUsage.rss()
      if (rss > peakRss) peakRss = rss
      const cpu = process.cpuUsage(cpu0)
      return {
        startedAtUs,
        endedAtUs: Number(process.hrtime.bigint() / 1000n),
        wallMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        peakRssMb: peakRss / 1048576,
        /** RSS when the workload started (after the driver's imports). */
        startRssMb: startRss / 1048576,
        /** V8 heap and off-heap memory at the sample with the highest RSS. */
        heapTotalAtPeakMb: atPeak.heapTotal / 1048576,
        heapUsedAtPeakMb: atPeak.heapUsed / 1048576,
        externalAtPeakMb: atPeak.external / 1048576,
        // The kernel's high-water mark for the whole process (includes start-up).
        maxRssMb: process.resourceUsage().maxRSS / 1024
      }
    }
  }
}

export type Measurement = ReturnType<ReturnType<typeof startMeter>["stop"]>

/** What a driver reports to the parent. */
export interface DriverReport extends Measurement {
  readonly type: "result"
  readonly driver: string
  readonly variant: string
  readonly produced: number
  /** Calls that failed synchronously (the library refused them). */
  readonly callErrors: number
  /** Delivery errors the library reported (events, callbacks), where it reports them. */
  readonly deliveryErrors: number
  readonly note?: string
}

/** Tells the parent the workload is starting (W4 uses it to time the outage). */
export const signalStart = (): void => {
  if (process.send) process.send({ type: "started" })
}

/** Sends the report to the parent (or prints it when run by hand), then exits. */
export const report = (result: DriverReport): void => {
  if (process.send) {
    process.send(result, () => process.exit(0))
  } else {
    console.log(JSON.stringify(result, null, 2))
    process.exit(0)
  }
}

export const fail = (driver: string, error: unknown): never => {
  const message = error instanceof Error ? error.stack ?? error.message : String(error)
  if (process.send) {
    process.send({ type: "error", driver, message }, () => process.exit(1))
  } else {
    console.error(message)
    process.exit(1)
  }
  throw error
}
