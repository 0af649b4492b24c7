import { type Adapter, Auth, PreparedRequest, RequestError, Session } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Ref, Stream } from "effect"
import { memorySessionWithFiles } from "./utils/fixtures.js"

const run = <A, E>(
  handler: Adapter.Handler,
  effect: Effect.Effect<A, E, Session.Session>,
  options?: Session.LayerOptions
) =>
  Effect.gen(function*() {
    const { layer, requests } = memorySessionWithFiles(handler, options)
    const result = yield* Effect.provide(effect, layer)
    const seen = yield* Effect.provide(requests, layer)
    return [result, seen] as const
  })

const ok: Adapter.Handler = () => Effect.succeed({ status: 200 })

describe("Auth.basic and bearer", () => {
  it("encodes credentials as requests does (latin-1, else UTF-8)", () => {
    assert.strictEqual(Auth.basicAuthHeader("test", "test"), "Basic dGVzdDp0ZXN0")
    assert.strictEqual(Auth.basicAuthHeader("имя", "пароль"), "Basic 0LjQvNGPOtC/0LDRgNC+0LvRjA==")
    // "é" fits in latin-1: one byte 0xE9, as requests sends it.
    assert.strictEqual(Auth.basicAuthHeader("é", ""), "Basic 6To=")
    assert.strictEqual(Auth.basicAuthHeader(new Uint8Array([0xc3, 0xa9]), "x"), "Basic w6k6eA==")
  })

  it.effect("a pair, Auth.basic and Auth.bearer set Authorization when prepared", () =>
    Effect.gen(function*() {
      const [[a, b, c]] = yield* run(
        ok,
        Effect.all([
          Session.prepareRequest({ method: "GET", url: "http://h/", auth: ["u", Redacted.make("p")] }),
          Session.prepareRequest({ method: "GET", url: "http://h/", auth: Auth.basic("u", "p") }),
          Session.prepareRequest({ method: "GET", url: "http://h/", auth: Auth.bearer("tok") })
        ])
      )
      assert.strictEqual(a.headers.get("authorization"), "Basic dTpw")
      assert.strictEqual(b.headers.get("authorization"), "Basic dTpw")
      assert.strictEqual(c.headers.get("authorization"), "Bearer tok")
    }))
})

describe("Auth.custom", () => {
  it.effect("a signing apply sees the final body and method", () =>
    Effect.gen(function*() {
      const signer = Auth.custom({
        name: "hmac-ish",
        apply: (request) =>
          Effect.succeed(
            request.setHeader(
              "X-Signature",
              `${request.method} ${request.pathUrl} ${request.body._tag === "Bytes" ? request.body.bytes.length : 0}`
            )
          )
      })
      const [, seen] = yield* run(ok, Session.post("http://h/p?q=1", { auth: signer, json: { a: 1 } }))
      assert.strictEqual(seen[0]!.request.headers.get("x-signature"), "POST /p?q=1 7")
      assert.deepStrictEqual(String(signer), JSON.stringify({ _tag: "Custom", name: "hmac-ish" }))
    }))

  it.effect("a token-refresh flow: 401, refresh, resend; the 401 is in history", () =>
    Effect.gen(function*() {
      const handler: Adapter.Handler = (request) =>
        Effect.succeed(
          request.headers.get("authorization") === "Bearer fresh"
            ? { status: 200, body: "ok" }
            : { status: 401, headers: [["www-authenticate", "Bearer"], ["set-cookie", "seen=1"]], body: "no" }
        )
      const token = yield* Ref.make("stale")
      const refreshes = yield* Ref.make(0)
      const refreshing = Auth.custom({
        name: "refresh",
        flow: (request, send) =>
          Effect.gen(function*() {
            const first = yield* send(request.setHeader("Authorization", `Bearer ${yield* Ref.get(token)}`))
            if (first.status !== 401) return first
            yield* Ref.update(refreshes, (n) => n + 1)
            yield* Ref.set(token, "fresh")
            return yield* send(request.setHeader("Authorization", "Bearer fresh"))
          })
      })
      const [response, seen] = yield* run(handler, Session.get("http://h/api", { auth: refreshing }))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.text, "ok")
      assert.deepStrictEqual(response.history.map((r) => r.status), [401])
      assert.strictEqual(response.history[0]!.text, "no")
      assert.strictEqual(yield* Ref.get(refreshes), 1)
      // The retry carries the cookie the 401 set.
      assert.strictEqual(seen[1]!.request.headers.get("cookie"), "seen=1")
    }))

  it.effect("a flow's typed failure fails the request", () =>
    Effect.gen(function*() {
      const failing = Auth.custom({
        flow: (request, send) =>
          Effect.flatMap(
            send(request),
            () => Effect.fail(new RequestError.HookError({ message: "token refresh refused", hook: "auth" }))
          )
      })
      const error = yield* Effect.flip(run(ok, Session.get("http://h/", { auth: failing })))
      assert.strictEqual(error._tag, "HookError")
      assert.strictEqual(error.message, "token refresh refused")
    }))
})

