/**
 * Pool options of the Node adapter (requests' `HTTPAdapter(pool_connections, pool_maxsize,
 * pool_block)`), and a differently configured adapter mounted under one prefix.
 */
import { Session } from "@effect-requests/core"
import type { RequestError } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeAdapter } from "@effect-requests/node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { inSession } from "./utils/layers.js"

const sockets = (httpbin: Httpbin.HttpbinService) => Effect.map(httpbin.requests, (log) => log.map((r) => r.socketId))

/** A response whose headers have arrived and whose body is still on its way, held until `release`. */
const holdBody = (url: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const response = yield* Session.stream("GET", url).pipe(Scope.extend(scope))
    return { response, release: Scope.close(scope, Exit.void) }
  })

describe("pool options", () => {
  it.live("connections: 1 with poolBlock (the default) waits for the connection", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const responses = yield* inSession(
        Effect.all([Session.get(httpbin.url("/delay/0.2")), Session.get(httpbin.url("/delay/0.2"))], {
          concurrency: 2
        }),
        { adapter: { connections: 1 } }
      )
      assert.deepStrictEqual(responses.map((r) => r.status), [200, 200])
      const [a, b] = yield* sockets(httpbin)
      assert.strictEqual(a, b, "the second request waited for the one connection")
      assert.strictEqual((yield* httpbin.connections).total, 1)
    }).pipe(Effect.scoped))

  it.live("poolBlock: false fails at once while the one connection's body is still being read", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      yield* inSession(
        Effect.gen(function*() {
          const held = yield* holdBody(httpbin.url("/fault/stall-body?ms=5000"))
          assert.strictEqual(held.response.status, 200)
          const full = yield* Effect.flip(Session.get(httpbin.url("/get")))
          assert.strictEqual(full._tag, "ConnectionError")
          assert.strictEqual((full as RequestError.ConnectionError).code, "POOL_FULL")
          assert.include(full.message, "poolBlock: false")
          // Releasing the held response frees the connection for the next request.
          yield* held.release
          const next = yield* Session.get(httpbin.url("/get"))
          assert.strictEqual(next.status, 200)
          // Other origins have their own connections.
          const other = yield* Session.get(httpbin.url("/get").replace("127.0.0.1", "localhost"))
          assert.strictEqual(other.status, 200)
        }),
        { adapter: { connections: 1, poolBlock: false } }
      )
    }).pipe(Effect.scoped))

  it.live("keeps idle connections for keepAliveTimeout, then opens new ones", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      yield* inSession(
        Effect.gen(function*() {
          yield* Session.get(httpbin.url("/get"))
          // undici hands a finished connection back to its pool on the next turn of the event loop.
          yield* Effect.sleep("20 millis")
          yield* Session.get(httpbin.url("/get"))
          yield* Effect.sleep("400 millis")
          yield* Session.get(httpbin.url("/get"))
        }),
        { adapter: { keepAliveTimeout: 100 } }
      )
      const [a, b, c] = yield* sockets(httpbin)
      assert.strictEqual(a, b)
      assert.notStrictEqual(b, c)
    }).pipe(Effect.scoped))

  it.live("keepAlive: false closes every connection after its exchange", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      yield* inSession(
        Effect.gen(function*() {
          yield* Session.get(httpbin.url("/get"))
          yield* Effect.sleep("20 millis")
          yield* Session.get(httpbin.url("/get"))
        }),
        { adapter: { keepAlive: false } }
      )
      const [a, b] = yield* sockets(httpbin)
      assert.notStrictEqual(a, b)
    }).pipe(Effect.scoped))

  it.live("maxOrigins caps the origins with open connections; one frees when its connections close", () =>
    Effect.gen(function*() {
      const first = yield* Httpbin.make()
      const second = yield* Httpbin.make({ host: "127.0.0.2" })
      yield* inSession(
        Effect.gen(function*() {
          yield* Session.get(first.url("/get"))
          const capped = yield* Effect.flip(Session.get(second.url("/get")))
          assert.strictEqual(capped._tag, "ConnectionError")
          assert.include(capped.message, "maxOrigins")
          yield* Effect.sleep("400 millis")
          const later = yield* Session.get(second.url("/get"))
          assert.strictEqual(later.status, 200)
        }),
        { adapter: { maxOrigins: 1, keepAliveTimeout: 100 } }
      )
    }).pipe(Effect.scoped))

  it.effect("rejects pool options that cannot work", () =>
    Effect.gen(function*() {
      const error = yield* inSession(Effect.flip(Session.get("http://127.0.0.1:1/")), { adapter: { connections: 0 } })
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, "connections")
    }))
})

describe("mounting a differently configured NodeAdapter", () => {
  it.live("routes one prefix to its own pool, and closes it with the session", () =>
    Effect.gen(function*() {
      const main = yield* Httpbin.make()
      const internal = yield* Httpbin.make({ host: "127.0.0.2" })
      const prefix = `${internal.origin}/`
      yield* inSession(
        Effect.gen(function*() {
          const strict = yield* NodeAdapter.make({ connections: 1, poolBlock: false })
          yield* Session.mount(prefix, strict)
          assert.strictEqual(yield* Session.getAdapter(internal.url("/get")), strict)
          const held = yield* holdBody(internal.url("/fault/stall-body?ms=5000"))
          const full = yield* Effect.flip(Session.get(internal.url("/get")))
          assert.strictEqual((full as RequestError.ConnectionError).code, "POOL_FULL")
          // The default transport is not limited.
          const both = yield* Effect.all([Session.get(main.url("/get")), Session.stream("GET", main.url("/get"))], {
            concurrency: 2
          })
          assert.strictEqual(both[0].status, 200)
          yield* held.release
          assert.strictEqual((yield* Session.get(internal.url("/get"))).status, 200)
        }).pipe(Effect.scoped)
      )
      // The session's scope closed both adapters: no socket left open on either server.
      const open = Effect.map(Effect.all([internal.connections, main.connections]), ([a, b]) => a.open + b.open)
      let left = yield* open
      for (let i = 0; i < 100 && left > 0; i++) {
        yield* Effect.sleep("20 millis")
        left = yield* open
      }
      assert.strictEqual(left, 0)
    }).pipe(Effect.scoped))

  it.live("interrupting a request releases its slot in the pool", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      yield* inSession(
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Session.get(httpbin.url("/fault/stall-headers?ms=5000")))
          yield* Effect.sleep("100 millis")
          const full = yield* Effect.flip(Session.get(httpbin.url("/get")))
          assert.strictEqual((full as RequestError.ConnectionError).code, "POOL_FULL")
          yield* Fiber.interrupt(fiber)
          assert.strictEqual((yield* Session.get(httpbin.url("/get"))).status, 200)
        }),
        { adapter: { connections: 1, poolBlock: false } }
      )
    }).pipe(Effect.scoped))
})
