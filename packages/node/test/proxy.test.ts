/**
 * Proxies against real servers on loopback: the npm `proxy` package (forwarding and CONNECT, with
 * Basic authentication) and a SOCKS5 server, in front of httpbin.
 */
import { Auth, type Response, Session } from "@effect-requests/core"
import type { RequestError } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import type { HttpbinService } from "@effect-requests/httpbin/Httpbin"
import { makePki } from "@effect-requests/httpbin/TestCertificates"
import { type NodeSession } from "@effect-requests/node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { inSession } from "./utils/layers.js"
import { closedPort, httpProxy, silentServer, socksProxy } from "./utils/proxies.js"

const pki = await makePki()

const headerNames = (httpbin: HttpbinService) =>
  Effect.map(httpbin.requests, (log) => log.map((r) => r.rawHeaders.map(([name]) => name.toLowerCase())))

const lastHeaders = (httpbin: HttpbinService) =>
  Effect.map(httpbin.requests, (log) => {
    const last = log[log.length - 1]
    assert.isDefined(last, "httpbin saw no request")
    return new Map(last!.rawHeaders.map(([name, value]) => [name.toLowerCase(), value] as const))
  })

const text = (response: Response.Response) => response.text

const BASIC = `Basic ${Buffer.from("alice:s3cret").toString("base64")}`

