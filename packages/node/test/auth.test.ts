import { Auth, Session } from "@effect-requests/core"
import type { Httpbin } from "@effect-requests/httpbin"
import type { NodeSession } from "@effect-requests/node"
import { assert, layer } from "@effect/vitest"
import { Effect, Ref } from "effect"
import * as crypto from "node:crypto"
import { baseline, clearAll, hops, originsLayer, OriginsTag, redirectTo, withSession } from "./utils/origins.js"

interface Source {
  readonly name: string
  readonly session?: NodeSession.Options
  readonly request?: Session.RequestOptions
  readonly userinfo?: boolean
  /** Headers the first hop must carry beyond the baseline. */
  readonly first: Record<string, string>
  /** What a same-origin hop keeps of them (requests drops Proxy-Authorization on every redirect). */
  readonly kept: Record<string, string>
}

const basicSU = Auth.basicAuthHeader("s", "spw")
const basicUP = Auth.basicAuthHeader("u", "p")
const signer = Auth.custom({
  name: "signer",
  apply: (request) => Effect.succeed(request.setHeader("X-Signature", `signed ${request.method}`))
})

const SOURCES: ReadonlyArray<Source> = [
  {
    name: "session basic auth",
    session: { auth: Auth.basic("s", "spw") },
    first: { authorization: basicSU },
    kept: { authorization: basicSU }
  },
  {
    name: "session bearer auth",
    session: { auth: Auth.bearer("tkn") },
    first: { authorization: "Bearer tkn" },
    kept: { authorization: "Bearer tkn" }
  },
  {
    name: "request auth pair",
    request: { auth: ["u", "p"] },
    first: { authorization: basicUP },
    kept: { authorization: basicUP }
  },
  { name: "URL userinfo", userinfo: true, first: { authorization: basicUP }, kept: { authorization: basicUP } },
  {
    name: "Authorization set by hand (upper case)",
    request: { headers: { AUTHORIZATION: "Basic aGFuZDpwdw==" } },
    first: { authorization: "Basic aGFuZDpwdw==" },
    kept: { authorization: "Basic aGFuZDpwdw==" }
  },
  {
    name: "authorization set by hand (lower case)",
    request: { headers: { authorization: "Token xyz" } },
    first: { authorization: "Token xyz" },
    kept: { authorization: "Token xyz" }
  },
  // The Node adapter sends Proxy-Authorization to proxies only: no origin ever sees it.
  {
    name: "Proxy-Authorization set by hand",
    request: { headers: { "Proxy-Authorization": "Basic cHJveHk6cHc=" } },
    first: {},
    kept: {}
  },
  {
    name: "Cookie set by hand",
    request: { headers: { cookie: "c=1" } },
    first: { cookie: "c=1" },
    kept: { cookie: "c=1" }
  },
  {
    name: "per-request cookies",
    request: { cookies: { per: "r" } },
    first: { cookie: "per=r" },
    kept: { cookie: "per=r" }
  },
  {
    name: "sensitiveHeaders",
    session: { sensitiveHeaders: ["x-api-key"] },
    request: { headers: { "X-API-KEY": "k" } },
    first: { "x-api-key": "k" },
    kept: { "x-api-key": "k" }
  },
  {
    name: "a header an auth value set",
    request: { auth: signer },
    first: { "x-signature": "signed GET" },
    kept: { "x-signature": "signed GET" }
  }
]

type Change = readonly [
  name: string,
  from: (o: Origins) => Httpbin.HttpbinService,
  to: (o: Origins) => Httpbin.HttpbinService
]
type Origins = typeof OriginsTag.Service

const CHANGES: ReadonlyArray<Change> = [
  ["no change", (o) => o.a, (o) => o.a],
  ["host", (o) => o.a, (o) => o.b],
  ["port", (o) => o.a, (o) => o.c],
  ["scheme http→https", (o) => o.a, (o) => o.tls],
  ["scheme https→http", (o) => o.tls, (o) => o.a]
]

const withUserinfo = (url: string) => url.replace("://", "://u:p@")

