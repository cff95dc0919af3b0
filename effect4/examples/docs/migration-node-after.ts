// After: the Promise client of analytics-effect, for code that stays Promise-based.
import { PromiseClient } from "../../src/index.js"

const analytics = PromiseClient.createClient({
  writeKey: process.env.SEGMENT_WRITE_KEY ?? "",
  flushAt: 20,
  flushInterval: "5 seconds",
  maxRetries: 3,
  timeout: "10 seconds",
  enabled: process.env.NODE_ENV !== "test"
})

export const onSignUp = async (userId: string, plan: string) => {
  try {
    await analytics.track({ userId, event: "Signed Up", properties: { plan } })
  } catch (error) {
    // An invalid or oversize message is rejected here, at the call, with a typed error
    // (analytics-node reports it later, through its "error" event).
    console.error("not tracked", error)
  }
}

export const shutdown = () => analytics.closeAndFlush({ timeout: "5 seconds" })