describe("HTTP proxy (forwarding and CONNECT)", () => {
  it.scoped("sends a plain-http request to the proxy in absolute form", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const proxy = yield* httpProxy()
      const response = yield* inSession(Session.get(httpbin.url("/get?x=1")), { proxies: { http: proxy.url } })
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(proxy.log().map((r) => [r.method, r.url]), [["GET", httpbin.url("/get?x=1")]])
      const seen = yield* lastHeaders(httpbin)
      assert.include(seen.get("via") ?? "", "proxy/", "the origin saw the request through the proxy")
      assert.strictEqual(seen.get("host"), `127.0.0.1:${httpbin.port}`)
    }))

  it.scoped("tunnels https through CONNECT, and TLS is end to end", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const proxy = yield* httpProxy()
      const response = yield* inSession(Session.get(httpbin.url("/get")), {
        proxies: { https: proxy.url },
        verify: pki.caCert
      })
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(proxy.log().map((r) => [r.method, r.url]), [["CONNECT", `127.0.0.1:${httpbin.port}`]])
      const [logged] = yield* httpbin.requests
      assert.isTrue(logged!.tls)
      assert.isFalse((yield* lastHeaders(httpbin)).has("via"), "the proxy could not see inside the tunnel")
    }))

  it.scoped("sends credentials from the proxy URL to the proxy only, for http and https", () =>
    Effect.gen(function*() {
      const plain = yield* Httpbin.make()
      const secure = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const proxy = yield* httpProxy({ credentials: ["alice", "s3cret"] })
      const url = proxy.url.replace("//", "//alice:s3cret@")
      const [a, b] = yield* inSession(
        Effect.all([Session.get(plain.url("/get")), Session.get(secure.url("/get"))]),
        { proxies: { all: url }, verify: pki.caCert }
      )
      assert.deepStrictEqual([a.status, b.status], [200, 200])
      assert.deepStrictEqual(proxy.log().map((r) => [r.method, r.headers["proxy-authorization"]]), [
        ["GET", BASIC],
        ["CONNECT", BASIC]
      ])
      for (const names of [...(yield* headerNames(plain)), ...(yield* headerNames(secure))]) {
        assert.notInclude(names, "proxy-authorization")
        assert.notInclude(names, "authorization")
      }
    }))

  it.scoped("fails with ProxyError 407 when the proxy rejects the credentials, without showing them", () =>
    Effect.gen(function*() {
      const plain = yield* Httpbin.make()
      const secure = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const proxy = yield* httpProxy({ credentials: ["alice", "s3cret"] })
      const wrong = proxy.url.replace("//", "//alice:wrong-pass@")
      const errors = yield* inSession(
        Effect.all([
          Effect.flip(Session.get(plain.url("/get"))),
          Effect.flip(Session.get(secure.url("/get"))),
          Effect.flip(Session.get(plain.url("/get"), { proxies: { all: proxy.url } }))
        ]),
        { proxies: { all: wrong }, verify: pki.caCert }
      )
      for (const error of errors) {
        assert.strictEqual(error._tag, "ProxyError")
        assert.strictEqual((error as RequestError.ProxyError).status, 407)
        assert.notInclude(error.message, "wrong-pass")
        assert.notInclude(JSON.stringify(error), "wrong-pass")
      }
      assert.lengthOf(yield* plain.requests, 0)
      assert.lengthOf(yield* secure.requests, 0)
    }))

  it.scoped("gives Auth.proxy credentials to the proxy on every redirect hop, never to an origin", () =>
    Effect.gen(function*() {
      const first = yield* Httpbin.make()
      const second = yield* Httpbin.make({ host: "127.0.0.2" })
      const proxy = yield* httpProxy({ credentials: ["alice", "s3cret"] })
      const target = encodeURIComponent(second.url("/get"))
      const response = yield* inSession(Session.get(first.url(`/redirect-to?url=${target}`)), {
        proxies: { http: proxy.url },
        auth: Auth.proxy("alice", "s3cret")
      })
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(response.history.map((r) => r.status), [302])
      assert.deepStrictEqual(proxy.log().map((r) => [r.url, r.headers["proxy-authorization"]]), [
        [first.url(`/redirect-to?url=${target}`), BASIC],
        [second.url("/get"), BASIC]
      ])
      for (const names of [...(yield* headerNames(first)), ...(yield* headerNames(second))]) {
        assert.notInclude(names, "proxy-authorization")
        assert.notInclude(names, "authorization")
      }
    }))

  it.scoped("never sends a Proxy-Authorization header to an origin, direct or inside a tunnel", () =>
    Effect.gen(function*() {
      const plain = yield* Httpbin.make()
      const secure = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const proxy = yield* httpProxy({ credentials: ["alice", "s3cret"] })
      const headers = { "Proxy-Authorization": BASIC }
      yield* inSession(
        Effect.all([
          Session.get(plain.url("/get"), { headers }),
          Session.get(secure.url("/get"), { headers, proxies: { https: proxy.url } })
        ]),
        { verify: pki.caCert }
      )
      assert.deepStrictEqual(proxy.log().map((r) => [r.method, r.headers["proxy-authorization"]]), [["CONNECT", BASIC]])
      for (const names of [...(yield* headerNames(plain)), ...(yield* headerNames(secure))]) {
        assert.notInclude(names, "proxy-authorization")
      }
    }))

  it.scoped("opens separate proxy connections for different credentials, reuses one for the same", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const proxy = yield* httpProxy()
      const as = (user: string) => ({ proxies: { http: proxy.url.replace("//", `//${user}:pw@`) } })
      yield* inSession(
        Effect.gen(function*() {
          yield* Session.get(httpbin.url("/get"), as("alice"))
          yield* Session.get(httpbin.url("/get"), as("bob"))
          yield* Session.get(httpbin.url("/get"), as("alice"))
        })
      )
      const log = proxy.log()
      const user = (i: number) =>
        Buffer.from(String(log[i]!.headers["proxy-authorization"]).slice(6), "base64").toString().split(":")[0]
      assert.deepStrictEqual([user(0), user(1), user(2)], ["alice", "bob", "alice"])
      assert.notStrictEqual(log[0]!.socket, log[1]!.socket)
      assert.strictEqual(log[0]!.socket, log[2]!.socket)
    }))

  it.scoped("fails with ProxyError when the proxy cannot be reached", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const port = yield* closedPort
      const proxies = { all: `http://user:hunter2@127.0.0.1:${port}` }
      const errors = yield* inSession(
        Effect.all([
          Effect.flip(Session.get(httpbin.url("/get"))),
          Effect.flip(Session.get(httpbin.url("/get").replace("http:", "https:")))
        ]),
        { proxies }
      )
      for (const error of errors) {
        assert.strictEqual(error._tag, "ProxyError")
        assert.notInclude(error.message, "hunter2")
      }
      assert.lengthOf(yield* httpbin.requests, 0)
    }))

  it.scoped("fails with ProxyError when the proxy cannot reach the origin through CONNECT", () =>
    Effect.gen(function*() {
      const proxy = yield* httpProxy()
      const port = yield* closedPort
      const error = yield* inSession(Effect.flip(Session.get(`https://127.0.0.1:${port}/get`)), {
        proxies: { https: proxy.url }
      })
      assert.strictEqual(error._tag, "ProxyError")
      assert.isAtLeast((error as RequestError.ProxyError).status ?? 0, 500)
    }))

  it.live("bounds the proxy leg by the connect timeout: a proxy that never answers", () =>
    Effect.gen(function*() {
      const silent = yield* silentServer
      const timeout = { connect: 200, read: 300 }
      const [tunnel, socks, forward] = yield* inSession(
        Effect.all([
          Effect.flip(Session.get("https://127.0.0.1:9/get", { proxies: { https: `http://127.0.0.1:${silent}` } })),
          Effect.flip(Session.get("https://127.0.0.1:9/get", { proxies: { https: `socks5://127.0.0.1:${silent}` } })),
          Effect.flip(Session.get("http://127.0.0.1:9/get", { proxies: { http: `http://127.0.0.1:${silent}` } }))
        ], { concurrency: 3 }),
        { timeout }
      )
      assert.strictEqual(tunnel._tag, "ConnectTimeout")
      assert.strictEqual(socks._tag, "ConnectTimeout")
      // Forwarding sends the request at once: the proxy's silence is a read timeout.
      assert.strictEqual(forward._tag, "ReadTimeout")
    }).pipe(Effect.scoped))

  it.scoped("fails with InvalidProxyURL on a malformed proxy URL", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      for (const bad of ["http://:8080", "http:/badproxyurl:3128", "http:///example.com:8080", "gopher://p:1"]) {
        const error = yield* inSession(Effect.flip(Session.get(httpbin.url("/get"))), { proxies: { http: bad } })
        assert.strictEqual(error._tag, "InvalidProxyURL", bad)
      }
      assert.lengthOf(yield* httpbin.requests, 0)
    }))

  it.scoped("talks TLS to an https:// proxy, verified with the session's CA", () =>
    Effect.gen(function*() {
      const plain = yield* Httpbin.make()
      const secure = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const proxy = yield* httpProxy({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const [a, b] = yield* inSession(
        Effect.all([Session.get(plain.url("/get")), Session.get(secure.url("/get"))]),
        { proxies: { all: proxy.url }, verify: pki.caCert }
      )
      assert.deepStrictEqual([a.status, b.status], [200, 200])
      assert.deepStrictEqual(proxy.log().map((r) => r.method), ["GET", "CONNECT"])
      const untrusted = yield* inSession(Effect.flip(Session.get(plain.url("/get"))), { proxies: { all: proxy.url } })
      assert.strictEqual(untrusted._tag, "SSLError")
    }))
})

