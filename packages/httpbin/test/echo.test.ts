import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Httpbin } from "../src/index.js"
import { fetchAll } from "./utils/fetch.js"
import { Connection, exchange, get, parseResponse } from "./utils/raw.js"

layer(Httpbin.layer)("echo endpoints", (it) => {
  it.effect("/get echoes args (repeated keys as lists), Title-Case headers, origin and url", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/get?a=1&a=2&b=x+y&c=%C3%A9&empty="), {
        headers: { "x-custom-header": "v", "x-b3-traceid": "t" }
      })
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.headers.get("content-type"), "application/json")
      assert.deepStrictEqual(res.json.args, { a: ["1", "2"], b: "x y", c: "é", empty: "" })
      assert.strictEqual(res.json.headers["X-Custom-Header"], "v")
      assert.strictEqual(res.json.headers["X-B3-Traceid"], "t")
      assert.strictEqual(res.json.headers.Host, `127.0.0.1:${httpbin.port}`)
      assert.strictEqual(res.json.origin, "127.0.0.1")
      assert.strictEqual(res.json.url, httpbin.url("/get?a=1&a=2&b=x+y&c=%C3%A9&empty="))
      assert.deepStrictEqual(Object.keys(res.json), ["args", "headers", "origin", "url"])
    }))

  it.effect("repeated request headers are joined with a comma", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const raw = yield* Effect.promise(() =>
        exchange(httpbin, get("/headers", ["X-Dup: one", "x-dup: two", "X-Forwarded-For: 10.1.2.3"]))
      )
      const body = JSON.parse(parseResponse(raw.bytes).body.toString())
      assert.strictEqual(body.headers["X-Dup"], "one,two")
      const ip = yield* Effect.promise(() => exchange(httpbin, get("/ip", ["X-Forwarded-For: 10.1.2.3"])))
      assert.deepStrictEqual(JSON.parse(parseResponse(ip.bytes).body.toString()), { origin: "10.1.2.3" })
    }))

  for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
    it.effect(`/${method.toLowerCase()} parses a JSON body into json and keeps it in data`, () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const res = yield* fetchAll(httpbin.url(`/${method.toLowerCase()}?q=1`), {
          method,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ b: [1, 2], a: "x" })
        })
        assert.strictEqual(res.status, 200)
        assert.deepStrictEqual(res.json.json, { a: "x", b: [1, 2] })
        assert.strictEqual(res.json.data, "{\"b\":[1,2],\"a\":\"x\"}")
        assert.deepStrictEqual(res.json.form, {})
        assert.deepStrictEqual(res.json.files, {})
        assert.deepStrictEqual(res.json.args, { q: "1" })
        assert.deepStrictEqual(Object.keys(res.json), [
          "args",
          "data",
          "files",
          "form",
          "headers",
          "json",
          "origin",
          "url"
        ])
      }))
  }

  it.effect("a method other than the route's is 405 with Allow, OPTIONS is 200 with Allow", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/get"), { method: "POST", body: "x" })
      assert.strictEqual(res.status, 405)
      assert.strictEqual(res.headers.get("allow"), "GET, HEAD, OPTIONS")
      const options = yield* fetchAll(httpbin.url("/post"), { method: "OPTIONS" })
      assert.strictEqual(options.status, 200)
      assert.strictEqual(options.headers.get("allow"), "POST, OPTIONS")
      const head = yield* fetchAll(httpbin.url("/get"), { method: "HEAD" })
      assert.strictEqual(head.status, 200)
      assert.strictEqual(head.bytes.length, 0)
      assert.isTrue(Number(head.headers.get("content-length")) > 0)
    }))

  it.effect("/anything echoes any method, the sub-path and form-encoded bodies (repeated keys as lists)", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/anything/a/b%20c"), {
        method: "PROPFIND",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "x=1&x=2&y=hello+world&z=%E2%82%AC"
      })
      assert.strictEqual(res.json.method, "PROPFIND")
      assert.strictEqual(res.json.url, httpbin.url("/anything/a/b%20c"))
      assert.deepStrictEqual(res.json.form, { x: ["1", "2"], y: "hello world", z: "€" })
      assert.strictEqual(res.json.data, "")
      assert.strictEqual(res.json.json, null)
      const opts = yield* fetchAll(httpbin.url("/anything"), { method: "OPTIONS" })
      assert.strictEqual(opts.json.method, "OPTIONS")
    }))

  it.effect("multipart bodies fill form and files; binary files become data: URLs with their type", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const form = new FormData()
      form.append("field", "value")
      form.append("field", "second")
      form.append("unicode", "héllo")
      form.append("text", new Blob(["file text\n"], { type: "text/plain" }), "a.txt")
      form.append("bin", new Blob([Uint8Array.of(0xff, 0xfe, 0x00, 0x01)], { type: "image/png" }), "b.png")
      form.append("raw", new Blob([Uint8Array.of(0x80)]), "c.bin")
      const res = yield* fetchAll(httpbin.url("/post"), { method: "POST", body: form })
      assert.deepStrictEqual(res.json.form, { field: ["value", "second"], unicode: "héllo" })
      assert.deepStrictEqual(res.json.files, {
        text: "file text\n",
        bin: `data:image/png;base64,${Buffer.from([0xff, 0xfe, 0x00, 0x01]).toString("base64")}`,
        raw: "data:application/octet-stream;base64,gA=="
      })
      assert.strictEqual(res.json.data, "")
      assert.match(res.json.headers["Content-Type"], /^multipart\/form-data; boundary=/)
    }))

  it.effect("a non-UTF-8 body is reported in data as a base64 data: URL", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/post"), { method: "POST", body: Uint8Array.of(0xc3, 0x28) })
      assert.strictEqual(res.json.data, "data:application/octet-stream;base64,wyg=")
      assert.strictEqual(res.json.json, null)
      const text = yield* fetchAll(httpbin.url("/post"), { method: "POST", body: "42" })
      assert.strictEqual(text.json.json, 42)
    }))

  it.effect("/headers, /user-agent, /ip and /uuid", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const headers = yield* fetchAll(httpbin.url("/headers"), { headers: { "User-Agent": "ua/1", "X-A": "b" } })
      assert.strictEqual(headers.json.headers["X-A"], "b")
      const ua = yield* fetchAll(httpbin.url("/user-agent"), { headers: { "User-Agent": "ua/1" } })
      assert.deepStrictEqual(ua.json, { "user-agent": "ua/1" })
      const ip = yield* fetchAll(httpbin.url("/ip"))
      assert.deepStrictEqual(ip.json, { origin: "127.0.0.1" })
      const uuid = yield* fetchAll(httpbin.url("/uuid"))
      assert.match(uuid.json.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }))

  it.effect("an unknown route is 404", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/nope"))
      assert.strictEqual(res.status, 404)
      assert.include(res.text, "Not Found")
    }))

  it.effect("Expect: 100-continue gets a 100 before the body is sent", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const conn = new Connection(httpbin)
      const interim = yield* Effect.promise(() =>
        conn.request(
          "POST /post HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
      )
      assert.strictEqual(interim.status, 100)
      const final = yield* Effect.promise(() => conn.request("hello"))
      conn.close()
      assert.strictEqual(final.status, 200)
      assert.strictEqual(JSON.parse(final.body.toString()).data, "hello")
    }))
})

layer(Httpbin.layerOptions({ maxBodyBytes: 1024 }))("echo body cap", (it) => {
  it.effect("a declared body over the cap is 413 without reading it, Expect: 100-continue gets no 100", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const raw = yield* Effect.promise(() =>
        exchange(httpbin, "POST /anything HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
      )
      const res = parseResponse(raw.bytes)
      assert.strictEqual(res.status, 413)
      assert.notInclude(raw.bytes.toString("latin1"), "100 Continue")
    }))

  it.effect("a chunked body that grows over the cap is 413; one under the cap is echoed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const chunk = "x".repeat(1000)
      const big = `3e8\r\n${chunk}\r\n`.repeat(4) + "0\r\n\r\n"
      const raw = yield* Effect.promise(() =>
        exchange(httpbin, `POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${big}`)
      )
      assert.strictEqual(parseResponse(raw.bytes).status, 413)
      const ok = yield* fetchAll(httpbin.url("/post"), { method: "POST", body: "x".repeat(1024) })
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(ok.json.data.length, 1024)
    }))
})