describe("Auth.digest (in memory)", () => {
  /** A digest-ish server: challenges, and accepts any answer to a nonce it issued on this host. */
  const digestServer = (
    options: { readonly algorithm?: string; readonly qop?: string; readonly staleOnce?: boolean }
  ) =>
    Effect.sync(() => {
      const issued = new Set<string>()
      let count = 0
      let staleSent = false
      const handler: Adapter.Handler = (request) =>
        Effect.sync(() => {
          const header = request.headers.get("authorization") ?? ""
          const nonce = /nonce="([^"]+)"/.exec(header)?.[1]
          const host = new URL(request.url).host
          if (nonce !== undefined && issued.has(`${host}|${nonce}`)) {
            if (options.staleOnce && !staleSent) {
              staleSent = true
            } else {
              return { status: 200, body: "in" }
            }
          }
          const fresh = `n${++count}`
          issued.add(`${host}|${fresh}`)
          const parts = [`realm="r"`, `nonce="${fresh}"`, `opaque="op"`]
          if (options.qop !== undefined) parts.push(`qop="${options.qop}"`)
          if (options.algorithm !== undefined) parts.push(`algorithm=${options.algorithm}`)
          if (staleSent && nonce !== undefined) parts.push("stale=true")
          return { status: 401, headers: [["www-authenticate", `Digest ${parts.join(", ")}`]], body: "challenge" }
        })
      return handler
    })

  it.effect("answers one challenge; the 401 goes to history; the nonce is reused with nc counting up", () =>
    Effect.gen(function*() {
      const handler = yield* digestServer({ qop: "auth" })
      const auth = Auth.digest("user", "pass")
      const [[first, second], seen] = yield* run(
        handler,
        Effect.all([Session.get("http://h/a", { auth }), Session.get("http://h/b?x=1", { auth })])
      )
      assert.strictEqual(first.status, 200)
      assert.deepStrictEqual(first.history.map((r) => r.status), [401])
      assert.strictEqual(second.status, 200)
      assert.deepStrictEqual(second.history, [])
      assert.strictEqual(seen.length, 3)
      const h = seen.map((r) => r.request.headers.get("authorization") ?? "")
      assert.strictEqual(h[0], "")
      assert.match(h[1]!, /nc=00000001/)
      assert.match(h[2]!, /nc=00000002/)
      assert.match(h[2]!, /uri="\/b\?x=1"/)
      assert.match(h[2]!, /opaque="op"/)
    }))

  it.effect("never sends a nonce to another origin", () =>
    Effect.gen(function*() {
      const handler = yield* digestServer({ qop: "auth" })
      const auth = Auth.digest("user", "pass")
      const [, seen] = yield* run(
        handler,
        Effect.all([
          Session.get("http://h/a", { auth }),
          Session.get("http://h:8080/a", { auth }),
          Session.get("https://h/a", { auth })
        ])
      )
      const h = seen.map((r) => [r.request.url, r.request.headers.get("authorization")] as const)
      // Each origin starts without a header and answers its own challenge.
      assert.deepStrictEqual(h.filter(([, a]) => a === undefined).map(([u]) => u), [
        "http://h/a",
        "http://h:8080/a",
        "https://h/a"
      ])
    }))

  it.effect("does not answer a challenge after a redirect to another origin", () =>
    Effect.gen(function*() {
      const challenge = yield* digestServer({ qop: "auth" })
      const handler: Adapter.Handler = (request, options) =>
        new URL(request.url).host === "a.test"
          ? Effect.succeed({ status: 302, headers: { location: "http://b.test/x" } })
          : challenge(request, options)
      const [response, seen] = yield* run(handler, Session.get("http://a.test/", { auth: Auth.digest("u", "p") }))
      assert.strictEqual(response.status, 401)
      assert.strictEqual(seen.length, 2)
      assert.isFalse(seen[1]!.request.headers.has("authorization"))
    }))

  it.effect("retries once more on stale=true, never more", () =>
    Effect.gen(function*() {
      const handler = yield* digestServer({ qop: "auth", staleOnce: true })
      const [response, seen] = yield* run(handler, Session.get("http://h/", { auth: Auth.digest("u", "p") }))
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(response.history.map((r) => r.status), [401, 401])
      assert.strictEqual(seen.length, 3)
      const never: Adapter.Handler = () =>
        Effect.succeed({
          status: 401,
          headers: { "www-authenticate": "Digest realm=\"r\", nonce=\"n\", qop=\"auth\", stale=true" }
        })
      const [loop, sent] = yield* run(never, Session.get("http://h/", { auth: Auth.digest("u", "p") }))
      assert.strictEqual(loop.status, 401)
      assert.strictEqual(sent.length, 3)
    }))

  it.effect("returns a challenge it cannot answer as is", () =>
    Effect.gen(function*() {
      for (
        const header of [
          "Basic realm=\"r\"",
          "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256",
          "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""
        ]
      ) {
        const handler: Adapter.Handler = () => Effect.succeed({ status: 401, headers: { "www-authenticate": header } })
        const [response, seen] = yield* run(
          handler,
          Session.post("http://h/", { auth: Auth.digest("u", "p"), data: Stream.make(new Uint8Array([1])) })
        )
        assert.strictEqual(response.status, 401, header)
        assert.strictEqual(seen.length, 1, header)
      }
    }))

  it.effect("answers auth-int for a body in memory; a one-shot body cannot be replayed", () =>
    Effect.gen(function*() {
      const handler = yield* digestServer({ qop: "auth-int" })
      const [response, seen] = yield* run(
        handler,
        Session.post("http://h/", { auth: Auth.digest("u", "p"), data: "body" })
      )
      assert.strictEqual(response.status, 200)
      assert.match(seen[1]!.request.headers.get("authorization")!, /qop="auth-int"/)
      const plain = yield* digestServer({ qop: "auth" })
      const error = yield* Effect.flip(
        run(plain, Session.post("http://h/", { auth: Auth.digest("u", "p"), data: Stream.make(new Uint8Array([1])) }))
      )
      assert.strictEqual(error._tag, "UnrewindableBodyError")
    }))

  it.effect("is safe for concurrent fibers: every request ends authenticated", () =>
    Effect.gen(function*() {
      const handler = yield* digestServer({ qop: "auth" })
      const auth = Auth.digest("user", "pass")
      const [responses, seen] = yield* run(
        handler,
        Effect.all(Array.from({ length: 20 }, (_, i) => Session.get(`http://h/${i}`, { auth })), { concurrency: 20 })
      )
      assert.isTrue(responses.every((r) => r.status === 200))
      const counts = seen.map((r) => /nc=([0-9a-f]{8})/.exec(r.request.headers.get("authorization") ?? "")?.[1])
        .filter((nc) => nc !== undefined)
      // Answers to the same nonce never reuse a nonce count.
      const byNonce = new Map<string, Array<string>>()
      for (const r of seen) {
        const a = r.request.headers.get("authorization") ?? ""
        const nonce = /nonce="([^"]+)"/.exec(a)?.[1]
        const nc = /nc=([0-9a-f]{8})/.exec(a)?.[1]
        if (nonce && nc) byNonce.set(nonce, [...(byNonce.get(nonce) ?? []), nc])
      }
      for (const ncs of byNonce.values()) assert.strictEqual(new Set(ncs).size, ncs.length)
      assert.isAbove(counts.length, 0)
    }))

  it("shows no secret in toJSON, toString or inspection", () => {
    const auth = Auth.digest("user", "s3cret-pw")
    assert.notInclude(JSON.stringify(auth), "s3cret-pw")
    assert.notInclude(String(auth), "s3cret-pw")
    assert.include(String(auth), "user")
    assert.strictEqual(PreparedRequest.make({ method: "GET", url: "http://h/", auth }).toJSON() !== undefined, true)
  })
})
