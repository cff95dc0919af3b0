/**
 * The command line's plain-TypeScript core (shared by every edition): line splitting, UTF-8, escaping,
 * deterministic ids, the ledger behind the failures file, the progress line and the help pages.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Crypto from "node:crypto"
import { classify, help as rootHelp } from "../src/internal/cli/main.js"
import * as Help from "../src/internal/cli/help.js"
import { help as importHelp } from "../src/internal/cli/import.js"
import { help as sendHelp } from "../src/internal/cli/send.js"
import { jsonDepth } from "../src/internal/core/jsonDepth.js"
import { Ledger } from "../src/internal/core/ledger.js"
import { defaultNamespace, formatUuidV5, lineMessageId, namespaceOf, parseUuid, type Sha1, uuidV5 } from "../src/internal/core/lineIds.js"
import { decodeLine, invalidUtf8Offset, LineSplitter } from "../src/internal/core/lines.js"
import * as Ndjson from "../src/internal/core/ndjson.js"
import * as Progress from "../src/internal/core/progress.js"
import { escapeForTerminal, shellQuote, terminalSafeJson } from "../src/internal/core/text.js"

const utf8 = (text: string) => new TextEncoder().encode(text)

type Got = Array<{ line: number; text: string } | { line: number; tooLong: number }>

/** Feeds `chunks` to a splitter and lists what came out. */
const split = (chunks: ReadonlyArray<string | Uint8Array>, max = 1_000): Got => {
  const got: Got = []
  const splitter = new LineSplitter(max)
  const sink = {
    line: (line: number, bytes: Uint8Array) => got.push({ line, text: new TextDecoder().decode(bytes) }),
    tooLong: (line: number, length: number) => got.push({ line, tooLong: length })
  }
  for (const chunk of chunks) splitter.push(typeof chunk === "string" ? utf8(chunk) : chunk, sink)
  splitter.end(sink)
  return got
}

const sha1: Sha1 = (parts) => {
  const hash = Crypto.createHash("sha1")
  for (const part of parts) hash.update(part)
  return hash.digest()
}

describe("LineSplitter", () => {
  it("ends lines at LF, CRLF and a lone CR, numbering them as an editor does", () => {
    assert.deepStrictEqual(split(["a\nb\r\nc\rd"]), [
      { line: 1, text: "a" },
      { line: 2, text: "b" },
      { line: 3, text: "c" },
      { line: 4, text: "d" }
    ])
    // A file ending with a line break has no empty last line; blank lines are lines.
    assert.deepStrictEqual(split(["a\n\nb\n"]), [{ line: 1, text: "a" }, { line: 2, text: "" }, { line: 3, text: "b" }])
    // CR-only files (old Mac) are many lines, not one.
    assert.strictEqual(split(["1\r2\r3\r"]).length, 3)
  })

  it("keeps a CRLF split across two chunks as one line break, and joins lines split across chunks", () => {
    assert.deepStrictEqual(split(["ab\r", "\ncd"]), [{ line: 1, text: "ab" }, { line: 2, text: "cd" }])
    assert.deepStrictEqual(split(["ab\r", "cd"]), [{ line: 1, text: "ab" }, { line: 2, text: "cd" }])
    assert.deepStrictEqual(split(["{\"a\":", "1", "}\n{", "}"]), [{ line: 1, text: "{\"a\":1}" }, { line: 2, text: "{}" }])
    // Every way of cutting a text into two chunks gives the same lines.
    const text = "one\r\ntwo\rthree\n\r\nfour"
    const whole = split([text])
    for (let cut = 0; cut <= text.length; cut++) assert.deepStrictEqual(split([text.slice(0, cut), text.slice(cut)]), whole)
  })

  it("skips a line over the cap as it streams by, reporting its full length, and goes on", () => {
    const got = split(["short\n", "x".repeat(600), "x".repeat(600), "x".repeat(600), "\nafter\n"], 1_000)
    assert.deepStrictEqual(got, [{ line: 1, text: "short" }, { line: 2, tooLong: 1_800 }, { line: 3, text: "after" }])
    // Exactly at the cap is a line; one byte more is not.
    assert.deepStrictEqual(split(["x".repeat(10) + "\n" + "y".repeat(11)], 10), [
      { line: 1, text: "x".repeat(10) },
      { line: 2, tooLong: 11 }
    ])
  })

  it("holds at most the cap in memory for a long line (its pieces are not kept once it is over)", () => {
    const splitter = new LineSplitter(1_000)
    let tooLong = 0
    const sink = { line: () => undefined, tooLong: (_: number, n: number) => void (tooLong = n) }
    const piece = new Uint8Array(64 * 1024).fill(120)
    for (let i = 0; i < 200; i++) splitter.push(piece, sink) // 13 MB of one line
    assert.deepStrictEqual((splitter as unknown as { held: Array<unknown> }).held, [])
    splitter.end(sink)
    assert.strictEqual(tooLong, 200 * 64 * 1024)
  })
})