layer(originsLayer, { timeout: 60_000 })("credentials never cross an origin (real servers)", (it) => {
  it.effect("every credential source × every kind of origin change: the exact headers of each hop", () =>
    Effect.gen(function*() {
      const origins = yield* OriginsTag
      for (const source of SOURCES) {
        for (const [change, fromOf, toOf] of CHANGES) {
          const from = fromOf(origins)
          const to = toOf(origins)
          const label = `${source.name}, ${change}`
          yield* clearAll
          const start = redirectTo(from, to.url("/anything"))
          const response = yield* withSession(
            Session.get(source.userinfo ? withUserinfo(start) : start, source.request),
            { verify: origins.ca, ...source.session }
          )
          assert.strictEqual(response.status, 200, label)
          const sent = yield* hops(from)
          assert.deepStrictEqual(sent[0]!.headers, { ...baseline(from), ...source.first }, label)
          const landed = (yield* hops(to)).slice(-1)[0]!
          assert.strictEqual(landed.url, "/anything", label)
          assert.deepStrictEqual(landed.headers, { ...baseline(to), ...(from === to ? source.kept : {}) }, label)
        }
      }
    }))

  it.effect("a user Host header stays with the first origin", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      yield* clearAll
      yield* withSession(Effect.all([
        Session.get(redirectTo(a, a.url("/anything")), { headers: { Host: "custom.test" } }),
        Session.get(redirectTo(a, b.url("/anything")), { headers: { Host: "custom.test" } })
      ]))
      const onA = yield* hops(a)
      assert.deepStrictEqual(onA.map((h) => h.headers.host), ["custom.test", "custom.test", "custom.test"])
      assert.strictEqual((yield* hops(b))[0]!.headers.host, `${b.host}:${b.port}`)
    }))

  it.effect("A → B → A: nothing stripped comes back; the jar's own cookies follow the jar's rules", () =>
    Effect.gen(function*() {
      const { a, b, c } = yield* OriginsTag
      yield* clearAll
      const back = redirectTo(b, redirectTo(a, c.url("/anything")))
      // The first hop also stores a host-only jar cookie for 127.0.0.1 (any port, RFC 6265).
      const start = a.url(
        `/fault/set-cookies?c=jar%3Dj%3B%20Path%3D%2F&status=302&location=${encodeURIComponent(back)}`
      )
      const response = yield* withSession(
        Session.get(start, {
          auth: ["u", "p"],
          headers: { Cookie: "user=1", "Proxy-Authorization": "Basic eDp5", "X-Api-Key": "k", Host: "custom.test" },
          cookies: { per: "r" }
        }),
        { sensitiveHeaders: ["X-Api-Key"] }
      )
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(response.history.map((r) => r.status), [302, 302, 302])
      const [first, third] = yield* hops(a)
      assert.deepStrictEqual(first!.headers, {
        ...baseline(a),
        host: "custom.test",
        authorization: basicUP,
        cookie: "user=1",
        "x-api-key": "k"
      })
      assert.deepStrictEqual((yield* hops(b))[0]!.headers, baseline(b))
      // Back on the first origin: only the jar cookie, none of the request's credentials.
      assert.deepStrictEqual(third!.headers, { ...baseline(a), cookie: "jar=j" })
      // Another port of the same host: credentials stripped, yet the host-only jar cookie applies.
      assert.deepStrictEqual((yield* hops(c))[0]!.headers, { ...baseline(c), cookie: "jar=j" })
    }))
})

layer(originsLayer, { timeout: 60_000 })("auth values against httpbin", (it) => {
  it.effect("basic (latin-1 as requests encodes it), bearer, and hidden-basic-auth", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* withSession(Effect.gen(function*() {
        const ok = yield* Session.get(a.url("/basic-auth/user/pass"), { auth: Auth.basic("user", "pass") })
        assert.deepStrictEqual(yield* ok.json, { authenticated: true, user: "user" })
        const latin1 = yield* Session.get(a.url("/basic-auth/caf%C3%A9/p%C3%A4ss"), { auth: ["café", "päss"] })
        assert.strictEqual(latin1.status, 200)
        const wrong = yield* Session.get(a.url("/basic-auth/user/pass"), { auth: ["user", "nope"] })
        assert.strictEqual(wrong.status, 401)
        const hidden = yield* Session.get(a.url("/hidden-basic-auth/user/pass"), { auth: ["user", "pass"] })
        assert.strictEqual(hidden.status, 200)
        const bearer = yield* Session.get(a.url("/bearer"), { auth: Auth.bearer("t0k") })
        assert.deepStrictEqual(yield* bearer.json, { authenticated: true, token: "t0k" })
      }))
      const sent = (yield* hops(a)).find((h) => h.url.startsWith("/basic-auth/caf"))!
      assert.strictEqual(sent.headers.authorization, `Basic ${Buffer.from("café:päss", "latin1").toString("base64")}`)
    }))

  it.effect("a custom token-refresh flow: 401, refresh, resend", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* clearAll
      const password = yield* Ref.make("expired")
      const refreshing = Auth.custom({
        name: "refresh",
        flow: (request, send) =>
          Effect.gen(function*() {
            const attempt = (pw: string) => send(request.setHeader("Authorization", Auth.basicAuthHeader("user", pw)))
            const first = yield* attempt(yield* Ref.get(password))
            if (first.status !== 401) return first
            yield* Ref.set(password, "pass") // the "refresh"
            return yield* attempt("pass")
          })
      })
      yield* withSession(Effect.gen(function*() {
        const response = yield* Session.get(a.url("/basic-auth/user/pass"), { auth: refreshing })
        assert.strictEqual(response.status, 200)
        assert.deepStrictEqual(response.history.map((r) => r.status), [401])
        // The next request uses the refreshed credentials at once.
        const again = yield* Session.get(a.url("/basic-auth/user/pass"), { auth: refreshing })
        assert.deepStrictEqual(again.history, [])
      }))
      const sent = (yield* hops(a)).map((h) => h.headers.authorization)
      assert.deepStrictEqual(sent, [
        Auth.basicAuthHeader("user", "expired"),
        Auth.basicAuthHeader("user", "pass"),
        Auth.basicAuthHeader("user", "pass")
      ])
    }))

  it.effect("a signing apply: the server sees a signature over the method, path and final body", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* clearAll
      const key = "signing-key"
      const sign = (method: string, path: string, body: Uint8Array) =>
        crypto.createHmac("sha256", key).update(`${method}\n${path}\n`).update(body).digest("hex")
      const hmac = Auth.custom({
        name: "hmac",
        apply: (request) =>
          Effect.succeed(request.setHeader(
            "X-Signature",
            sign(request.method, request.pathUrl, request.body._tag === "Bytes" ? request.body.bytes : new Uint8Array())
          ))
      })
      yield* withSession(Session.post(a.url("/anything?x=1"), { json: { n: 1 }, auth: hmac, params: { y: 2 } }))
      const [sent] = yield* hops(a)
      assert.strictEqual(sent!.url, "/anything?x=1&y=2")
      assert.strictEqual(
        sent!.headers["x-signature"],
        sign("POST", "/anything?x=1&y=2", new TextEncoder().encode("{\"n\":1}"))
      )
    }))
})
