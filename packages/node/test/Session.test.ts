import { Response, Session, SessionConfig } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeSession } from "@effect-requests/node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as net from "node:net"
import { emptyEnv, sessionWithHttpbin } from "./utils/layers.js"

interface Echo {
  readonly args: Record<string, string | Array<string>>
  readonly headers: Record<string, string>
  readonly url: string
  readonly data?: string
  readonly form?: Record<string, string>
  readonly json?: unknown
  readonly method?: string
  readonly cookies?: Record<string, string>
}

const json = (response: Response.Response) => Effect.map(response.json, (j) => j as Echo)

layer(sessionWithHttpbin({ headers: { "X-Session": "yes", "X-Drop": "d" }, params: { s: "1" } }))(
  "Session against httpbin",
  (it) => {
    it.effect("merges session headers and params with the request's, null removing", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const body = yield* Effect.flatMap(
          Session.get(httpbin.url("/anything?x=a%20b"), {
            headers: { "x-drop": null, "X-Request": "r" },
            params: { p: ["1", "2"], S: "case-sensitive" }
          }),
          json
        )
        assert.strictEqual(body.headers["X-Session"], "yes")
        assert.strictEqual(body.headers["X-Request"], "r")
        assert.isUndefined(body.headers["X-Drop"])
        assert.deepStrictEqual(body.args, { x: "a b", s: "1", p: ["1", "2"], S: "case-sensitive" })
        const [logged] = (yield* httpbin.requests).slice(-1)
        assert.strictEqual(logged!.url, "/anything?x=a%20b&s=1&p=1&p=2&S=case-sensitive")
      }))

    it.effect("never sends the fragment", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const response = yield* Session.get(httpbin.url("/get?a=1#secret-fragment"))
        const [logged] = (yield* httpbin.requests).slice(-1)
        assert.strictEqual(logged!.url, "/get?a=1&s=1")
        assert.strictEqual(response.url, httpbin.url("/get?a=1&s=1#secret-fragment"))
      }))

    it.effect("POST then 303 lands as GET", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const response = yield* Session.post(httpbin.url("/redirect-to?url=/anything&status_code=303"), {
          data: { field: "value" }
        })
        const body = yield* json(response)
        assert.strictEqual(body.method, "GET")
        assert.strictEqual(body.data, "")
        assert.deepStrictEqual(response.history.map((r) => r.status), [303])
        // Session params belong to the first request; the redirect target is taken as given.
        assert.strictEqual(response.url, httpbin.url("/anything"))
      }))

    it.effect("stores Set-Cookie from a 302 and sends it on the next hop", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const response = yield* Session.get(httpbin.url("/cookies/set?flavour=oat&size=big"), { params: { s: null } })
        const body = yield* json(response)
        assert.deepStrictEqual(body.cookies, { flavour: "oat", size: "big" })
        assert.deepStrictEqual(response.history[0]!.cookies, { flavour: "oat", size: "big" })
        const again = yield* Effect.flatMap(Session.get(httpbin.url("/cookies")), json)
        assert.deepStrictEqual(again.cookies, { flavour: "oat", size: "big" })
      }))

    it.effect("follows httpbin's redirect chains and keeps the history", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const relative = yield* Session.get(httpbin.url("/redirect/3"))
        assert.strictEqual(relative.status, 200)
        assert.strictEqual(relative.history.length, 3)
        assert.deepStrictEqual(relative.history[2]!.history.map((r) => r.status), [302, 302])
        const absolute = yield* Session.get(httpbin.url("/absolute-redirect/2"))
        assert.strictEqual(absolute.history.length, 2)
      }))

    it.effect("fails a redirect chain longer than maxRedirects with TooManyRedirects", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const error = yield* Effect.flip(Session.get(httpbin.url("/redirect/40")))
        assert.strictEqual(error._tag, "TooManyRedirects")
        assert.strictEqual(error.response?.history.length, 30)
        const small = yield* Effect.flip(
          SessionConfig.locally(Session.get(httpbin.url("/redirect/6")), { maxRedirects: 5 })
        )
        assert.strictEqual(small._tag, "TooManyRedirects")
        assert.strictEqual(small.message, "Exceeded 5 redirects.")
      }))

    it.effect("decodes gzip, deflate and brotli bodies", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        for (const encoding of ["gzip", "deflate", "brotli"] as const) {
          const body = (yield* Effect.flatMap(Session.get(httpbin.url(`/${encoding}`)), (r) => r.json)) as Record<
            string,
            unknown
          >
          assert.isTrue(body[encoding === "brotli" ? "brotli" : encoding === "gzip" ? "gzipped" : "deflated"])
        }
      }))

    it.effect("decodes latin-1 text from its charset", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const response = yield* Session.get(httpbin.url("/fault/latin1"))
        assert.strictEqual(response.encoding?.toLowerCase(), "iso-8859-1")
        assert.strictEqual(response.text, "café")
        assert.deepStrictEqual(Array.from(response.content.slice(-1)), [0xe9])
      }))

    it.effect("raiseForStatus fails with HTTPError and requests' message", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const error = yield* Effect.flip(
          Effect.flatMap(Session.get(httpbin.url("/status/418")), Response.raiseForStatus)
        )
        assert.strictEqual(error._tag, "HTTPError")
        assert.match(
          error.message,
          /^418 Client Error: I'M A TEAPOT|^418 Client Error: I'm a Teapot|^418 Client Error: .+ for url: http/i
        )
      }))

    it.effect("reads the reason phrase the server sent", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const response = yield* Session.get(httpbin.url("/status/404"))
        assert.strictEqual(response.status, 404)
        assert.strictEqual(response.reason, "Not Found")
        assert.isFalse(response.ok)
      }))

    it.effect("streams a body and releases the connection when the scope closes", () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const size = yield* Effect.scoped(Effect.gen(function*() {
          const response = yield* Session.stream("GET", httpbin.url("/stream-bytes/300000?chunk_size=1000&seed=1"))
          return yield* Stream.runFold(response.body, 0, (n, chunk) => n + chunk.length)
        }))
        assert.strictEqual(size, 300000)
        const lines = yield* Effect.scoped(Effect.gen(function*() {
          const response = yield* Session.stream("GET", httpbin.url("/stream/4"))
          return yield* Stream.runCollect(response.iterLines())
        }))
        assert.strictEqual(lines.length, 4)
      }))
  }
)

