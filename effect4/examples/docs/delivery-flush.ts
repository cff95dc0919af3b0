import { Effect } from "effect"
import { Analytics } from "../../src/index.js"

// `flush` sends everything accepted so far and completes when each of those messages has its
// outcome, retries included. Bound it if a slow collector must not hold the caller up.
export const checkpoint = Analytics.flush.pipe(
  Effect.timeout("5 seconds"),
  Effect.catchTag("TimeoutError", () => Effect.logWarning("analytics still delivering; carrying on"))
)
