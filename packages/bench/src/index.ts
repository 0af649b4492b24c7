/**
 * `@effect-requests/bench`: throughput of our session against raw undici, `@effect/platform`'s
 * client, axios, got, ky and fetch, on the httpbin server in a child process. Run it with
 * `pnpm bench` (`--quick` for a smoke run).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Bench from "./Bench.js"
/** @since 0.1.0 */
export * as Clients from "./Clients.js"
/** @since 0.1.0 */
export * as Report from "./Report.js"
/** @since 0.1.0 */
export * as Server from "./Server.js"
