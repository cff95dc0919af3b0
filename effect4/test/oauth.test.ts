import { assert, describe, it } from "@effect/vitest"
import { type Config, ConfigProvider, Effect, Exit, Fiber, Option, Redacted, Result, Scope } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { generateKeyPairSync } from "node:crypto"
import { type AnalyticsError, HttpTransport, type Transport } from "../src/index.js"
import * as Encode from "../src/internal/encode.js"
import * as TestServer from "./support/httpServer.js"

// One RSA key pair for the whole file (generating one takes a while); the public key is the token
// server's, the private one the client's, as Segment's OAuth apps have them.
const keys = generateKeyPairSync("rsa", { modulusLength: 2048 })
const pkcs8 = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString()
const pkcs1 = keys.privateKey.export({ type: "pkcs1", format: "pem" }).toString()

const writeKey = "wk_oauth-source-key"
const clientId = "app-2b1f4e"
const keyId = "key-93c0"

const encoder = Encode.makeEncoder({ maxMessageBytes: 32_000, defaultContext: undefined, defaultIntegrations: undefined })
const batch = Effect.all([encoder("track", { userId: "u1", event: "Signed In", messageId: "m-1" })])

const now = Date.parse("2030-03-04T05:06:07.000Z")

const oauthOptions = (authServer: string, privateKey = pkcs8): HttpTransport.OAuthOptions => ({
  clientId,
  keyId,
  privateKey: Redacted.make(privateKey),
  authServer
})

/** A token server and collector on one local server, and a transport using them. */
const setup = (options: Partial<HttpTransport.Options> = {}) =>
  Effect.gen(function*() {
    const state = TestServer.makeOAuthState()
    const server = yield* TestServer.start(TestServer.oauth(state, keys.publicKey))
    const transport = yield* HttpTransport.make({
      writeKey: Redacted.make(writeKey),
      host: server.origin,
      oauth: oauthOptions(server.origin),
      ...options
    })
    const messages = yield* batch
    const send = (attempt = 0) => Effect.result(transport.send({ messages, attempt }))
    const collected = () => server.received.filter((r) => r.url === "/v1/batch")
    const bearers = () => collected().map((r) => r.headers["authorization"])
    return { state, server, transport, send, collected, bearers }
  })

const statusOf = (result: Result.Result<Transport.Delivery, AnalyticsError.TransportError>) =>
  Result.isSuccess(result) ? result.success.status : result.failure.reason._tag

