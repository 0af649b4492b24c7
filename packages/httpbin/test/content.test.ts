import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Zlib from "node:zlib"
import { Httpbin } from "../src/index.js"
import { fetchAll } from "./utils/fetch.js"
import { exchange, get, headerOf, headersOf, parseResponse } from "./utils/raw.js"

layer(Httpbin.layer)("content endpoints", (it) => {
  for (
    const [path, encoding, flag, decode] of [
      ["/gzip", "gzip", "gzipped", Zlib.gunzipSync],
      ["/deflate", "deflate", "deflated", Zlib.inflateSync],
      ["/brotli", "br", "brotli", Zlib.brotliDecompressSync]
    ] as const
  ) {
    it.effect(`${path} sends a ${encoding}-encoded JSON body`, () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const raw = parseResponse((yield* Effect.promise(() => exchange(httpbin, get(path)))).bytes)
        assert.strictEqual(headerOf(raw, "content-encoding"), encoding)
        const body = JSON.parse(decode(raw.body).toString())
        assert.strictEqual(body[flag], true)
        assert.strictEqual(body.method, "GET")
        assert.strictEqual(body.origin, "127.0.0.1")
        const viaFetch = yield* fetchAll(httpbin.url(path))
        assert.strictEqual(viaFetch.json[flag], true)
      }))
  }

  it.effect("/encoding/utf8 is UTF-8 HTML with characters beyond the BMP", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/encoding/utf8"))
      assert.strictEqual(res.headers.get("content-type"), "text/html; charset=utf-8")
      assert.include(res.text, "Σὲ γνωρίζω")
      assert.include(res.text, "🐍")
    }))

  it.effect("/json, /html and /xml serve httpbin's sample documents", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const json = yield* fetchAll(httpbin.url("/json"))
      assert.strictEqual(json.json.slideshow.title, "Sample Slide Show")
      assert.strictEqual(json.json.slideshow.slides.length, 2)
      const html = yield* fetchAll(httpbin.url("/html"))
      assert.include(html.text, "<h1>Herman Melville - Moby-Dick</h1>")
      const xml = yield* fetchAll(httpbin.url("/xml"))
      assert.strictEqual(xml.headers.get("content-type"), "application/xml")
      assert.include(xml.text, "<slideshow")
    }))

  it.effect("/base64/:value decodes URL-safe base64, and says so when it cannot", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const ok = yield* fetchAll(httpbin.url("/base64/SFRUUEJJTiBpcyBhd2Vzb21l"))
      assert.strictEqual(ok.text, "HTTPBIN is awesome")
      const bad = yield* fetchAll(httpbin.url("/base64/!!!"))
      assert.strictEqual(bad.text, "Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l")
    }))

  it.effect("/etag/:etag: If-None-Match gives 304, a failing If-Match gives 412", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const plain = yield* fetchAll(httpbin.url("/etag/abc"))
      assert.strictEqual(plain.status, 200)
      assert.strictEqual(plain.headers.get("etag"), "abc")
      const notModified = yield* fetchAll(httpbin.url("/etag/abc"), {
        headers: { "if-none-match": "\"x\", W/\"abc\"" }
      })
      assert.strictEqual(notModified.status, 304)
      assert.strictEqual(notModified.headers.get("etag"), "abc")
      const star = yield* fetchAll(httpbin.url("/etag/abc"), { headers: { "if-none-match": "*" } })
      assert.strictEqual(star.status, 304)
      const changed = yield* fetchAll(httpbin.url("/etag/abc"), { headers: { "if-none-match": "\"zzz\"" } })
      assert.strictEqual(changed.status, 200)
      const failed = yield* fetchAll(httpbin.url("/etag/abc"), { headers: { "if-match": "\"zzz\"" } })
      assert.strictEqual(failed.status, 412)
      const matched = yield* fetchAll(httpbin.url("/etag/abc"), { headers: { "if-match": "\"abc\"" } })
      assert.strictEqual(matched.status, 200)
    }))

  it.effect("/cache gives Last-Modified and ETag, and 304 to a conditional request", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const first = yield* fetchAll(httpbin.url("/cache"))
      assert.strictEqual(first.status, 200)
      assert.match(first.headers.get("etag") ?? "", /^[0-9a-f]{32}$/)
      assert.isString(first.headers.get("last-modified"))
      const ims = yield* fetchAll(httpbin.url("/cache"), {
        headers: { "if-modified-since": first.headers.get("last-modified")! }
      })
      assert.strictEqual(ims.status, 304)
      const inm = yield* fetchAll(httpbin.url("/cache"), { headers: { "if-none-match": first.headers.get("etag")! } })
      assert.strictEqual(inm.status, 304)
    }))

  it.effect("/cache/:n sets Cache-Control max-age", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/cache/60"))
      assert.strictEqual(res.headers.get("cache-control"), "public, max-age=60")
      assert.strictEqual(res.json.url, httpbin.url("/cache/60"))
    }))
})

const rawGet = (target: { host: string; port: number }, path: string) =>
  Effect.map(Effect.promise(() => exchange(target, get(path))), (raw) => parseResponse(raw.bytes))