describe("UTF-8", () => {
  it("decodes valid UTF-8, drops a BOM on line 1, and refuses invalid sequences with their offset", () => {
    assert.deepStrictEqual(decodeLine(utf8("café ✓ 😀"), 2), { _tag: "Text", text: "café ✓ 😀" })
    assert.deepStrictEqual(decodeLine(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d), 1), { _tag: "Text", text: "{}" })
    // Latin-1 "café": é is a lone 0xe9.
    const latin1 = decodeLine(Uint8Array.of(0x63, 0x61, 0x66, 0xe9), 3)
    assert.deepStrictEqual(latin1, { _tag: "InvalidUtf8", offset: 3, text: "caf\ufffd" })
  })

  it("finds overlong forms, surrogates, truncated sequences and code points past U+10FFFF", () => {
    assert.strictEqual(invalidUtf8Offset(utf8("plain ascii")), -1)
    assert.strictEqual(invalidUtf8Offset(Uint8Array.of(0x41, 0xc0, 0x80)), 1) // overlong NUL
    assert.strictEqual(invalidUtf8Offset(Uint8Array.of(0xed, 0xa0, 0x80)), 0) // U+D800
    assert.strictEqual(invalidUtf8Offset(Uint8Array.of(0x41, 0x42, 0xe2, 0x82)), 2) // truncated €
    assert.strictEqual(invalidUtf8Offset(Uint8Array.of(0xf4, 0x90, 0x80, 0x80)), 0) // U+110000
    assert.strictEqual(invalidUtf8Offset(Uint8Array.of(0xe0, 0x80, 0xaf)), 0) // overlong
    assert.strictEqual(invalidUtf8Offset(utf8("€😀")), -1)
  })
})

describe("escaping", () => {
  it("makes terminal control sequences, C1 controls, bidi overrides and lone surrogates visible", () => {
    assert.strictEqual(escapeForTerminal("\x1b[2J\x1b[8mhidden"), "\\x1b[2J\\x1b[8mhidden")
    assert.strictEqual(escapeForTerminal("a\u009bb\u202ec\ud800d\u0000"), "a\\x9bb\\u202ec\\ud800d\\x00")
    assert.strictEqual(escapeForTerminal("tab\there\nnew"), "tab\\there\\nnew")
    assert.strictEqual(escapeForTerminal("ok 😀 café"), "ok 😀 café")
    const long = escapeForTerminal("x".repeat(1_000), 10)
    assert.strictEqual(long, "xxxxxxxxxx… (990 more characters)")
  })

  it("writes JSON a terminal can show, with the same value", () => {
    const value = { s: "\u009b31m \u202e \u2028 \x7f ok" }
    const safe = terminalSafeJson(JSON.stringify(value))
    assert.notMatch(safe, /[\u007f-\u009f\u2028\u202e]/)
    assert.deepStrictEqual(JSON.parse(safe), value)
  })

  it("quotes shell arguments so that the printed command can be pasted as is", () => {
    assert.strictEqual(shellQuote("events.ndjson"), "events.ndjson")
    assert.strictEqual(shellQuote("my events.ndjson"), "'my events.ndjson'")
    assert.strictEqual(shellQuote("it's"), "'it'\\''s'")
    assert.strictEqual(shellQuote("a\x1bb"), "$'a\\x1bb'")
  })
})

