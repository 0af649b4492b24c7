/**
 * Introspection endpoints, never themselves logged: `GET /__log`, `DELETE /__log`,
 * `GET /__connections`; and `/tls/client-cert` in TLS mode.
 *
 * @internal
 */
import type { TLSSocket } from "node:tls"
import { notFound, send, sendJson } from "../respond.js"
import { type Route, route } from "../router.js"

/** Paths whose requests are not recorded in the log. */
export const UNLOGGED_PATHS: ReadonlySet<string> = new Set(["/__log", "/__connections"])

/** Admin routes. */
export const adminRoutes: ReadonlyArray<Route> = [
  route(["GET"], "/__log", (ctx) => sendJson(ctx.res, ctx.state.log.entries())),
  route(["DELETE"], "/__log", (ctx) => {
    ctx.state.log.clear()
    send(ctx.res, 204, "")
  }),
  route(["GET"], "/__connections", (ctx) => sendJson(ctx.res, ctx.state.connections())),
  route(["GET"], "/tls/client-cert", (ctx) => {
    if (!ctx.state.tls) return notFound(ctx.res)
    const socket = ctx.req.socket as TLSSocket
    const cert = socket.getPeerCertificate()
    const present = cert !== null && Object.keys(cert).length > 0
    sendJson(ctx.res, {
      authorized: socket.authorized,
      authorizationError: socket.authorizationError == null ? null : String(socket.authorizationError),
      subject: present ? { ...cert.subject } : null,
      issuer: present ? { ...cert.issuer } : null,
      fingerprint256: present ? cert.fingerprint256 : null,
      protocol: socket.getProtocol()
    })
  })
]
