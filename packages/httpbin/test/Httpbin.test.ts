import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Option, Scope } from "effect"
import { createHash } from "node:crypto"
import { Httpbin } from "../src/index.js"
import { eventually, fetchAll } from "./utils/fetch.js"
import { Connection, exchange, parseResponse } from "./utils/raw.js"

describe("Httpbin lifecycle", () => {
  it.scoped("two servers can run side by side on two loopback addresses", () =>
    Effect.gen(function*() {
      const a = yield* Httpbin.make({ host: "127.0.0.1" })
      const b = yield* Httpbin.make({ host: "127.0.0.2" })
      assert.strictEqual(a.host, "127.0.0.1")
      assert.strictEqual(b.host, "127.0.0.2")
      assert.strictEqual(b.origin, `http://127.0.0.2:${b.port}`)
      assert.strictEqual(b.url("get"), `http://127.0.0.2:${b.port}/get`)
      const resA = yield* fetchAll(a.url("/get"))
      const resB = yield* fetchAll(b.url("/get"))
      assert.strictEqual(resA.json.url, a.url("/get"))
      assert.strictEqual(resB.json.url, b.url("/get"))
      assert.strictEqual((yield* a.requests).length, 1)
      assert.strictEqual((yield* b.requests).length, 1)
    }))

  it.live("closing the scope ends stalled requests and idle keep-alive sockets at once", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const httpbin = yield* Httpbin.make().pipe(Scope.extend(scope))
      const idle = new Connection(httpbin)
      yield* Effect.promise(() => idle.request("GET /get HTTP/1.1\r\nHost: x\r\n\r\n"))
      const stalled = fetch(httpbin.url("/fault/stall-headers?ms=30000")).then(() => "answered", () => "failed")
      const dripping = fetch(httpbin.url("/fault/drip-body?chunks=100&interval_ms=300")).then(
        (res) => res.text().then(() => "answered", () => "failed"),
        () => "failed"
      )
      const active = Effect.map(httpbin.connections, (c) => c.activeRequests)
      assert.strictEqual(yield* eventually(active, 2), 2)
      const started = performance.now()
      yield* Scope.close(scope, Exit.void)
      assert.isBelow(performance.now() - started, 1000)
      assert.deepStrictEqual(yield* Effect.promise(() => Promise.all([stalled, dripping])), ["failed", "failed"])
      yield* Effect.promise(() => idle.closed)
      const after = yield* Effect.promise(() => fetch(httpbin.url("/get")).then(() => "answered", () => "refused"))
      assert.strictEqual(after, "refused")
    }))

  it.scoped("a port in use fails with HttpbinStartError", () =>
    Effect.gen(function*() {
      const first = yield* Httpbin.make()
      const error = yield* Effect.flip(Httpbin.make({ port: first.port }))
      assert.strictEqual(error._tag, "HttpbinStartError")
      assert.strictEqual(error.port, first.port)
      assert.include(error.message, "EADDRINUSE")
    }))

  it.effect("Httpbin.layer provides a server on 127.0.0.1", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      assert.strictEqual(httpbin.host, "127.0.0.1")
      assert.strictEqual(httpbin.protocol, "http")
      assert.isAbove(httpbin.port, 0)
      assert.strictEqual((yield* fetchAll(httpbin.url("/get"))).status, 200)
    }).pipe(Effect.provide(Httpbin.layer)))

  it("start() runs a server with plain promises until close()", async () => {
    const server = await Httpbin.start({ log: false })
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(`${server.url}/get`)
    assert.strictEqual(res.status, 200)
    assert.deepStrictEqual(server.requests(), [])
    await server.close()
    await server.close()
    const after = await fetch(`${server.url}/get`).then(() => "answered", () => "refused")
    assert.strictEqual(after, "refused")
  })
})

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex")

