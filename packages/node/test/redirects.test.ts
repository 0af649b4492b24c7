import { Auth, Body, Session } from "@effect-requests/core"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { baseline, clearAll, hops, originsLayer, OriginsTag, redirectTo, withSession } from "./utils/origins.js"

const STATUSES = [301, 302, 303, 307, 308] as const
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"] as const
const WITH_PAYLOAD = new Set(["POST", "PUT", "PATCH"])

/** requests' rebuild_method, written as a table. */
const NEXT_METHOD: Record<number, Record<string, string>> = {
  301: { GET: "GET", HEAD: "HEAD", POST: "GET", PUT: "PUT", DELETE: "DELETE", PATCH: "PATCH" },
  302: { GET: "GET", HEAD: "HEAD", POST: "GET", PUT: "GET", DELETE: "GET", PATCH: "GET" },
  303: { GET: "GET", HEAD: "HEAD", POST: "GET", PUT: "GET", DELETE: "GET", PATCH: "GET" },
  307: { GET: "GET", HEAD: "HEAD", POST: "POST", PUT: "PUT", DELETE: "DELETE", PATCH: "PATCH" },
  308: { GET: "GET", HEAD: "HEAD", POST: "POST", PUT: "PUT", DELETE: "DELETE", PATCH: "PATCH" }
}

