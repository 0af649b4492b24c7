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
import { Effect, Layer } from "effect"
import * as NodeAdapter from "./NodeAdapter.js"
import * as NodeCookieJar from "./NodeCookieJar.js"

/**
 * Session options plus the adapter's pool options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Session.LayerOptions {
  readonly adapter?: NodeAdapter.Options | undefined
  /**
   * Keep the session's cookies in a file (`NodeCookieJar`): loaded when the layer is built, saved
   * atomically when it closes. A path (`.txt` for Netscape `cookies.txt`, JSON otherwise) or options.
   */
  readonly cookieFile?: string | Omit<NodeCookieJar.Options, "jar"> | undefined
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<
  Session.Session | Adapter.Adapter | CookieJar.CookieJar | SessionConfig.SessionConfig,
  RequestError.InvalidRequest | CookieJar.CookieJarError
> => {
  const session = (jar?: CookieJar.Service) =>
    Session.layer(jar === undefined ? options : { ...options, jar: Effect.succeed(jar) }).pipe(
      Layer.provide(NodeAdapter.layer(options?.adapter)),
      Layer.provide(NodeFileSystem.layer)
    )
  const file = options?.cookieFile
  if (file === undefined) return session()
  // The file jar is acquired first, so it is saved after the session has closed its transports.
  const jar = NodeCookieJar.make({ ...(typeof file === "string" ? { path: file } : file), jar: options?.cookieJar })
  return Layer.unwrapScoped(Effect.map(Effect.provide(jar, NodeFileSystem.layer), session))
}
