/**
 * The JSON walk: one pass over a value that checks that JSON carries it faithfully and writes its
 * JSON text at the same time, counting UTF-8 bytes as it goes and stopping at a byte budget.
 *
 * - **Read once.** Each property is read once (a getter runs once, a Proxy trap once per property):
 *   what is checked is what is written, so a value that changes between reads cannot slip through.
 * - **Faithful or refused.** `JSON.stringify` silently turns `NaN` into `null`, drops functions,
 *   symbols and symbol keys, turns `undefined` in arrays into `null`, writes a `Map` as `{}`, calls
 *   `toJSON` methods whose result nobody checked, and throws on bigints and cycles. Each of those is
 *   refused here with its path instead. Accepted: `null`, booleans, strings, finite numbers (`-0` is
 *   written `-0`), arrays, objects whose prototype is `Object.prototype` or `null` (their own
 *   enumerable string keys; a property whose value is `undefined` is left out, as JSON does), and
 *   `Date`s of the years 0000-9999, written as an ISO string made from the date's value (never by a
 *   method of the object).
 * - **Bounded.** Work stops once the output passes the budget, so shared references (a DAG whose
 *   JSON would be gigabytes) or a huge array cost no more than the budget. In check-only mode (for
 *   the Schemas, which have no size limit) each object is checked once however often it is shared.
 *
 * Plain TypeScript, shared by every edition of the library: imports only this folder.
 *
 * @internal
 */
import * as Timestamp from "./timestamp.js"
import { utf8Length } from "./utf8.js"

/** @internal */
export const maxDepth = 64

/**
 * A problem found by a walk. While the walk unwinds, `path` is built from the inside out; the
 * functions that return an `Issue` to callers outside this module return it outermost first.
 *
 * @internal
 */
export interface Issue {
  readonly path: Array<string | number>
  readonly reason: string
}

/**
 * The state of a walk. An encoder reuses one from call to call; `busy` marks it in use, so that a call
 * made from inside a getter (into the library again) takes a fresh one.
 *
 * @internal
 */
export class Walk {
  /** UTF-8 bytes written so far. */
  bytes = 0
  /** Why and where the walk failed. */
  issue: Issue | undefined = undefined
  /** The walk passed `budget` and stopped: `bytes` is a lower bound of the whole. */
  stopped = false
  /** The objects and arrays being walked, outermost first: the depth, and cycles. */
  readonly ancestors: Array<object> = []
  /** Check-only mode: the objects already checked, each with the deepest depth it passed at. */
  readonly checked: Map<object, number> | undefined
  /** A walk of this state is under way (a getter called back into the library): use another. */
  busy = false
  constructor(readonly budget: number, readonly write: boolean) {
    this.checked = write ? undefined : new Map()
  }

  /** Makes the state ready for a new walk. */
  reset(): this {
    this.bytes = 0
    this.issue = undefined
    this.stopped = false
    if (this.ancestors.length !== 0) this.ancestors.length = 0
    return this
  }
}

const objectProto = Object.prototype
const hasOwn = Object.prototype.hasOwnProperty
const getPrototypeOf = Object.getPrototypeOf
const getOwnPropertySymbols = Object.getOwnPropertySymbols
const propertyIsEnumerable = Object.prototype.propertyIsEnumerable

/** Fails the walk. Always returns `undefined`, the failed result. */
export const fail = (w: Walk, reason: string): undefined => {
  w.issue = { path: [], reason }
  return undefined
}

/** Adds `key` to the path of a failure while unwinding. Always returns `undefined`. */
export const under = (w: Walk, key: string | number): undefined => {
  if (w.issue !== undefined) w.issue.path.push(key)
  return undefined
}

/** Stops the walk at the budget. Always returns `undefined`. */
const stop = (w: Walk): undefined => {
  w.stopped = true
  return undefined
}

/**
 * The issue of a finished walk, its path outermost first after `prefix`.
 *
 * @internal
 */
export const issueOf = (w: Walk, prefix: ReadonlyArray<string | number>): Issue | undefined =>
  w.issue === undefined ? undefined : { path: [...prefix, ...w.issue.path.reverse()], reason: w.issue.reason }

/**
 * A value as a person reads it in an error message. Reading `constructor` can run user code: a throw
 * gives the generic answer.
 *
 * @internal
 */
