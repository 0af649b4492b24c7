/**
 * Redirects and auth: what happens between the first response and the last, and who sees the
 * credentials on the way. Runs against two embedded httpbins (127.0.0.1 and 127.0.0.2), no network.
 *
 *   pnpm tsx examples/src/redirects-and-auth.ts
 */
import { Auth, type Response, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeSession } from "@effect-requests/node"
import { NodeRuntime } from "@effect/platform-node"
import { ConfigProvider, Console, Effect, Layer, Option, Ref, Stream } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

const title = (text: string) => Console.log(`\n== ${text}`)
const show = (label: string, value: unknown) =>
  Console.log(`  ${label.padEnd(34)} ${typeof value === "string" ? value : JSON.stringify(value)}`)

const echoedAuthorization = (response: Response.Response) =>
  Effect.map(
    response.json,
    (body) => (body as { headers: Record<string, string> }).headers["Authorization"] ?? "(none)"
  )

/** Authorization follows a redirect on the same origin, and is stripped when the origin changes. */
const crossOrigin = (other: Httpbin.HttpbinService) =>
  Effect.gen(function*() {
    yield* title("Credentials never cross an origin")
    const httpbin = yield* Httpbin.Httpbin
    const to = (target: string) => httpbin.url(`/redirect-to?url=${encodeURIComponent(target)}`)
    const same = yield* Session.get(to(httpbin.url("/headers")), { auth: ["user", "pass"] })
    yield* show("same origin: Authorization", yield* echoedAuthorization(same))
    const cross = yield* Session.get(to(other.url("/headers")), { auth: ["user", "pass"] })
    yield* show("127.0.0.1 → 127.0.0.2: Authorization", yield* echoedAuthorization(cross))
    yield* show("history", cross.history.map((r) => `${r.status} ${r.url}`))
    // The request for the next hop, without sending it.
    const first = yield* Session.get(to(other.url("/headers")), { auth: ["user", "pass"], allowRedirects: false })
    const next = Option.getOrThrow(first.next)
    yield* show("allowRedirects: false → next", `${next.method} ${next.url}`)
    yield* show("next carries Authorization", next.headers.has("authorization"))
    const hops = yield* Stream.runCollect(Session.resolveRedirects(first, first.request))
    yield* show("resolveRedirects (a Stream)", Array.from(hops, (r) => r.status))
  })

/** Digest: the 401 is answered once; the next request answers the remembered challenge at once. */
const digest = Effect.gen(function*() {
  yield* title("Digest login")
  const httpbin = yield* Httpbin.Httpbin
  const auth = Auth.digest("user", "passwd")
  const url = httpbin.url("/digest-auth/auth/user/passwd/SHA-256")
  const first = yield* Session.get(url, { auth })
  yield* show("first request", `${first.status}, history ${JSON.stringify(first.history.map((r) => r.status))}`)
  const second = yield* Session.get(url, { auth })
  yield* show(
    "second request (nonce reused)",
    `${second.status}, history ${JSON.stringify(second.history.map((r) => r.status))}`
  )
  yield* show("the auth value prints as", String(auth))
})

/** A custom flow may send, look at the response and send again: here a token refresh. */
const tokenRefresh = Effect.gen(function*() {
  yield* title("A custom auth flow: refresh on 401")
  const httpbin = yield* Httpbin.Httpbin
  const password = yield* Ref.make("expired")
  const refreshing = Auth.custom({
    name: "refresh",
    flow: (request, send) =>
      Effect.gen(function*() {
        const attempt = (pw: string) => send(request.setHeader("Authorization", Auth.basicAuthHeader("user", pw)))
        const response = yield* attempt(yield* Ref.get(password))
        if (response.status !== 401) return response
        yield* Ref.set(password, "pass")
        return yield* attempt("pass")
      })
  })
  const response = yield* Session.get(httpbin.url("/basic-auth/user/pass"), { auth: refreshing })
  yield* show("status after refresh", response.status)
  yield* show("history", response.history.map((r) => r.status))
})

/** Hooks see every hop; a redirect hook may stop the chain. */
const hooks = (other: Httpbin.HttpbinService) =>
  Effect.gen(function*() {
    yield* title("Hooks")
    const httpbin = yield* Httpbin.Httpbin
    const target = httpbin.url(`/redirect-to?url=${encodeURIComponent(other.url("/get"))}`)
    const seen: Array<string> = []
    yield* Session.get(target, {
      hooks: { response: (r) => Effect.sync(() => void seen.push(`${r.status} ${new URL(r.url).host}`)) }
    })
    yield* show("response hook saw", seen)
    const stopped = yield* Session.get(target, {
      hooks: { redirect: ({ next }) => Effect.succeed(new URL(next.url).hostname === "127.0.0.1") }
    })
    yield* show("redirect hook kept us home", stopped.status)
  })

/** netrc: credentials per host, read from NETRC (here a temporary file given through Config). */
const netrc = (other: Httpbin.HttpbinService) =>
  Effect.gen(function*() {
    yield* title("netrc, looked up again for every hop's host")
    const httpbin = yield* Httpbin.Httpbin
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "netrc-demo-"))),
      (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
    )
    const file = path.join(dir, "netrc")
    yield* Effect.promise(() =>
      fs.writeFile(file, "machine 127.0.0.1 login alice password a\nmachine 127.0.0.2 login bob password b\n", {
        mode: 0o600
      })
    )
    const response = yield* Session.get(
      httpbin.url(`/redirect-to?url=${encodeURIComponent(other.url("/basic-auth/bob/b"))}`)
    ).pipe(
      Effect.provide(
        NodeSession.layer().pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["NETRC", file]]))))
        )
      )
    )
    yield* show("127.0.0.1 (alice) → 127.0.0.2 (bob)", `${response.status} ${JSON.stringify(yield* response.json)}`)
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const other = yield* Httpbin.make({ host: "127.0.0.2" })
  yield* crossOrigin(other)
  yield* digest
  yield* tokenRefresh
  yield* hooks(other)
  yield* netrc(other)
}).pipe(Effect.scoped)

program.pipe(
  Effect.provide(
    Layer.mergeAll(
      Httpbin.layer,
      // An empty environment: the demo never reads the machine's proxies or ~/.netrc.
      NodeSession.layer().pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))))
    )
  ),
  NodeRuntime.runMain
)