for (const [clientName, client] of TestServer.clients) {
  describe(`OAuth against a local token server and collector (${clientName})`, () => {
    it.effect("the assertion: RS256 with kid, Segment's claims, expiry under 60 s, a verified signature", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const { collected, send, server, state } = yield* setup()
        assert.strictEqual(statusOf(yield* send()), 200)
        assert.strictEqual(state.assertions.length, 1)
        const received = state.assertions[0]!
        assert.isTrue(received.signatureValid, "the signature verifies with the public key")
        assert.deepStrictEqual(received.header, { alg: "RS256", typ: "JWT", kid: keyId })
        const claims = received.claims as Record<string, number | string>
        assert.strictEqual(claims["iss"], clientId)
        assert.strictEqual(claims["sub"], clientId)
        assert.strictEqual(claims["aud"], server.origin)
        assert.strictEqual(claims["iat"], now / 1000 - 5)
        assert.isBelow(Number(claims["exp"]) - Number(claims["iat"]), 60)
        assert.isAbove(Number(claims["exp"]), now / 1000)
        assert.match(String(claims["jti"]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        assert.deepStrictEqual(
          { ...received.form, client_assertion: "(checked above)" },
          {
            grant_type: "client_credentials",
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion: "(checked above)",
            scope: "tracking_api:write"
          }
        )
        const tokenRequest = server.received[0]!
        assert.strictEqual(tokenRequest.method, "POST")
        assert.strictEqual(tokenRequest.url, "/token")
        assert.strictEqual(tokenRequest.headers["content-type"], "application/x-www-form-urlencoded")
        // The batch: a bearer token instead of Basic auth, the write key still in the body.
        const [post] = collected()
        assert.strictEqual(post!.headers["authorization"], "Bearer token-1")
        assert.strictEqual(JSON.parse(post!.body.toString("utf8")).writeKey, writeKey)
      }).pipe(Effect.provide(client)))

    it.effect("each assertion is new: a fresh jti and iat on every token request", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const { send, state } = yield* setup()
        state.expiresIn = 60
        yield* send()
        yield* TestClock.adjust("61 seconds")
        yield* send()
        assert.strictEqual(state.assertions.length, 2)
        const [a, b] = state.assertions.map((x) => x.claims)
        assert.notStrictEqual(a!["jti"], b!["jti"])
        assert.strictEqual(Number(b!["iat"]) - Number(a!["iat"]), 61)
      }).pipe(Effect.provide(client)))

    it.effect("one token shared by concurrent senders: a single token request", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const { bearers, send, state } = yield* setup()
        const results = yield* Effect.all(Array.from({ length: 8 }, () => send()), { concurrency: "unbounded" })
        assert.deepStrictEqual(results.map(statusOf), Array(8).fill(200))
        assert.strictEqual(state.assertions.length, 1)
        assert.deepStrictEqual(bearers(), Array(8).fill("Bearer token-1"))
      }).pipe(Effect.provide(client)))

    it.effect("refreshed before it expires, on the Clock: at half its lifetime, without a gap", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const { bearers, send, state } = yield* setup()
        // tokens live one hour
        yield* send()
        yield* TestClock.adjust("1799 seconds")
        yield* send()
        assert.strictEqual(state.assertions.length, 1, "no refresh before half the lifetime")
        // Half-life: this send still uses token-1 and starts the refresh, in the background.
        yield* TestClock.adjust("1 second")
        yield* send()
        assert.deepStrictEqual(bearers(), ["Bearer token-1", "Bearer token-1", "Bearer token-1"])
        // The refresh's token request is real I/O: until it has landed, sends at this moment still use
        // token-1, then token-2. The clock stays put meanwhile (moving it past the token request's
        // timeout would fail that request, as it should).
        for (let i = 0; i < 400 && bearers().at(-1) !== "Bearer token-2"; i++) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
          yield* send()
        }
        const sent = bearers()
        assert.strictEqual(sent.at(-1), "Bearer token-2")
        assert.isTrue(sent.slice(0, -1).every((b) => b === "Bearer token-1"), "no gap, no other token")
        assert.strictEqual(state.assertions.length, 2)
        // The refresh was asked for at half-life, well before the first token expired.
        assert.strictEqual(state.assertions[1]!.claims["iat"], (now + 1800_000) / 1000 - 5)
        // Past the old token's last usable moment (30 s before it expires), only the new one is used,
        // with no other token request.
        yield* TestClock.adjust("1771 seconds")
        yield* send()
        assert.strictEqual(bearers().at(-1), "Bearer token-2")
        assert.strictEqual(state.assertions.length, 2)
      }).pipe(Effect.provide(client)))

    it.effect("a revoked token: the 401 is answered by one refresh and the batch is delivered", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const { bearers, collected, send, state } = yield* setup()
        assert.strictEqual(statusOf(yield* send()), 200)
        state.revoked.add("token-1")
        const result = yield* send(1)
        assert.strictEqual(statusOf(result), 200)
        assert.deepStrictEqual(bearers(), ["Bearer token-1", "Bearer token-1", "Bearer token-2"])
        assert.strictEqual(state.assertions.length, 2)
        // From then on, token-2.
        assert.strictEqual(statusOf(yield* send()), 200)
        assert.strictEqual(bearers()[3], "Bearer token-2")
        // The POST after the refresh is the same attempt of the batch.
        assert.deepStrictEqual(collected().map((r) => r.headers["x-retry-count"]), [undefined, "1", "1", undefined])
      }).pipe(Effect.provide(client)))

    it.effect("a collector refusing every token: one refresh, then a typed 401 failure", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const { bearers, send, state } = yield* setup()
        state.refuseAllTokens = true
        const result = yield* send()
        assert.isTrue(Result.isFailure(result))
        if (Result.isFailure(result)) {
          assert.strictEqual(result.failure.reason._tag, "Status")
          if (result.failure.reason._tag === "Status") assert.strictEqual(result.failure.reason.status, 401)
        }
        assert.deepStrictEqual(bearers(), ["Bearer token-1", "Bearer token-2"])
        assert.strictEqual(state.assertions.length, 2)
      }).pipe(Effect.provide(client)))

    it.effect("concurrent senders refused with the same revoked token share one refresh", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const { bearers, send, state } = yield* setup()
        yield* send()
        state.revoked.add("token-1")
        const results = yield* Effect.all(Array.from({ length: 6 }, () => send()), { concurrency: "unbounded" })
        assert.deepStrictEqual(results.map(statusOf), Array(6).fill(200))
        assert.strictEqual(state.assertions.length, 2)
        assert.deepStrictEqual(bearers().filter((b) => b === "Bearer token-2").length, 6)
      }).pipe(Effect.provide(client)))

    it.effect("the token server refuses the assertion: an OAuth reason with its status, redacted", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const { collected, send, state } = yield* setup()
        state.refuse = {
          status: 400,
          body: (assertion) => JSON.stringify({ error: "invalid_grant", echo: assertion, again: assertion.toUpperCase() })
        }
        const result = yield* send()
        assert.isTrue(Result.isFailure(result))
        if (Result.isFailure(result)) {
          const reason = result.failure.reason
          assert.strictEqual(reason._tag, "OAuth")
          if (reason._tag === "OAuth") {
            assert.strictEqual(reason.status, 400)
            assert.include(reason.description, "invalid_grant")
            assert.include(reason.description, "<redacted>")
          }
          const assertion = state.assertions[0]!.assertion
          for (const text of [result.failure.message, JSON.stringify(result.failure)]) {
            assert.notInclude(text.toLowerCase(), assertion.slice(0, 40).toLowerCase())
          }
        }
        assert.strictEqual(collected().length, 0, "nothing is sent without a token")
      }).pipe(Effect.provide(client)))

    it.effect("a collector echoing the bearer token in any form: redacted", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const { send, server } = yield* setup()
        const handler = TestServer.oauth(TestServer.makeOAuthState(), keys.publicKey)
        for (const [formName, form] of Object.entries(TestServer.echoForms)) {
          const echo = TestServer.echo(400, form, TestServer.echoBearer)
          server.setHandler((request, res) => request.url === "/token" ? handler(request, res) : echo(request, res))
          const result = yield* send()
          assert.isTrue(Result.isFailure(result), formName)
          if (Result.isFailure(result)) {
            const text = JSON.stringify(result.failure).toLowerCase() + result.failure.message.toLowerCase()
            assert.include(text, "<redacted>", formName)
            assert.notInclude(text, form("token-1").toLowerCase(), formName)
          }
        }
      }).pipe(Effect.provide(client)))

    it.effect("a token server that cannot be reached: an OAuth reason without status", () =>
      Effect.gen(function*() {
        const port = yield* TestServer.closedPort
        const { send } = yield* setup({ oauth: oauthOptions(`http://127.0.0.1:${port}`) })
        const result = yield* send()
        assert.isTrue(Result.isFailure(result) && result.failure.reason._tag === "OAuth" && result.failure.reason.status === undefined)
      }).pipe(Effect.provide(client)))

    it.effect("a PKCS#1 key (BEGIN RSA PRIVATE KEY), with \\n escapes as in an environment variable", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const state = TestServer.makeOAuthState()
        const server = yield* TestServer.start(TestServer.oauth(state, keys.publicKey))
        const transport = yield* HttpTransport.make({
          writeKey: Redacted.make(writeKey),
          host: server.origin,
          oauth: oauthOptions(server.origin, pkcs1.replace(/\n/g, "\\n"))
        })
        const result = yield* Effect.result(transport.send({ messages: yield* batch, attempt: 0 }))
        assert.strictEqual(statusOf(result), 200)
        assert.isTrue(state.assertions[0]!.signatureValid)
      }).pipe(Effect.provide(client)))

    it.effect("region eu: the EU token server and host; explicit authServer and host win", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const state = TestServer.makeOAuthState()
        const server = yield* TestServer.start(TestServer.oauth(state, keys.publicKey))
        const origins: Array<string> = []
        const rerouted = TestServer.reroutedClients.find(([name]) => name === clientName)![1](server, origins)
        const messages = yield* batch
        const sendWith = (options: Partial<HttpTransport.Options>) =>
          HttpTransport.make({
            writeKey: Redacted.make(writeKey),
            oauth: { clientId, keyId, privateKey: Redacted.make(pkcs8) },
            ...options
          }).pipe(Effect.flatMap((t) => t.send({ messages, attempt: 0 })), Effect.provide(rerouted))
        yield* sendWith({ region: "eu" })
        yield* sendWith({})
        yield* sendWith({
          region: "eu",
          host: "https://collector.internal",
          oauth: { clientId, keyId, privateKey: Redacted.make(pkcs8), authServer: "https://auth.internal/" }
        })
        assert.deepStrictEqual(origins, [
          "https://oauth2.eu1.segmentapis.com",
          "https://events.eu1.segmentapis.com",
          "https://oauth2.segment.io",
          "https://api.segment.io",
          "https://auth.internal",
          "https://collector.internal"
        ])
        assert.deepStrictEqual(state.assertions.map((a) => a.claims["aud"]), [
          "https://oauth2.eu1.segmentapis.com",
          "https://oauth2.segment.io",
          "https://auth.internal"
        ])
      }))
  })
}

