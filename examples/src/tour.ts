/**
 * The tour (`pnpm demo`): effect-requests against an embedded httpbin on 127.0.0.1, no network.
 *
 * Each section is a small program; read them top to bottom as an API tour.
 */
import { Auth, type RequestError, Response, Session, SessionConfig } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import * as TestCertificates from "@effect-requests/httpbin/TestCertificates"
import { NodeSession } from "@effect-requests/node"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Stream } from "effect"
import { startProxy } from "./support/local.js"
import { progressBar } from "./support/progress.js"

const title = (text: string) => Console.log(`\n\x1b[1m== ${text}\x1b[0m`)
const show = (label: string, value: unknown) =>
  Console.log(`  ${label.padEnd(22)} ${typeof value === "string" ? value : JSON.stringify(value)}`)

/** Session defaults: headers set on the session travel with every request; a request can add or remove them. */
const defaults = Effect.gen(function*() {
  yield* title("Session defaults")
  const httpbin = yield* Httpbin.Httpbin
  const res = yield* Session.get(httpbin.url("/headers"), { headers: { "X-Request": "per-request" } })
  const { headers } = (yield* res.json) as { headers: Record<string, string> }
  yield* show("User-Agent", headers["User-Agent"])
  yield* show("X-App (session)", headers["X-App"])
  yield* show("X-Request (request)", headers["X-Request"])
  const removed = yield* Session.get(httpbin.url("/headers"), { headers: { "X-App": null } })
  yield* show(
    "X-App after null",
    ((yield* removed.json) as { headers: Record<string, string> }).headers["X-App"] ?? "(removed)"
  )
})

/** Params are appended to the URL's own query without re-encoding it; JSON goes out with its content type. */
const paramsAndJson = Effect.gen(function*() {
  yield* title("Params and JSON")
  const httpbin = yield* Httpbin.Httpbin
  const get = yield* Session.get(httpbin.url("/get?q=a%20b"), { params: { page: 2, tags: ["x", "y"] } })
  yield* show("GET url", get.url)
  yield* show("args", ((yield* get.json) as { args: unknown }).args)
  const post = yield* Session.post(httpbin.url("/post"), { json: { name: "effect", stars: 5 } })
  const body = (yield* post.json) as { json: unknown; headers: Record<string, string> }
  yield* show("POST json echoed", body.json)
  yield* show("Content-Type", body.headers["Content-Type"])
})

/** The cookie jar keeps what servers set, scoped by domain and path, across requests. */
const cookies = Effect.gen(function*() {
  yield* title("Cookies kept across requests")
  const httpbin = yield* Httpbin.Httpbin
  yield* Session.get(httpbin.url("/cookies/set?flavour=oat"))
  const res = yield* Session.get(httpbin.url("/cookies"))
  yield* show("server sees", ((yield* res.json) as { cookies: unknown }).cookies)
  const session = yield* Session.Session
  yield* show("session.cookies", yield* session.cookies.toRecord())
})

/** Redirects are followed with requests' rules; every hop stays in the history. */
const redirects = Effect.gen(function*() {
  yield* title("A redirect chain and its history")
  const httpbin = yield* Httpbin.Httpbin
  const res = yield* Session.post(httpbin.url("/redirect-to?url=/redirect/2&status_code=303"), { data: "x" })
  for (const hop of res.history) yield* show(`${hop.status} ${hop.reason}`, hop.url)
  yield* show(`${res.status} ${res.reason}`, res.url)
  yield* show(
    "method at the end",
    ((yield* res.json) as { url: string }).url.endsWith("/get") ? "GET (303 turned POST into GET)" : "?"
  )
  const manual = yield* Session.get(httpbin.url("/redirect/1"), { allowRedirects: false })
  yield* show(
    "allowRedirects: false",
    `${manual.status}, next → ${manual.next._tag === "Some" ? manual.next.value.url : "-"}`
  )
})

/** Errors are typed values with requests' names: catch them by tag. */
const typedErrors = Effect.gen(function*() {
  yield* title("Typed errors, caught by tag")
  const httpbin = yield* Httpbin.Httpbin
  const outcome = <R>(effect: Effect.Effect<Response.Response, RequestError.RequestError, R>) =>
    effect.pipe(
      Effect.map((r) => `${r.status}`),
      Effect.catchTags({
        MissingSchema: (e) => Effect.succeed(`MissingSchema: ${e.message}`),
        InvalidSchema: (e) => Effect.succeed(`InvalidSchema: ${e.message}`),
        ReadTimeout: (e) => Effect.succeed(`ReadTimeout (${e.phase}): ${e.message}`),
        ConnectionError: (e) => Effect.succeed(`ConnectionError: ${e.message}`)
      }),
      Effect.catchAll((e) => Effect.succeed(`other ${e._tag}: ${e.message}`))
    )
  yield* show("example.com", yield* outcome(Session.get("example.com")))
  yield* show("ftp://", yield* outcome(Session.get("ftp://127.0.0.1/file")))
  yield* show("slow server", yield* outcome(Session.get(httpbin.url("/fault/stall-headers?ms=3000"), { timeout: 200 })))
  yield* show("refused port", yield* outcome(Session.get("http://127.0.0.1:9/")))
})

