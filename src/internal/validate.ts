/**
 * A fast acceptance check for the call path.
 *
 * Decoding with the Schemas costs a few times more than serializing the message. This check accepts
 * exactly the plain-object inputs the Schemas accept (a property test holds the two together) and
 * answers `false` for anything else, in which case the caller decodes with the Schema, which either
 * accepts the value after all or produces the typed error with its path. So the Schemas stay the one
 * definition of a valid message; this only skips their cost when the answer is "valid".
 *
 * @internal
 */
import type { MessageType } from "../Message.js"
import { findJsonObjectIssue } from "./json.js"

const objectProto = Object.prototype

const isoTimestampPattern =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/

/** @internal */
export const isIsoTimestamp = (s: string): boolean => isoTimestampPattern.test(s) && !Number.isNaN(Date.parse(s))

const isNonEmptyString = (u: unknown): boolean => typeof u === "string" && u.length > 0

const isJsonObject = (u: unknown): boolean => findJsonObjectIssue(u) === undefined

const isTimestamp = (u: unknown): boolean =>
  u instanceof Date ? !Number.isNaN(u.getTime()) : typeof u === "string" && isIsoTimestamp(u)

const isIntegrations = (u: unknown): boolean => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto = Object.getPrototypeOf(u)
  if (proto !== objectProto && proto !== null) return false
  for (const key in u) {
    const value = (u as Record<string, unknown>)[key]
    if (typeof value === "boolean") continue
    if (key === "All" || !isJsonObject(value)) return false
  }
  return true
}

type FieldCheck = (value: unknown) => boolean

const optionalString: FieldCheck = (u) => u === undefined || typeof u === "string"
const optionalNonEmpty: FieldCheck = (u) => u === undefined || isNonEmptyString(u)
const optionalJson: FieldCheck = (u) => u === undefined || isJsonObject(u)

const common: Record<string, FieldCheck> = {
  type: () => true,
  messageId: (u) => u === undefined || (typeof u === "string" && u.length > 0 && u.length <= 100),
  timestamp: (u) => u === undefined || isTimestamp(u),
  context: optionalJson,
  integrations: (u) => u === undefined || isIntegrations(u),
  userId: optionalNonEmpty,
  anonymousId: optionalNonEmpty
}

const fields: Record<MessageType, Record<string, FieldCheck>> = {
  identify: { ...common, traits: optionalJson },
  track: { ...common, event: optionalNonEmpty, properties: optionalJson },
  page: { ...common, name: optionalString, category: optionalString, properties: optionalJson },
  screen: { ...common, name: optionalString, category: optionalString, properties: optionalJson },
  group: { ...common, groupId: optionalNonEmpty, traits: optionalJson },
  alias: { ...common, previousId: optionalNonEmpty }
}

for (const checks of Object.values(fields)) Object.setPrototypeOf(checks, null)

/**
 * `true` when the Schema of `type` would accept `input` (with `type` set to `type`) unchanged;
 * `false` when it would not, or when this check cannot tell.
 *
 * @internal
 */
export const isValid = (type: MessageType, input: unknown): boolean => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return false
  if (Object.getPrototypeOf(input) !== objectProto) return false
  const checks = fields[type]
  if (checks === undefined) return false
  const record = input as Record<string, unknown>
  let count = 0
  for (const key in record) {
    const check = checks[key]
    if (check === undefined || !check(record[key])) return false
    count++
  }
  // Symbol keys and non-enumerable properties are for the Schema to judge.
  if (count === 0 || Reflect.ownKeys(input).length !== count) return false
  switch (type) {
    case "track":
      if (record.event === undefined) return false
      break
    case "group":
      if (record.groupId === undefined) return false
      break
    case "alias":
      return record.userId !== undefined && record.previousId !== undefined
  }
  return record.userId !== undefined || record.anonymousId !== undefined
}
