import { type Adapter, type CookieJar, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { makePki, type TestPki } from "@effect-requests/httpbin/TestCertificates"
import { NodeAdapter, NodeSession } from "@effect-requests/node"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Option, TestClock } from "effect"
import { emptyEnv } from "./utils/layers.js"

/** Three origins: http on 127.0.0.1 (also reachable as localhost), http on 127.0.0.2, https on 127.0.0.1. */
class Servers extends Context.Tag("test/Servers")<Servers, {
  readonly pki: TestPki
  readonly plain: Httpbin.HttpbinService
  readonly second: Httpbin.HttpbinService
  readonly tls: Httpbin.HttpbinService
}>() {}

const servers = Layer.scoped(
  Servers,
  Effect.gen(function*() {
    const pki = yield* Effect.promise(makePki)
    return {
      pki,
      plain: yield* Httpbin.make(),
      second: yield* Httpbin.make({ host: "127.0.0.2" }),
      tls: yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
    }
  })
).pipe(Layer.orDie)

/** A fresh session (its own jar) that trusts the test CA, for the life of the test's scope. */
const open = (options?: NodeSession.Options) =>
  Effect.gen(function*() {
    const { pki } = yield* Servers
    const context = yield* Layer.build(
      NodeSession.layer({ verify: pki.caCert, ...options }).pipe(Layer.provide(emptyEnv()), Layer.orDie)
    )
    return Context.get(context, Session.Session)
  })

const cookiesAt = (session: Session.Service, url: string) =>
  Effect.flatMap(session.get(url), (r) => Effect.map(r.json, (j) => (j as { cookies: Record<string, string> }).cookies))

const headerAt = (session: Session.Service, url: string) =>
  Effect.flatMap(session.get(url), (r) => Effect.map(r.json, (j) => (j as { headers: Record<string, string> }).headers))

/**
 * httpbin's fault endpoint answering with these Set-Cookie lines. A line without a Path attribute
 * gets `; Path=/`, so that it applies to the whole server (its default path would be `/fault`).
 */
const setCookies = (server: Httpbin.HttpbinService, lines: ReadonlyArray<string>, origin = server.origin) =>
  `${origin}/fault/set-cookies?${
    lines.map((l) => `c=${encodeURIComponent(/;\s*path=/i.test(l) ? l : `${l}; Path=/`)}`).join("&")
  }`

/** A transport that sends every request to `target` whatever host its URL names (a DNS override). */
const routedTo = (target: string) =>
  Effect.map(NodeAdapter.make(), (inner): Adapter.Transport => ({
    send: (request, options) => {
      const url = new URL(request.url)
      const to = new URL(target)
      url.protocol = to.protocol
      url.host = to.host
      return inner.send(request.copy({ url: url.href }), options)
    },
    close: inner.close
  }))

