import { Auth, Session, SessionState } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { makePki } from "@effect-requests/httpbin/TestCertificates"
import { NodeSession } from "@effect-requests/node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { emptyEnv } from "./utils/layers.js"

interface Echo {
  readonly args: Record<string, string | Array<string>>
  readonly headers: Record<string, string>
}

const open = (options?: NodeSession.Options) =>
  Effect.map(
    Layer.build(NodeSession.layer(options).pipe(Layer.provide(emptyEnv()), Layer.orDie)),
    (context) => Context.get(context, Session.Session)
  )

const echo = (session: Session.Service, url: string) =>
  Effect.flatMap(session.get(url), (r) => Effect.map(r.json, (j) => j as Echo))

describe("SessionState against httpbin", () => {
  it.scoped("a restored session sends the same headers, params, auth and cookies, over TLS too", () =>
    Effect.gen(function*() {
      const pki = yield* Effect.promise(makePki)
      const plain = yield* Httpbin.make()
      const tls = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const original = yield* open({
        headers: { "X-App": "demo", "X-Api-Key": "k-secret", "User-Agent": null },
        sensitiveHeaders: ["X-Api-Key"],
        params: { page: 2, tag: ["a", "b"] },
        auth: Auth.basic("alice", "pw-secret"),
        verify: pki.caCert,
        maxRedirects: 4
      })
      // (Without the session's params, which /cookies/set would turn into cookies too.)
      const noParams = { params: { page: null, tag: null } }
      yield* original.get(plain.url("/cookies/set?flavour=oat"), noParams)
      yield* original.get(tls.url("/cookies/set?sid=tls-only"), noParams)
      yield* original.cookies.set("any", "host")

      const text = JSON.stringify(yield* SessionState.encode(yield* original.snapshot({ secrets: true })))
      const copy = yield* open()
      yield* copy.restore(yield* SessionState.decode(text))

      for (const url of [plain.url("/anything/x?q=1"), tls.url("/anything/x?q=1")]) {
        const [a, b] = [yield* echo(original, url), yield* echo(copy, url)]
        assert.deepStrictEqual(b, a)
      }
      const sent = yield* echo(copy, tls.url("/anything"))
      assert.strictEqual(sent.headers["Authorization"], Auth.basicAuthHeader("alice", "pw-secret"))
      assert.strictEqual(sent.headers["X-Api-Key"], "k-secret")
      assert.isUndefined(sent.headers["User-Agent"])
      assert.strictEqual(sent.headers["Cookie"], "flavour=oat; sid=tls-only; any=host")
      assert.deepStrictEqual(sent.args, { page: "2", tag: ["a", "b"] })
      assert.deepStrictEqual((yield* echo(copy, plain.url("/anything"))).headers["Cookie"], "flavour=oat; any=host")
      // maxRedirects came along.
      const error = yield* Effect.flip(copy.get(plain.url("/redirect/6")))
      assert.strictEqual(error._tag, "TooManyRedirects")
    }))

  it.scoped("a secret-free snapshot restored into a session that has its own credentials", () =>
    Effect.gen(function*() {
      const plain = yield* Httpbin.make()
      const original = yield* open({ headers: { "X-App": "demo" }, auth: ["alice", "pw-secret"] })
      yield* original.get(plain.url("/cookies/set?flavour=oat"))
      const encoded = yield* SessionState.encode(yield* original.snapshot())
      const text = JSON.stringify(encoded)
      assert.notInclude(text, "pw-secret")
      assert.deepStrictEqual(encoded.omitted, [{ field: "auth.password", reason: "secret" }])

      const copy = yield* open({ auth: ["alice", "pw-secret"] })
      const restored = yield* copy.restore(yield* SessionState.decode(text))
      assert.deepStrictEqual(restored.kept, ["auth"])
      const [a, b] = [yield* echo(original, plain.url("/anything")), yield* echo(copy, plain.url("/anything"))]
      assert.deepStrictEqual(b.headers, a.headers)
      assert.strictEqual(b.headers["Cookie"], "flavour=oat")
    }))
})
