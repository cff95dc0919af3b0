import { Layer, Schedule } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics, type AnalyticsError } from "../../src/index.js"

// Fewer retries with the default backoff (0.5-1 s, doubling, capped near 60 s).
export const FewerRetries = Analytics.layer({ writeKey: "YOUR_WRITE_KEY", maxRetries: 3 }).pipe(
  Layer.provide(FetchHttpClient.layer)
)

// Your own policy: any Schedule whose input is the attempt's TransportError. It is consulted only for
// failures that retrying can fix, 429s included (a 429 then waits at least its Retry-After).
export const FixedRetries = Analytics.layer({
  writeKey: "YOUR_WRITE_KEY",
  // every 2 seconds, at most 5 times (Schedule.max: while both recur, with the longer delay)
  retrySchedule: Schedule.max([Schedule.spaced("2 seconds"), Schedule.recurs(5)]).pipe(
    // stop early when the collector keeps answering 503
    Schedule.while(({ input }: Schedule.Metadata<unknown, AnalyticsError.TransportError>) =>
      !(input.reason._tag === "Status" && input.reason.status === 503)
    )
  )
}).pipe(Layer.provide(FetchHttpClient.layer))
