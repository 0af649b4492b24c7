/**
 * `@effect-requests/httpbin`: an httpbin-compatible test server with fault endpoints,
 * as a scoped Effect layer, a promise API and a CLI.
 *
 * @since 0.1.0
 */

/**
 * The server as an Effect service: `Httpbin` tag, `make`, `layer`, `layerOptions`, `start`.
 *
 * @since 0.1.0
 */
export * as Httpbin from "./Httpbin.js"
