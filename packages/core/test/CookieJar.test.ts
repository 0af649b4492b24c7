import { CookieJar } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import * as fc from "fast-check"

const NOW = Date.parse("2025-06-01T00:00:00Z")
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/

/** A jar, with the test clock set to a real-looking date. */
const jar = (options?: CookieJar.Options) => Effect.zipRight(TestClock.setTime(NOW), CookieJar.make(options))

const names = (header: string | undefined) =>
  (header ?? "").split("; ").filter((p) => p !== "").map((p) => p.split("=")[0])

describe("CookieJar: RFC 6265 scoping", () => {
  it.effect("host-only cookies go to their host only; domain cookies to the domain and its subdomains", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("http://shop.example.com/", ["host=1", "dom=2; Domain=example.com"])
      assert.deepStrictEqual(names(yield* j.header("http://shop.example.com/")), ["host", "dom"])
      assert.deepStrictEqual(names(yield* j.header("http://example.com/")), ["dom"])
      assert.deepStrictEqual(names(yield* j.header("http://deep.sub.example.com/")), ["dom"])
      assert.deepStrictEqual(names(yield* j.header("http://other.example.com/")), ["dom"])
      assert.isUndefined(yield* j.header("http://badexample.com/"))
      assert.isUndefined(yield* j.header("http://example.org/"))
      const listed = yield* j.list
      assert.deepStrictEqual(listed.map((c) => [c.name, c.domain, c.hostOnly]), [
        ["host", "shop.example.com", true],
        ["dom", "example.com", false]
      ])
    }))

  it.effect("rejects a Domain that does not domain-match the host, and public suffixes in any spelling", () =>
    Effect.gen(function*() {
      const rejected: Array<CookieJar.Rejected> = []
      const j = yield* jar({ onRejected: (r) => Effect.sync(() => rejected.push(r)) })
      yield* j.extract("http://shop.example.co.uk/", [
        "a=1; Domain=co.uk",
        "b=1; Domain=CO.UK",
        "c=1; Domain=.co.uk",
        "d=1; Domain=uk",
        "e=1; Domain=example.org",
        "f=1; Domain=localhost",
        "g=1; Domain=co.uk.",
        "ok=1; Domain=example.co.uk"
      ])
      assert.deepStrictEqual((yield* j.list).map((c) => [c.name, c.domain]), [["ok", "example.co.uk"]])
      assert.deepStrictEqual(rejected.map((r) => r.name), ["a", "b", "c", "d", "e", "f", "g"])
      assert.include(rejected[0]!.reason, "public suffix")
      assert.strictEqual(rejected[0]!.url, "http://shop.example.co.uk/")
      yield* j.extract("http://user.github.io/", ["g=1; Domain=github.io"])
      assert.isUndefined(yield* j.header("http://evil.github.io/"))
    }))

  it.effect("IP hosts get exact matches only", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("http://127.0.0.1:8000/", ["a=1", "b=2; Domain=127.0.0.1", "c=3; Domain=0.0.1"])
      assert.strictEqual(yield* j.header("http://127.0.0.1:9000/"), "a=1; b=2")
      assert.isUndefined(yield* j.header("http://127.0.0.2:8000/"))
      assert.isUndefined(yield* j.header("http://10.0.0.1/"))
    }))

  it.effect("matches paths on segment boundaries, longest path first, with the default path from the URL", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("http://h.example.com/docs/guide/page", ["root=1; Path=/", "api=2; Path=/api", "dflt=3"])
      assert.strictEqual(yield* j.header("http://h.example.com/api"), "api=2; root=1")
      assert.strictEqual(yield* j.header("http://h.example.com/api/v1/x"), "api=2; root=1")
      assert.strictEqual(yield* j.header("http://h.example.com/apix"), "root=1")
      assert.strictEqual(yield* j.header("http://h.example.com/docs/guide/other"), "dflt=3; root=1")
      assert.strictEqual(yield* j.header("http://h.example.com/docs"), "root=1")
      assert.strictEqual((yield* j.list).find((c) => c.name === "dflt")?.path, "/docs/guide")
    }))

  it.effect("never fails on a special-use host such as localhost", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("http://localhost:3000/", ["a=1"])
      yield* j.set("any", "x")
      assert.strictEqual(yield* j.header("http://localhost:3000/"), "a=1; any=x")
      assert.strictEqual(yield* j.header("http://a.localhost/"), "any=x")
      assert.strictEqual(yield* j.header("http://x.test/"), "any=x")
    }))
})

