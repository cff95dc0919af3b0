/**
 * A fast check that a value survives `JSON.stringify` faithfully, reporting where it does not.
 *
 * `JSON.stringify` silently turns `NaN` into `null`, drops functions and symbols, turns `undefined`
 * inside arrays into `null`, serializes a `Map` as `{}`, and throws on bigints and cycles. This walker
 * finds each of those before the message is serialized, and names the path.
 *
 * @internal
 */
import * as ParseResult from "effect/ParseResult"

/** @internal */
export interface JsonIssue {
  readonly path: ReadonlyArray<string | number>
  readonly reason: string
}

/** @internal */
export const maxDepth = 64

const objectProto = Object.prototype

const issue = (path: Array<string | number>, reason: string): JsonIssue => ({ path: path.slice(), reason })

const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (typeof value === "object") {
    const ctor = (value as object).constructor
    return typeof ctor === "function" && ctor.name !== "" ? `a ${ctor.name}` : "an object without a plain prototype"
  }
  return `a ${typeof value}`
}

const checkValue = (
  value: unknown,
  path: Array<string | number>,
  ancestors: Array<object>,
  inArray: boolean
): JsonIssue | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : issue(path, `${value} is not a finite number; JSON would send null`)
    case "undefined":
      return inArray ? issue(path, "undefined inside an array; JSON would send null") : undefined
    case "bigint":
      return issue(path, "a bigint cannot be encoded as JSON; convert it to a number or a string")
    case "function":
      return issue(path, "a function cannot be encoded as JSON")
    case "symbol":
      return issue(path, "a symbol cannot be encoded as JSON")
    case "object": {
      if (value === null) return undefined
      return checkObject(value, path, ancestors)
    }
  }
  return issue(path, `unsupported value of type ${typeof value}`)
}

const checkObject = (
  value: object,
  path: Array<string | number>,
  ancestors: Array<object>
): JsonIssue | undefined => {
  if (ancestors.length >= maxDepth) {
    return issue(path, `nested deeper than ${maxDepth} levels`)
  }
  if (ancestors.includes(value)) {
    return issue(path, "a cycle: this object contains itself")
  }
  if (Array.isArray(value)) {
    ancestors.push(value)
    const length = value.length
    for (let i = 0; i < length; i++) {
      if (!(i in value)) {
        ancestors.pop()
        path.push(i)
        const out = issue(path, "a hole in a sparse array; JSON would send null")
        path.pop()
        return out
      }
      const item = value[i]
      if (item !== null && typeof item !== "string" && typeof item !== "boolean") {
        path.push(i)
        const out = checkValue(item, path, ancestors, true)
        path.pop()
        if (out !== undefined) {
          ancestors.pop()
          return out
        }
      }
    }
    ancestors.pop()
    return undefined
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== objectProto && proto !== null) {
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? issue(path, "an invalid Date; JSON would send null") : undefined
    }
    return issue(path, `${describe(value)} is not a plain object; JSON would not keep its contents`)
  }
  ancestors.push(value)
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key]
    if (item !== null && typeof item !== "string" && typeof item !== "boolean") {
      path.push(key)
      const out = checkValue(item, path, ancestors, false)
      path.pop()
      if (out !== undefined) {
        ancestors.pop()
        return out
      }
    }
  }
  ancestors.pop()
  return undefined
}

/**
 * Returns the first value under `value` that JSON cannot carry faithfully, or `undefined`.
 *
 * @internal
 */
export const findJsonIssue = (value: unknown): JsonIssue | undefined => {
  try {
    return checkValue(value, [], [], false)
  } catch (cause) {
    return threw(cause)
  }
}

// A getter or a proxy trap that throws must not turn a validation into a defect.
const threw = (cause: unknown): JsonIssue => {
  let text = "an unprintable value"
  try {
    text = cause instanceof Error ? cause.message : String(cause)
  } catch {
    // keep the placeholder
  }
  return { path: [], reason: `reading the value threw (${text}); JSON cannot encode it` }
}

/**
 * Returns an issue unless `value` is a plain object whose contents are all JSON-safe.
 *
 * @internal
 */
export const findJsonObjectIssue = (value: unknown): JsonIssue | undefined => {
  try {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return { path: [], reason: `expected a JSON object, got ${Array.isArray(value) ? "an array" : describe(value)}` }
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== objectProto && proto !== null) {
      return { path: [], reason: `expected a plain JSON object, got ${describe(value)}` }
    }
    return checkObject(value, [], [])
  } catch (cause) {
    return threw(cause)
  }
}

/**
 * Keeps only the first problem of every composite issue (a union reports one issue per member), so
 * that formatting describes the first problem only and never looks at the other members' values.
 *
 * @internal
 */
export const firstIssue = (issue: ParseResult.ParseIssue): ParseResult.ParseIssue => {
  switch (issue._tag) {
    case "Composite": {
      const inner = Array.isArray(issue.issues) ? issue.issues[0]! : issue.issues as ParseResult.ParseIssue
      return new ParseResult.Composite(issue.ast, issue.actual, firstIssue(inner), issue.output)
    }
    case "Pointer":
      return new ParseResult.Pointer(issue.path, issue.actual, firstIssue(issue.issue))
    case "Refinement":
      return new ParseResult.Refinement(issue.ast, issue.actual, issue.kind, firstIssue(issue.issue))
    case "Transformation":
      return new ParseResult.Transformation(issue.ast, issue.actual, issue.kind, firstIssue(issue.issue))
    default:
      return issue
  }
}
