/**
 * Redirects: `/redirect/:n` (relative, or absolute with `?absolute=true`),
 * `/relative-redirect/:n`, `/absolute-redirect/:n`, `/redirect-to` (`url`,
 * `status_code`, any method, Location sent byte for byte), and `/links/:n/:offset`.
 *
 * @internal
 */
import { base, type Ctx, paramCI } from "../context.js"
import { headerBytes } from "../query.js"
import { badRequest, send } from "../respond.js"
import { type Route, route } from "../router.js"

const positive = (ctx: Ctx, name: string): number | undefined => {
  const raw = ctx.params[name] ?? ""
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (n > 0) return n
  badRequest(ctx.res, `${name} must be a positive integer`)
  return undefined
}

const redirect = (ctx: Ctx, location: string, status = 302): void => send(ctx.res, status, "", { Location: location })

/** Redirect routes. */
export const redirectRoutes: ReadonlyArray<Route> = [
  route(["GET"], "/redirect/:n", (ctx) => {
    const n = positive(ctx, "n")
    if (n === undefined) return
    const absolute = (paramCI(ctx, "absolute") ?? "").toLowerCase() === "true"
    const prefix = absolute ? base(ctx) : ""
    redirect(ctx, n === 1 ? `${prefix}/get` : `${prefix}/${absolute ? "absolute" : "relative"}-redirect/${n - 1}`)
  }),
  route(["GET"], "/relative-redirect/:n", (ctx) => {
    const n = positive(ctx, "n")
    if (n !== undefined) redirect(ctx, n === 1 ? "/get" : `/relative-redirect/${n - 1}`)
  }),
  route(["GET"], "/absolute-redirect/:n", (ctx) => {
    const n = positive(ctx, "n")
    if (n !== undefined) redirect(ctx, `${base(ctx)}${n === 1 ? "/get" : `/absolute-redirect/${n - 1}`}`)
  }),
  route("*", "/redirect-to", (ctx) => {
    const url = ctx.query.find(([k]) => k.toString("utf8").toLowerCase() === "url")
    if (url === undefined) return badRequest(ctx.res, "missing url parameter")
    const code = Number(paramCI(ctx, "status_code") ?? "302")
    redirect(ctx, headerBytes(url[1]), code >= 300 && code < 400 ? Math.trunc(code) : 302)
  }),
  route(["GET"], "/links/:n", (ctx) => redirect(ctx, `/links/${ctx.params.n}/0`)),
  route(["GET"], "/links/:n/:offset", (ctx) => {
    const n = Math.min(Math.max(1, Math.trunc(Number(ctx.params.n)) || 1), 200)
    const offset = Math.trunc(Number(ctx.params.offset))
    const html = ["<html><head><title>Links</title></head><body>"]
    for (let i = 0; i < n; i++) html.push(i === offset ? `${i} ` : `<a href='/links/${n}/${i}'>${i}</a> `)
    html.push("</body></html>")
    send(ctx.res, 200, html.join(""))
  })
]