export const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (typeof value !== "object") return `a ${typeof value}`
  try {
    if (Array.isArray(value)) return "an array"
    const ctor = (value as { constructor?: unknown }).constructor
    return typeof ctor === "function" && ctor.name !== "" ? `a ${ctor.name}` : "an object without a plain prototype"
  } catch {
    return "an object"
  }
}

/**
 * A thrown value as text, for the reason of an issue. Its `message` can be a getter that throws too.
 *
 * @internal
 */
export const describeThrown = (cause: unknown): string => {
  try {
    return cause instanceof Error ? cause.message : String(cause)
  } catch {
    return "an unprintable value"
  }
}

const threw = (w: Walk, cause: unknown): undefined => fail(w, `reading the value threw: ${describeThrown(cause)}`)

// Printable ASCII but `"` and `\`: JSON writes these as they are, one byte each. (Anchored, the
// test runs faster than a search for the first other character.)
const isPlainAscii = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/**
 * Checks a string and counts it, returning its JSON text without the quotes: the string itself when
 * it is plain ASCII (nothing allocated), else its escaped form (a lone surrogate as a `\u` escape).
 */
const stringBody = (w: Walk, s: string): string | undefined => {
  if (w.bytes + s.length > w.budget) {
    // UTF-8 takes at least one byte per UTF-16 unit: this string alone passes the budget. Not scanned.
    w.bytes += s.length + 2
    return stop(w)
  }
  if (isPlainAscii.test(s)) {
    w.bytes += s.length + 2
    return s
  }
  // (JSON.stringify of a string primitive runs no user code.)
  const text = JSON.stringify(s)
  w.bytes += utf8Length(text)
  return text.slice(1, -1)
}

/**
 * Writes a string as JSON text (quoted and escaped).
 *
 * @internal
 */
export const writeString = (w: Walk, s: string): string | undefined => {
  if (!w.write) return ""
  const body = stringBody(w, s)
  return body === undefined ? undefined : "\"" + body + "\""
}

/** The texts a key is written with: after `{` or `,`, before a value or a string's opening quote. */
interface KeyTexts {
  readonly first: string
  readonly next: string
  readonly firstQuoted: string
  readonly nextQuoted: string
  /** The UTF-8 size of `first` (the colon included). */
  readonly bytes: number
}

// The texts of the keys seen most: the keys of a payload repeat from object to object and call to
// call. Only so many, and only short keys.
const keyTexts = new Map<string, KeyTexts>()
const maxKeyTexts = 4096

/** Writes an object key and its colon (`"key":`): the texts to use, or `undefined` at the budget. */
const writeKey = (w: Walk, key: string): KeyTexts | undefined => {
  let texts = keyTexts.get(key)
  if (texts === undefined) {
    const before = w.bytes
    const body = stringBody(w, key)
    if (body === undefined) return undefined
    w.bytes = before
    const first = "\"" + body + "\":"
    texts = { first, next: "," + first, firstQuoted: first + "\"", nextQuoted: "," + first + "\"", bytes: utf8Length(first) }
    if (key.length <= 64) {
      if (keyTexts.size >= maxKeyTexts) keyTexts.clear()
      keyTexts.set(key, texts)
    }
  }
  w.bytes += texts.bytes
  return texts
}

/**
 * A finite number as JSON writes it (the shortest text that reads back as the same number), except
 * that `-0` is written `-0`: JSON's grammar has it, and parsing it gives -0 back.
 *
 * @internal
 */
export const formatNumber = (n: number): string => {
  if ((n | 0) === n) return n === 0 && 1 / n < 0 ? "-0" : "" + n
  // A whole number of hundredths (a price, an amount): written from two small integers. Below 2^31
  // hundredths no two of them share a double, so this text is the shortest that reads back as `n`,
  // the one Number#toString gives; it avoids the generic double formatter, slow from JavaScript.
  const cents = Math.round(n * 100)
  if (cents / 100 === n && cents > -2147483648 && cents < 2147483648) {
    const abs = cents < 0 ? -cents : cents
    const whole = (abs / 100) | 0
    const fraction = abs - whole * 100
    return (cents < 0 ? "-" : "") + whole +
      (fraction % 10 === 0 ? "." + fraction / 10 : fraction < 10 ? ".0" + fraction : "." + fraction)
  }
  // (The native formatter, without the cost of a JavaScript conversion's slow path.)
  return JSON.stringify(n)
}

