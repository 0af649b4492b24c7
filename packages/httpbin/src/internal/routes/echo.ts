/**
 * The echo endpoints: `/get /post /put /patch /delete /anything[/*]`, `/headers`,
 * `/user-agent`, `/ip`, `/uuid` and `/delay/:s`, with httpbin's JSON shapes.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import { header, headers, origin } from "../context.js"
import { type DictKey, getDict } from "../form.js"
import { clamp, sleep } from "../io.js"
import { badRequest, sendJson } from "../respond.js"
import { type Route, route } from "../router.js"

const WITH_BODY: ReadonlyArray<DictKey> = ["url", "args", "form", "data", "origin", "headers", "files", "json"]

/** Echo routes. */
export const echoRoutes: ReadonlyArray<Route> = [
  route(["GET"], "/get", (ctx) => sendJson(ctx.res, getDict(ctx, "url", "args", "headers", "origin"))),
  ...["POST", "PUT", "PATCH", "DELETE"].map((method) =>
    route([method], `/${method.toLowerCase()}`, (ctx) => sendJson(ctx.res, getDict(ctx, ...WITH_BODY)), "buffer")
  ),
  ...["/anything", "/anything/*"].map((pattern) =>
    route("*", pattern, (ctx) => sendJson(ctx.res, getDict(ctx, ...WITH_BODY, "method")), "buffer")
  ),
  route(["GET"], "/headers", (ctx) => sendJson(ctx.res, { headers: headers(ctx) })),
  route(["GET"], "/user-agent", (ctx) => sendJson(ctx.res, { "user-agent": header(ctx, "user-agent") ?? null })),
  route(["GET"], "/ip", (ctx) => sendJson(ctx.res, { origin: origin(ctx) })),
  route(["GET"], "/uuid", (ctx) => sendJson(ctx.res, { uuid: randomUUID() })),
  route("*", "/delay/:seconds", async (ctx) => {
    const seconds = Number(ctx.params.seconds)
    if (!Number.isFinite(seconds)) return badRequest(ctx.res, "delay must be a number of seconds")
    const ms = clamp(seconds * 1000, 0, Math.min(10_000, ctx.state.stallCapMs))
    if (!(await sleep(ms, ctx.signal))) return
    sendJson(ctx.res, getDict(ctx, "url", "args", "form", "data", "origin", "headers", "files"))
  }, "buffer")
]
