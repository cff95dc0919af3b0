import { Effect, Match } from "effect"
import { Analytics, AnalyticsError } from "../../src/index.js"

// The error channel of a call is `CallError`: InvalidMessage | MessageTooLarge | ClientClosed.
export const track = (input: Parameters<typeof Analytics.track>[0]) =>
  Analytics.track(input).pipe(
    Effect.catchTags({
      InvalidMessage: (error) =>
        // error.path: ["properties", "items", 2, "price"]; error.field: "properties.items[2].price"
        Effect.logWarning(`invalid ${error.messageType} at ${error.field}: ${error.reason}`),
      MessageTooLarge: (error) =>
        Effect.logWarning(`${error.messageType} ${error.messageId}: ${error.size} bytes > ${error.limit}`),
      ClientClosed: () => Effect.void
    }),
    Effect.asVoid
  )

// A TransportError arrives inside a Failed outcome. Its `reason` says what went wrong.
export const explain = (error: AnalyticsError.TransportError): string =>
  Match.value(error.reason).pipe(
    Match.tag("Status", (reason) =>
      reason.status === 401 || reason.status === 403
        ? "the write key was refused: check ANALYTICS_WRITE_KEY"
        : reason.location !== undefined
        ? `the collector moved to ${reason.location}: check host and region (redirects are not followed)`
        : `the collector answered HTTP ${reason.status}${reason.body ? `: ${reason.body}` : ""}`),
    Match.tag("Network", (reason) => `could not reach the collector: ${reason.description}`),
    Match.tag("Timeout", (reason) => `no answer within ${reason.timeoutMillis} ms`),
    Match.tag("Encode", (reason) => `could not compress the request: ${reason.description}`),
    Match.tag("OAuth", (reason) => `no OAuth access token: ${reason.description}`),
    Match.exhaustive
  )
