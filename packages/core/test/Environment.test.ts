import { type Adapter, Auth, Environment, Session } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { memorySession } from "./utils/memory.js"

const load = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(Environment.load, ConfigProvider.fromMap(new Map(entries)))

describe("Environment.load (through Config)", () => {
  it.effect("reads nothing from an empty provider", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* load([]), Environment.empty)
    }))

  it.effect("reads proxies, lower case first, an empty lower-case value hiding the upper-case one", () =>
    Effect.gen(function*() {
      const env = yield* load([
        ["http_proxy", "http://lower:1"],
        ["HTTP_PROXY", "http://upper:1"],
        ["https_proxy", ""],
        ["HTTPS_PROXY", "http://hidden:2"],
        ["ALL_PROXY", "socks5h://all:3"],
        ["NO_PROXY", "internal.test,10.0.0.0/8"]
      ])
      assert.deepStrictEqual(env.proxies, { http: "http://lower:1", all: "socks5h://all:3" })
      assert.strictEqual(env.noProxy, "internal.test,10.0.0.0/8")
    }))

  it.effect("ignores HTTP_PROXY under CGI (httpoxy), but not http_proxy", () =>
    Effect.gen(function*() {
      const cgi = yield* load([["REQUEST_METHOD", "GET"], ["HTTP_PROXY", "http://attacker:1"]])
      assert.deepStrictEqual(cgi.proxies, {})
      const lower = yield* load([["REQUEST_METHOD", "GET"], ["http_proxy", "http://mine:1"]])
      assert.deepStrictEqual(lower.proxies, { http: "http://mine:1" })
    }))

  it.effect("takes the first CA bundle set: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE", () =>
    Effect.gen(function*() {
      assert.strictEqual(
        (yield* load([["SSL_CERT_FILE", "/c"], ["CURL_CA_BUNDLE", "/b"], ["REQUESTS_CA_BUNDLE", "/a"]])).caBundle,
        "/a"
      )
      assert.strictEqual((yield* load([["SSL_CERT_FILE", "/c"], ["CURL_CA_BUNDLE", "/b"]])).caBundle, "/b")
      assert.strictEqual((yield* load([["REQUESTS_CA_BUNDLE", ""], ["SSL_CERT_FILE", "/c"]])).caBundle, "/c")
      assert.strictEqual((yield* load([["NETRC", "/n"], ["HOME", "/h"]])).netrc, "/n")
    }))
})

describe("mergeEnvironmentSettings (request > session > environment)", () => {
  const env: Environment.Settings = {
    ...Environment.empty,
    proxies: { http: "http://env:1", https: "http://env:2" },
    noProxy: "bypassed.test",
    caBundle: "/env/ca.pem"
  }
  const session = {
    proxies: {},
    verify: true as boolean | string,
    cert: undefined as string | undefined,
    trustEnv: true
  }

  const rows: ReadonlyArray<{
    readonly name: string
    readonly url?: string
    readonly request?: Parameters<typeof Environment.mergeEnvironmentSettings<string>>[1]
    readonly session?: Partial<typeof session>
    readonly proxy: string | undefined
    readonly verify: boolean | string
    readonly cert?: string | undefined
  }> = [
    { name: "environment only", proxy: "http://env:2", verify: "/env/ca.pem" },
    {
      name: "session proxy beats the environment",
      session: { proxies: { https: "http://s:1" } },
      proxy: "http://s:1",
      verify: "/env/ca.pem"
    },
    {
      name: "request proxy beats the session",
      session: { proxies: { https: "http://s:1" } },
      request: { proxies: { https: "http://r:1" } },
      proxy: "http://r:1",
      verify: "/env/ca.pem"
    },
    {
      name: "request null removes the session key; the environment fills in",
      session: { proxies: { https: "http://s:1" } },
      request: { proxies: { https: null } },
      proxy: "http://env:2",
      verify: "/env/ca.pem"
    },
    {
      name: "an empty value means no proxy at all",
      request: { proxies: { https: "" } },
      proxy: undefined,
      verify: "/env/ca.pem"
    },
    {
      name: "NO_PROXY bypasses the environment",
      url: "https://bypassed.test/",
      proxy: undefined,
      verify: "/env/ca.pem"
    },
    {
      name: "NO_PROXY never undoes a session proxy",
      url: "https://bypassed.test/",
      session: { proxies: { https: "http://s:1" } },
      proxy: "http://s:1",
      verify: "/env/ca.pem"
    },
    {
      name: "a no_proxy key bypasses the session's proxies too",
      url: "https://direct.test/",
      session: { proxies: { https: "http://s:1", no_proxy: "direct.test" } },
      proxy: undefined,
      verify: "/env/ca.pem"
    },
    {
      name: "session verify false beats REQUESTS_CA_BUNDLE",
      session: { verify: false },
      proxy: "http://env:2",
      verify: false
    },
    {
      name: "a session CA path beats REQUESTS_CA_BUNDLE",
      session: { verify: "/mine.pem" },
      proxy: "http://env:2",
      verify: "/mine.pem"
    },
    {
      name: "request verify false beats the session",
      request: { verify: false },
      session: { verify: "/mine.pem" },
      proxy: "http://env:2",
      verify: false
    },
    {
      name: "request verify true takes the environment bundle",
      request: { verify: true },
      proxy: "http://env:2",
      verify: "/env/ca.pem"
    },
    { name: "trustEnv false ignores the environment", session: { trustEnv: false }, proxy: undefined, verify: true },
    {
      name: "cert: request beats session, null removes",
      session: { cert: "/s.pem" },
      request: { cert: null },
      proxy: "http://env:2",
      verify: "/env/ca.pem",
      cert: undefined
    },
    {
      name: "cert: session when the request has none",
      session: { cert: "/s.pem" },
      proxy: "http://env:2",
      verify: "/env/ca.pem",
      cert: "/s.pem"
    }
  ]

  for (const row of rows) {
    it(row.name, () => {
      const url = row.url ?? "https://x.test/"
      const merged = Environment.mergeEnvironmentSettings(url, row.request ?? {}, { ...session, ...row.session }, env)
      assert.strictEqual(Environment.proxyFor(url, merged.proxies, false, Environment.empty) ?? undefined, row.proxy)
      assert.strictEqual(merged.verify, row.verify)
      assert.strictEqual(merged.cert, row.cert)
    })
  }

  it("puts the environment's proxy under the URL's scheme, as requests does", () => {
    const merged = Environment.mergeEnvironmentSettings("http://x.test/", {}, session, env)
    assert.deepStrictEqual(merged.proxies, { http: "http://env:1" })
  })
})

