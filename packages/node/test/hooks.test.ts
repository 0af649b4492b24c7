import { Auth, Response, Session } from "@effect-requests/core"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as net from "node:net"
import { clearAll, hops, originsLayer, OriginsTag, redirectTo, withSession } from "./utils/origins.js"

const freePort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

layer(originsLayer, { timeout: 60_000 })("hooks on real servers", (it) => {
  it.effect("response hooks run on every hop; a request's own response hooks replace the session's", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      const bySession: Array<string> = []
      const byRequest: Array<string> = []
      const record = (log: Array<string>) => (r: Response.Head) =>
        Effect.sync(() => void log.push(`${r.status} ${new URL(r.url).host}`))
      yield* withSession(
        Effect.gen(function*() {
          yield* Session.get(redirectTo(a, b.url("/get")))
          yield* Session.get(redirectTo(a, b.url("/get")), { hooks: { response: record(byRequest) } })
        }),
        { hooks: { response: record(bySession) } }
      )
      const hostA = `${a.host}:${a.port}`
      const hostB = `${b.host}:${b.port}`
      assert.deepStrictEqual(bySession, [`302 ${hostA}`, `200 ${hostB}`])
      assert.deepStrictEqual(byRequest, [`302 ${hostA}`, `200 ${hostB}`])
    }))

  it.effect("request hooks run on every hop's request and the server sees what they set", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      yield* clearAll
      let n = 0
      yield* withSession(Session.get(redirectTo(a, redirectTo(b, a.url("/get"))), {
        hooks: { request: (r) => Effect.succeed(r.setHeader("X-Hop", String(++n))) }
      }))
      assert.deepStrictEqual((yield* hops(a)).map((h) => h.headers["x-hop"]), ["1", "3"])
      assert.deepStrictEqual((yield* hops(b)).map((h) => h.headers["x-hop"]), ["2"])
    }))

  it.effect("a redirect hook stops the chain before the next request is sent", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      yield* clearAll
      const response = yield* withSession(Session.get(redirectTo(a, b.url("/get")), {
        hooks: { redirect: ({ next }) => Effect.succeed(new URL(next.url).hostname === a.host) }
      }))
      assert.strictEqual(response.status, 302)
      assert.deepStrictEqual(response.history, [])
      assert.strictEqual((yield* hops(b)).length, 0)
    }))

  it.effect("a response hook can replace a response; it sees only the final answer of a digest exchange", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      const statuses: Array<number> = []
      const response = yield* withSession(Session.get(a.url("/digest-auth/auth/user/passwd"), {
        auth: Auth.digest("user", "passwd"),
        hooks: {
          response: [
            (r) => Effect.sync(() => void statuses.push(r.status)),
            (r) =>
              Effect.succeed(
                Response.make({
                  ...(r as Response.Response).fields,
                  status: 299,
                  content: new TextEncoder().encode("replaced")
                })
              )
          ]
        }
      }))
      assert.deepStrictEqual(statuses, [200])
      assert.strictEqual(response.status, 299)
      assert.strictEqual(response.text, "replaced")
      assert.deepStrictEqual(response.history.map((r) => r.status), [401])
    }))

  it.effect("error hooks of the session and the request observe a real connection failure", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const seen: Array<string> = []
      const error = yield* Effect.flip(withSession(
        Session.get(`http://127.0.0.1:${port}/`, {
          hooks: { error: (e, request) => Effect.sync(() => void seen.push(`request ${e._tag} ${request?.method}`)) }
        }),
        { hooks: { error: (e) => Effect.sync(() => void seen.push(`session ${e._tag}`)) } }
      ))
      assert.strictEqual(error._tag, "ConnectionError")
      assert.deepStrictEqual(seen, ["session ConnectionError", "request ConnectionError GET"])
    }))
})
