import { Adapter, Auth, CookieJar, Session, SessionState } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { memorySession } from "./utils/memory.js"

const ok: Adapter.Handler = (request) =>
  Effect.succeed({
    status: 200,
    headers: new URL(request.url).pathname === "/login" ? { "set-cookie": ["sid=server-secret; Path=/"] } : {},
    body: "{}"
  })

/** Build a memory session in the test's scope; give back its service and what its transport saw. */
const open = (options?: Session.LayerOptions) =>
  Effect.gen(function*() {
    const { layer, requests } = memorySession(ok, options)
    const context = yield* Layer.build(Layer.orDie(layer))
    return { session: Context.get(context, Session.Session), requests }
  })

const settings: Session.LayerOptions = {
  headers: { "X-App": "demo", Authorization: "Token header-secret", "Accept-Encoding": null },
  params: { page: 2, tags: ["a", "b"], flag: true },
  auth: Auth.basic("alice", "pw-secret"),
  proxies: { http: "http://bob:proxy-secret@proxy.example:3128", https: "http://plain.example:8080" },
  verify: "/etc/ssl/ca.pem",
  cert: { cert: "/etc/client.pem", key: "-----BEGIN PRIVATE KEY-----\nkey-secret\n-----END PRIVATE KEY-----" },
  maxRedirects: 7,
  trustEnv: false,
  timeout: { connect: 1500, read: 2500, total: 9000 },
  sensitiveHeaders: ["X-Api-Key"]
}

const SECRETS = ["pw-secret", "proxy-secret", "header-secret", "key-secret", "api-secret"]

