// Generated from package.json by scripts/version.mjs: do not edit.

/** @internal */
export const name = "analytics-effect"

/** @internal */
export const version = "0.2.0"
