/**
 * Small checks on untrusted values and options, shared by the modules that read them.
 *
 * Plain TypeScript, no dependencies.
 *
 * @internal
 */

/**
 * Whether `value` is a JSON object: an object that is neither `null` nor an array.
 *
 * @internal
 */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * A count option: `fallback` when absent or not a finite number, else the integer part, at least 1.
 *
 * @internal
 */
export const positiveInt = (n: number | undefined, fallback: number): number =>
  n === undefined || !Number.isFinite(n) ? fallback : Math.max(1, Math.floor(n))
