/**
 * Fault endpoints that misbehave at the connection level: stalls, drips, resets,
 * truncated and short bodies, keep-alive sockets closed under the client, and a
 * gzip bomb. Every wait is capped (`stallCapMs`) and ends when the client goes away.
 *
 * @internal
 */
import * as Net from "node:net"
import type { Socket } from "node:net"
import { type Ctx, paramCI } from "../context.js"
import { gzipZeros } from "../gzipBomb.js"
import { clamp, flushed, numberParam, sleep, write } from "../io.js"
import { badRequest, jsonText, sendJson } from "../respond.js"
import { type Route, route } from "../router.js"

const MAX_DRIP_BYTES = 64 * 1024 * 1024

const int = (ctx: Ctx, name: string, fallback: number): number => Math.trunc(numberParam(paramCI(ctx, name), fallback))

/** A capped duration parameter, in milliseconds. */
const ms = (ctx: Ctx, name: string, fallback: number): number =>
  clamp(int(ctx, name, fallback), 0, ctx.state.stallCapMs)

/** A raw status line and header block, for responses node:http would not write. */
const rawHead = (headers: ReadonlyArray<string>): string =>
  `HTTP/1.1 200 OK\r\nDate: ${new Date().toUTCString()}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`

/**
 * Send a TCP RST. For TLS the reset goes to the TCP socket under the TLS one (node's
 * private `_parent`); destroy is the fallback where neither works.
 */
export const resetSocket = (socket: Socket): void => {
  if (socket.destroyed) return
  const parent = (socket as Socket & { readonly _parent?: unknown })._parent
  const tcp = parent instanceof Net.Socket ? parent : socket
  try {
    tcp.resetAndDestroy()
  } catch {
    // not a TCP handle
  }
  socket.destroy()
}

/** Socket fault routes. */
export const faultSocketRoutes: ReadonlyArray<Route> = [
  route("*", "/fault/stall-headers", async (ctx) => {
    const stalled = ms(ctx, "ms", 1000)
    if (await sleep(stalled, ctx.signal)) sendJson(ctx.res, { stalled })
  }),
  route("*", "/fault/stall-body", async (ctx) => {
    const stalled = ms(ctx, "ms", 1000)
    const body = jsonText({ stalled })
    ctx.res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) })
    ctx.res.flushHeaders()
    if (await sleep(stalled, ctx.signal)) ctx.res.end(body)
  }),
  route("*", "/fault/drip-body", async (ctx) => {
    const chunks = Math.max(0, int(ctx, "chunks", 10))
    const size = Math.max(0, int(ctx, "size", 1))
    if (chunks * size > MAX_DRIP_BYTES) return badRequest(ctx.res, `chunks * size must be at most ${MAX_DRIP_BYTES}`)
    const interval = Math.min(ms(ctx, "interval_ms", 100), chunks > 0 ? ctx.state.stallCapMs / chunks : 0)
    ctx.res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": chunks * size })
    ctx.res.flushHeaders()
    const chunk = Buffer.alloc(size, "*")
    for (let i = 0; i < chunks; i++) {
      if (!(await sleep(interval, ctx.signal)) || !(await write(ctx.res, chunk, ctx.signal))) return ctx.res.destroy()
    }
    ctx.res.end()
  }),
  route("*", "/fault/reset-mid-body", async (ctx) => {
    const bytes = Math.max(0, int(ctx, "bytes", 1024))
    if (bytes > MAX_DRIP_BYTES) return badRequest(ctx.res, `bytes must be at most ${MAX_DRIP_BYTES}`)
    const declared = Math.max(bytes + 1, int(ctx, "declared", bytes + 1024))
    const socket = ctx.req.socket
    const head = rawHead(["Content-Type: application/octet-stream", `Content-Length: ${declared}`])
    if (!(await flushed(socket, Buffer.concat([Buffer.from(head, "latin1"), Buffer.alloc(bytes, "x")])))) return
    await sleep(ms(ctx, "delay_ms", 25), ctx.state.closing)
    resetSocket(socket)
  }),
  route("*", "/fault/truncated-chunked", async (ctx) => {
    const bytes = Math.max(0, int(ctx, "bytes", 1024))
    if (bytes > MAX_DRIP_BYTES) return badRequest(ctx.res, `bytes must be at most ${MAX_DRIP_BYTES}`)
    const chunkSize = clamp(int(ctx, "chunk_size", 1024), 1, MAX_DRIP_BYTES)
    const socket = ctx.req.socket
    const pieces: Array<Buffer> = [
      Buffer.from(rawHead(["Content-Type: application/octet-stream", "Transfer-Encoding: chunked"]), "latin1")
    ]
    for (let sent = 0; sent < bytes; sent += chunkSize) {
      const n = Math.min(chunkSize, bytes - sent)
      pieces.push(Buffer.from(`${n.toString(16)}\r\n`), Buffer.alloc(n, "x"), Buffer.from("\r\n"))
    }
    if (await flushed(socket, Buffer.concat(pieces))) socket.destroySoon()
  }),
  route("*", "/fault/short-body", async (ctx) => {
    const declared = int(ctx, "declared", 1024)
    const actual = int(ctx, "actual", 0)
    if (!(actual >= 0 && actual < declared && actual <= MAX_DRIP_BYTES)) {
      return badRequest(ctx.res, "need 0 <= actual < declared")
    }
    const socket = ctx.req.socket
    const head = rawHead(["Content-Type: application/octet-stream", `Content-Length: ${declared}`])
    if (await flushed(socket, Buffer.concat([Buffer.from(head, "latin1"), Buffer.alloc(actual, "x")]))) {
      socket.destroySoon()
    }
  }),
  route("*", "/fault/close-after", (ctx) => {
    const after = ms(ctx, "ms", 100)
    const socket = ctx.req.socket
    ctx.res.once("finish", () => ctx.state.schedule(after, () => socket.destroy()))
    sendJson(ctx.res, { closeAfter: after })
  }),
  route("*", "/fault/close-on-next", (ctx) => {
    ctx.state.closeOnNext(ctx.req.socket)
    sendJson(ctx.res, { closeOnNext: true })
  }),
  route("*", "/fault/gzip-bomb", async (ctx) => {
    const decoded = int(ctx, "decoded", 1024 * 1024)
    if (!(decoded >= 0 && decoded <= 2 ** 32)) return badRequest(ctx.res, "decoded must be in [0, 4294967296]")
    const bomb = gzipZeros(decoded)
    ctx.res.writeHead(200, {
      "Content-Type": "application/octet-stream",
      "Content-Encoding": "gzip",
      "Content-Length": bomb.length
    })
    if (ctx.method === "HEAD") return ctx.res.end()
    if (await bomb.write(ctx.res, ctx.signal)) ctx.res.end()
    else ctx.res.destroy()
  })
]
