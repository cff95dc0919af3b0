/**
 * Timestamps: which ones a message may carry, and the one form they are sent in.
 *
 * A timestamp is a valid `Date` of the years 0000 to 9999, or an ISO-8601 date-time with a zone
 * (`Z` or `±hh:mm`), such as `2024-02-29T13:45:00.000Z` or `2024-02-29T14:45:00+01:00`. A date
 * alone, a time without a zone (which `Date.parse` reads as local time, so that client and server
 * may disagree by hours) and an impossible date (`2023-02-30`) are refused. What is sent is always
 * `YYYY-MM-DDTHH:mm:ss.sssZ` in UTC, made here: never by a method of the value (a `Date` subclass
 * cannot format itself), and never with a six-digit year.
 *
 * Plain TypeScript, shared by every edition of the library: imports nothing.
 *
 * @internal
 */

/** 0000-01-01T00:00:00.000Z, in milliseconds since the epoch. @internal */
export const minMillis = -62_167_219_200_000
/** 9999-12-31T23:59:59.999Z, in milliseconds since the epoch. @internal */
export const maxMillis = 253_402_300_799_999

// The intrinsics, taken once: a `Date` subclass or an own property cannot replace them.
const dateGetTime = Date.prototype.getTime
const dateToIsoString = Date.prototype.toISOString

/** The time of a `Date`, or `NaN` when it is not a real Date (a fake, a Proxy) or is invalid. */
const timeOf = (date: Date): number => {
  try {
    return dateGetTime.call(date)
  } catch {
    return Number.NaN
  }
}

/**
 * The wire form of a `Date`, or `undefined` when it is not a valid Date of the years 0000-9999.
 *
 * @internal
 */
export const dateToWire = (date: Date): string | undefined => {
  const t = timeOf(date)
  return t >= minMillis && t <= maxMillis ? dateToIsoString.call(date) : undefined
}

/**
 * What is wrong with a `Date`, or `undefined` when it is valid.
 *
 * @internal
 */
export const dateProblem = (date: Date): string | undefined => {
  const t = timeOf(date)
  if (Number.isNaN(t)) return "an invalid Date"
  return t < minMillis || t > maxMillis ? "a Date outside the years 0000-9999" : undefined
}

/** Milliseconds since the epoch of a UTC calendar date (proleptic Gregorian, any year). */
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28)
    : month === 4 || month === 6 || month === 9 || month === 11
    ? 30
    : 31

const dateTimePattern =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

const dateOnlyPattern = /^\d{4}-\d{2}-\d{2}$/
const zonelessPattern = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?$/

/** Parses an ISO-8601 date-time with a zone: milliseconds since the epoch, or a reason. */
const parse = (s: string): number | string => {
  const m = dateTimePattern.exec(s)
  if (m === null) {
    if (dateOnlyPattern.test(s)) return "a date without a time; expected a date-time with a zone, such as 2024-02-29T13:45:00.000Z"
    if (zonelessPattern.test(s)) {
      return "a date-time without a zone, which would be read as local time; add Z or an offset such as +01:00"
    }
    return "expected an ISO-8601 date-time with a zone, such as 2024-02-29T13:45:00.000Z"
  }
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return `${m[1]}-${m[2]}-${m[3]} is not a date`
  }
  const hour = Number(m[4])
  const minute = Number(m[5])
  const second = m[6] === undefined ? 0 : Number(m[6])
  if (hour > 23 || minute > 59 || second > 59) return "the time of day is out of range (00:00:00 to 23:59:59)"
  // Precision beyond the millisecond is dropped.
  const millis = m[7] === undefined ? 0 : Number((m[7] + "00").slice(0, 3))
  let offset = 0
  if (m[8] === undefined) {
    const offsetHours = Number(m[10])
    const offsetMinutes = Number(m[11])
    if (offsetHours > 23 || offsetMinutes > 59) return "the zone offset is out of range (-23:59 to +23:59)"
    offset = (m[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000
  }
  const t = daysFromCivil(year, month, day) * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000 + millis -
    offset
  return t < minMillis || t > maxMillis ? "outside the years 0000-9999 once converted to UTC" : t
}

// `YYYY-MM-DDTHH:mm:ss.sssZ`: once `parse` accepted a string, this shape means it is already the wire form.
const isWireShaped = (s: string): boolean =>
  s.length === 24 && s.charCodeAt(10) === 84 && s.charCodeAt(19) === 46 && s.charCodeAt(23) === 90

/**
 * The wire form of a timestamp string, or `undefined` when it is not an ISO-8601 date-time with a
 * zone of the years 0000-9999.
 *
 * @internal
 */
export const stringToWire = (s: string): string | undefined => {
  const t = parse(s)
  if (typeof t === "string") return undefined
  return isWireShaped(s) ? s : dateToIsoString.call(new Date(t))
}

/**
 * What is wrong with a timestamp string, or `undefined` when it is valid.
 *
 * @internal
 */
export const stringProblem = (s: string): string | undefined => {
  const t = parse(s)
  return typeof t === "string" ? t : undefined
}

/**
 * The wire form of a timestamp (a `Date` or a string), or `undefined` when it is not one.
 *
 * @internal
 */
export const toWire = (value: unknown): string | undefined =>
  typeof value === "string"
    ? stringToWire(value)
    : value instanceof Date
    ? dateToWire(value)
    : undefined

/**
 * What is wrong with a value given as a timestamp, or `undefined` when it is valid.
 *
 * @internal
 */
export const problem = (value: unknown): string | undefined =>
  typeof value === "string"
    ? stringProblem(value)
    : value instanceof Date
    ? dateProblem(value)
    : `expected a Date or an ISO-8601 date-time string, got ${value === null ? "null" : typeof value}`

/**
 * A source of "now" in wire form from a clock that reads milliseconds. Under a burst many calls share
 * a millisecond: its string is made once.
 *
 * @internal
 */
export const makeNow = (currentMillis: () => number): () => string => {
  let lastMillis = Number.NaN
  let lastIso = ""
  return () => {
    const millis = currentMillis()
    if (millis !== lastMillis) {
      lastMillis = millis
      lastIso = dateToIsoString.call(new Date(millis))
    }
    return lastIso
  }
}