const writeNumber = (w: Walk, n: number): string | undefined => {
  if (!Number.isFinite(n)) return fail(w, `${n} is not a finite number; JSON would send null`)
  if (!w.write) return ""
  const text = formatNumber(n)
  w.bytes += text.length
  return text
}

/**
 * Writes any JSON value. `undefined` is refused: an object leaves such a property out before this.
 *
 * @internal
 */
export const writeValue = (w: Walk, value: unknown): string | undefined => {
  switch (typeof value) {
    case "string":
      return writeString(w, value)
    case "number":
      return writeNumber(w, value)
    case "boolean":
      if (!w.write) return ""
      w.bytes += value ? 4 : 5
      return value ? "true" : "false"
    case "object":
      if (value === null) {
        if (!w.write) return ""
        w.bytes += 4
        return "null"
      }
      return writeContainer(w, value, undefined, undefined)
    case "undefined":
      return fail(w, "undefined inside an array; JSON would send null")
    case "bigint":
      return fail(w, "a bigint cannot be encoded as JSON; convert it to a number or a string")
    case "function":
      return fail(w, "a function cannot be encoded as JSON")
    case "symbol":
      return fail(w, "a symbol cannot be encoded as JSON")
  }
}

/**
 * A client-wide default object (`context`, `integrations`) prepared once: each of its properties as
 * a JSON fragment, so that a message's own object is merged over it while it is written, in one pass.
 *
 * @internal
 */
export interface Base {
  /** Key to position in the arrays below; no prototype. */
  readonly index: Record<string, number>
  /** `"key":value` of each property. */
  readonly fragments: ReadonlyArray<string>
  readonly fragmentBytes: ReadonlyArray<number>
  /** For deep merging: the Base of each property whose value is an object. */
  readonly children: ReadonlyArray<Base | undefined>
  /** The whole object as JSON, and its UTF-8 size. */
  readonly json: string
  readonly bytes: number
}

const isPlainData = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

// A message's object that merges over a default object (else it replaces it). Reads no property.
const isMergeable = (value: unknown): value is Record<string, unknown> => {
  if (!isPlainData(value)) return false
  const proto = getPrototypeOf(value)
  return proto === objectProto || proto === null
}

/**
 * Prepares a Base from trusted plain data (the library's own snapshot, from `JSON.parse`).
 *
 * @internal
 */
export const makeBase = (data: Record<string, unknown>, deep: boolean): Base => {
  const index: Record<string, number> = Object.create(null)
  const fragments: Array<string> = []
  const fragmentBytes: Array<number> = []
  const children: Array<Base | undefined> = []
  for (const key of Object.keys(data)) {
    const value = data[key]
    const w = new Walk(Number.POSITIVE_INFINITY, true)
    const name = writeKey(w, key)!.first
    const child = deep && isPlainData(value) ? makeBase(value, true) : undefined
    const text = child === undefined ? writeValue(w, value)! : child.json
    index[key] = fragments.length
    fragments.push(name + text)
    fragmentBytes.push(w.bytes + (child === undefined ? 0 : child.bytes))
    children.push(child)
  }
  const json = "{" + fragments.join(",") + "}"
  const bytes = fragmentBytes.reduce((sum, n) => sum + n, 0) + Math.max(0, fragments.length - 1) + 2
  return { index, fragments, fragmentBytes, children, json, bytes }
}

/** What a container's members must be: any JSON value, or (an integrations object) a destination. */
const enum Members {
  Json,
  Destinations
}

/**
 * Writes an object or an array, nested anywhere. `base` (objects only) is merged under it: its keys
 * that `value` does not have are written after `value`'s own, and where both hold an object they
 * merge in turn. `skip` is a key that is checked but not written (the base's own wins).
 */
