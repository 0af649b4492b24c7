/**
 * Timeouts on real sockets: a connect that never completes (a listener whose accept queue is
 * full), a server that stalls before or after its headers, a slow drip that outlives the total
 * deadline, on the buffered and the streamed path, and per-request overrides.
 */
import { RequestError, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as net from "node:net"
import { Worker } from "node:worker_threads"
import { nodeSession as session } from "./utils/layers.js"

/**
 * A loopback listener that never accepts: it listens with a backlog of 1 in a worker thread whose
 * event loop is then blocked, and its accept queue is filled with raw connections. The kernel
 * drops further SYNs, so a connect to it never completes.
 */
const fullListener = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly release: () => Promise<void> }>((resume) => {
    const gate = new Int32Array(new SharedArrayBuffer(4))
    const worker = new Worker(
      `
      const net = require("node:net")
      const { parentPort, workerData } = require("node:worker_threads")
      const server = net.createServer()
      server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
        parentPort.postMessage(server.address().port)
        // Block this thread's event loop (no accept) until the test releases it.
        Atomics.wait(workerData, 0, 0)
        server.close()
      })
      `,
      { eval: true, workerData: gate }
    )
    worker.once("message", (port: number) => {
      const fillers: Array<net.Socket> = []
      for (let i = 0; i < 4; i++) fillers.push(net.connect(port, "127.0.0.1").on("error", () => {}))
      setTimeout(() =>
        resume(Effect.succeed({
          port,
          release: async () => {
            for (const s of fillers) s.destroy()
            Atomics.store(gate, 0, 1)
            Atomics.notify(gate, 0)
            await worker.terminate()
          }
        })), 100)
    })
  }),
  ({ release }) => Effect.promise(release)
)

describe("connect timeout", () => {
  it.live("a connect that never completes fails with ConnectTimeout, phase connect", () =>
    Effect.gen(function*() {
      const { port } = yield* fullListener
      const started = Date.now()
      const error = yield* Effect.flip(
        Session.get(`http://127.0.0.1:${port}/`).pipe(Effect.provide(session({ timeout: [300, 5000] })))
      )
      const took = Date.now() - started
      assert.strictEqual(error._tag, "ConnectTimeout", error.message)
      assert.strictEqual((error as RequestError.ConnectTimeout).phase, "connect")
      assert.isTrue(RequestError.isTimeout(error) && RequestError.isConnectionError(error))
      assert.isAtLeast(took, 250)
      assert.isBelow(took, 3000)
    }).pipe(Effect.scoped), { timeout: 20_000 })
})

/** A TCP listener that accepts connections and never says a word (no TLS handshake). */
const silentListener = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly server: net.Server; readonly sockets: Array<net.Socket> }>(
    (resume) => {
      const sockets: Array<net.Socket> = []
      const server = net.createServer((socket) => void sockets.push(socket))
      server.listen(
        0,
        "127.0.0.1",
        () => resume(Effect.succeed({ port: (server.address() as net.AddressInfo).port, server, sockets }))
      )
    }
  ),
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resume(Effect.void))
    })
)

describe("connect timeout during the TLS handshake", () => {
  it.live(
    "a server that accepts the TCP connection but never answers the handshake: ConnectTimeout, phase tls",
    () =>
      Effect.gen(function*() {
        const { port } = yield* silentListener
        const error = yield* Effect.flip(
          Session.get(`https://127.0.0.1:${port}/`).pipe(Effect.provide(session({ timeout: [300, 5000] })))
        )
        assert.strictEqual(error._tag, "ConnectTimeout", error.message)
        assert.strictEqual((error as RequestError.ConnectTimeout).phase, "tls")
        assert.include(error.message, "TLS handshake")
      }).pipe(Effect.scoped),
    { timeout: 20_000 }
  )
})

