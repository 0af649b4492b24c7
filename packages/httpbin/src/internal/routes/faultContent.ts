/**
 * Fault endpoints that send unusual but well-framed responses: raw Set-Cookie lines,
 * arbitrary bodies with any Content-Encoding chain, raw redirects, and text in a
 * chosen charset. Header values are sent byte for byte as percent-decoded.
 *
 * @internal
 */
import type { OutgoingHttpHeaders } from "node:http"
import * as Zlib from "node:zlib"
import { type Ctx, paramBytesAll, paramCI, paramRaw } from "../context.js"
import { headerBytes } from "../query.js"
import { badRequest, send } from "../respond.js"
import { type Route, route } from "../router.js"

const ENCODERS: Record<string, readonly [token: string, encode: (b: Buffer) => Buffer]> = {
  gzip: ["gzip", (b) => Zlib.gzipSync(b)],
  "x-gzip": ["x-gzip", (b) => Zlib.gzipSync(b)],
  deflate: ["deflate", (b) => Zlib.deflateSync(b)],
  "deflate-raw": ["deflate", (b) => Zlib.deflateRawSync(b)],
  br: ["br", (b) => Zlib.brotliCompressSync(b)],
  identity: ["identity", (b) => b]
}

/** Apply a comma chain of encodings in order; returns the body and the Content-Encoding value. */
export const encodeChain = (body: Buffer, chain: string): { body: Buffer; header: string } => {
  const tokens: Array<string> = []
  for (const raw of chain.split(",").map((t) => t.trim()).filter((t) => t !== "")) {
    const encoder = ENCODERS[raw.toLowerCase()]
    if (encoder) {
      tokens.push(encoder[0])
      body = encoder[1](body)
    } else {
      tokens.push(raw)
    }
  }
  return { body, header: tokens.join(", ") }
}

/** The `h=Name:Value` parameters, merged over `defaults` (a name given in `h` replaces the default). */
const withExtraHeaders = (ctx: Ctx, defaults: OutgoingHttpHeaders): OutgoingHttpHeaders => {
  const extra = new Map<string, [string, Array<string>]>()
  for (const value of paramBytesAll(ctx, "h")) {
    const colon = value.indexOf(0x3a)
    if (colon <= 0) continue
    const name = value.subarray(0, colon).toString("latin1").trim()
    const entry = extra.get(name.toLowerCase()) ?? [name, []]
    entry[1].push(headerBytes(value.subarray(colon + 1)).trim())
    extra.set(name.toLowerCase(), entry)
  }
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(defaults)) {
    if (!extra.has(name.toLowerCase())) out[name] = value
  }
  for (const [name, values] of extra.values()) out[name] = values.length === 1 ? values[0]! : values
  return out
}

const statusParam = (ctx: Ctx, fallback: number): number | undefined => {
  const status = Number(paramCI(ctx, "status") ?? fallback)
  return Number.isInteger(status) && status >= 200 && status <= 999 ? status : undefined
}

/** Send, answering 400 when node refuses a header name or value. */
const sendChecked = (ctx: Ctx, status: number, body: string | Buffer, headers: OutgoingHttpHeaders): void => {
  try {
    send(ctx.res, status, body, headers)
  } catch (error) {
    for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name)
    badRequest(ctx.res, `cannot send these headers: ${String(error)}`)
  }
}

/** windows-1252's 0x80-0x9f (node 20's TextDecoder drops these bytes, so they are spelled out). */
const CP1252_HIGH = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ"

const singleByte = (text: string, table: ReadonlyMap<string, number>): Buffer =>
  Buffer.from(Array.from(text, (ch) => table.get(ch) ?? 0x3f))