describe("typed errors on bad input", () => {
  const live = NodeSession.layer({ timeout: { connect: "2 seconds", read: "300 millis" } }).pipe(
    Layer.provide(emptyEnv()),
    Layer.merge(Httpbin.layer),
    Layer.orDie
  )

  it.live("a refused port fails with ConnectionError", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const server = net.createServer()
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo
            server.close(() => resolve(port))
          })
        })
      )
      const error = yield* Effect.flip(Session.get(`http://127.0.0.1:${port}/`))
      assert.strictEqual(error._tag, "ConnectionError")
    }).pipe(Effect.provide(live)))

  it.live("a server that never answers fails with ReadTimeout", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const started = Date.now()
      const error = yield* Effect.flip(Session.get(httpbin.url("/fault/stall-headers?ms=5000")))
      assert.strictEqual(error._tag, "ReadTimeout")
      assert.isBelow(Date.now() - started, 3000)
    }).pipe(Effect.provide(live)))

  it.live("bad URLs and headers fail before anything is sent", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* Effect.flip(Session.get("ftp://127.0.0.1/x")))._tag, "InvalidSchema")
      assert.strictEqual((yield* Effect.flip(Session.get("example.com")))._tag, "MissingSchema")
      assert.strictEqual((yield* Effect.flip(Session.get("http://")))._tag, "InvalidURL")
      const header = yield* Effect.flip(Session.get("http://127.0.0.1:9/", { headers: { "X-Bad": "a\r\nb" } }))
      assert.strictEqual(header._tag, "InvalidHeader")
    }).pipe(Effect.provide(live)))
})

describe("connections", () => {
  it.live(
    "1,000 sequential requests reuse the pool and leave no socket open after close",
    () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.make({ log: false })
        const before = yield* httpbin.connections
        yield* Effect.gen(function*() {
          for (let i = 0; i < 1000; i++) yield* Session.get(httpbin.url("/get"))
          const during = yield* httpbin.connections
          assert.isAtMost(during.total - before.total, 2)
        }).pipe(Effect.provide(NodeSession.layer().pipe(Layer.provide(emptyEnv()), Layer.orDie)))
        yield* Effect.sleep("50 millis")
        const after = yield* httpbin.connections
        assert.strictEqual(after.open, 0)
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )
})