layer(Httpbin.layer)("request log", (it) => {
  it.effect("keeps the raw target and raw headers: case, order and duplicates", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* httpbin.clearLog
      const request =
        "GET /get?a=%20b&a=c HTTP/1.1\r\nhOsT: 127.0.0.1\r\nX-Dup: one\r\nx-dup: two\r\nX-DUP: three\r\n" +
        "Accept:  */*\r\nConnection: close\r\n\r\n"
      const raw = yield* Effect.promise(() => exchange(httpbin, request))
      assert.strictEqual(parseResponse(raw.bytes).status, 200)
      const entry = Option.getOrThrow(yield* httpbin.lastRequest)
      assert.strictEqual(entry.method, "GET")
      assert.strictEqual(entry.url, "/get?a=%20b&a=c")
      assert.strictEqual(entry.httpVersion, "1.1")
      assert.deepStrictEqual(entry.rawHeaders, [
        ["hOsT", "127.0.0.1"],
        ["X-Dup", "one"],
        ["x-dup", "two"],
        ["X-DUP", "three"],
        ["Accept", "*/*"],
        ["Connection", "close"]
      ])
      assert.strictEqual(entry.bodyBytes, 0)
      assert.strictEqual(entry.bodySha256, sha256(""))
      assert.isFalse(entry.tls)
      assert.isAbove(entry.remotePort, 0)
      assert.isAtMost(entry.receivedAt, Date.now())
    }))

  it.effect("records body size and SHA-256 for buffered, streamed and ignored bodies", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* httpbin.clearLog
      const body = Buffer.from("the body \u00e9")
      yield* fetchAll(httpbin.url("/post"), { method: "POST", body })
      yield* fetchAll(httpbin.url("/upload"), { method: "POST", body })
      yield* fetchAll(httpbin.url("/status/200"), { method: "POST", body })
      yield* fetchAll(httpbin.url("/nowhere"), { method: "POST", body })
      const entries = yield* httpbin.requests
      assert.deepStrictEqual(entries.map((e) => e.url), ["/post", "/upload", "/status/200", "/nowhere"])
      for (const entry of entries) {
        assert.strictEqual(entry.bodyBytes, body.length, entry.url)
        assert.strictEqual(entry.bodySha256, sha256(body), entry.url)
      }
    }))

  it.effect("socketId shows connection reuse", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* httpbin.clearLog
      const first = new Connection(httpbin)
      yield* Effect.promise(() => first.request("GET /get HTTP/1.1\r\nHost: x\r\n\r\n"))
      yield* Effect.promise(() => first.request("GET /headers HTTP/1.1\r\nHost: x\r\n\r\n"))
      const second = new Connection(httpbin)
      yield* Effect.promise(() => second.request("GET /ip HTTP/1.1\r\nHost: x\r\n\r\n"))
      first.close()
      second.close()
      const [a, b, c] = yield* httpbin.requests
      assert.strictEqual(a!.socketId, b!.socketId)
      assert.notStrictEqual(a!.socketId, c!.socketId)
      assert.strictEqual(a!.remotePort, b!.remotePort)
      assert.isTrue(b!.id > a!.id)
    }))

  it.effect("is served at GET /__log (not itself logged) and cleared by DELETE /__log", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* httpbin.clearLog
      yield* fetchAll(httpbin.url("/get?x=1"))
      const overHttp = yield* fetchAll(httpbin.url("/__log"))
      yield* fetchAll(httpbin.url("/__log"))
      assert.strictEqual(overHttp.json.length, 1)
      assert.strictEqual(overHttp.json[0].url, "/get?x=1")
      assert.deepStrictEqual(overHttp.json, yield* httpbin.requests)
      assert.strictEqual((yield* fetchAll(httpbin.url("/__log"), { method: "DELETE" })).status, 204)
      assert.deepStrictEqual(yield* httpbin.requests, [])
      assert.isTrue(Option.isNone(yield* httpbin.lastRequest))
    }))

  it.effect("keeps the HTTP version and absolute-form targets", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* Effect.promise(() => exchange(httpbin, "GET /get HTTP/1.0\r\n\r\n"))
      assert.strictEqual(Option.getOrThrow(yield* httpbin.lastRequest).httpVersion, "1.0")
      const target = httpbin.url("/anything/x?y=1")
      const raw = yield* Effect.promise(() =>
        exchange(httpbin, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
      )
      assert.strictEqual(JSON.parse(parseResponse(raw.bytes).body.toString()).url, target)
      assert.strictEqual(Option.getOrThrow(yield* httpbin.lastRequest).url, target)
    }))

  it.effect("connection stats count open and total sockets, also at GET /__connections", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const before = yield* httpbin.connections
      const a = new Connection(httpbin)
      const b = new Connection(httpbin)
      yield* Effect.promise(() => a.request("GET /get HTTP/1.1\r\nHost: x\r\n\r\n"))
      yield* Effect.promise(() => b.request("GET /get HTTP/1.1\r\nHost: x\r\n\r\n"))
      const during = yield* httpbin.connections
      assert.strictEqual(during.total, before.total + 2)
      assert.strictEqual(during.open, before.open + 2)
      a.close()
      b.close()
      yield* Effect.promise(() => Promise.all([a.closed, b.closed]))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30)))
      const after = yield* httpbin.connections
      assert.strictEqual(after.open, before.open)
      const overHttp = yield* fetchAll(httpbin.url("/__connections"))
      // fetch's own socket may be new or pooled
      assert.include([after.total, after.total + 1], overHttp.json.total)
      assert.isAtLeast(overHttp.json.open, 1)
      assert.strictEqual(overHttp.json.activeRequests, 1)
    }))
})

layer(Httpbin.layerOptions({ logSize: 3 }))("bounded log", (it) => {
  it.effect("keeps only the newest logSize entries", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      for (let i = 1; i <= 5; i++) yield* fetchAll(httpbin.url(`/get?i=${i}`))
      const entries = yield* httpbin.requests
      assert.deepStrictEqual(entries.map((e) => e.url), ["/get?i=3", "/get?i=4", "/get?i=5"])
      assert.deepStrictEqual(entries.map((e) => e.id), [3, 4, 5])
    }))
})

layer(Httpbin.layerOptions({ log: false }))("log turned off", (it) => {
  it.effect("records nothing", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/get"))
      assert.strictEqual(res.status, 200)
      assert.deepStrictEqual(yield* httpbin.requests, [])
      assert.deepStrictEqual((yield* fetchAll(httpbin.url("/__log"))).json, [])
    }))
})
