/**
 * What a route handler sees: the node request/response pair, the parsed target,
 * the (buffered) body, an abort signal, and the per-server state; plus the helpers
 * that build httpbin's JSON pieces (`args`, `headers`, `origin`, `url`, ...).
 *
 * @internal
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import type { BodyResult } from "./body.js"
import type { DigestStore } from "./digest.js"
import type { RequestLog } from "./log.js"
import { type BytePair, headerBytes, type Pair, semiflatten, toTextPairs } from "./query.js"

/** Sockets currently open, accepted since start, and requests whose handler is still running. */
export interface ConnectionStats {
  readonly open: number
  readonly total: number
  /** Requests being handled right now (a stalled handler counts until its stall ends). */
  readonly activeRequests: number
}

/** State shared by every request of one server instance. */
export interface ServerState {
  readonly log: RequestLog
  readonly digest: DigestStore
  readonly tls: boolean
  /** Cap of buffered (echo) request bodies; 413 beyond. */
  readonly maxBodyBytes: number
  /** Cap of every stall, drip and delay, in milliseconds. */
  readonly stallCapMs: number
  /** Aborted when the server starts closing. */
  readonly closing: AbortSignal
  /** Run `f` in `ms` unless the server closes first. */
  readonly schedule: (ms: number, f: () => void) => void
  /** Destroy the next request that arrives on `socket` before answering it. */
  readonly closeOnNext: (socket: Socket) => void
  readonly connections: () => ConnectionStats
}

/** One request being handled. */
export interface Ctx {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly state: ServerState
  readonly method: string
  /** Raw request target. */
  readonly target: string
  /** Path part of the target, still percent-encoded. */
  readonly path: string
  readonly query: ReadonlyArray<BytePair>
  /** Decoded path parameters of the matched route. */
  readonly params: Readonly<Record<string, string>>
  /** The body, for routes that buffer it (empty otherwise). */
  readonly body: Buffer
  /** Aborted when the client goes away, the response closes, or the server closes. */
  readonly signal: AbortSignal
  /** For streaming routes: read the body to its end (recorded in the log). */
  readonly readBody: (onChunk: (chunk: Buffer) => void) => Promise<BodyResult>
}

/** Query pairs as text. */
export const queryPairs = (ctx: Ctx): Array<Pair> => toTextPairs(ctx.query)

/** First value of query parameter `name` (exact name). */
export const param = (ctx: Ctx, name: string): string | undefined => {
  const hit = ctx.query.find(([k]) => k.toString("utf8") === name)
  return hit ? hit[1].toString("utf8") : undefined
}

/** First value of query parameter `name`, compared case-insensitively (httpbin's CaseInsensitiveDict). */
export const paramCI = (ctx: Ctx, name: string): string | undefined => {
  const lower = name.toLowerCase()
  const hit = ctx.query.find(([k]) => k.toString("utf8").toLowerCase() === lower)
  return hit ? hit[1].toString("utf8") : undefined
}

/** Every value of query parameter `name`, as raw bytes. */
export const paramBytesAll = (ctx: Ctx, name: string): Array<Buffer> =>
  ctx.query.filter(([k]) => k.toString("utf8") === name).map(([, v]) => v)

/** First value of query parameter `name` as a header string carrying its raw bytes. */
export const paramRaw = (ctx: Ctx, name: string): string | undefined => {
  const all = paramBytesAll(ctx, name)
  return all[0] === undefined ? undefined : headerBytes(all[0])
}

/** httpbin's `args`. */
export const args = (ctx: Ctx) => semiflatten(queryPairs(ctx))

/** Python's `str.title()`: a letter is upper-cased after a non-letter, lower-cased otherwise. */
export const titleCase = (name: string): string => {
  let out = ""
  let prevLetter = false
  for (const ch of name) {
    const isLetter = ch.toLowerCase() !== ch.toUpperCase()
    out += isLetter ? (prevLetter ? ch.toLowerCase() : ch.toUpperCase()) : ch
    prevLetter = isLetter
  }
  return out
}

/** httpbin's `headers`: Title-Case names, repeated headers joined with ",". */
export const headers = (ctx: Ctx): Record<string, string> => {
  const out = new Map<string, string>()
  const raw = ctx.req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = titleCase(raw[i]!)
    const previous = out.get(name)
    out.set(name, previous === undefined ? raw[i + 1]! : `${previous},${raw[i + 1]!}`)
  }
  return Object.fromEntries(out)
}

/** A request header by name (case-insensitive), repeated values joined with ",". */
export const header = (ctx: Ctx, name: string): string | undefined => {
  const lower = name.toLowerCase()
  const raw = ctx.req.rawHeaders
  let value: string | undefined
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === lower) value = value === undefined ? raw[i + 1]! : `${value},${raw[i + 1]!}`
  }
  return value
}

/** The peer address, without the IPv4-mapped prefix. */
export const remoteAddress = (ctx: Ctx): string => {
  const address = ctx.req.socket.remoteAddress ?? ""
  return address.startsWith("::ffff:") ? address.slice(7) : address
}

/** httpbin's `origin`: `X-Forwarded-For` if present, else the peer address. */
export const origin = (ctx: Ctx): string => header(ctx, "x-forwarded-for") ?? remoteAddress(ctx)

/** Scheme and authority the client used, from the Host header. */
export const base = (ctx: Ctx): string => {
  const scheme = ctx.state.tls ? "https" : "http"
  const local = ctx.req.socket
  const host = ctx.req.headers.host ?? `${local.localAddress ?? "127.0.0.1"}:${local.localPort ?? 0}`
  return `${scheme}://${host}`
}

/** httpbin's `url`: the full URL of this request. */
export const fullUrl = (ctx: Ctx): string => /^https?:\/\//i.test(ctx.target) ? ctx.target : base(ctx) + ctx.target

/** httpbin's `json_safe`: UTF-8 text, or a base64 `data:` URL for other bytes. */
export const jsonSafe = (bytes: Buffer, contentType = "application/octet-stream"): string => {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    return `data:${contentType};base64,${bytes.toString("base64")}`
  }
}