describe("OAuth options", () => {
  const invalid = (oauth: Partial<HttpTransport.OAuthOptions>) =>
    HttpTransport.make({
      writeKey: Redacted.make(writeKey),
      oauth: { clientId, keyId, privateKey: Redacted.make(pkcs8), ...oauth }
    }).pipe(Effect.flip, Effect.provide(FetchHttpClient.layer))

  it.effect("a key that cannot be imported fails the layer with InvalidOptions, never quoting it", () =>
    Effect.gen(function*() {
      const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" })
        .toString()
      const encrypted = keys.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "p" })
        .toString()
      const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" })
        .toString()
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["not a key", "PEM private key"],
        [pkcs8.replace(/[A-Za-z0-9+/]{64}\n/, "!!!!\n"), "malformed"],
        [encrypted, "encrypted"],
        [small, "2048 bits"],
        [ec, "RSA private key"],
        [keys.publicKey.export({ type: "spki", format: "pem" }).toString(), "not an RSA private key"]
      ]
      for (const [pem, expected] of cases) {
        const error = yield* invalid({ privateKey: Redacted.make(pem) })
        assert.strictEqual(error._tag, "InvalidOptions")
        assert.strictEqual(error.option, "oauth")
        assert.deepStrictEqual(error.path, ["privateKey"])
        assert.include(error.message, expected)
        if (pem.length > 80) assert.notInclude(JSON.stringify(error) + error.message, pem.slice(40, 80))
      }
    }))

  it.effect("from Config: none, all three, or a ConfigError naming the missing one; ANALYTICS_REGION", () =>
    Effect.gen(function*() {
      // Flat environment names: ConfigProvider.fromEnv (ConfigProvider.fromMap is gone).
      const read = <A>(config: Config.Config<A>, entries: ReadonlyArray<readonly [string, string]>) =>
        Effect.result(
          Effect.provideService(
            config,
            ConfigProvider.ConfigProvider,
            ConfigProvider.fromEnv({ env: Object.fromEntries(entries) })
          )
        )
      assert.deepStrictEqual(yield* read(HttpTransport.oauthConfig, []), Result.succeed(undefined))
      const full = yield* read(HttpTransport.oauthConfig, [
        ["ANALYTICS_OAUTH_CLIENT_ID", clientId],
        ["ANALYTICS_OAUTH_KEY_ID", keyId],
        ["ANALYTICS_OAUTH_PRIVATE_KEY", pkcs8.replace(/\n/g, "\\n")],
        ["ANALYTICS_OAUTH_SCOPE", "tracking_api:write"]
      ])
      assert.isTrue(Result.isSuccess(full))
      if (Result.isSuccess(full)) {
        assert.strictEqual(full.success?.clientId, clientId)
        assert.isTrue(Redacted.isRedacted(full.success?.privateKey))
        assert.isUndefined(full.success?.authServer)
      }
      const partial = yield* read(HttpTransport.oauthConfig, [["ANALYTICS_OAUTH_CLIENT_ID", clientId]])
      assert.isTrue(Result.isFailure(partial) && String(partial.failure).includes("ANALYTICS_OAUTH_KEY_ID"))
      const orphan = yield* read(HttpTransport.oauthConfig, [["ANALYTICS_OAUTH_PRIVATE_KEY", pkcs8]])
      assert.isTrue(Result.isFailure(orphan) && String(orphan.failure).includes("ANALYTICS_OAUTH_CLIENT_ID"))
      const eu = yield* read(HttpTransport.regionConfig, [["ANALYTICS_REGION", "eu"]])
      assert.isTrue(Result.isSuccess(eu) && eu.success === "eu")
      const region = yield* read(HttpTransport.regionConfig, [["ANALYTICS_REGION", "europe"]])
      assert.isTrue(Result.isFailure(region) && String(region.failure).includes("ANALYTICS_REGION"))
    }))

  it.effect("empty ids and a token server that is not an http(s) URL", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual((yield* invalid({ clientId: "" })).path, ["clientId"])
      assert.deepStrictEqual((yield* invalid({ keyId: " " })).path, ["keyId"])
      assert.deepStrictEqual((yield* invalid({ authServer: "oauth2.segment.io" })).path, ["authServer"])
      assert.deepStrictEqual((yield* invalid({ scope: "" })).path, ["scope"])
    }))

  it.effect("a token request interrupted by its sender still completes for the others", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now)
      const state = TestServer.makeOAuthState()
      const handler = TestServer.oauth(state, keys.publicKey)
      let release: (() => void) | undefined
      const server = yield* TestServer.start((request, res) => {
        // The first token request waits until the test lets it go.
        if (request.url === "/token" && state.assertions.length === 0 && release === undefined) {
          release = () => handler(request, res)
          return
        }
        handler(request, res)
      })
      const transport = yield* HttpTransport.make({
        writeKey: Redacted.make(writeKey),
        host: server.origin,
        oauth: oauthOptions(server.origin)
      })
      const messages = yield* batch
      const first = yield* Effect.forkChild(transport.send({ messages, attempt: 0 }))
      while (release === undefined) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
      const second = yield* Effect.forkChild(transport.send({ messages, attempt: 0 }))
      yield* Fiber.interrupt(first)
      release()
      const delivered = yield* Fiber.join(second)
      assert.strictEqual(delivered.status, 200)
      assert.strictEqual(state.assertions.length, 1)
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  // Effect 4 starts a forked fiber interruptible, even from an uninterruptible region, and a fiber
  // interrupted before its first step never runs its `onExit`: the refresh must start uninterruptible
  // (and make only the token request interruptible), or a transport closed right after a sender started
  // a refresh leaves that refresh unsettled, and its senders waiting for it forever.
  it.live("a transport closed before its refresh has started: the refresh settles, its sender ends", () =>
    Effect.gen(function*() {
      const state = TestServer.makeOAuthState()
      const server = yield* TestServer.start(TestServer.oauth(state, keys.publicKey))
      const transportScope = yield* Scope.make()
      const transport = yield* HttpTransport.make({
        writeKey: Redacted.make(writeKey),
        host: server.origin,
        oauth: oauthOptions(server.origin)
      }).pipe(Scope.provide(transportScope))
      const messages = yield* batch
      // Runs at once up to its wait for the refresh it started; the refresh itself is only scheduled,
      // and the scope closes before it takes a step.
      const sender = yield* Effect.forkChild(transport.send({ messages, attempt: 0 }), { startImmediately: true })
      yield* Scope.close(transportScope, Exit.void)
      const exit = yield* Effect.timeoutOption(Fiber.await(sender), "5 seconds")
      assert.isTrue(Option.isSome(exit), "the sender still waits for a refresh that will never settle")
      if (Option.isSome(exit)) assert.isTrue(Exit.hasInterrupts(exit.value), "closing the transport ends the send")
      // A send after the close does not wait either.
      const late = yield* Effect.timeoutOption(Effect.exit(transport.send({ messages, attempt: 0 })), "5 seconds")
      assert.isTrue(Option.isSome(late), "a send on a closed transport waits forever")
      if (Option.isSome(late)) assert.isTrue(Exit.hasInterrupts(late.value))
      assert.deepStrictEqual(server.received.filter((r) => r.url === "/v1/batch"), [])
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})
