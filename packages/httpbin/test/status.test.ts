import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Httpbin } from "../src/index.js"
import { fetchAll } from "./utils/fetch.js"
import { exchange, get, headersOf, parseResponse } from "./utils/raw.js"

layer(Httpbin.layer)("status and redirects", (it) => {
  it.effect("/status/:code answers that code for any method, with httpbin's extras", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"]) {
        const res = yield* fetchAll(httpbin.url("/status/503"), { method })
        assert.strictEqual(res.status, 503)
      }
      const teapot = yield* fetchAll(httpbin.url("/status/418"))
      assert.strictEqual(teapot.headers.get("x-more-info"), "http://tools.ietf.org/html/rfc2324")
      assert.include(teapot.text, "teapot")
      const unauthorized = yield* fetchAll(httpbin.url("/status/401"))
      assert.strictEqual(unauthorized.headers.get("www-authenticate"), "Basic realm=\"Fake Realm\"")
      // fetch turns a 407 into a network error, so read it raw.
      const proxy = parseResponse((yield* Effect.promise(() => exchange(httpbin, get("/status/407")))).bytes)
      assert.strictEqual(proxy.status, 407)
      assert.deepStrictEqual(headersOf(proxy, "proxy-authenticate"), ["Basic realm=\"Fake Realm\""])
      const redirect = yield* fetchAll(httpbin.url("/status/302"))
      assert.strictEqual(redirect.headers.get("location"), "/redirect/1")
      const noContent = yield* fetchAll(httpbin.url("/status/204"))
      assert.strictEqual(noContent.bytes.length, 0)
      const invalid = yield* fetchAll(httpbin.url("/status/abc"))
      assert.strictEqual(invalid.status, 400)
    }))

  it.effect("/status/:codes picks from a comma list, honouring code:weight", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const seen = new Set<number>()
      for (let i = 0; i < 30; i++) seen.add((yield* fetchAll(httpbin.url("/status/200,201,202"))).status)
      assert.isTrue(seen.size >= 2)
      for (let i = 0; i < 10; i++) {
        assert.strictEqual((yield* fetchAll(httpbin.url("/status/200:0,418:1"))).status, 418)
      }
    }))

  it.effect("/redirect/:n chains relative 302s down to /get; ?absolute=true makes them absolute", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const first = yield* fetchAll(httpbin.url("/redirect/3"))
      assert.strictEqual(first.status, 302)
      assert.strictEqual(first.headers.get("location"), "/relative-redirect/2")
      const last = yield* fetchAll(httpbin.url("/redirect/1"))
      assert.strictEqual(last.headers.get("location"), "/get")
      const absolute = yield* fetchAll(httpbin.url("/redirect/2?absolute=true"))
      assert.strictEqual(absolute.headers.get("location"), httpbin.url("/absolute-redirect/1"))
      const followed = yield* Effect.promise(() => fetch(httpbin.url("/redirect/3")))
      assert.strictEqual(followed.url, httpbin.url("/get"))
      assert.strictEqual(followed.status, 200)
    }))

  it.effect("/relative-redirect/:n and /absolute-redirect/:n", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      assert.strictEqual(
        (yield* fetchAll(httpbin.url("/relative-redirect/2"))).headers.get("location"),
        "/relative-redirect/1"
      )
      assert.strictEqual((yield* fetchAll(httpbin.url("/relative-redirect/1"))).headers.get("location"), "/get")
      assert.strictEqual(
        (yield* fetchAll(httpbin.url("/absolute-redirect/2"))).headers.get("location"),
        httpbin.url("/absolute-redirect/1")
      )
      assert.strictEqual(
        (yield* fetchAll(httpbin.url("/absolute-redirect/1"))).headers.get("location"),
        httpbin.url("/get")
      )
      assert.strictEqual((yield* fetchAll(httpbin.url("/redirect/0"))).status, 400)
    }))

  it.effect("/redirect-to sends url and status_code for any method, Location bytes as given", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/redirect-to?url=/get%3Fx%3D1&status_code=307"), {
        method: "POST",
        body: "b"
      })
      assert.strictEqual(res.status, 307)
      assert.strictEqual(res.headers.get("location"), "/get?x=1")
      const defaulted = yield* fetchAll(httpbin.url("/redirect-to?url=http://example.invalid/&status_code=200"))
      assert.strictEqual(defaulted.status, 302)
      const raw = yield* Effect.promise(() => exchange(httpbin, get("/redirect-to?url=/caf%C3%A9")))
      assert.deepStrictEqual(headersOf(parseResponse(raw.bytes), "location"), [
        Buffer.from("/café", "utf8").toString("latin1")
      ])
      assert.strictEqual((yield* fetchAll(httpbin.url("/redirect-to"))).status, 400)
    }))

  it.effect("/response-headers turns query keys into headers (repeated keys into repeated lines) and echoes them", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/response-headers?X-One=1&X-Multi=a&X-Multi=b"), { method: "POST" })
      assert.strictEqual(res.headers.get("x-one"), "1")
      assert.strictEqual(res.headers.get("x-multi"), "a, b")
      assert.deepStrictEqual(res.json, {
        "Content-Length": String(res.bytes.length),
        "Content-Type": "application/json",
        "X-Multi": ["a", "b"],
        "X-One": "1"
      })
      const raw = yield* Effect.promise(() => exchange(httpbin, get("/response-headers?X-Multi=a&X-Multi=b")))
      assert.deepStrictEqual(headersOf(parseResponse(raw.bytes), "x-multi"), ["a", "b"])
    }))

  it.effect("/links/:n/:offset renders n links with the current one unlinked; /links/:n redirects", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/links/3/1"))
      assert.strictEqual(
        res.text,
        "<html><head><title>Links</title></head><body><a href='/links/3/0'>0</a> 1 <a href='/links/3/2'>2</a> </body></html>"
      )
      assert.strictEqual((yield* fetchAll(httpbin.url("/links/5"))).headers.get("location"), "/links/5/0")
    }))
})

layer(Httpbin.layer)("cookies", (it) => {
  it.effect("/cookies echoes the Cookie header", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/cookies"), { headers: { cookie: "a=1; b=\"two\"; c=" } })
      assert.deepStrictEqual(res.json, { cookies: { a: "1", b: "two", c: "" } })
      const none = yield* fetchAll(httpbin.url("/cookies"))
      assert.deepStrictEqual(none.json, { cookies: {} })
    }))

  it.effect("/cookies/set?k=v sets each cookie and redirects to /cookies", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/cookies/set?a=1&b=x%20y"))
      assert.strictEqual(res.status, 302)
      assert.strictEqual(res.headers.get("location"), "/cookies")
      assert.deepStrictEqual(res.headers.getSetCookie(), ["a=1; Path=/", "b=\"x y\"; Path=/"])
      assert.include(res.text, "Redirecting")
    }))

  it.effect("/cookies/set/:name/:value sets one cookie", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/cookies/set/session/abc"))
      assert.strictEqual(res.status, 302)
      assert.deepStrictEqual(res.headers.getSetCookie(), ["session=abc; Path=/"])
    }))

  it.effect("/cookies/delete?k expires each cookie", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/cookies/delete?a&b"))
      assert.strictEqual(res.status, 302)
      assert.deepStrictEqual(res.headers.getSetCookie(), [
        "a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
        "b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
      ])
    }))
})
