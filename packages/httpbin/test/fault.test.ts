import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Zlib from "node:zlib"
import { Httpbin } from "../src/index.js"
import { eventually, fetchAll } from "./utils/fetch.js"
import { Connection, dechunk, exchange, get, headerOf, parseResponse } from "./utils/raw.js"

/** fetch, then time the headers and the body separately; `bodyError` when reading the body failed. */
const timedFetch = (url: string) =>
  Effect.promise(async () => {
    const started = performance.now()
    const res = await fetch(url)
    const headersMs = performance.now() - started
    try {
      const text = await res.text()
      return { res, text, headersMs, totalMs: performance.now() - started, bodyError: undefined }
    } catch (error) {
      return { res, text: "", headersMs, totalMs: performance.now() - started, bodyError: error as Error }
    }
  })

const keepAliveGet = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`

const sleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

layer(Httpbin.layer)("fault endpoints: stalls", (it) => {
  it.effect("/fault/stall-headers waits before the headers", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* timedFetch(httpbin.url("/fault/stall-headers?ms=200"))
      assert.isAtLeast(res.headersMs, 190)
      assert.deepStrictEqual(JSON.parse(res.text), { stalled: 200 })
    }))

  it.effect("/fault/stall-body sends headers with Content-Length at once, the body after the stall", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* timedFetch(httpbin.url("/fault/stall-body?ms=200"))
      assert.isAtLeast(res.totalMs, 190)
      assert.isAtLeast(res.totalMs - res.headersMs, 100) // the body came well after the headers
      assert.strictEqual(res.res.headers.get("content-length"), String(Buffer.byteLength(res.text)))
      assert.deepStrictEqual(JSON.parse(res.text), { stalled: 200 })
    }))

  it.effect("/fault/drip-body sends `chunks` chunks of `size` bytes, one every interval_ms", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const arrivals: Array<number> = []
      const conn = new Connection(httpbin)
      const started = performance.now()
      conn.socket.on("data", () => arrivals.push(performance.now() - started))
      const res = yield* Effect.promise(() =>
        conn.request(keepAliveGet("/fault/drip-body?chunks=3&interval_ms=70&size=4"))
      )
      conn.close()
      assert.strictEqual(headerOf(res, "content-length"), "12")
      assert.strictEqual(res.body.toString(), "************")
      assert.isAtLeast(arrivals.length, 4)
      assert.isAtLeast(arrivals[arrivals.length - 1]!, 200)
    }))
})

layer(Httpbin.layer)("fault endpoints: client going away", (it) => {
  for (
    const path of [
      "/fault/stall-headers?ms=20000",
      "/fault/stall-body?ms=20000",
      "/fault/drip-body?chunks=100&interval_ms=200"
    ]
  ) {
    it.effect(`${path.split("?")[0]} stops when the client goes away`, () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const conn = new Connection(httpbin)
        conn.socket.write(keepAliveGet(path))
        const active = Effect.map(httpbin.connections, (c) => c.activeRequests)
        assert.strictEqual(yield* eventually(active, 1), 1)
        yield* sleep(50)
        assert.strictEqual(yield* active, 1)
        conn.close()
        yield* Effect.promise(() => conn.closed)
        assert.strictEqual(yield* eventually(active, 0, 1000), 0)
      }))
  }
})

layer(Httpbin.layerOptions({ stallCapMs: 150 }))("fault endpoints: bounded stalls", (it) => {
  it.effect("stalls are capped by stallCapMs", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const headers = yield* timedFetch(httpbin.url("/fault/stall-headers?ms=999999"))
      assert.deepStrictEqual(JSON.parse(headers.text), { stalled: 150 })
      assert.isBelow(headers.totalMs, 2000)
      const body = yield* timedFetch(httpbin.url("/fault/stall-body?ms=999999"))
      assert.isBelow(body.totalMs, 2000)
      const drip = yield* timedFetch(httpbin.url("/fault/drip-body?chunks=10&interval_ms=999999"))
      assert.strictEqual(drip.text, "**********")
      assert.isBelow(drip.totalMs, 2000)
    }))
})

layer(Httpbin.layer)("fault endpoints: connection level", (it) => {
  it.effect("/fault/reset-mid-body sends N of the declared bytes, then a TCP reset", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const raw = yield* Effect.promise(() => exchange(httpbin, get("/fault/reset-mid-body?bytes=100")))
      const res = parseResponse(raw.bytes)
      assert.strictEqual(raw.errorCode, "ECONNRESET")
      assert.strictEqual(res.status, 200)
      assert.strictEqual(headerOf(res, "content-length"), "1124")
      assert.strictEqual(res.body.length, 100)
      const viaFetch = yield* timedFetch(httpbin.url("/fault/reset-mid-body?bytes=10"))
      assert.instanceOf(viaFetch.bodyError, Error)
    }))

  it.effect("/fault/truncated-chunked sends N bytes of chunks, then closes without the last chunk", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const raw = yield* Effect.promise(() =>
        exchange(httpbin, get("/fault/truncated-chunked?bytes=2500&chunk_size=1000"))
      )
      const res = parseResponse(raw.bytes)
      assert.isUndefined(raw.errorCode)
      assert.strictEqual(headerOf(res, "transfer-encoding"), "chunked")
      const { complete, data } = dechunk(res.body)
      assert.isFalse(complete)
      assert.strictEqual(data.length, 2500)
      assert.isFalse(res.body.toString("latin1").includes("0\r\n\r\n"))
      const viaFetch = yield* timedFetch(httpbin.url("/fault/truncated-chunked?bytes=10"))
      assert.instanceOf(viaFetch.bodyError, Error)
    }))

  it.effect("/fault/short-body declares N bytes, sends M, then closes", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const raw = yield* Effect.promise(() => exchange(httpbin, get("/fault/short-body?declared=100&actual=10")))
      const res = parseResponse(raw.bytes)
      assert.strictEqual(headerOf(res, "content-length"), "100")
      assert.strictEqual(res.body.length, 10)
      assert.isBelow(raw.elapsedMs, 2000)
      const viaFetch = yield* timedFetch(httpbin.url("/fault/short-body?declared=100&actual=10"))
      assert.instanceOf(viaFetch.bodyError, Error)
      assert.strictEqual((yield* fetchAll(httpbin.url("/fault/short-body?declared=10&actual=10"))).status, 400)
    }))

  it.effect("/fault/close-after answers with keep-alive, then destroys the idle socket ms later", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const conn = new Connection(httpbin)
      const started = performance.now()
      const res = yield* Effect.promise(() => conn.request(keepAliveGet("/fault/close-after?ms=150")))
      assert.strictEqual(res.status, 200)
      assert.notStrictEqual(headerOf(res, "connection")?.toLowerCase(), "close")
      assert.deepStrictEqual(JSON.parse(res.body.toString()), { closeAfter: 150 })
      yield* Effect.promise(() => conn.closed)
      assert.isAtLeast(performance.now() - started, 140)
    }))

  it.effect("/fault/close-on-next: the next request on that socket is met with a close and no response", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const conn = new Connection(httpbin)
      const first = yield* Effect.promise(() => conn.request(keepAliveGet("/fault/close-on-next")))
      assert.strictEqual(first.status, 200)
      let received = 0
      conn.socket.on("data", (chunk: Buffer) => (received += chunk.length))
      const second = yield* Effect.promise(() =>
        conn.request(keepAliveGet("/get")).then(() => "answered", () => "closed")
      )
      assert.strictEqual(second, "closed")
      assert.strictEqual(received, 0)
      const other = yield* fetchAll(httpbin.url("/get"))
      assert.strictEqual(other.status, 200)
    }))

  it.effect("/fault/gzip-bomb is small on the wire and inflates to exactly N zero bytes", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const decoded = 24 * 1024 * 1024 + 12345
      const raw = parseResponse(
        (yield* Effect.promise(() => exchange(httpbin, get(`/fault/gzip-bomb?decoded=${decoded}`)))).bytes
      )
      assert.strictEqual(headerOf(raw, "content-encoding"), "gzip")
      assert.strictEqual(Number(headerOf(raw, "content-length")), raw.body.length)
      assert.isBelow(raw.body.length, 64 * 1024)
      assert.isTrue(Zlib.gunzipSync(raw.body).equals(Buffer.alloc(decoded)))
      const viaFetch = yield* fetchAll(httpbin.url("/fault/gzip-bomb?decoded=1000"))
      assert.isTrue(viaFetch.bytes.equals(Buffer.alloc(1000)))
    }))

  it.effect("/fault/gzip-bomb reaches 4 GiB in ~4 MiB, with the right CRC-32 and size in the trailer", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const raw = parseResponse(
        (yield* Effect.promise(() => exchange(httpbin, get(`/fault/gzip-bomb?decoded=${2 ** 32}`)))).bytes
      )
      assert.strictEqual(Number(headerOf(raw, "content-length")), raw.body.length)
      assert.isBelow(raw.body.length, 5 * 1024 * 1024)
      // CRC-32 of 2^32 zero bytes, computed once with zlib.crc32 over 4096 MiB-sized zero buffers.
      assert.strictEqual(raw.body.readUInt32LE(raw.body.length - 8), 0xd202ef8d)
      assert.strictEqual(raw.body.readUInt32LE(raw.body.length - 4), 0) // ISIZE: the size mod 2^32
      // The first 64 MiB inflate to zeros (inflating all 4 GiB would take seconds).
      const prefix = yield* Effect.promise(() =>
        new Promise<Buffer>((resolve, reject) => {
          const chunks: Array<Buffer> = []
          let n = 0
          const gunzip = Zlib.createGunzip({ chunkSize: 1 << 20 })
          gunzip.on("data", (chunk: Buffer) => {
            chunks.push(chunk)
            n += chunk.length
            if (n >= 64 * 1024 * 1024) {
              gunzip.destroy()
              resolve(Buffer.concat(chunks))
            }
          })
          gunzip.on("error", reject)
          gunzip.end(raw.body)
        })
      )
      assert.isTrue(prefix.equals(Buffer.alloc(prefix.length)))
    }))
})
