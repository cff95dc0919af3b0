import { PromiseClient } from "../../src/index.js"

// For code that does not run Effects. Nothing starts until the first call.
const analytics = PromiseClient.createClient({ writeKey: process.env.ANALYTICS_WRITE_KEY ?? "" })

export async function onSignUp(userId: string, plan: string): Promise<void> {
  // Resolves with the messageId once the message is queued; rejects with the call's typed error
  // (InvalidMessage, MessageTooLarge, ClientClosed) when it cannot be accepted.
  await analytics.track({ userId, event: "Signed Up", properties: { plan } })
}

export async function shutdown(): Promise<void> {
  // Delivers everything accepted, then releases the client. Later calls reject with ClientClosed.
  await analytics.closeAndFlush({ timeout: "10 seconds" })
}