describe("CookieJar: expiry", () => {
  it.effect("Max-Age counts from arrival and expires under the clock; Expires is absolute", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("http://h.example.com/", [
        "short=1; Max-Age=60",
        `abs=2; Expires=${new Date(NOW + 3600_000).toUTCString()}`,
        "session=3",
        // Max-Age wins over Expires.
        `both=4; Max-Age=30; Expires=${new Date(NOW + 86400_000).toUTCString()}`
      ])
      assert.strictEqual(yield* j.header("http://h.example.com/"), "short=1; abs=2; session=3; both=4")
      // Reading does not extend a Max-Age (tough-cookie counts it from the last access).
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual(yield* j.header("http://h.example.com/"), "short=1; abs=2; session=3; both=4")
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* j.header("http://h.example.com/"), "short=1; abs=2; session=3")
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(yield* j.header("http://h.example.com/"), "abs=2; session=3")
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(yield* j.header("http://h.example.com/"), "session=3")
      assert.deepStrictEqual((yield* j.list).map((c) => c.name), ["session"])
      assert.isTrue(Option.isNone(yield* j.get("short")))
    }))

  it.effect("Max-Age=0, a negative Max-Age and a past Expires delete the stored cookie", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("http://h.example.com/", ["a=1", "b=2", "c=3", "keep=4"])
      yield* j.extract("http://h.example.com/", [
        "a=; Max-Age=0",
        "b=; Max-Age=-1",
        "c=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
      ])
      assert.strictEqual(yield* j.header("http://h.example.com/"), "keep=4")
      assert.strictEqual((yield* j.list).length, 1)
    }))
})

describe("CookieJar: Secure", () => {
  it.effect("a Secure cookie is stored from https only and sent over https only", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("https://h.example.com/", ["sid=s; Secure", "plain=p"])
      yield* j.extract("http://h.example.com/", ["fromhttp=x; Secure"])
      assert.strictEqual(yield* j.header("https://h.example.com/"), "sid=s; plain=p")
      assert.strictEqual(yield* j.header("http://h.example.com/"), "plain=p")
      assert.isTrue(Option.isNone(yield* j.get("fromhttp")))
    }))

  it.effect("loopback is not a secure context unless allowSecureOnLocal", () =>
    Effect.gen(function*() {
      const strict = yield* jar()
      yield* strict.extract("http://localhost/", ["s=1; Secure"])
      yield* strict.extract("http://127.0.0.1/", ["s=1; Secure"])
      assert.isTrue(yield* strict.isEmpty)
      const local = yield* CookieJar.make({ allowSecureOnLocal: true })
      yield* local.extract("http://localhost/", ["s=1; Secure"])
      assert.strictEqual(yield* local.header("http://localhost/"), "s=1")
      yield* local.extract("http://example.com/", ["t=1; Secure"])
      assert.isUndefined(yield* local.header("http://example.com/"))
    }))

  it.effect("a plain-http response can neither replace, shadow nor delete a Secure cookie", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("https://a.example.com/", ["sid=orig; Secure; Domain=example.com", "other=1"])
      yield* j.extract("http://a.example.com/", [
        "sid=evil",
        "sid=evil2; Path=/deeper",
        "sid=evil3; Domain=a.example.com",
        "sid=; Max-Age=0",
        "other=2"
      ])
      assert.strictEqual(yield* j.header("https://a.example.com/deeper"), "sid=orig; other=2")
      // https may still replace it.
      yield* j.extract("https://a.example.com/", ["sid=new; Secure; Domain=example.com"])
      assert.strictEqual(Option.getOrThrow(yield* j.get("sid")), "new")
    }))

  it.effect("enforces the __Host- and __Secure- prefixes", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("https://a.example.com/", [
        "__Host-ok=1; Secure; Path=/",
        "__Host-dom=1; Secure; Path=/; Domain=example.com",
        "__Host-path=1; Secure; Path=/x",
        "__Host-insecure=1; Path=/",
        "__Secure-ok=1; Secure",
        "__Secure-no=1",
        "__secure-lower=1",
        "__HOST-upper=1; Path=/"
      ])
      assert.deepStrictEqual((yield* j.list).map((c) => c.name), ["__Host-ok", "__Secure-ok"])
      const error = yield* Effect.flip(j.set("__Host-x", "1", { domain: "example.com", secure: true }))
      assert.strictEqual(error.reason, "InvalidCookie")
    }))
})

