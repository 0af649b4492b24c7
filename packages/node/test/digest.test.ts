import { Auth, Session } from "@effect-requests/core"
import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as crypto from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { clearAll, hops, originsLayer, OriginsTag, redirectTo, withSession } from "./utils/origins.js"

const ALGORITHMS = ["MD5", "MD5-sess", "SHA", "SHA-sess", "SHA-256", "SHA-256-sess", "SHA-512", "SHA-512-sess"]
const QOPS = ["auth", "auth-int", "none", "both"]

const param = (header: string | undefined, name: string) => new RegExp(`${name}="?([^",]*)"?`).exec(header ?? "")?.[1]

/**
 * A second digest server, written with node:crypto: SHA-256, qop=auth; the first answer to each
 * challenge is refused with `stale=true` once, the answer to the fresh nonce is accepted.
 */
const staleOnceServer = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ server: http.Server; url: string; log: Array<string | undefined> }>((resolve) => {
      const log: Array<string | undefined> = []
      const H = (s: string) => crypto.createHash("sha256").update(s).digest("hex")
      let issued = 0
      let staleSent = false
      const server = http.createServer((req, res) => {
        const authorization = req.headers.authorization
        log.push(authorization)
        const challenge = (stale: boolean) => {
          const nonce = `nonce-${++issued}`
          res.writeHead(401, {
            "WWW-Authenticate":
              `Digest realm="stale@test", qop="auth", algorithm=SHA-256, nonce="${nonce}", opaque="o"${
                stale ? ", stale=true" : ""
              }`
          })
          res.end()
        }
        if (authorization === undefined) return challenge(false)
        const p = (n: string) => param(authorization, n) ?? ""
        const ha1 = H(`${p("username")}:stale@test:secret`)
        const ha2 = H(`${req.method}:${p("uri")}`)
        const expected = H(`${ha1}:${p("nonce")}:${p("nc")}:${p("cnonce")}:auth:${ha2}`)
        if (p("response") !== expected || p("uri") !== req.url || p("opaque") !== "o") return challenge(false)
        if (!staleSent) {
          staleSent = true
          return challenge(true)
        }
        res.writeHead(200, { "Content-Type": "text/plain" })
        res.end("welcome")
      })
      server.listen(0, "127.0.0.1", () =>
        resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log }))
    })
  ),
  ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

