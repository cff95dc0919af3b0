import { Effect } from "effect"
import { Analytics } from "../../src/index.js"

export interface NewUser {
  readonly id: string
  readonly email: string
  readonly plan: "Free" | "Pro"
}

// Application code: it needs the Analytics service, and does not care which client provides it.
export const signUp = Effect.fn("signUp")(function*(user: NewUser) {
  // ... create the account ...
  yield* Analytics.identify({ userId: user.id, traits: { email: user.email, plan: user.plan } })
  yield* Analytics.track({ userId: user.id, event: "Signed Up", properties: { plan: user.plan } })
})
