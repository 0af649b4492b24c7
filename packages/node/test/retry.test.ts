/**
 * Retries against real servers: Retry-After honoured live, a POST never resent, and the
 * NodeAdapter's one resend of an idempotent, replayable request whose kept-alive socket the
 * server closed (httpbin's `/fault/close-on-next` and `/fault/close-after`).
 */
import { RequestError, Retry, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { type NodeSession } from "@effect-requests/node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { nodeSession as session } from "./utils/layers.js"

/**
 * One connection per origin, so that the request after `/fault/close-on-next` goes out on the
 * socket it marked (undici otherwise may open a second connection for a request sent at once).
 */
const oneSocket = (options?: NodeSession.Options) =>
  session({ ...options, adapter: { ...options?.adapter, connections: 1 } })

interface Flaky {
  readonly url: string
  /** When each request arrived (epoch ms). */
  readonly seen: Array<number>
  readonly server: http.Server
}

/** A node:http server answering 503 with `Retry-After: 1` `busy` times, then 200; it counts requests. */
const flakyServer = (busy: number) =>
  Effect.acquireRelease(
    Effect.async<Flaky>((resume) => {
      const seen: Array<number> = []
      const server = http.createServer((request, response) => {
        seen.push(Date.now())
        request.resume()
        if (seen.length <= busy) {
          response.writeHead(503, { "retry-after": "1", "content-type": "text/plain" }).end("busy")
        } else {
          response.writeHead(200, { "content-type": "text/plain" }).end("ready")
        }
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}/`, seen, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

describe("Retry-After, live", () => {
  it.live(
    "a server that answers 503 with Retry-After: 1 twice, then 200: two one-second waits",
    () =>
      Effect.gen(function*() {
        const server = yield* flakyServer(2)
        const started = Date.now()
        const response = yield* Session.get(server.url).pipe(Effect.provide(session({ retry: Retry.make(3) })))
        const took = Date.now() - started
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.text, "ready")
        const seen = server.seen
        assert.strictEqual(seen.length, 3)
        assert.isAtLeast(seen[1]! - seen[0]!, 950)
        assert.isAtLeast(seen[2]! - seen[1]!, 950)
        assert.isBelow(took, 6000)
      }).pipe(Effect.scoped),
    { timeout: 20_000 }
  )
})

describe("retries against httpbin", () => {
  it.live(
    "Retry-After: 1 on every answer of a listed status: RetryError after the budget, each wait honoured",
    () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        yield* httpbin.clearLog
        const started = Date.now()
        const error = yield* Effect.flip(
          Session.get(httpbin.url("/fault/body?status=503&h=Retry-After:1")).pipe(
            Effect.provide(session({ retry: Retry.make({ total: 2, statusForcelist: [503] }) }))
          )
        )
        assert.strictEqual(error._tag, "RetryError")
        if (error._tag === "RetryError") {
          assert.deepStrictEqual(error.attempts.map((a) => [a.status, a.delayMillis]), [[503, 1000], [503, 1000], [
            503,
            0
          ]])
          assert.strictEqual(error.response?.status, 503)
        }
        assert.isAtLeast(Date.now() - started, 1900)
        assert.strictEqual((yield* httpbin.requests).length, 3)
      }).pipe(Effect.provide(Httpbin.layer)),
    { timeout: 30_000 }
  )

  it.live("a POST is not retried on a listed status, and a GET is", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* httpbin.clearLog
      const retry = Retry.make({ total: 2, statusForcelist: [502] })
      const post = yield* Session.post(httpbin.url("/status/502"), { json: { order: 1 } }).pipe(
        Effect.provide(session({ retry }))
      )
      assert.strictEqual(post.status, 502)
      assert.strictEqual((yield* httpbin.requests).length, 1)
      const get = yield* Effect.flip(Session.get(httpbin.url("/status/502")).pipe(Effect.provide(session({ retry }))))
      assert.strictEqual(get._tag, "RetryError")
      assert.strictEqual((yield* httpbin.requests).length, 4)
    }).pipe(Effect.provide(Httpbin.layer)), { timeout: 30_000 })

  it.live(
    "the total deadline cuts a Retry-After wait short: Timeout at once, no wasted wait",
    () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const started = Date.now()
        const error = yield* Effect.flip(
          Session.get(httpbin.url("/fault/body?status=503&h=Retry-After:5")).pipe(
            Effect.provide(session({ retry: Retry.make(3), timeout: { total: "2 seconds" } }))
          )
        )
        assert.strictEqual(error._tag, "Timeout")
        assert.strictEqual((error as RequestError.Timeout).phase, "total")
        assert.isBelow(Date.now() - started, 1500)
      }).pipe(Effect.provide(Httpbin.layer)),
    { timeout: 30_000 }
  )
})

describe("a kept-alive socket the server closed", () => {
  it.live("close-on-next: the GET goes out again on a new socket and succeeds", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* httpbin.clearLog
      const response = yield* Effect.gen(function*() {
        yield* Session.get(httpbin.url("/fault/close-on-next"))
        return yield* Session.get(httpbin.url("/get?after=close"))
      }).pipe(Effect.provide(oneSocket()))
      assert.strictEqual(response.status, 200)
      const log = yield* httpbin.requests
      const gets = log.filter((r) => r.url === "/get?after=close")
      assert.strictEqual(gets.length, 2)
      assert.strictEqual(gets[0]!.socketId, log[0]!.socketId)
      assert.notStrictEqual(gets[1]!.socketId, gets[0]!.socketId)
      assert.strictEqual(response.timings?.reused, false)
    }).pipe(Effect.provide(Httpbin.layer)), { timeout: 30_000 })

  it.live(
    "close-on-next: a POST is not resent, even with a retry policy; nor a one-shot PUT body",
    () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        yield* httpbin.clearLog
        const [post, put] = yield* Effect.gen(function*() {
          yield* Session.get(httpbin.url("/fault/close-on-next"))
          const post = yield* Effect.flip(Session.post(httpbin.url("/post"), { json: { once: true } }))
          yield* Session.get(httpbin.url("/fault/close-on-next"))
          const put = yield* Effect.flip(
            Session.put(httpbin.url("/put"), { data: Stream.make(new TextEncoder().encode("one shot")) })
          )
          return [post, put] as const
        }).pipe(Effect.provide(oneSocket({ retry: Retry.make(3) })))
        assert.strictEqual(post._tag, "ConnectionError")
        assert.isTrue(RequestError.isConnectionError(post))
        assert.strictEqual(put._tag, "ConnectionError")
        const log = yield* httpbin.requests
        assert.strictEqual(log.filter((r) => r.method === "POST").length, 1)
        assert.strictEqual(log.filter((r) => r.method === "PUT").length, 1)
      }).pipe(Effect.provide(Httpbin.layer)),
    { timeout: 30_000 }
  )

  it.live(
    "close-after: the server closes an idle kept-alive socket; the next GET opens a new one",
    () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        yield* httpbin.clearLog
        const [first, second] = yield* Effect.gen(function*() {
          const first = yield* Session.get(httpbin.url("/fault/close-after?ms=50"))
          yield* Effect.sleep("200 millis")
          const second = yield* Session.get(httpbin.url("/get"))
          return [first, second] as const
        }).pipe(Effect.provide(oneSocket()))
        assert.strictEqual(first.status, 200)
        assert.strictEqual(second.status, 200)
        const log = yield* httpbin.requests
        assert.strictEqual(log.length, 2)
        assert.notStrictEqual(log[1]!.socketId, log[0]!.socketId)
      }).pipe(Effect.provide(Httpbin.layer)),
    { timeout: 30_000 }
  )

  it.live("retryStaleConnections: false leaves the broken GET failed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const error = yield* Effect.gen(function*() {
        yield* Session.get(httpbin.url("/fault/close-on-next"))
        return yield* Effect.flip(Session.get(httpbin.url("/get")))
      }).pipe(Effect.provide(oneSocket({ adapter: { retryStaleConnections: false } })))
      assert.strictEqual(error._tag, "ConnectionError")
    }).pipe(Effect.provide(Httpbin.layer)), { timeout: 30_000 })
})
