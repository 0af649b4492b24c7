import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as Net from "node:net"
import { Httpbin } from "../src/index.js"
import { fetchAll } from "./utils/fetch.js"
import { dechunk, exchange, get, headerOf, parseResponse } from "./utils/raw.js"

const MiB = 1024 * 1024

/** GET `path` on a raw socket and count the body bytes without keeping them. */
const countBody = (port: number, path: string) =>
  Effect.promise(() =>
    new Promise<{ head: string; bodyBytes: number }>((resolve, reject) => {
      const socket = Net.connect({ host: "127.0.0.1", port })
      let head = ""
      let headDone = false
      let bodyBytes = 0
      socket.on("data", (chunk: Buffer) => {
        if (headDone) return void (bodyBytes += chunk.length)
        const all = Buffer.concat([Buffer.from(head, "latin1"), chunk])
        const end = all.indexOf("\r\n\r\n")
        if (end === -1) return void (head = all.toString("latin1"))
        headDone = true
        head = all.subarray(0, end).toString("latin1")
        bodyBytes = all.length - end - 4
      })
      socket.on("error", reject)
      socket.on("close", () => resolve({ head, bodyBytes }))
      socket.write(get(path))
    })
  )

layer(Httpbin.layer)("streaming endpoints", (it) => {
  it.effect("/bytes/:n is n bytes, deterministic for a seed, random without one", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const a = yield* fetchAll(httpbin.url("/bytes/1000?seed=7"))
      const b = yield* fetchAll(httpbin.url("/bytes/1000?seed=7"))
      const c = yield* fetchAll(httpbin.url("/bytes/1000?seed=8"))
      const r1 = yield* fetchAll(httpbin.url("/bytes/1000"))
      const r2 = yield* fetchAll(httpbin.url("/bytes/1000"))
      assert.strictEqual(a.headers.get("content-type"), "application/octet-stream")
      assert.strictEqual(a.headers.get("content-length"), "1000")
      assert.strictEqual(a.bytes.length, 1000)
      assert.isTrue(a.bytes.equals(b.bytes))
      assert.isFalse(a.bytes.equals(c.bytes))
      assert.isFalse(r1.bytes.equals(r2.bytes))
      assert.strictEqual((yield* fetchAll(httpbin.url("/bytes/abc"))).status, 400)
    }))

  it.effect("/bytes cycles one pre-generated 1 MiB block, so a prefix of a longer body equals the shorter body", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const long = yield* fetchAll(httpbin.url(`/bytes/${3 * MiB / 2}?seed=x`))
      const short = yield* fetchAll(httpbin.url("/bytes/4096?seed=x"))
      assert.strictEqual(long.bytes.length, 3 * MiB / 2)
      assert.isTrue(long.bytes.subarray(0, 4096).equals(short.bytes))
      assert.isTrue(long.bytes.subarray(MiB, MiB + 4096).equals(short.bytes))
    }))

  it.effect("/bytes announces up to 4 GiB and streams 256 MiB without trouble", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const head = yield* fetchAll(httpbin.url(`/bytes/${2 ** 32}`), { method: "HEAD" })
      assert.strictEqual(head.headers.get("content-length"), String(2 ** 32))
      assert.strictEqual((yield* fetchAll(httpbin.url(`/bytes/${2 ** 32 + 1}`), { method: "HEAD" })).status, 400)
      const big = yield* countBody(httpbin.port, `/bytes/${256 * MiB}?seed=1`)
      assert.include(big.head, `Content-Length: ${256 * MiB}`)
      assert.strictEqual(big.bodyBytes, 256 * MiB)
    }))

  it.effect("/stream-bytes/:n is chunked in chunk_size pieces, same bytes as /bytes for the same seed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const raw = yield* Effect.promise(() => exchange(httpbin, get("/stream-bytes/10000?seed=5&chunk_size=3000")))
      const res = parseResponse(raw.bytes)
      assert.strictEqual(headerOf(res, "transfer-encoding"), "chunked")
      assert.isUndefined(headerOf(res, "content-length"))
      assert.isTrue(res.body.toString("latin1").startsWith("bb8\r\n"))
      const { complete, data } = dechunk(res.body)
      assert.isTrue(complete)
      const bytes = yield* fetchAll(httpbin.url("/bytes/10000?seed=5"))
      assert.isTrue(data.equals(bytes.bytes))
      const big = yield* countBody(httpbin.port, `/stream-bytes/${64 * MiB}?chunk_size=1048576`)
      assert.isAbove(big.bodyBytes, 64 * MiB)
    }))

  it.effect("/stream/:n sends n JSON lines with ids", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/stream/3?a=1"))
      const lines = res.text.trimEnd().split("\n").map((l) => JSON.parse(l))
      assert.deepStrictEqual(lines.map((l) => l.id), [0, 1, 2])
      assert.deepStrictEqual(lines[0].args, { a: "1" })
      assert.strictEqual(lines[2].url, httpbin.url("/stream/3?a=1"))
    }))

  it.effect("/range/:n serves the alphabet with Range, 206 for parts and 416 beyond", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const full = yield* fetchAll(httpbin.url("/range/30"))
      assert.strictEqual(full.status, 200)
      assert.strictEqual(full.text, "abcdefghijklmnopqrstuvwxyzabcd")
      assert.strictEqual(full.headers.get("accept-ranges"), "bytes")
      assert.strictEqual(full.headers.get("etag"), "range30")
      const part = yield* fetchAll(httpbin.url("/range/30"), { headers: { range: "bytes=10-19" } })
      assert.strictEqual(part.status, 206)
      assert.strictEqual(part.text, "klmnopqrst")
      assert.strictEqual(part.headers.get("content-range"), "bytes 10-19/30")
      const suffix = yield* fetchAll(httpbin.url("/range/30"), { headers: { range: "bytes=-3" } })
      assert.strictEqual(suffix.text, "bcd")
      const open = yield* fetchAll(httpbin.url("/range/30"), { headers: { range: "bytes=27-" } })
      assert.strictEqual(open.text, "bcd")
      const clamped = yield* fetchAll(httpbin.url("/range/30"), { headers: { range: "bytes=28-100" } })
      assert.strictEqual(clamped.headers.get("content-range"), "bytes 28-29/30")
      const beyond = yield* fetchAll(httpbin.url("/range/30"), { headers: { range: "bytes=30-40" } })
      assert.strictEqual(beyond.status, 416)
      assert.strictEqual(beyond.headers.get("content-range"), "bytes */30")
      assert.strictEqual((yield* fetchAll(httpbin.url("/range/0"))).status, 404)
    }))

  it.effect("/range/:n?duration spreads the body over the duration, chunk_size at a time", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const raw = yield* Effect.promise(() => exchange(httpbin, get("/range/100?duration=0.3&chunk_size=25")))
      assert.isAtLeast(raw.elapsedMs, 200)
      assert.strictEqual(parseResponse(raw.bytes).body.length, 100)
    }))

  it.effect("/drip sends numbytes over duration after delay, with the given code", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/drip?duration=0.3&numbytes=5&code=201&delay=0.1"))
      assert.strictEqual(res.status, 201)
      assert.strictEqual(res.text, "*****")
      assert.strictEqual(res.headers.get("content-length"), "5")
      // delay + 4 of the 5 pauses: the last pause comes after the last byte
      assert.isAtLeast(res.elapsedMs, 320)
      assert.strictEqual((yield* fetchAll(httpbin.url("/drip?numbytes=0"))).status, 400)
    }))

  it.effect("/delay/:s waits, then answers like /anything without method", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/delay/0.2?a=b"), { method: "POST", body: "x" })
      assert.isAtLeast(res.elapsedMs, 190)
      assert.deepStrictEqual(res.json.args, { a: "b" })
      assert.strictEqual(res.json.data, "x")
      assert.deepStrictEqual(Object.keys(res.json), ["args", "data", "files", "form", "headers", "origin", "url"])
    }))

  it.effect("/upload hashes a streamed body of any size without buffering it", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const piece = Buffer.alloc(MiB, 7)
      const count = 24
      const expected = createHash("sha256")
      for (let i = 0; i < count; i++) expected.update(piece)
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < count; i++) controller.enqueue(piece)
          controller.close()
        }
      })
      const res = yield* fetchAll(httpbin.url("/upload"), { method: "PUT", body, duplex: "half" } as RequestInit)
      assert.deepStrictEqual(res.json, { bytes: count * MiB, sha256: expected.digest("hex") })
    }))
})

layer(Httpbin.layerOptions({ stallCapMs: 300 }))("capped delays", (it) => {
  it.effect("/delay/:s is capped (10 s, and the server's stall cap)", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/delay/30"))
      assert.strictEqual(res.status, 200)
      assert.isBelow(res.elapsedMs, 2000)
    }))
})
