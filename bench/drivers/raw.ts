/**
 * The library-free reference ("the limit"): each event gets what a Segment client adds (`type`,
 * `messageId`, `timestamp`, `context.library`), is serialized once, and packed into request bodies of
 * at most 500,000 bytes (envelope included) and 2,500 messages. A keep-alive `node:http` agent sends
 * them with at most `BENCH_RAW_IN_FLIGHT` (default 4) requests in flight; the producer waits when all
 * are busy. Failed requests are retried with a capped exponential backoff. No validation.
 *
 * Variant `paced`: the events come at `BENCH_RATE` per second, and what has accumulated is sent once
 * it reaches 20 events (the batching policy of the libraries' defaults: flushAt 20).
 */
import { randomUUID } from "node:crypto"
import * as http from "node:http"
import { fail, makeEvent, paced, readSettings, report, signalStart, startMeter } from "./common.js"

const settings = readSettings()
const maxInFlight = Math.max(1, Number(process.env.BENCH_RAW_IN_FLIGHT ?? "4"))
const maxBodyBytes = 500_000
const maxBatchMessages = 2_500
const maxAttempts = 30

const target = new URL("/v1/batch", settings.url)
const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight })
const library = { name: "raw-node-batcher", version: "0.1.0" }
const authorization = "Basic " + Buffer.from(settings.writeKey + ":").toString("base64")
const writeKeyJson = JSON.stringify(settings.writeKey)
const head = "{\"batch\":["
const envelopeBytes = Buffer.byteLength(`${head}],"sentAt":"${new Date().toISOString()}","writeKey":${writeKeyJson}}`)

let deliveryErrors = 0

const post = (body: Buffer, attempt: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      "content-type": "application/json",
      "content-length": body.length,
      authorization,
      "user-agent": "raw-node-batcher/0.1.0"
    }
    if (attempt > 0) headers["x-retry-count"] = attempt
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode ?? 0))
        res.on("error", reject)
      }
    )
    req.setTimeout(10_000, () => req.destroy(new Error("request timeout")))
    req.on("error", reject)
    req.end(body)
  })

const retryable = (status: number) =>
  status === 408 || status === 429 || status >= 500 && status !== 501 && status !== 505

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const sendBatch = async (parts: Array<string>): Promise<void> => {
  const batch = parts.join(",")
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const body = Buffer.from(`${head}${batch}],"sentAt":"${new Date().toISOString()}","writeKey":${writeKeyJson}}`)
    try {
      const status = await post(body, attempt)
      if (status >= 200 && status < 300) return
      if (!retryable(status)) break
    } catch {
      // network error: retry
    }
    await sleep(Math.min(2_000, 100 * 2 ** attempt))
  }
  deliveryErrors += parts.length
}

const running = new Set<Promise<void>>()

const launch = async (parts: Array<string>): Promise<void> => {
  while (running.size >= maxInFlight) await Promise.race(running)
  const p: Promise<void> = sendBatch(parts).finally(() => running.delete(p))
  running.add(p)
}

const serialize = (i: number): string => {
  const event = makeEvent(i, settings.size)
  return JSON.stringify({
    ...event,
    type: "track",
    messageId: randomUUID(),
    timestamp: new Date().toISOString(),
    context: { library }
  })
}

const burst = async () => {
  let parts: Array<string> = []
  let bytes = envelopeBytes
  for (let i = 0; i < settings.count; i++) {
    const json = serialize(i)
    const n = Buffer.byteLength(json)
    const add = parts.length === 0 ? n : n + 1
    if (parts.length > 0 && (bytes + add > maxBodyBytes || parts.length >= maxBatchMessages)) {
      await launch(parts)
      parts = []
      bytes = envelopeBytes + n
    } else {
      bytes += add
    }
    parts.push(json)
  }
  if (parts.length > 0) await launch(parts)
}

const pacedFlushAt = 20

const pacedRun = async () => {
  let parts: Array<string> = []
  await paced(settings, (i) => {
    parts.push(serialize(i))
    if (parts.length >= pacedFlushAt) {
      const batch = parts
      parts = []
      void launch(batch)
    }
  })
  if (parts.length > 0) await launch(parts)
}

const main = async () => {
  signalStart()
  const meter = startMeter()
  if (settings.variant === "paced") await pacedRun()
  else await burst()
  await Promise.all(running)
  const m = meter.stop()
  agent.destroy()
  report({
    type: "result",
    driver: "raw",
    variant: settings.variant === "paced" ? `node-http-${maxInFlight}-paced` : `node-http-${maxInFlight}`,
    produced: settings.count,
    callErrors: 0,
    deliveryErrors,
    ...m
  })
}

main().catch((error) => fail("raw", error))
