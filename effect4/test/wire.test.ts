import { assert, describe, it } from "@effect/vitest"
import { generateKeyPairSync } from "node:crypto"
import * as Base64 from "../src/internal/core/base64.js"
import * as Jwt from "../src/internal/core/jwt.js"
import * as Redact from "../src/internal/core/redact.js"
import * as Wire from "../src/internal/core/wire.js"

const samples = ["", "a", "ab", "abc", "wk_Secret-Key_0123456789", "clé ünïcødé 😀", "x".repeat(257)]

describe("core/base64", () => {
  it("base64, base64url and hex agree with Node's Buffer", () => {
    for (const text of samples) {
      const bytes = Base64.utf8(text)
      const buffer = Buffer.from(text)
      assert.strictEqual(Base64.base64(bytes), buffer.toString("base64"), text)
      assert.strictEqual(Base64.base64Url(bytes), buffer.toString("base64url"), text)
      assert.strictEqual(Base64.hex(bytes), buffer.toString("hex"), text)
      assert.deepStrictEqual(Base64.decodeBase64(buffer.toString("base64")), new Uint8Array(buffer), text)
      assert.deepStrictEqual(Base64.decodeBase64(buffer.toString("base64url")), new Uint8Array(buffer), text)
    }
    assert.isUndefined(Base64.decodeBase64("ab$d"))
    assert.isUndefined(Base64.decodeBase64("abcde"))
  })
})

describe("core/redact", () => {
  const secret = "wk_Secret-Key_0123456789"
  const redact = Redact.makeRedact([secret])

  it("replaces every echoed form, in any case, inside other text", () => {
    const forms = [
      secret,
      secret.toUpperCase(),
      Buffer.from(secret).toString("hex").toUpperCase(),
      Buffer.from(secret).toString("base64"),
      Buffer.from(secret).toString("base64").replace(/=+$/, ""),
      Buffer.from(secret + ":").toString("base64"),
      Buffer.from(secret).toString("base64url"),
      encodeURIComponent(secret),
      [...Buffer.from(secret)].map((b) => "%" + b.toString(16)).join("")
    ]
    for (const form of forms) {
      const out = redact(`before ${form} after`)
      assert.strictEqual(out, "before <redacted> after", form)
    }
  })

  it("finds the key inside a longer base64 text, at any byte offset", () => {
    for (const prefix of ["", "k", "ke", "key", "{\"writeKey\":\""]) {
      const encoded = Buffer.from(`${prefix}${secret}"}`).toString("base64")
      const out = redact(encoded)
      assert.include(out, "<redacted>", prefix)
      // What is left around the placeholder cannot hold more than a few bits of the key.
      assert.isAtMost(out.replace("<redacted>", "").length, encoded.length - 28, prefix)
    }
  })

  it("leaves other text alone; derived forms too short to be specific are skipped", () => {
    assert.strictEqual(redact("HTTP 400: bad request"), "HTTP 400: bad request")
    const short = Redact.makeRedact(["ab"])
    // "ab" itself is redacted, its hex "6162" is not (it would match any number)
    assert.strictEqual(short("ab 6162 AB"), "<redacted> 6162 <redacted>")
  })

  it("a Redactor keeps the permanent secrets and the latest short-lived ones", () => {
    const redactor = new Redact.Redactor([secret], 2)
    for (const token of ["token-aaaaaa", "token-bbbbbb", "token-cccccc"]) redactor.add(token)
    assert.strictEqual(
      redactor.redact(`${secret} token-aaaaaa token-bbbbbb TOKEN-CCCCCC`),
      "<redacted> token-aaaaaa <redacted> <redacted>"
    )
  })
})

const now = Date.parse("2030-01-01T00:00:00.000Z")

