import { FetchHttpClient } from "@effect/platform"
import { Layer, Schedule } from "effect"
import { Analytics } from "../../src/index.js"

// Fewer retries with the default backoff (0.5-1 s, doubling, capped near 60 s).
export const FewerRetries = Analytics.layer({ writeKey: "YOUR_WRITE_KEY", maxRetries: 3 }).pipe(
  Layer.provide(FetchHttpClient.layer)
)

// Your own policy: any Schedule whose input is the attempt's TransportError. It is consulted only for
// failures that retrying can fix, 429s included (a 429 then waits at least its Retry-After).
export const FixedRetries = Analytics.layer({
  writeKey: "YOUR_WRITE_KEY",
  retrySchedule: Schedule.spaced("2 seconds").pipe(
    Schedule.intersect(Schedule.recurs(5)),
    // stop early when the collector keeps answering 503
    Schedule.whileInput((error) => !(error.reason._tag === "Status" && error.reason.status === 503))
  )
}).pipe(Layer.provide(FetchHttpClient.layer))
