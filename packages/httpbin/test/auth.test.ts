import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Httpbin } from "../src/index.js"
import { authorization, parseChallenge } from "./utils/digest.js"
import { fetchAll } from "./utils/fetch.js"

const basic = (user: string, pass: string, encoding: BufferEncoding = "utf8") =>
  `Basic ${Buffer.from(`${user}:${pass}`, encoding).toString("base64")}`

const ALGORITHMS = ["MD5", "MD5-sess", "SHA", "SHA-sess", "SHA-256", "SHA-256-sess", "SHA-512", "SHA-512-sess"]
const QOPS = ["auth", "auth-int", "none"] as const

layer(Httpbin.layer)("auth endpoints", (it) => {
  it.effect("/basic-auth/:u/:p accepts the right credentials and challenges otherwise", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const ok = yield* fetchAll(httpbin.url("/basic-auth/user/pa%3Ass"), {
        headers: { authorization: basic("user", "pa:ss") }
      })
      assert.strictEqual(ok.status, 200)
      assert.deepStrictEqual(ok.json, { authenticated: true, user: "user" })
      const wrong = yield* fetchAll(httpbin.url("/basic-auth/user/pass"), {
        headers: { authorization: basic("user", "no") }
      })
      assert.strictEqual(wrong.status, 401)
      assert.strictEqual(wrong.headers.get("www-authenticate"), "Basic realm=\"Fake Realm\"")
      const none = yield* fetchAll(httpbin.url("/basic-auth/user/pass"))
      assert.strictEqual(none.status, 401)
    }))

  it.effect("/basic-auth accepts non-ASCII credentials sent as UTF-8 or as latin-1", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const url = httpbin.url(`/basic-auth/${encodeURIComponent("josé")}/${encodeURIComponent("pässword")}`)
      for (const encoding of ["utf8", "latin1"] as const) {
        const res = yield* fetchAll(url, { headers: { authorization: basic("josé", "pässword", encoding) } })
        assert.strictEqual(res.status, 200, encoding)
        assert.strictEqual(res.json.user, "josé")
      }
    }))

  it.effect("/hidden-basic-auth answers 404 instead of 401", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const denied = yield* fetchAll(httpbin.url("/hidden-basic-auth/u/p"))
      assert.strictEqual(denied.status, 404)
      assert.isNull(denied.headers.get("www-authenticate"))
      const ok = yield* fetchAll(httpbin.url("/hidden-basic-auth/u/p"), { headers: { authorization: basic("u", "p") } })
      assert.deepStrictEqual(ok.json, { authenticated: true, user: "u" })
    }))

  it.effect("/bearer returns the token, or 401 with WWW-Authenticate: Bearer", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const ok = yield* fetchAll(httpbin.url("/bearer"), { headers: { authorization: "Bearer abc.def" } })
      assert.deepStrictEqual(ok.json, { authenticated: true, token: "abc.def" })
      const denied = yield* fetchAll(httpbin.url("/bearer"), { headers: { authorization: basic("a", "b") } })
      assert.strictEqual(denied.status, 401)
      assert.strictEqual(denied.headers.get("www-authenticate"), "Bearer")
    }))

  for (const algorithm of ALGORITHMS) {
    for (const qop of QOPS) {
      it.effect(`/digest-auth ${qop} ${algorithm}: challenge, then a correct answer is accepted`, () =>
        Effect.gen(function*() {
          const httpbin = yield* Httpbin.Httpbin
          // Algorithms are case-insensitive in the path.
          const path = `/digest-auth/${qop}/user/passwd/${algorithm.toLowerCase()}?x=1`
          const method = qop === "auth-int" ? "POST" : "GET"
          const body = qop === "auth-int" ? Buffer.from("the body") : undefined
          const first = yield* fetchAll(httpbin.url(path), body ? { method, body } : { method })
          assert.strictEqual(first.status, 401)
          const header = first.headers.get("www-authenticate") ?? ""
          const challenge = parseChallenge(header)
          assert.strictEqual(challenge.realm, "me@kennethreitz.com")
          assert.strictEqual(challenge.algorithm, algorithm)
          assert.strictEqual(challenge.stale, "FALSE")
          assert.strictEqual(challenge.qop, qop === "none" ? undefined : qop)
          assert.isString(challenge.opaque)
          assert.include(first.headers.getSetCookie(), "fake=fake_value; Path=/")
          const auth = authorization(challenge, {
            method,
            uri: path,
            username: "user",
            password: "passwd",
            qop: qop === "none" ? undefined : qop,
            ...(body ? { body } : {})
          })
          const second = yield* fetchAll(httpbin.url(path), {
            method,
            headers: { authorization: auth },
            ...(body ? { body } : {})
          })
          assert.strictEqual(second.status, 200)
          assert.deepStrictEqual(second.json, { authenticated: true, user: "user" })
        }))
    }
  }

  it.effect("/digest-auth with an unknown qop offers both auth and auth-int, like httpbin", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const res = yield* fetchAll(httpbin.url("/digest-auth/whatever/u/p"))
      assert.strictEqual(parseChallenge(res.headers.get("www-authenticate") ?? "").qop, "auth, auth-int")
      assert.strictEqual(parseChallenge(res.headers.get("www-authenticate") ?? "").algorithm, "MD5")
    }))

  it.effect("/digest-auth refuses a wrong password, uri, opaque, algorithm, a missing cnonce, or a replayed nc", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const path = "/digest-auth/auth/user/passwd/SHA-256"
      const challenge = parseChallenge((yield* fetchAll(httpbin.url(path))).headers.get("www-authenticate") ?? "")
      const base = { method: "GET", uri: path, username: "user", password: "passwd", qop: "auth" }
      const attempt = (answer: Parameters<typeof authorization>[1], url = path) =>
        fetchAll(httpbin.url(url), { headers: { authorization: authorization(challenge, answer) } })
      assert.strictEqual((yield* attempt({ ...base, password: "wrong" })).status, 401)
      assert.strictEqual((yield* attempt({ ...base, uri: "/other" })).status, 401)
      assert.strictEqual((yield* attempt({ ...base, opaque: "0000" })).status, 401)
      const withoutCnonce = authorization(challenge, base).replace(/, cnonce="[^"]*"/, "")
      assert.strictEqual(
        (yield* fetchAll(httpbin.url(path), { headers: { authorization: withoutCnonce } })).status,
        401
      )
      const otherAlgorithm = authorization({ ...challenge, algorithm: "MD5" }, base)
      assert.strictEqual(
        (yield* fetchAll(httpbin.url(path), { headers: { authorization: otherAlgorithm } })).status,
        401
      )
      assert.strictEqual((yield* attempt({ ...base, nc: 1 })).status, 200)
      const replay = yield* attempt({ ...base, nc: 1 })
      assert.strictEqual(replay.status, 401)
      assert.strictEqual(parseChallenge(replay.headers.get("www-authenticate") ?? "").stale, "FALSE")
      assert.strictEqual((yield* attempt({ ...base, nc: 2 })).status, 200)
    }))

  it.effect("/digest-auth stale_after: after N uses of a nonce, 401 with stale=TRUE and a fresh nonce", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const path = "/digest-auth/auth/user/passwd/MD5/2"
      const challenge = parseChallenge((yield* fetchAll(httpbin.url(path))).headers.get("www-authenticate") ?? "")
      const answer = (nc: number, c = challenge) =>
        fetchAll(httpbin.url(path), {
          headers: {
            authorization: authorization(c, {
              method: "GET",
              uri: path,
              username: "user",
              password: "passwd",
              qop: "auth",
              nc
            })
          }
        })
      assert.strictEqual((yield* answer(1)).status, 200)
      assert.strictEqual((yield* answer(2)).status, 200)
      const stale = yield* answer(3)
      assert.strictEqual(stale.status, 401)
      const fresh = parseChallenge(stale.headers.get("www-authenticate") ?? "")
      assert.strictEqual(fresh.stale, "TRUE")
      assert.notStrictEqual(fresh.nonce, challenge.nonce)
      assert.strictEqual((yield* answer(1, fresh)).status, 200)
    }))

  it.effect("/digest-auth answers a valid digest on an unknown nonce with stale=TRUE", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const path = "/digest-auth/auth/user/passwd"
      const challenge = { realm: "me@kennethreitz.com", nonce: "deadbeef", opaque: "x", algorithm: "MD5", qop: "auth" }
      const res = yield* fetchAll(httpbin.url(path), {
        headers: {
          authorization: authorization(challenge, {
            method: "GET",
            uri: path,
            username: "user",
            password: "passwd",
            qop: "auth"
          })
        }
      })
      assert.strictEqual(res.status, 401)
      assert.strictEqual(parseChallenge(res.headers.get("www-authenticate") ?? "").stale, "TRUE")
    }))

  it.effect("/digest-auth?require-cookie=true challenges an answer that carries no Cookie", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const path = "/digest-auth/auth/user/passwd?require-cookie=true"
      const challenge = parseChallenge((yield* fetchAll(httpbin.url(path))).headers.get("www-authenticate") ?? "")
      const auth = (nc: number) =>
        authorization(challenge, { method: "GET", uri: path, username: "user", password: "passwd", qop: "auth", nc })
      assert.strictEqual((yield* fetchAll(httpbin.url(path), { headers: { authorization: auth(1) } })).status, 401)
      const ok = yield* fetchAll(httpbin.url(path), { headers: { authorization: auth(2), cookie: "fake=fake_value" } })
      assert.strictEqual(ok.status, 200)
    }))
})
