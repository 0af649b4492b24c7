/**
 * Generated and streamed bodies: `/bytes/:n` and `/stream-bytes/:n` (up to 4 GiB,
 * deterministic with `seed`), `/stream/:n` (JSON lines), `/range/:n` (Range, 206/416),
 * `/drip`, and `/upload` (hashes a streamed request body without buffering it).
 *
 * @internal
 */
import { alphabetBlock, BLOCK_SIZE, MAX_GENERATED, randomBlock, seededBlock, writeCyclic } from "../bytes.js"
import { type Ctx, header, paramCI } from "../context.js"
import { getDict } from "../form.js"
import { clamp, numberParam, sleep, write } from "../io.js"
import { badRequest, send, sendJson } from "../respond.js"
import { type Route, route } from "../router.js"

const OCTET = "application/octet-stream"

/** Parse the `:n` byte count; `undefined` (after answering 400) when out of range. */
const byteCount = (ctx: Ctx, max = MAX_GENERATED): number | undefined => {
  const raw = ctx.params.n ?? ""
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (n >= 0 && n <= max) return n
  badRequest(ctx.res, `n must be an integer in [0, ${max}]`)
  return undefined
}

const blockFor = (ctx: Ctx, n: number): Buffer => {
  const seed = paramCI(ctx, "seed")
  return seed === undefined ? randomBlock(n) : seededBlock(seed)
}

const endIfOpen = (ctx: Ctx, ok: boolean): void => {
  if (ok) ctx.res.end()
  else ctx.res.destroy()
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` for a resource of `size` bytes (only the first range is served). */
export const parseRange = (value: string | undefined, size: number): { first: number; last: number } | "invalid" => {
  if (value === undefined) return { first: 0, last: size - 1 }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)/i.exec(value)
  if (!m || (m[1] === "" && m[2] === "")) return { first: 0, last: size - 1 }
  if (m[1] === "") return { first: Math.max(0, size - Number(m[2])), last: size - 1 }
  const first = Number(m[1])
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1)
  return first > last || first >= size ? "invalid" : { first, last }
}

/** Streaming routes. */
export const streamRoutes: ReadonlyArray<Route> = [
  route(["GET"], "/bytes/:n", async (ctx) => {
    const n = byteCount(ctx)
    if (n === undefined) return
    const block = blockFor(ctx, n)
    ctx.res.writeHead(200, { "Content-Type": OCTET, "Content-Length": n })
    if (ctx.method === "HEAD") return ctx.res.end()
    endIfOpen(ctx, await writeCyclic(ctx.res, { block, length: n, chunkSize: BLOCK_SIZE, signal: ctx.signal }))
  }),
  route(["GET"], "/stream-bytes/:n", async (ctx) => {
    const n = byteCount(ctx)
    if (n === undefined) return
    const chunkSize = clamp(Math.trunc(numberParam(paramCI(ctx, "chunk_size"), 10 * 1024)), 1, BLOCK_SIZE)
    const block = blockFor(ctx, n)
    ctx.res.writeHead(200, { "Content-Type": OCTET })
    if (ctx.method === "HEAD") return ctx.res.end()
    endIfOpen(ctx, await writeCyclic(ctx.res, { block, length: n, chunkSize, signal: ctx.signal }))
  }),
  route(["GET"], "/stream/:n", async (ctx) => {
    const n = Math.min(byteCount(ctx) ?? -1, 100)
    if (n < 0) return
    ctx.res.writeHead(200, { "Content-Type": "application/json" })
    const dict = getDict(ctx, "url", "args", "headers", "origin")
    for (let id = 0; id < n; id++) {
      if (!(await write(ctx.res, `${JSON.stringify({ ...dict, id })}\n`, ctx.signal))) return ctx.res.destroy()
    }
    ctx.res.end()
  }),
  route(["GET"], "/range/:n", async (ctx) => {
    const raw = ctx.params.n ?? ""
    const size = /^\d+$/.test(raw) ? Number(raw) : 0
    const base = { ETag: `range${raw}`, "Accept-Ranges": "bytes" }
    if (size <= 0 || size > MAX_GENERATED) {
      return send(ctx.res, 404, `number of bytes must be in the range (0, ${MAX_GENERATED}]`, base)
    }
    const range = parseRange(header(ctx, "range"), size)
    if (range === "invalid") return send(ctx.res, 416, "", { ...base, "Content-Range": `bytes */${size}` })
    const length = range.last - range.first + 1
    const chunkSize = clamp(Math.trunc(numberParam(paramCI(ctx, "chunk_size"), 10 * 1024)), 1, BLOCK_SIZE)
    const durationMs = clamp(numberParam(paramCI(ctx, "duration"), 0) * 1000, 0, ctx.state.stallCapMs)
    ctx.res.writeHead(length === size ? 200 : 206, {
      ...base,
      "Content-Type": OCTET,
      "Content-Length": length,
      "Content-Range": `bytes ${range.first}-${range.last}/${size}`
    })
    if (ctx.method === "HEAD") return ctx.res.end()
    const pauseMs = durationMs > 0 ? (durationMs * Math.min(chunkSize, length)) / length : 0
    endIfOpen(
      ctx,
      await writeCyclic(ctx.res, {
        block: alphabetBlock,
        offset: range.first,
        length,
        chunkSize,
        signal: ctx.signal,
        pauseMs
      })
    )
  }),
  route(["GET"], "/drip", async (ctx) => {
    const durationMs = clamp(numberParam(paramCI(ctx, "duration"), 2) * 1000, 0, ctx.state.stallCapMs)
    const numbytes = Math.min(Math.trunc(numberParam(paramCI(ctx, "numbytes"), 10)), 10 * 1024 * 1024)
    const code = Math.trunc(numberParam(paramCI(ctx, "code"), 200))
    const delayMs = clamp(numberParam(paramCI(ctx, "delay"), 0) * 1000, 0, ctx.state.stallCapMs)
    if (numbytes <= 0) return badRequest(ctx.res, "number of bytes must be positive")
    if (code < 200 || code > 999) return badRequest(ctx.res, "Invalid status code")
    if (!(await sleep(delayMs, ctx.signal))) return
    ctx.res.writeHead(code, { "Content-Type": OCTET, "Content-Length": numbytes })
    ctx.res.flushHeaders()
    // One byte per pause as httpbin does, batched so that no pause is shorter than 10 ms.
    const perTick = durationMs > 0 ? Math.max(1, Math.ceil((numbytes * 10) / durationMs)) : numbytes
    const pauseMs = (durationMs * perTick) / numbytes
    for (let sent = 0; sent < numbytes;) {
      const k = Math.min(perTick, numbytes - sent)
      if (!(await write(ctx.res, Buffer.alloc(k, "*"), ctx.signal))) return ctx.res.destroy()
      sent += k
      if (!(await sleep(pauseMs, ctx.signal))) return ctx.res.destroy()
    }
    ctx.res.end()
  }),
  route("*", "/upload", async (ctx) => {
    const result = await ctx.readBody(() => {})
    if (!result.complete) return ctx.res.destroy()
    sendJson(ctx.res, { bytes: result.bytes, sha256: result.sha256 })
  }, "stream")
]
