// A Lambda-style handler (AWS Lambda, Google Cloud Functions, Vercel...) with the Promise client.
//
// The client is created once, outside the handler, so that warm invocations reuse it. Between
// invocations the platform may freeze the process, or end it without notice: nothing tracked may be
// left waiting in the queue when the handler returns. So the handler awaits `flush()` before it
// returns; `flush()` resolves once every message accepted so far has been delivered (or has failed
// after its retries).
import { PromiseClient } from "../src/index.js"

interface CheckoutEvent {
  readonly userId: string
  readonly orderId: string
  readonly total: number
}

interface Response {
  readonly statusCode: number
  readonly body: string
}

export const makeHandler = (analytics: PromiseClient.Client) => async (event: CheckoutEvent): Promise<Response> => {
  // ... do the work ...
  try {
    await analytics.track({
      userId: event.userId,
      event: "Order Completed",
      properties: { orderId: event.orderId, total: event.total }
    })
  } catch {
    // The call rejects only when the message cannot be accepted (error._tag is "InvalidMessage" or
    // "MessageTooLarge"); the rejection carries the error, the client does not log it (it does at the
    // debug level with DEBUG=analytics). Tracking must not fail the order.
  }
  // Deliver before returning. flush() also waits for retries: retryBudget below keeps them short.
  await analytics.flush()
  return { statusCode: 200, body: JSON.stringify({ orderId: event.orderId }) }
}

// The write key (and any option not given here) is read from the environment: ANALYTICS_WRITE_KEY.
// Created on the first invocation, so that a missing key fails that invocation, not the module load.
let client: PromiseClient.Client | undefined
const analytics = (): PromiseClient.Client =>
  client ??= PromiseClient.createClient({
    // A short-lived process gains little from waiting for 20 messages: send each call at once.
    flushAt: 1,
    // Give up on a batch well before the function's timeout.
    retryBudget: "20 seconds",
    shutdownTimeout: "5 seconds"
  })

export const handler = (event: CheckoutEvent): Promise<Response> => makeHandler(analytics())(event)
