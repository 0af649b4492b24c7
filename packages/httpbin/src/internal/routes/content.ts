/**
 * Content endpoints: `/gzip /deflate /brotli`, `/encoding/utf8`, `/json /html /xml`,
 * `/base64/:value`, and the conditional-request endpoints `/etag/:etag`, `/cache`,
 * `/cache/:n`.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import * as Zlib from "node:zlib"
import { type Ctx, header, headers, origin } from "../context.js"
import { getDict } from "../form.js"
import { jsonText, send, sendJson, sendStatus } from "../respond.js"
import { type Route, route } from "../router.js"
import { HTML, JSON_SLIDESHOW, UTF8_DEMO, XML } from "./samples.js"

const compressed = (ctx: Ctx, flag: string, encoding: string, encode: (b: Buffer) => Buffer): void => {
  const body = jsonText({ [flag]: true, headers: headers(ctx), method: ctx.method, origin: origin(ctx) })
  send(ctx.res, 200, encode(Buffer.from(body)), { "Content-Type": "application/json", "Content-Encoding": encoding })
}

/** The entity tags of an If-Match / If-None-Match value, quotes and `W/` removed. */
export const parseEtags = (value: string | undefined): Array<string> =>
  value === undefined
    ? []
    : value.split(",").map((t) => t.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1")).filter((t) => t !== "")

const getResponse = (ctx: Ctx, extra: Record<string, string>): void =>
  sendJson(ctx.res, getDict(ctx, "url", "args", "headers", "origin"), 200, extra)

/** Content routes. */
export const contentRoutes: ReadonlyArray<Route> = [
  route(["GET"], "/gzip", (ctx) => compressed(ctx, "gzipped", "gzip", (b) => Zlib.gzipSync(b))),
  route(["GET"], "/deflate", (ctx) => compressed(ctx, "deflated", "deflate", (b) => Zlib.deflateSync(b))),
  route(["GET"], "/brotli", (ctx) => compressed(ctx, "brotli", "br", (b) => Zlib.brotliCompressSync(b))),
  route(["GET"], "/encoding/utf8", (ctx) => send(ctx.res, 200, UTF8_DEMO)),
  route(["GET"], "/json", (ctx) => sendJson(ctx.res, JSON_SLIDESHOW)),
  route(["GET"], "/html", (ctx) => send(ctx.res, 200, HTML)),
  route(["GET"], "/xml", (ctx) => send(ctx.res, 200, XML, { "Content-Type": "application/xml" })),
  route(["GET"], "/base64/:value", (ctx) => {
    const value = ctx.params.value ?? ""
    const fail = () => send(ctx.res, 200, "Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l")
    if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(value)) return fail()
    try {
      send(ctx.res, 200, new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(value, "base64url")))
    } catch {
      fail()
    }
  }),
  route(["GET"], "/etag/:etag", (ctx) => {
    const etag = ctx.params.etag ?? ""
    const ifNoneMatch = parseEtags(header(ctx, "if-none-match"))
    const ifMatch = parseEtags(header(ctx, "if-match"))
    if (ifNoneMatch.length > 0) {
      if (ifNoneMatch.includes(etag) || ifNoneMatch.includes("*")) return send(ctx.res, 304, "", { ETag: etag })
    } else if (ifMatch.length > 0 && !ifMatch.includes(etag) && !ifMatch.includes("*")) {
      return sendStatus(ctx.res, 412)
    }
    getResponse(ctx, { ETag: etag })
  }),
  route(["GET"], "/cache", (ctx) => {
    if (header(ctx, "if-modified-since") !== undefined || header(ctx, "if-none-match") !== undefined) {
      return sendStatus(ctx.res, 304)
    }
    getResponse(ctx, { "Last-Modified": new Date().toUTCString(), ETag: randomUUID().replace(/-/g, "") })
  }),
  route(["GET"], "/cache/:n", (ctx) => {
    const n = /^\d+$/.test(ctx.params.n ?? "") ? Number(ctx.params.n) : 0
    getResponse(ctx, { "Cache-Control": `public, max-age=${n}` })
  })
]