layer(Httpbin.layer)("fault endpoints: content", (it) => {
  it.effect("/fault/set-cookies sends each c as its own Set-Cookie line, attributes untouched", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const lines = [
        "a=1; Path=/; HttpOnly",
        "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Domain=127.0.0.1",
        "c=\"q,v\"; SameSite=None; Secure"
      ]
      const query = lines.map((l) => `c=${encodeURIComponent(l)}`).join("&")
      const res = yield* fetchAll(httpbin.url(`/fault/set-cookies?${query}`))
      assert.strictEqual(res.status, 200)
      assert.deepStrictEqual(res.headers.getSetCookie(), lines)
      assert.deepStrictEqual(res.json, { set: lines })
      const raw = yield* rawGet(httpbin, `/fault/set-cookies?${query}`)
      assert.deepStrictEqual(headersOf(raw, "set-cookie"), lines)
    }))

  it.effect("/fault/set-cookies with status and location makes a redirect that carries cookies", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/fault/set-cookies?c=s%3D1&status=302&location=/cookies"))
      assert.strictEqual(res.status, 302)
      assert.strictEqual(res.headers.get("location"), "/cookies")
      assert.deepStrictEqual(res.headers.getSetCookie(), ["s=1"])
    }))

  it.effect("/fault/body sends exactly the given bytes, status, content type and extra headers", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const body = Buffer.from([0xe9, 0x00, 0xff, 0x41])
      const res = yield* rawGet(
        httpbin,
        `/fault/body?status=203&content_type=text/plain%3B%20charset%3Dlatin1&b64=${
          body.toString("base64url")
        }&h=X-A:1&h=X-A:2&h=X-B:%C3%A9`
      )
      assert.strictEqual(res.status, 203)
      assert.strictEqual(headerOf(res, "content-type"), "text/plain; charset=latin1")
      assert.deepStrictEqual(headersOf(res, "x-a"), ["1", "2"])
      assert.strictEqual(headerOf(res, "x-b"), Buffer.from("é").toString("latin1"))
      assert.isTrue(res.body.equals(body))
    }))

  it.effect("/fault/body encodes with each coding of the chain, in order, and names the chain", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const text = Buffer.from("hello, encodings")
      const b64 = text.toString("base64")
      const cases = [
        ["gzip", "gzip", (b: Buffer) => Zlib.gunzipSync(b)],
        ["deflate", "deflate", (b: Buffer) => Zlib.inflateSync(b)],
        ["deflate-raw", "deflate", (b: Buffer) => Zlib.inflateRawSync(b)],
        ["br", "br", (b: Buffer) => Zlib.brotliDecompressSync(b)],
        ["gzip,br", "gzip, br", (b: Buffer) => Zlib.gunzipSync(Zlib.brotliDecompressSync(b))],
        ["identity", "identity", (b: Buffer) => b]
      ] as const
      for (const [encoding, header, decode] of cases) {
        const res = yield* rawGet(httpbin, `/fault/body?b64=${b64}&encoding=${encodeURIComponent(encoding)}`)
        assert.strictEqual(headerOf(res, "content-encoding"), header, encoding)
        assert.strictEqual(Number(headerOf(res, "content-length")), res.body.length)
        assert.isTrue(decode(res.body).equals(text), encoding)
      }
      const unknown = yield* rawGet(httpbin, `/fault/body?b64=${b64}&encoding=zstd`)
      assert.strictEqual(headerOf(unknown, "content-encoding"), "zstd")
      assert.isTrue(unknown.body.equals(text))
      const viaFetch = yield* fetchAll(httpbin.url(`/fault/body?b64=${b64}&encoding=gzip`))
      assert.strictEqual(viaFetch.text, "hello, encodings")
    }))

  it.effect("/fault/redirect sends any status with a raw Location and extra headers", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* rawGet(httpbin, "/fault/redirect?status=308&location=/caf%C3%A9?q=%E9&h=Retry-After:0")
      assert.strictEqual(res.status, 308)
      assert.isTrue(
        Buffer.from(headerOf(res, "location")!, "latin1").equals(Buffer.from([...Buffer.from("/café?q="), 0xe9]))
      )
      assert.strictEqual(headerOf(res, "retry-after"), "0")
      assert.strictEqual(headerOf(res, "content-length"), "0")
      const noLocation = yield* rawGet(httpbin, "/fault/redirect?status=301")
      assert.strictEqual(noLocation.status, 301)
      assert.isUndefined(headerOf(noLocation, "location"))
      const fetched = yield* fetchAll(httpbin.url("/fault/redirect?location=/get"))
      assert.strictEqual(fetched.status, 302)
      assert.strictEqual(fetched.headers.get("location"), "/get")
    }))

  it.effect("/fault/latin1 is café in ISO-8859-1", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/fault/latin1"))
      assert.strictEqual(res.headers.get("content-type"), "text/plain; charset=ISO-8859-1")
      assert.isTrue(res.bytes.equals(Buffer.from([0x63, 0x61, 0x66, 0xe9])))
    }))

  it.effect("/fault/text encodes text in the requested charset and names it", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const text = encodeURIComponent("naïve €")
      const cases = [
        ["utf-8", Buffer.from("naïve €", "utf8")],
        ["windows-1252", Buffer.from([0x6e, 0x61, 0xef, 0x76, 0x65, 0x20, 0x80])],
        ["iso-8859-1", Buffer.from([0x6e, 0x61, 0xef, 0x76, 0x65, 0x20, 0x3f])],
        ["utf-16be", Buffer.from("naïve €", "utf16le").swap16()],
        ["koi8-r", Buffer.from([0x6e, 0x61, 0x3f, 0x76, 0x65, 0x20, 0x3f])]
      ] as const
      for (const [charset, bytes] of cases) {
        const res = yield* fetchAll(httpbin.url(`/fault/text?charset=${charset}&text=${text}`))
        assert.strictEqual(res.headers.get("content-type"), `text/plain; charset=${charset}`)
        assert.isTrue(res.bytes.equals(bytes), charset)
      }
      const bare = yield* fetchAll(httpbin.url(`/fault/text?text=${text}&content_type=text/html`))
      assert.strictEqual(bare.headers.get("content-type"), "text/html")
      assert.strictEqual(bare.text, "naïve €")
      assert.strictEqual((yield* fetchAll(httpbin.url("/fault/text?charset=nope&text=x"))).status, 400)
    }))
})