const writeContainer = (w: Walk, value: object, base: Base | undefined, skip: string | undefined) => {
  const depth = w.ancestors.length
  if (depth >= maxDepth) return fail(w, `nested deeper than ${maxDepth} levels`)
  if (w.ancestors.includes(value)) return fail(w, "a cycle: this object contains itself")
  if (w.checked !== undefined) {
    const passed = w.checked.get(value)
    if (passed !== undefined && depth <= passed) return ""
  }
  let text: string | undefined
  try {
    if (Array.isArray(value)) text = writeArray(w, value)
    else {
      const proto = getPrototypeOf(value)
      if (proto === objectProto || proto === null) text = writeObject(w, value, base, skip, Members.Json)
      else if (value instanceof Date) text = writeDate(w, value)
      else return fail(w, `${describe(value)} is not a plain object; JSON would not keep its contents`)
    }
  } catch (cause) {
    // Thrown by a trap of the container itself (its members' reads are caught where they happen).
    w.ancestors.length = depth
    return threw(w, cause)
  }
  if (text !== undefined && w.checked !== undefined) w.checked.set(value, depth)
  return text
}

const writeDate = (w: Walk, date: Date): string | undefined => {
  const iso = Timestamp.dateToWire(date)
  if (iso === undefined) return fail(w, `${Timestamp.dateProblem(date)}; JSON cannot send it faithfully`)
  if (!w.write) return ""
  w.bytes += 26
  return "\"" + iso + "\""
}

const toJsonReason =
  "has a toJSON method: JSON would send what it returns, which is never checked; pass plain data instead"

const writeArray = (w: Walk, list: ReadonlyArray<unknown>): string | undefined => {
  if (typeof (list as { toJSON?: unknown }).toJSON === "function") return fail(w, toJsonReason)
  const length = list.length
  w.ancestors.push(list)
  let text = "["
  let i = 0
  try {
    for (; i < length; i++) {
      const item = list[i]
      if (item === undefined) {
        fail(w, i in list ? "undefined inside an array; JSON would send null" : "a hole in a sparse array; JSON would send null")
        w.ancestors.pop()
        return under(w, i)
      }
      if (typeof item === "string" && w.write) {
        const body = stringBody(w, item)
        if (body === undefined) {
          w.ancestors.pop()
          return undefined
        }
        text += (i === 0 ? "\"" : ",\"") + body + "\""
      } else {
        const out = writeValue(w, item)
        if (out === undefined) {
          w.ancestors.pop()
          return under(w, i)
        }
        if (w.write) text += i === 0 ? out : "," + out
      }
      if (w.bytes > w.budget) {
        w.ancestors.pop()
        return stop(w)
      }
    }
  } catch (cause) {
    w.ancestors.pop()
    threw(w, cause)
    return under(w, i)
  }
  w.ancestors.pop()
  if (!w.write) return ""
  w.bytes += length === 0 ? 2 : length + 1
  return text + "]"
}

const hasEnumerableSymbol = (value: object): boolean => {
  const symbols = getOwnPropertySymbols(value)
  for (let i = 0; i < symbols.length; i++) if (propertyIsEnumerable.call(value, symbols[i]!)) return true
  return false
}

/** A destination of `integrations`: `true`, `false`, or a JSON object of settings. */
const writeDestination = (w: Walk, key: string, value: unknown): string | undefined => {
  if (typeof value === "boolean") return writeValue(w, value)
  if (key === "All") return fail(w, "expected true or false")
  return writeJsonObject(w, value, undefined, undefined, "expected true, false or a JSON object of settings")
}

