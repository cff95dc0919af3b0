import { Effect } from "effect"
import { Analytics } from "../../src/index.js"

export const calls = Effect.gen(function*() {
  // identify: who the user is. A userId or an anonymousId is required (the types enforce it).
  yield* Analytics.identify({
    userId: "019mr8mf4r",
    traits: { name: "Michael Bolton", email: "mbolton@example.com", plan: "Enterprise", friends: 42 }
  })

  // track: what they did. `event` is required and must not be empty.
  yield* Analytics.track({ userId: "f4ca124298", event: "Signed Up", properties: { plan: "Enterprise" } })

  // page and screen: a page view on a website, a screen view in an app.
  yield* Analytics.page({
    userId: "f4ca124298",
    category: "Docs",
    name: "Go library",
    properties: { url: "https://segment.com/libraries/go/" }
  })
  yield* Analytics.screen({ anonymousId: "a-7d1f", name: "Settings" })

  // group: ties the user to a company, account or team. `groupId` is required.
  yield* Analytics.group({
    userId: "019mr8mf4r",
    groupId: "56",
    traits: { name: "Initech", description: "Accounting Software" }
  })

  // alias: the anonymous visitor who just signed up is this user.
  yield* Analytics.alias({ previousId: "a-7d1f", userId: "019mr8mf4r" })

  // Selecting destinations: only Mixpanel receives this one (names are case-sensitive).
  yield* Analytics.track({
    userId: "019mr8mf4r",
    event: "Membership Upgraded",
    integrations: { All: false, Mixpanel: true }
  })

  // A historical import: a past timestamp (a Date, or an ISO-8601 date-time with a zone), sent in UTC.
  yield* Analytics.track({
    userId: "019mr8mf4r",
    event: "Item Viewed",
    properties: { item: "lamp" },
    timestamp: new Date("2024-02-29T13:45:00.000Z")
  })
})