layer(originsLayer, { timeout: 60_000 })("redirects against real servers", (it) => {
  it.effect("every status × method: method, body, Content-* headers and Authorization of the next hop", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      const authorization = Auth.basicAuthHeader("u", "p")
      yield* withSession(Effect.gen(function*() {
        for (const target of [a, b]) {
          for (const status of STATUSES) {
            for (const method of METHODS) {
              yield* clearAll
              const label = `${method} ${status} → ${target === a ? "same origin" : "other host"}`
              const hasBody = method !== "GET" && method !== "HEAD"
              const response = yield* Session.request(method, redirectTo(a, target.url("/anything"), status), {
                data: hasBody ? "payload" : undefined,
                headers: hasBody ? { "Content-Type": "text/plain" } : {},
                auth: ["u", "p"],
                allowRedirects: true
              })
              assert.strictEqual(response.status, 200, label)
              assert.deepStrictEqual(response.history.map((r) => r.status), [status], label)
              const first = (yield* hops(a))[0]!
              assert.deepStrictEqual(first.headers, {
                ...baseline(a),
                authorization,
                ...(hasBody ? { "content-type": "text/plain", "content-length": "7" } : {})
              }, label)
              const seen = yield* hops(target)
              const hop = seen[seen.length - 1]!
              const next = NEXT_METHOD[status]![method]!
              const keeps = (status === 307 || status === 308) && hasBody
              assert.strictEqual(hop.method, next, label)
              assert.strictEqual(hop.url, "/anything", label)
              assert.strictEqual(hop.bodyBytes, keeps ? 7 : 0, label)
              assert.deepStrictEqual(hop.headers, {
                ...baseline(target),
                ...(target === a ? { authorization } : {}),
                ...(keeps
                  ? { "content-type": "text/plain", "content-length": "7" }
                  : WITH_PAYLOAD.has(next)
                  ? { "content-length": "0" }
                  : {})
              }, label)
            }
          }
        }
      }))
    }))

  it.effect("relative, scheme-relative and absolute Locations; the fragment is carried and never sent", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      yield* clearAll
      yield* withSession(Effect.gen(function*() {
        const relative = yield* Session.get(`${a.url("/redirect/3")}#keep`)
        assert.strictEqual(relative.url, `${a.url("/get")}#keep`)
        assert.deepStrictEqual(relative.history.map((r) => r.url), [
          `${a.url("/redirect/3")}#keep`,
          `${a.url("/relative-redirect/2")}#keep`,
          `${a.url("/relative-redirect/1")}#keep`
        ])
        const schemeRelative = yield* Session.get(redirectTo(a, `//${b.host}:${b.port}/anything?x=1#own`))
        assert.strictEqual(schemeRelative.url, b.url("/anything?x=1#own"))
        const absolute = yield* Session.get(a.url("/absolute-redirect/2"))
        assert.strictEqual(absolute.url, a.url("/get"))
        const sent = [...(yield* hops(a)), ...(yield* hops(b))].map((h) => h.url)
        assert.isFalse(sent.some((u) => u.includes("#")))
        assert.include(sent, "/anything?x=1")
      }))
    }))

  it.effect("decodes a UTF-8 Location sent as raw bytes (requests' latin-1 round trip)", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* clearAll
      const response = yield* withSession(Session.get(a.url("/redirect-to?url=/anything/%C3%A9t%C3%A9?q=%C3%BC")))
      assert.strictEqual(response.status, 200)
      const last = (yield* hops(a)).slice(-1)[0]!
      assert.strictEqual(last.url, "/anything/%C3%A9t%C3%A9?q=%C3%BC")
    }))

  it.effect("refuses targets other than http and https", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      for (const target of ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"]) {
        const error = yield* Effect.flip(withSession(Session.get(redirectTo(a, target))))
        assert.strictEqual(error._tag, "InvalidSchema", target)
      }
    }))

  it.effect("a one-shot body on 307/308 fails with UnrewindableBodyError; a replayable one is sent again", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      yield* clearAll
      yield* withSession(Effect.gen(function*() {
        for (const status of [307, 308]) {
          const error = yield* Effect.flip(Session.put(redirectTo(a, b.url("/anything"), status), {
            data: Stream.make(new TextEncoder().encode("once"))
          }))
          assert.strictEqual(error._tag, "UnrewindableBodyError")
          assert.strictEqual(error.response?.status, status)
          const ok = yield* Session.put(redirectTo(a, b.url("/anything"), status), {
            data: Body.replayable(() => Stream.make(new TextEncoder().encode("again")), { length: 5 })
          })
          assert.strictEqual(((yield* ok.json) as { data: string }).data, "again")
        }
        // b only ever received the replayable body.
        assert.deepStrictEqual((yield* hops(b)).map((h) => h.bodyBytes), [5, 5])
      }))
    }))

  it.effect("allowRedirects: false gives history-free 3xx with next; resolveRedirects follows it as a Stream", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      yield* clearAll
      yield* withSession(Effect.gen(function*() {
        const start = redirectTo(a, redirectTo(b, a.url("/get"), 307), 303)
        const first = yield* Session.post(start, { data: "x", allowRedirects: false, auth: ["u", "p"] })
        assert.strictEqual(first.status, 303)
        assert.deepStrictEqual(first.history, [])
        const next = Option.getOrThrow(first.next)
        assert.strictEqual(next.method, "GET")
        assert.strictEqual(next.url, redirectTo(b, a.url("/get"), 307))
        assert.isFalse(next.headers.has("authorization"))
        assert.strictEqual((yield* hops(b)).length, 0)
        const chain = Array.from(yield* Stream.runCollect(Session.resolveRedirects(first, first.request)))
        assert.deepStrictEqual(chain.map((r) => [r.status, r.request.method]), [[307, "GET"], [200, "GET"]])
        assert.deepStrictEqual(chain[1]!.history.map((r) => r.status), [303, 307])
        // Authorization never came back, not even on the way back to the first origin.
        const final = (yield* hops(a)).slice(-1)[0]!
        assert.deepStrictEqual(final.headers, baseline(a))
      }))
    }))

  it.effect("drains a small intermediate body (the connection is reused) and aborts a huge one", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* clearAll
      // A redirect whose body never ends.
      const closed: Array<boolean> = []
      const server = yield* Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<http.Server>((resolve) => {
            const s = http.createServer((req, res) => {
              res.writeHead(302, { Location: a.url("/get"), "Content-Type": "application/octet-stream" })
              const chunk = Buffer.alloc(64 * 1024, 1)
              const pump = () => {
                while (res.write(chunk)) { /* fill the socket */ }
              }
              res.on("drain", pump)
              req.socket.on("close", () => closed.push(true))
              pump()
            })
            s.listen(0, "127.0.0.1", () => resolve(s))
          })
        ),
        (s) => Effect.promise(() => new Promise<void>((resolve) => s.close(() => resolve())))
      )
      const port = (server.address() as AddressInfo).port
      yield* withSession(Effect.gen(function*() {
        const followed = yield* Session.get(`http://127.0.0.1:${port}/endless`)
        assert.strictEqual(followed.status, 200)
        assert.deepStrictEqual(followed.history.map((r) => [r.status, r.content.length]), [[302, 0]])
        // The endless body was abandoned (its socket closed) while the session is still open.
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
        assert.deepStrictEqual(closed, [true])
        // Drained 3xx bodies release their connections: a second chain opens no new socket.
        const inner = `/fault/set-cookies?status=302&location=${encodeURIComponent("/get")}`
        const chain = a.url(`/fault/set-cookies?status=307&location=${encodeURIComponent(inner)}`)
        yield* Session.get(chain)
        const before = yield* a.connections
        const reused = yield* Session.get(chain)
        assert.strictEqual(reused.status, 200)
        // The 3xx bodies were read (and kept in history), not thrown away with their sockets.
        assert.deepStrictEqual(reused.history.map((r) => [r.status, JSON.parse(r.text)]), [
          [307, { set: [] }],
          [302, { set: [] }]
        ])
        const after = yield* a.connections
        assert.strictEqual(after.total, before.total)
      }))
    }).pipe(Effect.scoped))
})

describe("redirect limits", () => {
  layer(originsLayer)((it) => {
    it.effect("maxRedirects counts every hop, across origins", () =>
      Effect.gen(function*() {
        const { a, b } = yield* OriginsTag
        const error = yield* Effect.flip(
          withSession(Session.get(redirectTo(a, redirectTo(b, a.url("/redirect/3")))), { maxRedirects: 3 })
        )
        assert.strictEqual(error._tag, "TooManyRedirects")
        assert.strictEqual(error.response?.history.length, 3)
      }))
  })
})