describe("read timeouts", () => {
  it.live("headers that do not come: ReadTimeout, phase headers", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const started = Date.now()
      const error = yield* Effect.flip(
        Session.get(httpbin.url("/fault/stall-headers?ms=5000"), { timeout: [1000, 300] })
      )
      assert.strictEqual(error._tag, "ReadTimeout")
      assert.strictEqual((error as RequestError.ReadTimeout).phase, "headers")
      assert.isBelow(Date.now() - started, 3000)
    }).pipe(Effect.provide(Layer.merge(Httpbin.layer, session()))), { timeout: 20_000 })

  it.live("headers, then a stalled body: ReadTimeout, phase body, buffered and streamed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const url = httpbin.url("/fault/stall-body?ms=5000")
      const buffered = yield* Effect.flip(Session.get(url))
      assert.strictEqual(buffered._tag, "ReadTimeout")
      assert.strictEqual((buffered as RequestError.ReadTimeout).phase, "body")
      const streamed = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", url)
        assert.strictEqual(response.status, 200)
        return yield* Effect.flip(Stream.runDrain(response.body))
      }))
      assert.strictEqual(streamed._tag, "ReadTimeout")
      assert.strictEqual((streamed as RequestError.ReadTimeout).phase, "body")
    }).pipe(Effect.provide(Layer.merge(Httpbin.layer, session({ timeout: [1000, 300] })))), { timeout: 20_000 })

  it.live(
    "a per-request timeout overrides the session's; a slow reader does not trip the read timeout",
    () =>
      Effect.gen(function*() {
        const httpbin = yield* Httpbin.Httpbin
        const late = yield* Session.get(httpbin.url("/fault/stall-body?ms=600"), { timeout: [1000, 3000] })
        assert.strictEqual(late.status, 200)
        // Chunks arrive every 100 ms (under the 300 ms read timeout); the reader takes 500 ms per chunk.
        const slowReader = yield* Effect.scoped(Effect.gen(function*() {
          const response = yield* Session.stream("GET", httpbin.url("/stream-bytes/3000000?chunk_size=65536"))
          return yield* response.body.pipe(
            Stream.take(3),
            Stream.tap(() => Effect.sleep("500 millis")),
            Stream.runCount
          )
        }))
        assert.strictEqual(slowReader, 3)
      }).pipe(Effect.provide(Layer.merge(Httpbin.layer, session({ timeout: [1000, 300] })))),
    { timeout: 20_000 }
  )
})

describe("total deadline", () => {
  it.live("a slow drip that outlives the total deadline: Timeout, buffered and streamed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const drip = httpbin.url("/fault/drip-body?chunks=20&interval_ms=100")
      const started = Date.now()
      const buffered = yield* Effect.flip(Session.get(drip, { timeout: { read: 1000, total: 600 } }))
      assert.strictEqual(buffered._tag, "Timeout")
      assert.strictEqual((buffered as RequestError.Timeout).phase, "body")
      assert.isBelow(Date.now() - started, 1800)
      const streamed = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", drip, { timeout: { read: 1000, total: 600 } })
        return yield* Effect.flip(Stream.runDrain(response.body))
      }))
      assert.strictEqual(streamed._tag, "Timeout")
      assert.strictEqual((streamed as RequestError.Timeout).phase, "body")
      const enough = yield* Session.get(drip, { timeout: { read: 1000, total: 10_000 } })
      assert.strictEqual(enough.content.length, 20)
    }).pipe(Effect.provide(Layer.merge(Httpbin.layer, session()))), { timeout: 20_000 })

  it.live("the deadline covers a redirect chain: hops that each stall add up", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const stall = encodeURIComponent(httpbin.url("/fault/stall-headers?ms=400"))
      const hop = encodeURIComponent(httpbin.url(`/redirect-to?url=${stall}`))
      const error = yield* Effect.flip(
        Session.get(httpbin.url(`/redirect-to?url=${hop}`), { timeout: { total: 250 } })
      )
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual((error as RequestError.Timeout).phase, "headers")
      const ok = yield* Session.get(httpbin.url(`/redirect-to?url=${hop}`), { timeout: { total: 5000 } })
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(ok.history.length, 2)
    }).pipe(Effect.provide(Layer.merge(Httpbin.layer, session()))), { timeout: 20_000 })
})