/** Encode `text` in `charset`; `undefined` when the charset is unknown or multi-byte (other than UTF-8/16). */
export const encodeText = (text: string, charset: string): Buffer | undefined => {
  const cs = charset.trim().toLowerCase()
  if (cs === "utf-8" || cs === "utf8") return Buffer.from(text, "utf8")
  if (cs === "utf-16le") return Buffer.from(text, "utf16le")
  if (cs === "utf-16be") return Buffer.from(text, "utf16le").swap16()
  if (cs === "utf-16") return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")])
  if (cs === "iso-8859-1" || cs === "latin1" || cs === "latin-1" || cs === "l1") {
    return Buffer.from(Array.from(text, (ch) => (ch.codePointAt(0)! <= 0xff ? ch.codePointAt(0)! : 0x3f)))
  }
  if (cs === "ascii" || cs === "us-ascii") {
    return Buffer.from(Array.from(text, (ch) => (ch.codePointAt(0)! < 0x80 ? ch.codePointAt(0)! : 0x3f)))
  }
  if (cs === "windows-1252" || cs === "cp1252" || cs === "x-cp1252") {
    const table = new Map<string, number>()
    for (let b = 0; b < 256; b++) table.set(b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80]! : String.fromCharCode(b), b)
    return singleByte(text, table)
  }
  let decoder: TextDecoder
  try {
    decoder = new TextDecoder(cs)
  } catch {
    return undefined
  }
  const table = new Map<string, number>()
  for (let b = 0; b < 256; b++) {
    const ch = decoder.decode(Uint8Array.of(b))
    if (ch === "\ufffd") continue
    if (!table.has(ch)) table.set(ch, b)
  }
  return table.size < 128 ? undefined : singleByte(text, table)
}

/** Content fault routes. */
export const faultContentRoutes: ReadonlyArray<Route> = [
  route("*", "/fault/set-cookies", (ctx) => {
    const lines = paramBytesAll(ctx, "c")
    const status = statusParam(ctx, 200)
    if (status === undefined) return badRequest(ctx.res, "invalid status")
    const location = paramRaw(ctx, "location")
    const headers: OutgoingHttpHeaders = { "Content-Type": "application/json", "Set-Cookie": lines.map(headerBytes) }
    if (location !== undefined) headers.Location = location
    const body = `${JSON.stringify({ set: lines.map((l) => l.toString("utf8")) }, null, 2)}\n`
    sendChecked(ctx, status, body, headers)
  }),
  route("*", "/fault/body", (ctx) => {
    const status = statusParam(ctx, 200)
    if (status === undefined) return badRequest(ctx.res, "invalid status")
    const encoded = encodeChain(Buffer.from(paramCI(ctx, "b64") ?? "", "base64"), paramCI(ctx, "encoding") ?? "")
    const defaults: OutgoingHttpHeaders = {
      "Content-Type": paramRaw(ctx, "content_type") ?? "application/octet-stream"
    }
    if (encoded.header !== "") defaults["Content-Encoding"] = encoded.header
    sendChecked(ctx, status, encoded.body, withExtraHeaders(ctx, defaults))
  }),
  route("*", "/fault/redirect", (ctx) => {
    const status = statusParam(ctx, 302)
    if (status === undefined) return badRequest(ctx.res, "invalid status")
    const location = paramRaw(ctx, "location")
    sendChecked(ctx, status, "", withExtraHeaders(ctx, location === undefined ? {} : { Location: location }))
  }),
  route(
    ["GET"],
    "/fault/latin1",
    (ctx) => send(ctx.res, 200, Buffer.from("café", "latin1"), { "Content-Type": "text/plain; charset=ISO-8859-1" })
  ),
  route(["GET"], "/fault/text", (ctx) => {
    const text = paramCI(ctx, "text") ?? ""
    const charset = paramCI(ctx, "charset")
    const mime = paramCI(ctx, "content_type") ?? "text/plain"
    if (charset === undefined) return send(ctx.res, 200, text, { "Content-Type": mime })
    const body = encodeText(text, charset)
    if (body === undefined) return badRequest(ctx.res, `unsupported charset ${charset}`)
    send(ctx.res, 200, body, { "Content-Type": `${mime}; charset=${charset}` })
  })
]
