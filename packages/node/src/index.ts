/**
 * effect-requests for Node: the undici adapter and the one-import session layer.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeAdapter from "./NodeAdapter.js"
/** @since 0.1.0 */
export * as NodeCookieJar from "./NodeCookieJar.js"
/** @since 0.1.0 */
export * as NodeSession from "./NodeSession.js"