layer(originsLayer, { timeout: 60_000 })("Auth.digest against httpbin", (it) => {
  it.effect("every algorithm × qop: one challenge answered, the 401 in history", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* withSession(Effect.gen(function*() {
        for (const algorithm of ALGORITHMS) {
          for (const qop of QOPS) {
            const label = `${algorithm} ${qop}`
            const auth = Auth.digest("user", "passwd")
            const url = a.url(`/digest-auth/${qop}/user/passwd/${algorithm}`)
            const response = yield* Session.get(url, { auth })
            assert.strictEqual(response.status, 200, label)
            assert.deepStrictEqual(yield* response.json, { authenticated: true, user: "user" }, label)
            assert.deepStrictEqual(response.history.map((r) => r.status), [401], label)
            const header = response.request.headers.get("authorization")!
            assert.strictEqual(param(header, "algorithm"), algorithm, label)
            assert.strictEqual(
              param(header, "qop"),
              qop === "none" ? undefined : qop === "auth-int" ? "auth-int" : "auth",
              label
            )
            // auth-int over a body in memory.
            if (qop === "auth-int") {
              const posted = yield* Session.post(url, { auth: Auth.digest("user", "passwd"), data: "the body" })
              assert.strictEqual(posted.status, 200, `${label} POST`)
            }
          }
        }
      }))
    }))

  it.effect("reuses the nonce on the next request to the same origin, nc counting up", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* clearAll
      const auth = Auth.digest("user", "passwd")
      yield* withSession(Effect.gen(function*() {
        const url = a.url("/digest-auth/auth/user/passwd/SHA-256")
        for (let i = 0; i < 3; i++) assert.strictEqual((yield* Session.get(url, { auth })).status, 200)
      }))
      const sent = (yield* hops(a)).map((h) => h.headers.authorization)
      assert.strictEqual(sent.length, 4)
      assert.isUndefined(sent[0])
      assert.deepStrictEqual(sent.slice(1).map((h) => param(h, "nc")), ["00000001", "00000002", "00000003"])
      assert.strictEqual(new Set(sent.slice(1).map((h) => param(h, "nonce"))).size, 1)
    }))

  it.effect("stale nonce: one extra retry with the fresh nonce, never more", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* clearAll
      yield* withSession(Effect.gen(function*() {
        const auth = Auth.digest("user", "passwd")
        // The nonce goes stale after one use: the second request's pre-emptive answer is refused.
        const url = a.url("/digest-auth/auth/user/passwd/MD5/1")
        assert.strictEqual((yield* Session.get(url, { auth })).status, 200)
        const second = yield* Session.get(url, { auth })
        assert.strictEqual(second.status, 200)
        assert.deepStrictEqual(second.history.map((r) => r.status), [401])
        assert.match(second.history[0]!.headers.get("www-authenticate")!, /stale=TRUE/)
        // Always stale: the challenge, the answer, one stale retry, then the 401 is returned.
        yield* clearAll
        const never = yield* Session.get(a.url("/digest-auth/auth/user/passwd/MD5/0"), {
          auth: Auth.digest("user", "passwd")
        })
        assert.strictEqual(never.status, 401)
        assert.strictEqual((yield* hops(a)).length, 3)
      }))
    }))

  it.effect("a second server that answers stale=true once", () =>
    Effect.gen(function*() {
      const server = yield* staleOnceServer
      const response = yield* withSession(
        Session.get(`${server.url}/private?x=1`, { auth: Auth.digest("alice", "secret") })
      )
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.text, "welcome")
      assert.deepStrictEqual(response.history.map((r) => r.status), [401, 401])
      assert.strictEqual(server.log.length, 3)
      assert.isUndefined(server.log[0])
      assert.deepStrictEqual(server.log.slice(1).map((h) => param(h, "nonce")), ["nonce-1", "nonce-2"])
      assert.strictEqual(param(server.log[2], "uri"), "/private?x=1")
    }).pipe(Effect.scoped))

  it.effect("a wrong password gets the 401 back after one answer; the 401's cookie is sent on the retry", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* clearAll
      yield* withSession(Effect.gen(function*() {
        const wrong = yield* Session.get(a.url("/digest-auth/auth/user/passwd"), { auth: Auth.digest("user", "nope") })
        assert.strictEqual(wrong.status, 401)
        assert.deepStrictEqual(wrong.history.map((r) => r.status), [401])
        assert.strictEqual((yield* hops(a)).length, 2)
        const cookie = yield* Session.get(a.url("/digest-auth/auth/user/passwd/MD5?require-cookie=true"), {
          auth: Auth.digest("user", "passwd")
        })
        assert.strictEqual(cookie.status, 200)
        assert.strictEqual((yield* hops(a)).slice(-1)[0]!.headers.cookie, "fake=fake_value")
      }))
    }))

  it.effect("never answers for another origin, nor replays a nonce there (curl CVE-2026-11856)", () =>
    Effect.gen(function*() {
      const { a, b, c } = yield* OriginsTag
      yield* clearAll
      const auth = Auth.digest("user", "passwd")
      yield* withSession(Effect.gen(function*() {
        assert.strictEqual((yield* Session.get(a.url("/digest-auth/auth/user/passwd"), { auth })).status, 200)
        // A redirect from a to b's digest endpoint: b's challenge is returned unanswered.
        const redirected = yield* Session.get(redirectTo(a, b.url("/digest-auth/auth/user/passwd")), { auth })
        assert.strictEqual(redirected.status, 401)
        // A direct request to another port starts fresh (its own challenge, its own nonce).
        const other = yield* Session.get(c.url("/digest-auth/auth/user/passwd"), { auth })
        assert.strictEqual(other.status, 200)
      }))
      assert.deepStrictEqual((yield* hops(b)).map((h) => h.headers.authorization), [undefined])
      const onC = (yield* hops(c)).map((h) => h.headers.authorization)
      assert.isUndefined(onC[0])
      const nonceA = param((yield* hops(a))[1]!.headers.authorization, "nonce")
      assert.notStrictEqual(param(onC[1], "nonce"), nonceA)
    }))

  it.effect("concurrent fibers share one auth value safely", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      const auth = Auth.digest("user", "passwd")
      const responses = yield* withSession(
        Effect.all(
          Array.from({ length: 16 }, () => Session.get(a.url("/digest-auth/auth/user/passwd/SHA-512"), { auth })),
          { concurrency: 16 }
        )
      )
      assert.deepStrictEqual(responses.map((r) => r.status), Array(16).fill(200))
    }))

  it.effect("a one-shot body cannot be replayed for the challenge", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      const error = yield* Effect.flip(withSession(Session.post(a.url("/digest-auth/auth/user/passwd"), {
        auth: Auth.digest("user", "passwd"),
        data: Stream.make(new TextEncoder().encode("once"))
      })))
      assert.strictEqual(error._tag, "UnrewindableBodyError")
      assert.strictEqual(error.response?.status, 401)
      // auth-int cannot hash a stream: the challenge is returned as is.
      const intOnly = yield* withSession(Session.post(a.url("/digest-auth/auth-int/user/passwd"), {
        auth: Auth.digest("user", "passwd"),
        data: Stream.make(new TextEncoder().encode("once"))
      }))
      assert.strictEqual(intOnly.status, 401)
      assert.deepStrictEqual(intOnly.history, [])
    }))
})