describe("CookieJar: bad input and bounds", () => {
  it.effect("one malformed or rejected line among good ones keeps the good ones and reports no value", () =>
    Effect.gen(function*() {
      const rejected: Array<CookieJar.Rejected> = []
      const j = yield* jar({ onRejected: (r) => Effect.sync(() => rejected.push(r)) })
      yield* j.extract("http://h.example.com/p?q=secret-query", [
        "good=1",
        "=nameless-secret",
        "ctl=bad\x01secret",
        "foreign=secret; Domain=example.org",
        "secret-without-equals",
        "also=2"
      ])
      assert.strictEqual(yield* j.header("http://h.example.com/"), "good=1; also=2")
      assert.deepStrictEqual(rejected.map((r) => r.name), ["", "ctl", "foreign", ""])
      assert.notInclude(JSON.stringify(rejected), "secret")
    }))

  it.effect("bounds each cookie's size", () =>
    Effect.gen(function*() {
      const j = yield* jar({ maxCookieSize: 100 })
      yield* j.extract("http://h.example.com/", [`big=${"x".repeat(200)}`, "small=1"])
      assert.strictEqual(yield* j.header("http://h.example.com/"), "small=1")
      const error = yield* Effect.flip(j.set("big", "x".repeat(200)))
      assert.strictEqual(error._tag, "CookieJarError")
      assert.notInclude(error.message, "xxxx")
    }))

  it.effect("2,000 large Set-Cookie lines keep the jar and the Cookie header bounded", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      const lines = Array.from({ length: 2000 }, (_, i) => `c${i}=${"v".repeat(4000)}`)
      yield* j.extract("http://h.example.com/", lines)
      const stored = yield* j.list
      assert.strictEqual(stored.length, CookieJar.defaults.maxCookiesPerDomain)
      // The newest are kept.
      assert.strictEqual(stored.at(-1)!.name, "c1999")
      const header = (yield* j.header("http://h.example.com/"))!
      assert.isAtMost(header.length, CookieJar.defaults.maxHeaderSize)
      assert.strictEqual(header.split("; ").length, 2)
    }))

  it.effect("bounds the total number of cookies across domains", () =>
    Effect.gen(function*() {
      const j = yield* jar({ maxCookies: 50, maxCookiesPerDomain: 10 })
      for (let d = 0; d < 20; d++) {
        yield* j.extract(`http://d${d}.example.com/`, Array.from({ length: 10 }, (_, i) => `c${i}=1`))
      }
      const stored = yield* j.list
      assert.isAtMost(stored.length, 50)
      assert.isTrue(stored.some((c) => c.domain === "d19.example.com"))
      assert.isFalse(stored.some((c) => c.domain === "d0.example.com"))
    }))

  it("no Set-Cookie line, however broken, fails extraction or yields an unsafe header", () => {
    const line = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.tuple(
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 40 }),
        fc.array(
          fc.constantFrom(
            "; Secure",
            "; HttpOnly",
            "; Path=/",
            "; Path=x",
            "; Domain=example.com",
            "; Domain=.com",
            "; Domain=..",
            "; Domain=\u00e9x.com",
            "; Max-Age=-1",
            "; Max-Age=1e400",
            "; Expires=garbage",
            "; SameSite=None"
          ),
          { maxLength: 4 }
        )
      ).map(([n, v, attrs]) => `${n}=${v}${attrs.join("")}`)
    )
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 20 }),
        fc.constantFrom("http://a.example.com/x/y", "https://localhost/", "http://[::1]:8080/"),
        (lines, url) => {
          const header = Effect.runSync(Effect.gen(function*() {
            const j = yield* CookieJar.make()
            yield* j.extract(url, lines)
            yield* j.list
            return yield* j.header(url)
          }))

          return header === undefined ||
            (!CONTROL.test(header) && header.length <= CookieJar.defaults.maxHeaderSize)
        }
      ),
      { numRuns: 300 }
    )
  })

  it.effect("set refuses values that could break the header", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      for (const [name, value] of [["a", "x\r\nInjected: 1"], ["a", "x;y"], ["a=b", "1"], ["", "1"], ["a", "☃"]]) {
        const error = yield* Effect.flip(j.set(name!, value!))
        assert.strictEqual(error.reason, "InvalidCookie")
        assert.notInclude(error.message, "Injected")
      }
      assert.isTrue(yield* j.isEmpty)
      assert.include(CookieJar.invalidPair([["ok", "1"], ["bad", "x\ny"]])!, "\"bad\"")
      assert.isUndefined(CookieJar.invalidPair([["ok", "1"]]))
    }))
})