describe("deterministic messageIds", () => {
  it("are UUID v5 (RFC 9562 test vector: www.example.com in the DNS namespace)", () => {
    const dns = parseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8")!
    assert.strictEqual(uuidV5(sha1, dns, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2")
    assert.match(formatUuidV5(new Uint8Array(20).fill(255)), /^ffffffff-ffff-5fff-bfff-ffffffffffff$/)
  })

  it("depend on the namespace, the position and the bytes, and on nothing else", () => {
    const ns = namespaceOf(sha1, defaultNamespace)
    const line = utf8("{\"type\":\"track\",\"userId\":\"u1\",\"event\":\"E\"}")
    const id = lineMessageId(sha1, ns, 7, line)
    assert.strictEqual(lineMessageId(sha1, ns, 7, line.slice()), id)
    // The text, as UTF-8, names the same id as the bytes.
    assert.strictEqual(lineMessageId(sha1, ns, 7, new TextDecoder().decode(line)), id)
    assert.strictEqual(lineMessageId(sha1, ns, 3, utf8("café ✓")), lineMessageId(sha1, ns, 3, "café ✓"))
    assert.notStrictEqual(lineMessageId(sha1, ns, 8, line), id)
    assert.notStrictEqual(lineMessageId(sha1, ns, 7, utf8("{\"type\":\"track\",\"userId\":\"u2\",\"event\":\"E\"}")), id)
    const other = namespaceOf(sha1, "orders-2024")
    assert.notStrictEqual(lineMessageId(sha1, other, 7, line), id)
    // A UUID names itself; any other text names a namespace derived from it, the same every time.
    assert.deepStrictEqual(namespaceOf(sha1, defaultNamespace), parseUuid(defaultNamespace))
    assert.deepStrictEqual(namespaceOf(sha1, "orders-2024"), other)
    assert.isBelow(id.length, 100)
  })
})

describe("Ledger", () => {
  it("releases failures in line order, each once no open line comes before it", () => {
    const ledger = new Ledger()
    ledger.opened(1, "a", "{\"n\":1}", undefined)
    ledger.opened(2, "b", "{\"n\":2}", undefined)
    ledger.fail({ line: 3, reason: "invalid", text: "x", raw: true, generatedId: undefined })
    ledger.opened(4, "c", "{\"n\":4}", "gen-c")
    // Outcomes in another order than the lines: 4 fails first, then 2, then 1 is delivered.
    ledger.settle("c", "failed: 500")
    assert.deepStrictEqual(ledger.release(5), [])
    ledger.settle("b", "failed: 500")
    assert.deepStrictEqual(ledger.release(5), [])
    assert.strictEqual(ledger.firstOpenLine, 1)
    ledger.settle("a", undefined)
    assert.deepStrictEqual(ledger.release(5).map((f) => f.line), [2, 3, 4])
    assert.strictEqual(ledger.openLines, 0)
    assert.strictEqual(ledger.firstOpenLine, undefined)
  })

  it("does not release a failure past lines not read yet, and keeps repeated messageIds apart", () => {
    const ledger = new Ledger()
    ledger.fail({ line: 9, reason: "r", text: "x", raw: true, generatedId: undefined })
    assert.deepStrictEqual(ledger.release(9), [])
    assert.strictEqual(ledger.release(10).length, 1)
    const first = ledger.opened(10, "dup", "{}", undefined)
    ledger.opened(11, "dup", "{}", undefined)
    ledger.refused(first, "InvalidMessage")
    assert.strictEqual(ledger.settle("dup", undefined)?.line, 11)
    assert.strictEqual(ledger.settle("dup", undefined), undefined)
    assert.deepStrictEqual(ledger.release(Number.POSITIVE_INFINITY).map((f) => [f.line, f.reason]), [[10, "InvalidMessage"]])
  })
})

describe("NDJSON lines", () => {
  it("strips Segment-only fields, maps originalTimestamp, unwraps failures-file lines", () => {
    const parsed = Ndjson.parseLine(JSON.stringify({
      type: "track",
      userId: "u",
      event: "E",
      originalTimestamp: "2020-01-01T00:00:00.000Z",
      sentAt: "x",
      receivedAt: "x",
      channel: "server",
      version: 2,
      writeKey: "secret",
      _metadata: {}
    }))
    assert.strictEqual(parsed._tag, "Message")
    if (parsed._tag !== "Message") return
    assert.deepStrictEqual(parsed.message, { type: "track", userId: "u", event: "E", timestamp: "2020-01-01T00:00:00.000Z" })

    const failure = { line: 7, reason: "failed: x", text: "{\"type\":\"alias\",\"userId\":\"u\",\"previousId\":\"p\",\"messageId\":\"m\"}", raw: false, generatedId: undefined }
    const wrapped = Ndjson.parseLine(Ndjson.failureLine(failure))
    assert.strictEqual(wrapped._tag === "Message" ? wrapped.messageId : undefined, "m")
    const raw = Ndjson.parseLine(Ndjson.failureLine({ ...failure, text: "{nope", raw: true }))
    assert.deepInclude(raw, { _tag: "Invalid", text: "{nope", raw: true })
    assert.deepInclude(Ndjson.parseLine("[1]"), { _tag: "Invalid", reason: "expected a JSON object" })
    assert.deepInclude(Ndjson.parseLine("{\"type\":\"purchase\"}"), { _tag: "Invalid" })
    assert.deepStrictEqual(Ndjson.parseLine("   "), { _tag: "Blank" })
    assert.isFalse(Ndjson.isFailureRecord({ line: 1, message: "m", type: "track" }))
  })

  it("keeps a __proto__ key as data: never the message's prototype, even when fields are stripped", () => {
    for (const extra of [{}, { sentAt: "x" }]) {
      const text = `{"type":"track","userId":"u","event":"E","__proto__":{"messageId":"evil","isAdmin":true}${
        "sentAt" in extra ? ",\"sentAt\":\"x\"" : ""
      }}`
      const parsed = Ndjson.parseLine(text)
      assert.strictEqual(parsed._tag, "Message")
      if (parsed._tag !== "Message") continue
      assert.strictEqual(Object.getPrototypeOf(parsed.message), Object.prototype)
      assert.isTrue(Object.hasOwn(parsed.message, "__proto__"))
      assert.isUndefined((parsed.message as { isAdmin?: unknown }).isAdmin)
      assert.isUndefined(parsed.messageId)
      assert.isFalse(parsed.hasMessageId)
    }
    // A failures-file record cannot be faked through the prototype either.
    assert.deepInclude(Ndjson.parseLine("{\"line\":1,\"__proto__\":{\"message\":{}}}"), { _tag: "Invalid" })
  })

  it("writes a generated messageId into the failures file's message, and a too-long line as null", () => {
    const line = Ndjson.failureLine({ line: 3, reason: "failed", text: "{\"type\":\"track\"}", raw: false, generatedId: "g-1" })
    assert.deepStrictEqual(JSON.parse(line), { line: 3, reason: "failed", message: { type: "track", messageId: "g-1" } })
    const long = Ndjson.failureLine({ line: 4, reason: "too long", text: undefined, raw: false, generatedId: undefined })
    assert.deepStrictEqual(JSON.parse(long), { line: 4, reason: "too long", message: null })
  })
})

describe("progress line", () => {
  const stats = (over: Partial<Progress.Stats> = {}): Progress.Stats => ({
    lines: 1_234_567,
    read: 1_234_000,
    invalid: 12_345,
    accepted: 1_200_000,
    delivered: 1_199_500,
    failed: 321,
    dropped: 0,
    bytes: 450_000_000,
    totalBytes: 900_000_000,
    startMillis: 0,
    ...over
  })

  it("fits the width it is given, from 120 columns down to 20, dropping its least useful parts", () => {
    const wide = Progress.render(stats(), 20_000, 200)
    assert.match(wide, /^50% {2}line 1,234,567 {2}delivered 1,199,500 {2}failed 321 {2}invalid 12,345 {2}61,728 lines\/s {2}ETA 20s$/)
    for (let width = 20; width <= 120; width++) {
      const text = Progress.render(stats(), 20_000, width)
      assert.isAtMost(text.length, width, `width ${width}: ${text}`)
      assert.match(text, /^50%/)
    }
    assert.isAtMost(Progress.render(stats(), 20_000, 79).length, 79)
    // Standard input: no total, so no percentage and no ETA.
    assert.notMatch(Progress.render(stats({ totalBytes: undefined }), 20_000, 200), /%|ETA/)
  })
})

describe("help", () => {
  it("is short, plain and at most 80 columns, with the defaults the commands use", () => {
    for (const page of [rootHelp, sendHelp, importHelp]) {
      const text = Help.render(page)
      for (const line of text.split("\n")) assert.isAtMost(line.length, 80, line)
      assert.notMatch(text, /\x1b/)
      assert.isBelow(text.split("\n").length, 50)
    }
    const flat = (page: Help.Page) => Help.render(page).replace(/\s+/g, " ")
    assert.include(flat(sendHelp), "--max-retries N retries of a failed request, backoff doubling from about 1 s (default 3)")
    assert.include(flat(importHelp), "--max-retries N retries of a failed request, backoff doubling from about 1 s (default 10)")
    assert.include(flat(importHelp), "--flush-at N send once N messages wait (default 500)")
    assert.include(Help.render(sendHelp), "Usage: analytics-effect send <type>")
  })

  it("is asked for before parsing; no command at all is a usage error", () => {
    const argv = (...args: Array<string>) => ["node", "bin", ...args]
    assert.deepStrictEqual(classify(argv()), { _tag: "Usage" })
    assert.deepStrictEqual(classify(argv("send", "--help")), { _tag: "Help", page: sendHelp })
    assert.deepStrictEqual(classify(argv("-h")), { _tag: "Help", page: rootHelp })
    assert.deepStrictEqual(classify(argv("--version")), { _tag: "Version" })
    assert.deepStrictEqual(classify(argv("send", "track", "--", "--help")), { _tag: "Run" })
    assert.deepStrictEqual(classify(argv("import", "f.ndjson")), { _tag: "Run" })
  })
})

describe("JSON depth", () => {
  it("measures nesting on the bytes, strings aside, and stops as soon as it passes the limit", () => {
    assert.strictEqual(jsonDepth(utf8("{\"a\":[1,{\"b\":[]}]}"), 10), 4)
    assert.strictEqual(jsonDepth(utf8("{\"a\":\"[[[[\\\"[[\"}"), 10), 1)
    assert.strictEqual(jsonDepth(utf8("1"), 10), 0)
    const deep = utf8("[".repeat(100_000) + "]".repeat(100_000))
    assert.strictEqual(jsonDepth(deep, 128), -1)
    assert.strictEqual(jsonDepth(utf8("[".repeat(128) + "]".repeat(128)), 128), 128)
  })
})