describe("the session's proxies, per hop", () => {
  const redirectTo = (location: string): Adapter.Handler => (request) =>
    Effect.succeed(
      new URL(request.url).pathname === "/start"
        ? { status: 302, headers: { location } }
        : { status: 200, body: "ok" }
    )

  it.effect("uses environment proxies read through the ConfigProvider, and NO_PROXY on a redirect", () =>
    Effect.gen(function*() {
      const { layer, requests } = memorySession(
        redirectTo("http://internal.test/end"),
        {},
        new Map([["HTTP_PROXY", "http://proxy.test:3128"], ["no_proxy", ".internal.test"]])
      )
      yield* Effect.provide(Session.get("http://outside.test/start"), layer)
      const seen = yield* requests
      assert.deepStrictEqual(seen.map((r) => r.options.proxy), ["http://proxy.test:3128", undefined])
    }))

  it.effect("gives Auth.proxy credentials to the proxy of every hop and never to the request", () =>
    Effect.gen(function*() {
      const { layer, requests } = memorySession(redirectTo("http://other.test/end"), {
        proxies: { http: "http://proxy.test:3128", "http://direct.test": "" },
        auth: Auth.proxy("user", "s3cret")
      })
      yield* Effect.provide(
        Effect.zip(Session.get("http://outside.test/start"), Session.get("http://direct.test/x")),
        layer
      )
      const seen = yield* requests
      assert.deepStrictEqual(seen.map((r) => r.options.proxy), [
        "http://user:s3cret@proxy.test:3128/",
        "http://user:s3cret@proxy.test:3128/",
        undefined
      ])
      for (const r of seen) {
        assert.isFalse(r.request.headers.has("proxy-authorization"))
        assert.isFalse(r.request.headers.has("authorization"))
      }
    }))

  it.effect("strips a user-set Proxy-Authorization header on a redirect", () =>
    Effect.gen(function*() {
      const { layer, requests } = memorySession(redirectTo("/end"), { proxies: { http: "http://p.test:1" } })
      yield* Effect.provide(
        Session.get("http://outside.test/start", { headers: { "Proxy-Authorization": "Basic eDp5" } }),
        layer
      )
      const seen = yield* requests
      assert.isTrue(seen[0]!.request.headers.has("proxy-authorization"))
      assert.isFalse(seen[1]!.request.headers.has("proxy-authorization"))
    }))

  it.effect("ignores the environment with trustEnv: false", () =>
    Effect.gen(function*() {
      const { layer, requests } = memorySession(
        redirectTo("/end"),
        { trustEnv: false },
        new Map([["HTTPS_PROXY", "http://proxy.test:3128"], ["REQUESTS_CA_BUNDLE", "/ca.pem"]])
      )
      yield* Effect.provide(Session.get("https://x.test/end"), layer)
      const [first] = yield* requests
      assert.isUndefined(first!.options.proxy)
      assert.strictEqual(first!.options.verify, true)
    }))

  it.effect("passes REQUESTS_CA_BUNDLE as verify, unless the session says otherwise", () =>
    Effect.gen(function*() {
      const env = new Map([["REQUESTS_CA_BUNDLE", "/ca.pem"]])
      const trusting = memorySession(redirectTo("/end"), {}, env)
      yield* Effect.provide(Session.get("https://x.test/end"), trusting.layer)
      assert.strictEqual((yield* trusting.requests)[0]!.options.verify, "/ca.pem")
      const explicit = memorySession(redirectTo("/end"), { verify: false }, env)
      yield* Effect.provide(Session.get("https://x.test/end"), explicit.layer)
      assert.strictEqual((yield* explicit.requests)[0]!.options.verify, false)
    }))

  it.effect("answers Session.mergeEnvironmentSettings with the session's settings", () =>
    Effect.gen(function*() {
      const { layer } = memorySession(
        redirectTo("/end"),
        { proxies: { http: "http://s:1" }, verify: "/s.pem" },
        new Map([["https_proxy", "http://env:2"], ["CURL_CA_BUNDLE", "/env.pem"]])
      )
      const merged = yield* Effect.provide(Session.mergeEnvironmentSettings("https://x.test/"), layer)
      assert.deepStrictEqual(merged.proxies, { http: "http://s:1", https: "http://env:2" })
      assert.strictEqual(merged.verify, "/s.pem")
    }))

  it.effect("keeps proxy credentials out of the Auth value's text", () =>
    Effect.sync(() => {
      const auth = Auth.proxy("user", "s3cret")
      assert.notInclude(String(auth), "s3cret")
      assert.notInclude(JSON.stringify(auth), "s3cret")
    }))
})
