import { Config, Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import { Analytics } from "../../src/index.js"

// OAuth 2 for the Tracking API: requests carry `Authorization: Bearer <token>` instead of the write key
// (which still goes in the body). The ids come from the OAuth app in Segment's Access Management; the
// private key matches the public key uploaded there.
export const WithOAuth = Analytics.layer({
  writeKey: "YOUR_WRITE_KEY",
  region: "eu", // the token server follows the region: https://oauth2.eu1.segmentapis.com
  oauth: {
    clientId: "YOUR_OAUTH_APP_ID",
    keyId: "YOUR_KEY_ID",
    privateKey: Redacted.make("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n")
  }
}).pipe(Layer.provide(FetchHttpClient.layer))

// The same from the environment: ANALYTICS_OAUTH_CLIENT_ID, ANALYTICS_OAUTH_KEY_ID and
// ANALYTICS_OAUTH_PRIVATE_KEY (read as a secret; `\n` escapes are accepted), optionally
// ANALYTICS_OAUTH_AUTH_SERVER and ANALYTICS_OAUTH_SCOPE.
export const WithOAuthFromEnvironment = Analytics.AnalyticsLayer.pipe(Layer.provide(FetchHttpClient.layer))

// A key kept elsewhere (a secrets manager, a file): any Config of a Redacted string.
export const WithKeyFromConfig = Analytics.layerConfig(
  Config.all({ options: Analytics.config, key: Config.Redacted("SEGMENT_OAUTH_KEY") }).pipe(
    Config.map(({ key, options }) => ({
      ...options,
      oauth: { clientId: "YOUR_OAUTH_APP_ID", keyId: "YOUR_KEY_ID", privateKey: key }
    }))
  )
).pipe(Layer.provide(FetchHttpClient.layer))
