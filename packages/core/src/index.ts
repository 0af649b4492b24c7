/**
 * effect-requests: Python's `requests.Session` for Effect.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Adapter from "./Adapter.js"
/** @since 0.1.0 */
export * as Auth from "./Auth.js"
/** @since 0.1.0 */
export * as Body from "./Body.js"
/** @since 0.1.0 */
export * as Cassette from "./Cassette.js"
/** @since 0.1.0 */
export * as CookieJar from "./CookieJar.js"
/** @since 0.1.0 */
export * as Environment from "./Environment.js"
/** @since 0.1.0 */
export * as Headers from "./Headers.js"
/** @since 0.1.0 */
export * as Hooks from "./Hooks.js"
/** @since 0.1.0 */
export * as Multipart from "./Multipart.js"
/** @since 0.1.0 */
export * as Netrc from "./Netrc.js"
/** @since 0.1.0 */
export * as PreparedRequest from "./PreparedRequest.js"
/** @since 0.1.0 */
export * as Progress from "./Progress.js"
/** @since 0.1.0 */
export * as Proxies from "./Proxies.js"
/** @since 0.1.0 */
export * as Redirects from "./Redirects.js"
/** @since 0.1.0 */
export * as RequestError from "./RequestError.js"
/** @since 0.1.0 */
export * as Response from "./Response.js"
/** @since 0.1.0 */
export * as Retry from "./Retry.js"
/** @since 0.1.0 */
export * as Session from "./Session.js"
/** @since 0.1.0 */
export * as SessionConfig from "./SessionConfig.js"
/** @since 0.1.0 */
export * as SessionState from "./SessionState.js"
/** @since 0.1.0 */
export * as Telemetry from "./Telemetry.js"
/** @since 0.1.0 */
export { version } from "./version.js"
