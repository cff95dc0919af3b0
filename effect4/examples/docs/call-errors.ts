import { Effect } from "effect"
import { Analytics } from "../../src/index.js"

// A call fails only when its message cannot be accepted. Delivery problems never fail the call:
// they are reported as outcomes (see the delivery guide).
export const trackCheckout = (userId: string, cart: ReadonlyArray<{ sku: string; price: number }>) =>
  Analytics.track({ userId, event: "Checkout Started", properties: { cart } }).pipe(
    Effect.catchTags({
      // A field breaks the Segment spec or cannot be sent as JSON; `error.field` says which one.
      InvalidMessage: (error) => Effect.logWarning(`not tracked: ${error.message}`),
      // The message's JSON is over `maxMessageBytes` (32,000 bytes by default).
      MessageTooLarge: (error) => Effect.logWarning(`not tracked: ${error.size} > ${error.limit} bytes`),
      // The Analytics layer's scope has closed: the application is shutting down.
      ClientClosed: () => Effect.void
    }),
    Effect.asVoid
  )