describe("CookieJar: requests' jar API", () => {
  it.effect("get finds one cookie by name, filtered by domain and path, or fails with CookieConflictError", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("http://a.example.com/", ["sid=a"])
      yield* j.extract("http://b.example.com/x/", ["sid=b; Path=/x"])
      const error = yield* Effect.flip(j.get("sid"))
      assert.strictEqual(error._tag, "CookieConflictError")
      assert.strictEqual(error.message, "There are multiple cookies with name, \"sid\"")
      assert.strictEqual(Option.getOrThrow(yield* j.get("sid", { domain: "a.example.com" })), "a")
      assert.strictEqual(Option.getOrThrow(yield* j.get("sid", { path: "/x" })), "b")
      assert.isTrue(Option.isNone(yield* j.get("missing")))
      assert.strictEqual((yield* Effect.flip(j.toRecord()))._tag, "CookieConflictError")
      assert.deepStrictEqual(yield* j.toRecord({ domain: "b.example.com" }), { sid: "b" })
    }))

  it.effect("set without a domain makes requests' any-host cookie; with one, a scoped cookie", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.set("everywhere", "1")
      yield* j.set("scoped", "2", { domain: ".Example.com", path: "/api", secure: true, maxAge: 60 })
      yield* j.set("exact", "3", { domain: "example.com", hostOnly: true })
      assert.strictEqual(yield* j.header("http://any.host.test/"), "everywhere=1")
      assert.strictEqual(yield* j.header("http://10.1.2.3/"), "everywhere=1")
      assert.strictEqual(yield* j.header("https://sub.example.com/api/x"), "scoped=2; everywhere=1")
      assert.strictEqual(yield* j.header("http://sub.example.com/api/x"), "everywhere=1")
      assert.strictEqual(yield* j.header("http://example.com/"), "exact=3; everywhere=1")
      const scoped = (yield* j.list).find((c) => c.name === "scoped")!
      assert.deepStrictEqual([scoped.domain, scoped.path, scoped.secure], ["example.com", "/api", true])
      assert.strictEqual(scoped.expires?.getTime(), NOW + 60_000)
      yield* TestClock.adjust("61 seconds")
      assert.isUndefined((yield* j.list).find((c) => c.name === "scoped"))
    }))

  it.effect("set null, delete and clear (all, by domain, by domain and path)", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("http://a.example.com/", ["x=1", "y=1; Path=/p", "z=1"])
      yield* j.extract("http://b.example.com/", ["x=2", "w=2"])
      yield* j.set("any", "1")
      yield* j.set("x", null, { domain: "a.example.com" })
      assert.deepStrictEqual((yield* j.list).map((c) => `${c.name}@${c.domain}`).sort(), [
        "any@",
        "w@b.example.com",
        "x@b.example.com",
        "y@a.example.com",
        "z@a.example.com"
      ])
      yield* j.clear({ domain: "a.example.com", path: "/p" })
      assert.isUndefined((yield* j.list).find((c) => c.name === "y"))
      yield* j.delete("any")
      yield* j.clear({ domain: "b.example.com" })
      assert.deepStrictEqual((yield* j.list).map((c) => c.name), ["z"])
      const before = yield* j.revision
      yield* j.clear()
      assert.isTrue(yield* j.isEmpty)
      assert.isAbove(yield* j.revision, before)
    }))

  it.effect("fromRecord is cookiejar_from_dict (overwrite flag) and merge is merge_cookies", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const j = yield* CookieJar.fromRecord({ a: "1", b: "2", skip: null })
      assert.deepStrictEqual(yield* j.toRecord(), { a: "1", b: "2" })
      assert.deepStrictEqual((yield* j.list).map((c) => [c.domain, c.path]), [["", "/"], ["", "/"]])
      yield* CookieJar.fromRecord({ a: "kept?", c: "3" }, { jar: j, overwrite: false })
      assert.deepStrictEqual(yield* j.toRecord(), { a: "1", b: "2", c: "3" })
      yield* CookieJar.fromRecord({ a: "replaced" }, { jar: j })
      assert.strictEqual(Option.getOrThrow(yield* j.get("a")), "replaced")
      // A record merged in does not replace names already present; a jar merged in does.
      yield* CookieJar.merge(j, { b: "no" })
      assert.strictEqual(Option.getOrThrow(yield* j.get("b")), "2")
      const other = yield* CookieJar.fromRecord({ b: "yes" })
      yield* other.extract("http://h.example.com/", ["server=1"])
      yield* CookieJar.merge(j, other)
      assert.deepStrictEqual(yield* j.toRecord(), { a: "replaced", b: "yes", c: "3", server: "1" })
      assert.strictEqual(yield* j.header("http://h.example.com/"), "server=1; a=replaced; b=yes; c=3")
    }))

  it.effect("update keeps server cookies with the same name apart from any-host ones", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("http://h.example.com/", ["hop=server"])
      yield* j.update({ hop: "dict" })
      assert.strictEqual(yield* j.header("http://h.example.com/"), "hop=server; hop=dict")
      assert.strictEqual(yield* j.header("http://elsewhere.example.org/"), "hop=dict")
      // Per-request pairs win by name over both.
      assert.strictEqual(yield* j.header("http://h.example.com/", [["hop", "req"]]), "hop=req")
    }))
})