describe("proxies from the environment (through the ConfigProvider)", () => {
  const viaEnv = (
    httpbin: HttpbinService,
    env: ReadonlyArray<readonly [string, string]>,
    options: NodeSession.Options = {},
    request: Session.RequestOptions = {}
  ) => inSession(Effect.map(Session.get(httpbin.url("/get"), request), text), options, env)

  it.scoped("uses HTTP_PROXY, https_proxy and ALL_PROXY", () =>
    Effect.gen(function*() {
      const plain = yield* Httpbin.make()
      const secure = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const proxy = yield* httpProxy()
      yield* viaEnv(plain, [["HTTP_PROXY", proxy.url]])
      yield* viaEnv(secure, [["https_proxy", proxy.url]], { verify: pki.caCert })
      yield* viaEnv(plain, [["ALL_PROXY", proxy.url]])
      assert.deepStrictEqual(proxy.log().map((r) => r.method), ["GET", "CONNECT", "GET"])
    }))

  it.scoped("bypasses the proxy for NO_PROXY hosts, suffixes, ports, CIDR ranges and *", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const proxy = yield* httpProxy()
      const cases: ReadonlyArray<readonly [string, boolean]> = [
        ["127.0.0.1", false],
        [`127.0.0.1:${httpbin.port}`, false],
        ["127.0.0.0/8", false],
        ["*", false],
        ["localhost, example.com", true],
        ["127.0.0.1:1", true],
        ["10.0.0.0/8", true]
      ]
      for (const [noProxy, proxied] of cases) {
        proxy.clear()
        yield* viaEnv(httpbin, [["HTTP_PROXY", proxy.url], ["NO_PROXY", noProxy]])
        assert.strictEqual(proxy.log().length, proxied ? 1 : 0, `NO_PROXY=${noProxy}`)
      }
    }))

  it.scoped("lets explicit settings win: session proxies, a request's empty proxy, trustEnv: false", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const envProxy = yield* httpProxy()
      const mine = yield* httpProxy()
      const env = [["HTTP_PROXY", envProxy.url]] as const
      yield* viaEnv(httpbin, env, { proxies: { http: mine.url } })
      yield* viaEnv(httpbin, env, {}, { proxies: { http: "" } })
      yield* viaEnv(httpbin, env, { trustEnv: false })
      assert.lengthOf(envProxy.log(), 0)
      assert.lengthOf(mine.log(), 1)
      assert.lengthOf(yield* httpbin.requests, 3)
    }))

  it.scoped("re-resolves the proxy on a redirect: a NO_PROXY target goes direct", () =>
    Effect.gen(function*() {
      const first = yield* Httpbin.make()
      const second = yield* Httpbin.make({ host: "127.0.0.2" })
      const proxy = yield* httpProxy()
      const target = encodeURIComponent(second.url("/get"))
      const response = yield* inSession(
        Session.get(first.url(`/redirect-to?url=${target}`)),
        {},
        [["HTTP_PROXY", proxy.url], ["NO_PROXY", "127.0.0.2"]]
      )
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(proxy.log().map((r) => r.url), [first.url(`/redirect-to?url=${target}`)])
      assert.isFalse((yield* lastHeaders(second)).has("via"))
    }))
})