describe("SessionState: snapshot and restore (__getstate__ / __setstate__)", () => {
  it.scoped("a restored session sends exactly what the original sends", () =>
    Effect.gen(function*() {
      const a = yield* open(settings)
      yield* a.session.config.set({ headers: { "X-Api-Key": "api-secret" } })
      yield* a.session.get("http://h.example.com/login")
      yield* a.session.cookies.set("any", "1")
      const snap = yield* a.session.snapshot({ secrets: true })
      assert.deepStrictEqual(snap.omitted, [])
      const encoded = yield* SessionState.encode(snap)
      const text = JSON.stringify(encoded)
      for (const secret of SECRETS) assert.include(text, secret)

      const b = yield* open()
      const restored = yield* b.session.restore(yield* SessionState.decode(text))
      assert.deepStrictEqual(restored, { kept: [], cookies: { restored: 2, skipped: 0 } })
      yield* a.session.get("http://h.example.com/x?q=1")
      yield* b.session.get("http://h.example.com/x?q=1")
      const [sentA, sentB] = [(yield* a.requests).at(-1)!, (yield* b.requests).at(-1)!]
      assert.strictEqual(sentB.request.url, sentA.request.url)
      assert.deepStrictEqual([...sentB.request.headers], [...sentA.request.headers])
      assert.deepStrictEqual(sentB.options, sentA.options)
      assert.strictEqual(sentB.request.headers.get("cookie"), "sid=server-secret; any=1")
      assert.strictEqual(sentB.request.url, "http://h.example.com/x?q=1&page=2&tags=a&tags=b&flag=true")
    }))

  it.scoped("without secrets, the encoded form holds none and says what it omitted", () =>
    Effect.gen(function*() {
      const a = yield* open({ ...settings, hooks: { response: (r) => Effect.succeed(r) } })
      yield* a.session.config.set({ headers: { "X-Api-Key": "api-secret" } })
      const snap = yield* Session.snapshot({ cookies: false }).pipe(Effect.provideService(Session.Session, a.session))
      const text = JSON.stringify(yield* SessionState.encode(snap))
      for (const secret of SECRETS) assert.notInclude(text, secret)
      assert.include(text, "\"omitted\":true")
      assert.deepStrictEqual(snap.omitted.map((o) => `${o.field}:${o.reason}`), [
        "headers.Authorization:secret",
        "headers.X-Api-Key:secret",
        "auth.password:secret",
        "proxies.http:secret",
        "cert.key:secret",
        "hooks:function"
      ])
      assert.isNull(snap.cookies)
      // Not even the in-memory snapshot shows a secret when printed.
      const withSecrets = yield* a.session.snapshot({ secrets: true })
      for (const secret of SECRETS) assert.notInclude(JSON.stringify(withSecrets), secret)
    }))

  it.scoped("restoring a secret-free snapshot keeps the target's own secrets and reports them", () =>
    Effect.gen(function*() {
      const a = yield* open(settings)
      const snap = yield* a.session.snapshot()
      const b = yield* open({ auth: Auth.bearer("b-token"), proxies: { http: "http://carol:pw@other:1" } })
      yield* b.session.cookies.set("mine", "1")
      const restored = yield* b.session.restore(
        yield* SessionState.decode(JSON.stringify(yield* SessionState.encode(snap)))
      )
      assert.deepStrictEqual(restored.kept, ["headers.Authorization", "auth", "proxies.http", "cert"])
      const config = yield* b.session.config.get
      assert.strictEqual(config.auth?._tag, "Bearer")
      assert.strictEqual(config.proxies["http"], "http://carol:pw@other:1")
      assert.strictEqual(config.proxies["https"], "http://plain.example:8080")
      assert.strictEqual(config.maxRedirects, 7)
      assert.deepStrictEqual(config.timeout, { connect: 1500, read: 2500, total: 9000 })
      assert.isFalse(config.headers.some(([n]) => n === "Authorization"))
      // The jar is replaced by the snapshot's (empty) one.
      assert.isTrue(yield* b.session.cookies.isEmpty)
    }))

  it.scoped("functions are not serialised: custom auth, hooks and the retry policy are listed", () =>
    Effect.gen(function*() {
      const a = yield* open({ auth: Auth.custom({ name: "signer", apply: Effect.succeed }) })
      const snap = yield* a.session.snapshot({ secrets: true })
      assert.deepStrictEqual(snap.auth, { _tag: "Unserializable", kind: "Custom" })
      assert.deepStrictEqual(snap.omitted, [{ field: "auth", reason: "function" }])
      const b = yield* open({ auth: ["bob", "pw"] })
      const restored = yield* b.session.restore(snap)
      assert.deepStrictEqual(restored.kept, ["auth"])
      assert.strictEqual((yield* b.session.config.get).auth?._tag, "Basic")
    }))

  it.scoped("mounted prefixes are re-attached by name; a missing transport fails before anything changes", () =>
    Effect.gen(function*() {
      const mock = yield* Adapter.memory(() => Effect.succeed({ status: 204 }))
      const a = yield* open({ mounts: { "http://mock.example/": mock.transport }, maxRedirects: 3 })
      const snap = yield* a.session.snapshot()
      assert.deepStrictEqual(snap.adapters, ["http://mock.example/", "https://", "http://"])
      const b = yield* open()
      const error = yield* Effect.flip(b.session.restore(snap))
      assert.strictEqual(error.reason, "MissingTransport")
      assert.deepStrictEqual(error.prefixes, ["http://mock.example/"])
      assert.strictEqual((yield* b.session.config.get).maxRedirects, 30)
      yield* b.session.restore(snap, { transports: { "http://mock.example/": mock.transport } })
      assert.strictEqual((yield* b.session.get("http://mock.example/x")).status, 204)
      assert.strictEqual((yield* b.session.config.get).maxRedirects, 3)
    }))

  it.scoped("cert and passphrase secrets round-trip as Redacted", () =>
    Effect.gen(function*() {
      const passphrase = Redacted.make("phrase-secret")
      const a = yield* open({ cert: { cert: "c.pem", key: "k.pem", passphrase } })
      const snap = yield* a.session.snapshot({ secrets: true })
      const b = yield* open()
      yield* b.session.restore(yield* SessionState.decode(yield* SessionState.encode(snap)))
      const cert = (yield* b.session.config.get).cert
      assert.isTrue(typeof cert === "object" && Redacted.value(cert.passphrase!) === "phrase-secret")
      assert.deepStrictEqual((yield* a.session.snapshot()).omitted, [{ field: "cert.passphrase", reason: "secret" }])
    }))

  it.effect("decode fails with a typed error that shows no value", () =>
    Effect.gen(function*() {
      for (
        const input of [
          "{",
          { format: "effect-requests/session", version: 9 },
          { format: "effect-requests/session", version: 1, headers: [["Authorization", 42, "hidden-secret"]] }
        ]
      ) {
        const error = yield* Effect.flip(SessionState.decode(input))
        assert.strictEqual(error._tag, "SessionStateError")
        assert.strictEqual(error.reason, "Decode")
        assert.notInclude(error.message, "secret")
      }
      const version = yield* Effect.flip(SessionState.decode({ format: "effect-requests/session", version: 9 }))
      assert.include(version.message, "version")
    }))

  it.effect("the jar schema inside a snapshot is the jar's own", () =>
    Effect.gen(function*() {
      const jar = yield* CookieJar.fromRecord({ a: "1" })
      const json = yield* CookieJar.toJSON(jar)
      assert.deepStrictEqual(json.cookies.map((c) => [c.name, c.domain]), [["a", ""]])
    }))
})
