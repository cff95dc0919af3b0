// Before: @segment/analytics-node
import { Analytics } from "@segment/analytics-node"

const analytics = new Analytics({
  writeKey: process.env.SEGMENT_WRITE_KEY ?? "",
  flushAt: 20,
  flushInterval: 5_000,
  maxRetries: 3,
  httpRequestTimeout: 10_000,
  disable: process.env.NODE_ENV === "test"
})

analytics.on("error", (error) => console.error("analytics error", error))

export const onSignUp = (userId: string, plan: string) =>
  analytics.track({ userId, event: "Signed Up", properties: { plan } })

export const shutdown = () => analytics.closeAndFlush({ timeout: 5_000 })
