/**
 * `NodeSession.layer`: a whole session for Node in one layer: `Session`, `Adapter`, `CookieJar`
 * and `SessionConfig`, with `NodeAdapter` as the transport for `http://` and `https://` and Node's
 * file system (for netrc, file bodies and file-backed jars). It needs nothing.
 *
 * ```ts
 * program.pipe(Effect.provide(NodeSession.layer({ headers: { "x-app": "demo" } })), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 */
import type { Adapter, CookieJar, RequestError, SessionConfig } from "@effect-requests/core"
import { Session } from "@effect-requests/core"
import { NodeFileSystem } from "@effect/platform-node"
import { Layer } from "effect"
import * as NodeAdapter from "./NodeAdapter.js"

/**
 * Session options plus the adapter's pool options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Session.LayerOptions {
  readonly adapter?: NodeAdapter.Options | undefined
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<
  Session.Session | Adapter.Adapter | CookieJar.CookieJar | SessionConfig.SessionConfig,
  RequestError.InvalidRequest
> =>
  Session.layer(options).pipe(
    Layer.provide(NodeAdapter.layer(options?.adapter)),
    Layer.provide(NodeFileSystem.layer)
  )