describe("SOCKS5", () => {
  it.scoped("socks5h:// lets the proxy resolve the name; socks5:// resolves it here", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const socks = yield* socksProxy()
      const url = `http://localhost:${httpbin.port}/get`
      const remote = yield* inSession(Session.get(url), { proxies: { http: `socks5h://127.0.0.1:${socks.port}` } })
      const local = yield* inSession(Session.get(url), { proxies: { http: `socks5://127.0.0.1:${socks.port}` } })
      assert.deepStrictEqual([remote.status, local.status], [200, 200])
      assert.deepStrictEqual(socks.log(), [
        { host: "localhost", port: httpbin.port },
        { host: "127.0.0.1", port: httpbin.port }
      ])
    }))

  it.scoped("authenticates with the URL's or Auth.proxy's credentials, and carries TLS end to end", () =>
    Effect.gen(function*() {
      const secure = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const socks = yield* socksProxy({ credentials: ["alice", "s3cret"] })
      const url = `https://localhost:${secure.port}/get`
      const viaUrl = yield* inSession(Session.get(url), {
        proxies: { https: `socks5h://alice:s3cret@127.0.0.1:${socks.port}` },
        verify: pki.caCert
      })
      const viaAuth = yield* inSession(Session.get(url), {
        proxies: { https: `socks5://127.0.0.1:${socks.port}` },
        auth: Auth.proxy("alice", "s3cret"),
        verify: pki.caCert
      })
      assert.deepStrictEqual([viaUrl.status, viaAuth.status], [200, 200])
      assert.lengthOf(socks.log(), 2)
      for (const names of yield* headerNames(secure)) assert.notInclude(names, "proxy-authorization")
    }))

  it.scoped("fails with ProxyError on wrong credentials, a refused target or an unreachable proxy", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const socks = yield* socksProxy({ credentials: ["alice", "s3cret"] })
      const closed = yield* closedPort
      const errors = yield* inSession(
        Effect.all([
          Effect.flip(
            Session.get(httpbin.url("/get"), { proxies: { http: `socks5://alice:nope@127.0.0.1:${socks.port}` } })
          ),
          Effect.flip(
            Session.get(`http://127.0.0.1:${closed}/get`, {
              proxies: { http: `socks5://alice:s3cret@127.0.0.1:${socks.port}` }
            })
          ),
          Effect.flip(Session.get(httpbin.url("/get"), { proxies: { http: `socks5h://127.0.0.1:${closed}` } }))
        ])
      )
      assert.deepStrictEqual(errors.map((e) => e._tag), ["ProxyError", "ProxyError", "ProxyError"])
      assert.notInclude(errors[0]!.message, "nope")
      assert.lengthOf(yield* httpbin.requests, 0)
    }))
})