/** Requests never fail on 4xx/5xx by themselves; raiseForStatus turns them into HTTPError. */
const raiseForStatus = Effect.gen(function*() {
  yield* title("raiseForStatus")
  const httpbin = yield* Httpbin.Httpbin
  const res = yield* Session.get(httpbin.url("/status/404"))
  yield* show("status / ok", `${res.status} / ${res.ok}`)
  const error = yield* Effect.flip(Response.raiseForStatus(res))
  yield* show(error._tag, error.message)
})

/** Settings can change for one region of code only. */
const overrides = Effect.gen(function*() {
  yield* title("Settings for one region of code")
  const httpbin = yield* Httpbin.Httpbin
  const inside = yield* SessionConfig.locally(Session.get(httpbin.url("/headers")), {
    headers: { "X-App": "override" }
  })
  yield* show("inside locally", ((yield* inside.json) as { headers: Record<string, string> }).headers["X-App"])
  const outside = yield* Session.get(httpbin.url("/headers"))
  yield* show("outside", ((yield* outside.json) as { headers: Record<string, string> }).headers["X-App"])
})

/** Credentials never cross an origin: the same redirect to another host arrives without Authorization. */
const credentials = Effect.gen(function*() {
  yield* title("Redirects keep credentials at home")
  const httpbin = yield* Httpbin.Httpbin
  const other = yield* Httpbin.make({ host: "127.0.0.2" })
  const auth = Auth.bearer("s3cr3t-token")
  const authorization = (response: Response.Response) =>
    Effect.map(
      response.json,
      (body) =>
        (body as { headers: Record<string, string> }).headers["Authorization"] === undefined ? "stripped" : "sent"
    )
  const same = yield* Session.get(httpbin.url(`/redirect-to?url=${encodeURIComponent("/headers")}`), { auth })
  yield* show("127.0.0.1 → 127.0.0.1", `Authorization ${yield* authorization(same)}`)
  const cross = yield* Session.get(httpbin.url(`/redirect-to?url=${encodeURIComponent(other.url("/headers"))}`), {
    auth
  })
  yield* show("127.0.0.1 → 127.0.0.2", `Authorization ${yield* authorization(cross)}`)
  yield* show("the request, logged", String(cross.request))
}).pipe(Effect.scoped)

/** Digest auth answers the 401 challenge by itself; the challenge stays in the history. */
const digest = Effect.gen(function*() {
  yield* title("A digest login")
  const httpbin = yield* Httpbin.Httpbin
  const res = yield* Session.get(httpbin.url("/digest-auth/auth/user/passwd/SHA-256"), {
    auth: Auth.digest("user", "passwd")
  })
  const body = (yield* res.json) as { authenticated: boolean; user: string }
  yield* show("history → status", `${res.history.map((r) => r.status).join(", ")} → ${res.status}`)
  yield* show("authenticated as", body.user)
})

/** A real forward proxy (the npm `proxy` package) and https against a CA made a moment ago. */
const proxyAndTls = Effect.gen(function*() {
  yield* title("Through a proxy, and https with a CA made on the spot")
  const httpbin = yield* Httpbin.Httpbin
  const pki = yield* TestCertificates.make
  const secure = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
  const proxy = yield* startProxy
  const proxied = yield* Session.get(httpbin.url("/get"), {
    proxies: { http: proxy.url.replace("//", "//alice:s3cret@") }
  })
  const [logged] = (yield* httpbin.requests).slice(-1)
  yield* show("via the proxy", `${proxied.status}; the proxy was asked "${proxy.seen.at(-1)}"`)
  yield* show(
    "Proxy-Auth at origin",
    logged!.rawHeaders.some(([name]) => name.toLowerCase() === "proxy-authorization") ? "yes" : "no"
  )
  const verified = yield* Session.get(secure.url("/get"), { verify: pki.caCert })
  yield* show("https, verify: our CA", `${verified.status} ${verified.reason}`)
  const untrusted = yield* Effect.flip(Session.get(secure.url("/get")))
  yield* show("https, system CAs", `${untrusted._tag}${"reason" in untrusted ? ` (${untrusted.reason})` : ""}`)
}).pipe(Effect.scoped)

/** A large download, streamed: constant memory, and a progress bar. */
const download = Effect.gen(function*() {
  yield* title("Download progress")
  const httpbin = yield* Httpbin.Httpbin
  const size = 64 * 1024 * 1024
  const total = yield* Effect.scoped(Effect.gen(function*() {
    const response = yield* Session.stream("GET", httpbin.url(`/bytes/${size}`), {
      onDownloadProgress: progressBar()
    })
    return yield* Stream.runFold(response.body, 0, (n, chunk) => n + chunk.length)
  }))
  yield* show("downloaded", `${total} bytes, streamed`)
})

const program = Effect.gen(function*() {
  const httpbin = yield* Httpbin.Httpbin
  yield* Console.log(`effect-requests tour — embedded httpbin at ${httpbin.origin}`)
  yield* defaults
  yield* paramsAndJson
  yield* cookies
  yield* redirects
  yield* typedErrors
  yield* raiseForStatus
  yield* overrides
  yield* credentials
  yield* digest
  yield* proxyAndTls
  yield* download
  yield* Console.log("\nDone. More programs in examples/src/.")
})

const Live = Layer.mergeAll(
  Httpbin.layer,
  NodeSession.layer({ headers: { "X-App": "tour" }, trustEnv: false })
)

program.pipe(Effect.provide(Live), NodeRuntime.runMain)