describe("CookieJar: persistence", () => {
  it.effect("toJSON and fromJSON round-trip every field", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("https://a.example.com/app/", [
        "sid=s1; Secure; HttpOnly; SameSite=Strict; Path=/",
        "dom=d; Domain=example.com; Max-Age=3600",
        "local=l"
      ])
      yield* j.set("any", "x")
      const json = yield* CookieJar.toJSON(j)
      assert.strictEqual(json.version, 1)
      assert.strictEqual(json.format, "effect-requests/cookie-jar")
      const text = JSON.stringify(json)
      const back = yield* CookieJar.fromJSON(text)
      assert.deepStrictEqual(yield* back.list, yield* j.list)
      assert.strictEqual(
        yield* back.header("https://a.example.com/app/x"),
        yield* j.header("https://a.example.com/app/x")
      )
      assert.strictEqual(
        json.cookies.find((c) => c.name === "dom")!.expires,
        new Date(NOW + 3600_000).toISOString()
      )
      assert.isNull(json.cookies.find((c) => c.name === "local")!.expires)
    }))

  it.effect("fromJSON fails with a typed Decode error that never shows values", () =>
    Effect.gen(function*() {
      const bad = [
        "not json",
        { format: "effect-requests/cookie-jar", version: 2, cookies: [] },
        { format: "effect-requests/cookie-jar", version: 1, cookies: [{ name: "a", value: "x\r\nsecret-1" }] },
        {
          format: "effect-requests/cookie-jar",
          version: 1,
          cookies: [{
            name: "a",
            value: "secret-2\n",
            domain: "h.example.com",
            path: "/",
            hostOnly: true,
            secure: false,
            httpOnly: false,
            expires: null
          }]
        }
      ]
      for (const input of bad) {
        const error = yield* Effect.flip(CookieJar.fromJSON(input))
        assert.strictEqual(error._tag, "CookieJarError")
        assert.strictEqual(error.reason, "Decode")
        assert.notInclude(error.message, "secret")
      }
      const version = yield* Effect.flip(CookieJar.decodeJSON(bad[1]))
      assert.include(version.message, "version")
    }))

  it.effect("loading skips cookies the jar would not accept (expired, public suffix, oversized)", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      const base = { path: "/", secure: false, httpOnly: false, hostOnly: false }
      const loaded = yield* j.restore([
        { ...base, name: "ok", value: "1", domain: "example.com", expires: undefined },
        { ...base, name: "old", value: "1", domain: "example.com", expires: new Date(NOW - 1000) },
        { ...base, name: "psl", value: "1", domain: "co.uk", expires: undefined },
        { ...base, name: "big", value: "x".repeat(5000), domain: "example.com", expires: undefined }
      ])
      assert.deepStrictEqual(loaded, { restored: 1, skipped: 3 })
      assert.deepStrictEqual((yield* j.list).map((c) => c.name), ["ok"])
    }))

  it.effect("writes and reads Netscape cookies.txt as curl does", () =>
    Effect.gen(function*() {
      const j = yield* jar()
      yield* j.extract("https://a.example.com/", [
        "sid=s1; Secure; HttpOnly",
        `dom=d; Domain=example.com; Path=/x; Expires=${new Date(NOW + 86400_000).toUTCString()}`
      ])
      yield* j.set("any", "not-exported")
      const text = yield* CookieJar.toNetscape(j)
      const lines = text.split("\n")
      assert.strictEqual(lines[0], "# Netscape HTTP Cookie File")
      assert.include(lines, "#HttpOnly_a.example.com\tFALSE\t/\tTRUE\t0\tsid\ts1")
      assert.include(lines, `.example.com\tTRUE\t/x\tFALSE\t${(NOW + 86400_000) / 1000}\tdom\td`)
      assert.notInclude(text, "not-exported")
      const back = yield* CookieJar.fromNetscape(text)
      assert.deepStrictEqual(
        (yield* back.list).map((c) => [c.name, c.domain, c.hostOnly, c.secure, c.httpOnly, c.expires?.getTime()]),
        [["sid", "a.example.com", true, true, true, undefined], [
          "dom",
          "example.com",
          false,
          false,
          false,
          NOW + 86400_000
        ]]
      )
    }))

  it.effect("reads a hand-written curl cookies.txt: comments ignored, malformed lines skipped", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const text = [
        "# Netscape HTTP Cookie File",
        "# https://curl.se/docs/http-cookies.html",
        "",
        ".example.com\tTRUE\t/\tFALSE\t0\tsession\tabc",
        "#HttpOnly_www.example.com\tFALSE\t/app\tTRUE\t2000000000\ttoken\txyz\r",
        "www.example.com\tFALSE\t/\tFALSE\t2000000000\tempty",
        "# a comment\tthat has\ttabs",
        "broken line without tabs",
        ".example.com\tMAYBE\t/\tFALSE\t0\tbadflag\t1",
        ".example.com\tTRUE\t/\tFALSE\tsoon\tbadexpiry\t1",
        ".example.com\tTRUE\t/\tFALSE\t1000\texpired\t1",
        ".co.uk\tTRUE\t/\tFALSE\t0\tsuper\t1"
      ].join("\n")
      const parsed = CookieJar.parseNetscape(text)
      assert.deepStrictEqual(parsed.skipped.map((s) => s.line), [8, 9, 10])
      const j = yield* CookieJar.fromNetscape(text)
      assert.deepStrictEqual((yield* j.list).map((c) => [c.name, c.value, c.domain, c.path, c.httpOnly]), [
        ["session", "abc", "example.com", "/", false],
        ["token", "xyz", "www.example.com", "/app", true],
        ["empty", "", "www.example.com", "/", false]
      ])
      assert.strictEqual(yield* j.header("https://www.example.com/app/1"), "token=xyz; session=abc; empty=")
      assert.strictEqual(yield* j.header("http://www.example.com/app/1"), "session=abc; empty=")
    }))
})
