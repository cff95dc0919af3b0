/**
 * analytics-effect: Segment-compatible analytics for Effect 4.
 *
 * @since 1.0.0
 */

/**
 * @since 1.0.0
 */
export * as Analytics from "./Analytics.js"

/**
 * @since 1.0.0
 */
export * as AnalyticsError from "./AnalyticsError.js"

/**
 * @since 1.0.0
 */
export * as HttpTransport from "./HttpTransport.js"

/**
 * @since 1.0.0
 */
export * as MemoryTransport from "./MemoryTransport.js"

/**
 * @since 1.0.0
 */
export * as Message from "./Message.js"

/**
 * @since 1.0.0
 */
export * as Metrics from "./Metrics.js"

/**
 * @since 1.0.0
 */
export * as Outcome from "./Outcome.js"

/**
 * @since 1.0.0
 */
export * as PromiseClient from "./PromiseClient.js"

/**
 * @since 1.0.0
 */
export * as Testing from "./Testing.js"

/**
 * @since 1.0.0
 */
export * as Transport from "./Transport.js"