describe("core/wire", () => {
  it("Retry-After: seconds or an HTTP date, never negative", () => {
    assert.strictEqual(Wire.parseRetryAfter("3", now), 3000)
    assert.strictEqual(Wire.parseRetryAfter(" 1.5 ", now), 1500)
    assert.strictEqual(Wire.parseRetryAfter(new Date(now + 4000).toUTCString(), now), 4000)
    assert.strictEqual(Wire.parseRetryAfter(new Date(now - 4000).toUTCString(), now), 0)
    assert.strictEqual(Wire.parseRetryAfter("-3", now), 0)
    assert.isUndefined(Wire.parseRetryAfter("soon", now))
    assert.isUndefined(Wire.parseRetryAfter("1 2", now))
    assert.isUndefined(Wire.parseRetryAfter(undefined, now))
  })

  it("X-RateLimit-Reset: delay seconds, Unix seconds, Unix milliseconds, HTTP date", () => {
    assert.strictEqual(Wire.parseRateLimitReset("30", now), 30_000)
    assert.strictEqual(Wire.parseRateLimitReset(String(now / 1000 + 20), now), 20_000)
    assert.strictEqual(Wire.parseRateLimitReset(String(now + 2500), now), 2500)
    assert.strictEqual(Wire.parseRateLimitReset(String(now / 1000 - 20), now), 0)
    assert.strictEqual(Wire.parseRateLimitReset(new Date(now + 6000).toUTCString(), now), 6000)
    assert.isUndefined(Wire.parseRateLimitReset("", now))
  })

  it("retryAfterMillis: whichever header is given, the longer of both", () => {
    const headers = (h: Record<string, string>) => (name: string) => h[name]
    assert.strictEqual(Wire.retryAfterMillis(headers({ "retry-after": "2" }), now), 2000)
    assert.strictEqual(Wire.retryAfterMillis(headers({ "x-ratelimit-reset": "5" }), now), 5000)
    assert.strictEqual(Wire.retryAfterMillis(headers({ "retry-after": "9", "x-ratelimit-reset": "5" }), now), 9000)
    assert.isUndefined(Wire.retryAfterMillis(headers({}), now))
  })

  it("the body's size is known without assembling it", () => {
    const envelope = Wire.makeEnvelope("wk_é")
    const messages = [{ json: "{\"a\":\"€\"}", bytes: Buffer.byteLength("{\"a\":\"€\"}") }, { json: "{}", bytes: 2 }]
    const body = Wire.body(envelope, messages, "2030-01-01T00:00:00.000Z")
    assert.strictEqual(Buffer.byteLength(body), Wire.bodyBytes(envelope, messages))
    assert.deepStrictEqual(JSON.parse(body), { batch: [{ a: "€" }, {}], sentAt: "2030-01-01T00:00:00.000Z", writeKey: "wk_é" })
    assert.strictEqual(Wire.basicAuthorization("wk_é"), `Basic ${Buffer.from("wk_é:").toString("base64")}`)
  })
})

describe("core/jwt", () => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })

  it("PKCS#1 is wrapped into the PKCS#8 that Node itself exports", () => {
    const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem" }).toString()
    const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" })
    const parsed = Jwt.parsePrivateKeyPem(pkcs1)
    assert.strictEqual(parsed._tag, "Pkcs8")
    if (parsed._tag === "Pkcs8") assert.deepStrictEqual(Buffer.from(parsed.der), pkcs8)
  })

  it("claims: issuer and subject the client id, a lifetime under 60 seconds", () => {
    const claims = Jwt.assertionClaims({ clientId: "app", audience: "https://oauth2.segment.io", nowMillis: now, jti: "j" })
    assert.deepStrictEqual(claims, {
      iss: "app",
      sub: "app",
      aud: "https://oauth2.segment.io",
      iat: now / 1000 - 5,
      exp: now / 1000 + 50,
      jti: "j"
    })
  })

  it("token answers are checked", () => {
    assert.deepStrictEqual(Jwt.parseTokenAnswer("{\"access_token\":\"t\",\"expires_in\":86400}"), {
      _tag: "Token",
      accessToken: "t",
      expiresInSeconds: 86400
    })
    for (const text of ["", "[]", "{\"access_token\":\"\",\"expires_in\":1}", "{\"access_token\":\"t\"}", "{\"access_token\":\"t\",\"expires_in\":0}"]) {
      assert.strictEqual(Jwt.parseTokenAnswer(text)._tag, "Invalid", text)
    }
  })

  it("a token is refreshed at half its lifetime and used until shortly before it expires", () => {
    assert.deepStrictEqual(Jwt.tokenSchedule(0, 86400), { refreshAt: 43_200_000, usableUntil: 86_370_000 })
    assert.deepStrictEqual(Jwt.tokenSchedule(0, 60), { refreshAt: 30_000, usableUntil: 45_000 })
  })
})
