/**
 * Proxies, TLS and pools: a request through a forward proxy (with credentials that only the proxy
 * sees), https through a CONNECT tunnel verified against a CA made on the spot, what happens
 * without that CA and with `verify: false`, proxies from the environment, and a differently
 * configured adapter mounted under one prefix. Everything runs on 127.0.0.1: its own httpbin
 * servers and the npm `proxy` package as the proxy.
 */
import { Auth, Session } from "@effect-requests/core"
import type { RequestError } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import * as TestCertificates from "@effect-requests/httpbin/TestCertificates"
import { NodeAdapter, NodeSession } from "@effect-requests/node"
import { NodeRuntime } from "@effect/platform-node"
import { ConfigProvider, Console, Effect, Layer } from "effect"
import { startProxy } from "./support/local.js"

const title = (text: string) => Console.log(`\n\x1b[1m== ${text}\x1b[0m`)
const show = (label: string, value: unknown) =>
  Console.log(`  ${label.padEnd(30)} ${typeof value === "string" ? value : JSON.stringify(value)}`)
const failure = (error: RequestError.RequestError) =>
  `${error._tag}${"reason" in error ? ` (${error.reason})` : ""}${"status" in error ? ` (${error.status})` : ""}`

const program = Effect.gen(function*() {
  const httpbin = yield* Httpbin.Httpbin
  const pki = yield* TestCertificates.make
  const secure = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
  const proxy = yield* startProxy
  const withCredentials = proxy.url.replace("//", "//alice:s3cret@")

  yield* title("Plain http through a forward proxy")
  const forwarded = yield* Session.get(httpbin.url("/get"), { proxies: { http: withCredentials } })
  const [logged] = yield* httpbin.requests
  yield* show("status", forwarded.status)
  yield* show("the proxy was asked", proxy.seen.at(-1))
  yield* show("the origin saw Via", logged!.rawHeaders.find(([name]) => name === "Via")?.[1])
  yield* show(
    "the origin saw Proxy-Authorization",
    logged!.rawHeaders.some(([name]) => name.toLowerCase() === "proxy-authorization")
  )

  yield* title("https through a CONNECT tunnel, verified with our CA")
  const tunnelled = yield* Session.get(secure.url("/get"), { proxies: { https: withCredentials }, verify: pki.caCert })
  yield* show("status", tunnelled.status)
  yield* show("the proxy was asked", proxy.seen.at(-1))

  yield* title("Auth.proxy: credentials for the proxy of every hop")
  const hop = yield* Session.get(httpbin.url(`/redirect-to?url=${encodeURIComponent(httpbin.url("/get"))}`), {
    proxies: { http: proxy.url },
    auth: Auth.proxy("alice", "s3cret")
  })
  yield* show("status after the redirect", hop.status)
  yield* show("hops through the proxy", proxy.seen.slice(-2))
  const refused = yield* Effect.flip(Session.get(httpbin.url("/get"), { proxies: { http: proxy.url } }))
  yield* show("without credentials", failure(refused))

  yield* title("TLS settings never share a connection")
  const untrusted = yield* Effect.flip(Session.get(secure.url("/get")))
  yield* show("without the CA", failure(untrusted))
  const unverified = yield* Session.get(secure.url("/get"), { verify: false })
  yield* show("verify: false", unverified.status)
  const again = yield* Effect.flip(Session.get(secure.url("/get"), { verify: true }))
  yield* show("then verify: true", failure(again))

  yield* title("A differently configured adapter under one prefix")
  const strict = yield* NodeAdapter.make({ connections: 1, poolBlock: false, keepAliveTimeout: 1_000 })
  yield* Session.mount(`${secure.origin}/`, strict)
  const mounted = yield* Session.get(secure.url("/get"), { verify: pki.caCert })
  yield* show(`${secure.origin}/ → its own pool`, mounted.status)
})

/** Proxies from the environment, read through the ConfigProvider (here a map, not process.env). */
const fromEnvironment = Effect.gen(function*() {
  yield* title("Proxies from the environment (explicit settings win)")
  const env = ConfigProvider.fromMap(
    new Map([["HTTPS_PROXY", "http://proxy.internal:3128"], ["NO_PROXY", "localhost,.corp.test,10.0.0.0/8"]])
  )
  yield* Effect.gen(function*() {
    for (const url of ["https://api.example.com/", "https://git.corp.test/", "https://10.1.2.3/"]) {
      const merged = yield* Session.mergeEnvironmentSettings(url)
      yield* show(url, merged.proxies["https"] ?? "direct")
    }
    const explicit = yield* Session.mergeEnvironmentSettings("https://api.example.com/", { proxies: { https: "" } })
    yield* show("request proxies { https: '' }", explicit.proxies["https"] || "direct")
  }).pipe(Effect.provide(NodeSession.layer().pipe(Layer.provide(Layer.setConfigProvider(env)))))
})

const quietEnv = Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))

Effect.all([program, fromEnvironment], { discard: true }).pipe(
  Effect.scoped,
  Effect.provide(Layer.mergeAll(Httpbin.layer, NodeSession.layer().pipe(Layer.provide(quietEnv)))),
  NodeRuntime.runMain
)
