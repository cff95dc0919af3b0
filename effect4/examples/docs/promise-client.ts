import { PromiseClient } from "../../src/index.js"

// For code that does not run Effects. Options left out are read from the environment, the write key
// from ANALYTICS_WRITE_KEY (createClient throws InvalidOptions at once if it is missing). Nothing
// starts until the first call. `logger: console` would send the client's logs there.
const analytics = PromiseClient.createClient({ flushAt: 20 })

export async function onSignUp(userId: string, plan: string): Promise<void> {
  // Resolves with the messageId once the message is queued; rejects with the call's typed error
  // (InvalidMessage, MessageTooLarge, ClientClosed) when it cannot be accepted.
  await analytics.track({ userId, event: "Signed Up", properties: { plan } })
}

// A script may simply end: the client holds no timer while idle, and sends what is waiting within
// flushInterval (5 s). closeAndFlush sends at once and waits for every outcome: use it before exiting
// explicitly (process.exit), and in shutdown hooks.
export async function shutdown(): Promise<void> {
  // Delivers everything accepted, then releases the client. Later calls reject with ClientClosed.
  await analytics.closeAndFlush({ timeout: "10 seconds" })
}