layer(servers)("cookies against loopback and TLS origins", (it) => {
  it.scoped("a host-only cookie goes back to its host only: not to localhost, not to 127.0.0.2", () =>
    Effect.gen(function*() {
      const { plain, second } = yield* Servers
      const localhost = `http://localhost:${plain.port}`
      const s = yield* open()
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies/set?a=1")), { a: "1" })
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies")), { a: "1" })
      // The same server under another name gets nothing (RFC 6265 host-only), nor does another host.
      assert.deepStrictEqual(yield* cookiesAt(s, `${localhost}/cookies`), {})
      assert.deepStrictEqual(yield* cookiesAt(s, second.url("/cookies")), {})
      // And the other way round.
      yield* s.get(`${localhost}/cookies/set?l=1`)
      assert.deepStrictEqual(yield* cookiesAt(s, `${localhost}/cookies`), { l: "1" })
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies")), { a: "1" })
      // Cookies are not port-isolated (RFC 6265): another port on 127.0.0.1 gets them.
      const { tls } = yield* Servers
      assert.deepStrictEqual(yield* cookiesAt(s, tls.url("/cookies")), { a: "1" })
    }))

  it.scoped("Domain=127.0.0.1 matches that address only; Domain=localhost and Domain=0.0.1 are refused", () =>
    Effect.gen(function*() {
      const { plain, second } = yield* Servers
      const localhost = `http://localhost:${plain.port}`
      const s = yield* open()
      yield* s.get(setCookies(plain, ["d=1; Domain=127.0.0.1", "tail=1; Domain=0.0.1"]))
      yield* s.get(setCookies(plain, ["l=1; Domain=localhost", "h=1"], localhost))
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies")), { d: "1" })
      assert.deepStrictEqual(yield* cookiesAt(s, second.url("/cookies")), {})
      assert.deepStrictEqual(yield* cookiesAt(s, `${localhost}/cookies`), { h: "1" })
    }))

  it.scoped("domain cookies from a real server: Domain=co.uk refused, Domain=example.co.uk shared", () =>
    Effect.gen(function*() {
      const { plain } = yield* Servers
      const routed = yield* routedTo(plain.origin)
      const s = yield* open({
        mounts: {
          "http://shop.example.co.uk/": routed,
          "http://www.example.co.uk/": routed,
          "http://other.co.uk/": routed
        }
      })
      yield* s.get(
        setCookies(plain, ["psl=1; Domain=co.uk", "dom=1; Domain=example.co.uk", "host=1"], "http://shop.example.co.uk")
      )
      assert.deepStrictEqual(yield* cookiesAt(s, "http://shop.example.co.uk/cookies"), { dom: "1", host: "1" })
      assert.deepStrictEqual(yield* cookiesAt(s, "http://www.example.co.uk/cookies"), { dom: "1" })
      assert.deepStrictEqual(yield* cookiesAt(s, "http://other.co.uk/cookies"), {})
      assert.deepStrictEqual((yield* s.cookies.list).map((c) => c.domain), ["example.co.uk", "shop.example.co.uk"])
    }))

  it.scoped("path scoping on segment boundaries", () =>
    Effect.gen(function*() {
      const { plain } = yield* Servers
      const s = yield* open()
      yield* s.get(setCookies(plain, ["p=1; Path=/anything", "root=1; Path=/"]))
      assert.strictEqual((yield* headerAt(s, plain.url("/anything/deeper")))["Cookie"], "p=1; root=1")
      assert.strictEqual((yield* headerAt(s, plain.url("/anything")))["Cookie"], "p=1; root=1")
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies")), { root: "1" })
    }))

  it.scoped("expiry under TestClock, and deletion by Max-Age=0", () =>
    Effect.gen(function*() {
      const { plain } = yield* Servers
      yield* TestClock.setTime(Date.now())
      const s = yield* open()
      yield* s.get(setCookies(plain, ["short=1; Max-Age=60", "long=2; Max-Age=3600", "gone=3"]))
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies")), { short: "1", long: "2", gone: "3" })
      yield* TestClock.adjust("61 seconds")
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies")), { long: "2", gone: "3" })
      // httpbin's delete answers `gone=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/`.
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies/delete?gone")), { long: "2" })
      yield* s.get(setCookies(plain, ["long=; Max-Age=0"]))
      assert.isTrue(yield* s.cookies.isEmpty)
    }))

  it.scoped("a Secure cookie is sent over https only, and an http response cannot replace it", () =>
    Effect.gen(function*() {
      const { plain, tls } = yield* Servers
      const s = yield* open()
      // Over TLS httpbin's /cookies/set adds `Secure`.
      assert.deepStrictEqual(yield* cookiesAt(s, tls.url("/cookies/set?sid=orig")), { sid: "orig" })
      yield* s.get(setCookies(tls, ["plain=1"]))
      assert.deepStrictEqual(yield* cookiesAt(s, tls.url("/cookies")), { sid: "orig", plain: "1" })
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies")), { plain: "1" })
      // A plain-http origin on the same host tries to replace, shadow and delete it.
      yield* s.get(setCookies(plain, ["sid=evil"]))
      yield* s.get(setCookies(plain, ["sid=evil; Path=/cookies"]))
      yield* s.get(plain.url("/cookies/delete?sid"))
      assert.deepStrictEqual(yield* cookiesAt(s, tls.url("/cookies")), { sid: "orig", plain: "1" })
    }))

  it.scoped("loopback over http is not a secure context unless allowSecureOnLocal", () =>
    Effect.gen(function*() {
      const { plain } = yield* Servers
      const strict = yield* open()
      yield* strict.get(setCookies(plain, ["sec=1; Secure"]))
      assert.isTrue(yield* strict.cookies.isEmpty)
      const local = yield* open({ cookieJar: { allowSecureOnLocal: true } })
      yield* local.get(setCookies(plain, ["sec=1; Secure"]))
      assert.deepStrictEqual(yield* cookiesAt(local, plain.url("/cookies")), { sec: "1" })
    }))

  it.scoped("one bad Set-Cookie line among good ones keeps the good ones and the response", () =>
    Effect.gen(function*() {
      const { plain } = yield* Servers
      const rejected: Array<CookieJar.Rejected> = []
      const s = yield* open({ cookieJar: { onRejected: (r) => Effect.sync(() => rejected.push(r)) } })
      const response = yield* s.get(setCookies(plain, [
        "good=1",
        "=nameless",
        "noequals",
        "__Host-x=1; Path=/",
        "foreign=1; Domain=example.org",
        "also=2"
      ]))
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(yield* cookiesAt(s, plain.url("/cookies")), { good: "1", also: "2" })
      assert.deepStrictEqual(rejected.map((r) => r.name), ["", "", "__Host-x", "foreign"])
    }))

  it.scoped("2,000 large Set-Cookie lines do not produce an unbounded header", () =>
    Effect.gen(function*() {
      const { plain } = yield* Servers
      const s = yield* open()
      // node:http caps a request's headers at 16 KiB, so the flood arrives 7 lines of 2 KB per
      // response, and the flood requests carry a Cookie header of their own (which replaces the jar's).
      for (let batch = 0; batch < 286; batch++) {
        const lines = Array.from({ length: 7 }, (_, i) => `c${batch * 7 + i}=${"v".repeat(2000)}`)
        const response = yield* s.get(setCookies(plain, lines), { headers: { Cookie: "flood=1" } })
        assert.strictEqual(response.status, 200)
      }
      assert.strictEqual((yield* s.cookies.list).length, 180)
      yield* plain.clearLog
      const response = yield* s.get(plain.url("/cookies"))
      assert.strictEqual(response.status, 200)
      const sent = Option.getOrThrow(yield* plain.lastRequest)
      const cookie = sent.rawHeaders.find(([name]) => name.toLowerCase() === "cookie")![1]
      assert.isAtMost(cookie.length, 8190)
      // Longest path first, then oldest first: the oldest cookies kept come first.
      assert.isTrue(cookie.startsWith(`${(yield* s.cookies.list)[0]!.name}=`))
    }))

  it.scoped("per-request cookies merge over the jar for that request only and stay with the first origin", () =>
    Effect.gen(function*() {
      const { plain, second } = yield* Servers
      const s = yield* open()
      yield* s.get(plain.url("/cookies/set?srv=1"))
      const once = yield* Effect.flatMap(
        s.get(plain.url("/cookies"), { cookies: { req: "r", srv: "override" } }),
        (r) => r.json
      )
      assert.deepStrictEqual(once, { cookies: { req: "r", srv: "override" } })
      assert.deepStrictEqual(yield* s.cookies.toRecord(), { srv: "1" })
      // A redirect within the origin keeps them; to another origin, they are not sent.
      const same = plain.url(`/redirect-to?url=${encodeURIComponent("/cookies")}`)
      assert.deepStrictEqual(yield* cookiesAt(s, same).pipe(Effect.provideService(Session.Session, s)), {
        srv: "1"
      })
      const viaSame = yield* Effect.flatMap(s.get(same, { cookies: { req: "r" } }), (r) => r.json)
      assert.deepStrictEqual(viaSame, { cookies: { srv: "1", req: "r" } })
      const cross = plain.url(`/redirect-to?url=${encodeURIComponent(second.url("/cookies"))}`)
      const viaCross = yield* Effect.flatMap(s.get(cross, { cookies: { req: "r" } }), (r) => r.json)
      assert.deepStrictEqual(viaCross, { cookies: {} })
      // Bad input is a typed error, not a header injection.
      const error = yield* Effect.flip(s.get(plain.url("/cookies"), { cookies: { bad: "x\r\nInjected: 1" } }))
      assert.strictEqual(error._tag, "InvalidHeader")
    }))

  it.scoped("a Cookie header set by the user replaces the jar's cookies for that request", () =>
    Effect.gen(function*() {
      const { plain } = yield* Servers
      const s = yield* open()
      yield* s.get(plain.url("/cookies/set?srv=1"))
      assert.deepStrictEqual(
        yield* Effect.flatMap(s.get(plain.url("/cookies"), { headers: { Cookie: "mine=1" } }), (r) => r.json),
        { cookies: { mine: "1" } }
      )
    }))
})
