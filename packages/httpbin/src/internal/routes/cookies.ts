/**
 * Cookies: `/cookies` echoes the Cookie header; `/cookies/set?name=value`,
 * `/cookies/set/:name/:value` and `/cookies/delete?name` answer with Set-Cookie
 * lines (werkzeug's format) and a 302 to `/cookies`.
 *
 * @internal
 */
import { type Ctx, queryPairs } from "../context.js"
import { redirectHtml, send, sendJson } from "../respond.js"
import { type Route, route } from "../router.js"

/** Parse a Cookie header into name/value pairs (quoted values unquoted). */
export const parseCookieHeader = (value: string | undefined): Record<string, string> => {
  const out = new Map<string, string>()
  for (const piece of (value ?? "").split(/;\s*/)) {
    const eq = piece.indexOf("=")
    if (eq <= 0) continue
    const name = piece.slice(0, eq).trim()
    let v = piece.slice(eq + 1).trim()
    if (v.length >= 2 && v.startsWith("\"") && v.endsWith("\"")) v = v.slice(1, -1).replace(/\\(.)/g, "$1")
    if (!out.has(name)) out.set(name, v)
  }
  return Object.fromEntries(out)
}

const COOKIE_OCTETS = /^[!#-+\--:<-[\]-~]*$/

/** Werkzeug's `dump_cookie` value quoting. */
export const quoteCookieValue = (value: string): string =>
  COOKIE_OCTETS.test(value)
    ? value
    : `"${
      Array.from(Buffer.from(value, "utf8"), (b) =>
        b === 0x22 || b === 0x5c
          ? `\\${String.fromCharCode(b)}`
          : b < 0x20 || b > 0x7e || b === 0x2c || b === 0x3b
          ? `\\${b.toString(8).padStart(3, "0")}`
          : String.fromCharCode(b)).join("")
    }"`

const secure = (ctx: Ctx): string => (ctx.state.tls ? "; Secure" : "")

/** `name=value; Path=/` (plus `Secure` over TLS). */
export const setCookieLine = (ctx: Ctx, name: string, value: string): string =>
  `${name}=${quoteCookieValue(value)}${secure(ctx)}; Path=/`

const redirectToCookies = (ctx: Ctx, lines: ReadonlyArray<string>): void =>
  send(ctx.res, 302, redirectHtml("/cookies"), { Location: "/cookies", "Set-Cookie": [...lines] })

/** Cookie routes. */
export const cookieRoutes: ReadonlyArray<Route> = [
  route(["GET"], "/cookies", (ctx) => sendJson(ctx.res, { cookies: parseCookieHeader(ctx.req.headers.cookie) })),
  route(
    ["GET"],
    "/cookies/set",
    (ctx) => redirectToCookies(ctx, queryPairs(ctx).map(([k, v]) => setCookieLine(ctx, k, v)))
  ),
  route(
    ["GET"],
    "/cookies/set/:name/:value",
    (ctx) => redirectToCookies(ctx, [setCookieLine(ctx, ctx.params.name ?? "", ctx.params.value ?? "")])
  ),
  route(["GET"], "/cookies/delete", (ctx) =>
    redirectToCookies(
      ctx,
      queryPairs(ctx).map(([k]) => `${k}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0${secure(ctx)}; Path=/`)
    ))
]