const writeObject = (
  w: Walk,
  value: object,
  base: Base | undefined,
  skip: string | undefined,
  members: Members
): string | undefined => {
  // A key named toJSON that is an own enumerable getter is read here and in the loop: the loop's
  // read is the one that is checked and written.
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return fail(w, toJsonReason)
  if (hasEnumerableSymbol(value)) return fail(w, "has a symbol key, which JSON would drop")
  const record = value as Record<string, unknown>
  const seen = base === undefined ? undefined : new Uint8Array(base.fragments.length)
  w.ancestors.push(value)
  let text = "{"
  let count = 0
  let key: string | undefined
  // The key being read, for the path of a throw; between keys a throw belongs to the object itself.
  let reading: string | undefined
  try {
    for (key in record) {
      // Own properties only, as JSON (an enumerable property of a polluted Object.prototype is not
      // the caller's data). Inside for-in, the engine reduces this check to a shape check.
      if (!hasOwn.call(record, key)) continue
      reading = key
      const item = record[key]
      if (item === undefined) {
        reading = undefined
        continue
      }
      if (key === skip) {
        // Checked, not written: the base's value wins.
        const before = w.bytes
        if (writeValue(w, item) === undefined) break
        w.bytes = before
        reading = undefined
        continue
      }
      let child: Base | undefined
      if (base !== undefined) {
        const at = base.index[key]
        if (at !== undefined) {
          seen![at] = 1
          child = base.children[at]
        }
      }
      const name = w.write ? writeKey(w, key) : undefined
      if (w.write && name === undefined) break
      if (typeof item === "string" && w.write && members === Members.Json) {
        // The commonest member: written with the key's texts around the string itself.
        const body = stringBody(w, item)
        if (body === undefined) break
        text += (count === 0 ? name!.firstQuoted : name!.nextQuoted) + body + "\""
      } else {
        const out = members === Members.Destinations
          ? writeDestination(w, key, item)
          : child !== undefined && isMergeable(item)
          ? writeContainer(w, item, child, undefined)
          : writeValue(w, item)
        if (out === undefined) break
        if (w.write) text += (count === 0 ? name!.first : name!.next) + out
      }
      count++
      if (w.bytes > w.budget) {
        w.stopped = true
        break
      }
      reading = undefined
    }
  } catch (cause) {
    w.ancestors.pop()
    threw(w, cause)
    return reading === undefined ? undefined : under(w, reading)
  }
  w.ancestors.pop()
  if (w.issue !== undefined) return under(w, key!)
  if (w.stopped) return undefined
  if (!w.write) return ""
  w.bytes += count === 0 ? 2 : count + 1 // the commas and the braces (the colons are the keys')
  if (seen !== undefined) {
    for (let i = 0; i < seen.length; i++) {
      if (seen[i] === 1) continue
      text += count === 0 ? base!.fragments[i] : "," + base!.fragments[i]
      w.bytes += base!.fragmentBytes[i]! + (count === 0 ? 0 : 1)
      count++
    }
  }
  return text + "}"
}

/**
 * Writes the root of a JSON object field (`properties`, `traits`, `context`, a destination's
 * settings): it must be a plain object, not an array or any other value. `notObject` is the reason
 * when it is not.
 *
 * @internal
 */
export const writeJsonObject = (
  w: Walk,
  value: unknown,
  base: Base | undefined,
  skip: string | undefined,
  notObject?: string
): string | undefined => {
  let proto: unknown
  try {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return fail(w, notObject ?? `expected a JSON object, got ${describe(value)}`)
    }
    proto = getPrototypeOf(value)
  } catch (cause) {
    return threw(w, cause)
  }
  if (proto !== objectProto && proto !== null) {
    return fail(w, notObject ?? `expected a plain JSON object, got ${describe(value)}`)
  }
  return writeContainer(w, value, base, skip)
}

/**
 * Writes an `integrations` object: `All` is `true` or `false`, any other key names a destination
 * whose value is `true`, `false` or a JSON object of settings. `base` (the client's defaults) is
 * merged under it, one level deep.
 *
 * @internal
 */
export const writeIntegrations = (w: Walk, value: unknown, base: Base | undefined): string | undefined => {
  const reason = "expected an object of destinations, such as { All: false, Mixpanel: true }"
  let proto: unknown
  try {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(w, reason)
    proto = getPrototypeOf(value)
  } catch (cause) {
    return threw(w, cause)
  }
  if (proto !== objectProto && proto !== null) return fail(w, reason)
  const depth = w.ancestors.length
  try {
    return writeObject(w, value, base, undefined, Members.Destinations)
  } catch (cause) {
    w.ancestors.length = depth
    return threw(w, cause)
  }
}

/**
 * Checks a value as the Schemas do: a JSON object, each object checked once however often it is
 * shared, no size limit. Returns the first problem, path outermost first.
 *
 * @internal
 */
export const checkJsonObject = (value: unknown): Issue | undefined => {
  const w = new Walk(Number.POSITIVE_INFINITY, false)
  writeJsonObject(w, value, undefined, undefined)
  return issueOf(w, [])
}

/**
 * Checks an `integrations` object as the Schemas do. Returns the first problem, path outermost first.
 *
 * @internal
 */
export const checkIntegrations = (value: unknown): Issue | undefined => {
  const w = new Walk(Number.POSITIVE_INFINITY, false)
  writeIntegrations(w, value, undefined)
  return issueOf(w, [])
}
