/**
 * Several real servers for the redirect and auth tests: origins that differ by host, by port and
 * by scheme, each recording exactly what it received; plus a throwaway netrc file and sessions
 * built with a chosen environment (never the real one).
 */
import type { Adapter, CookieJar, Session, SessionConfig } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { makePki } from "@effect-requests/httpbin/TestCertificates"
import { NodeSession } from "@effect-requests/node"
import { ConfigProvider, Context, Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

export interface Origins {
  /** http://127.0.0.1:A */
  readonly a: Httpbin.HttpbinService
  /** http://127.0.0.2:B: another host. */
  readonly b: Httpbin.HttpbinService
  /** http://127.0.0.1:C: same host as `a`, another port. */
  readonly c: Httpbin.HttpbinService
  /** https://127.0.0.1:D: same host as `a`, another scheme (and port). */
  readonly tls: Httpbin.HttpbinService
  /** The test CA's PEM, for `verify`. */
  readonly ca: string
}

export class OriginsTag extends Context.Tag("test/Origins")<OriginsTag, Origins>() {}

/** Four servers for the life of the layer. */
export const originsLayer: Layer.Layer<OriginsTag> = Layer.scoped(
  OriginsTag,
  Effect.gen(function*() {
    const pki = yield* Effect.promise(() => makePki())
    const [a, b, c, tls] = yield* Effect.all([
      Httpbin.make(),
      Httpbin.make({ host: "127.0.0.2" }),
      Httpbin.make(),
      Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
    ])
    return { a, b, c, tls, ca: pki.caCert }
  })
).pipe(Layer.orDie)

/** What one server received, oldest first: method, target, lower-cased headers, body size. */
export interface Hop {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  readonly bodyBytes: number
}

/**
 * The requests a server received, headers by lower-cased name (repeats joined with ", "). The
 * `connection` header is left out: keep-alive is the transport's business, not the session's.
 */
export const hops = (server: Httpbin.HttpbinService): Effect.Effect<ReadonlyArray<Hop>> =>
  Effect.map(server.requests, (entries) =>
    entries.map((entry) => {
      const headers: Record<string, string> = {}
      for (const [name, value] of entry.rawHeaders) {
        const lower = name.toLowerCase()
        if (lower === "connection") continue
        headers[lower] = lower in headers ? `${headers[lower]}, ${value}` : value
      }
      return { method: entry.method, url: entry.url, headers, bodyBytes: entry.bodyBytes }
    }))

/** Forget what every server received. */
export const clearAll = Effect.flatMap(
  OriginsTag,
  (o) => Effect.all([o.a.clearLog, o.b.clearLog, o.c.clearLog, o.tls.clearLog], { discard: true })
)

/** The headers the session sends on a plain request to `server` (no credentials, no body). */
export const baseline = (server: Httpbin.HttpbinService): Record<string, string> => ({
  "host": `${server.host}:${server.port}`,
  "user-agent": "effect-requests/0.1.0",
  "accept-encoding": "gzip, deflate, br",
  "accept": "*/*"
})

/** Run `effect` in a fresh Node session with `options` and the environment `env` only. */
export const withSession = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: NodeSession.Options = {},
  env: Record<string, string> = {}
): Effect.Effect<
  A,
  E,
  Exclude<R, Session.Session | Adapter.Adapter | CookieJar.CookieJar | SessionConfig.SessionConfig>
> =>
  Effect.provide(
    effect,
    NodeSession.layer(options).pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))),
      Layer.orDie
    )
  )

/** A temporary directory holding `files`, removed when the scope closes. */
export const tempFiles = (files: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "effect-requests-"))
      for (const [name, content] of Object.entries(files)) {
        await fs.writeFile(path.join(dir, name), content, { mode: 0o600 })
      }
      return dir
    }),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )

/** `/redirect-to` on `from`, pointing at `target` with `status`. */
export const redirectTo = (from: Httpbin.HttpbinService, target: string, status = 302) =>
  from.url(`/redirect-to?url=${encodeURIComponent(target)}&status_code=${status}`)
