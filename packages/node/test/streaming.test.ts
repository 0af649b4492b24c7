/**
 * Streaming responses against httpbin and raw sockets: `iterContent` rechunks exactly,
 * `iterLines` gives the same lines wherever the network splits the body, `iterJson` and
 * `schemaNdjson` decode NDJSON, a body reads once, `buffer` turns a streamed response into a
 * buffered one, leaving the scope or interrupting mid-body closes the socket (and reading to the
 * end returns it to the pool), download progress, and a 1 GiB download in flat memory.
 */
import { type Progress, Response, Session, SessionConfig } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { assert, describe, it, layer } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Option, Ref, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import { sessionWithHttpbin } from "./utils/layers.js"
import { rawServer } from "./utils/raw.js"

const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Chunk.toReadonlyArray(chunks))

layer(sessionWithHttpbin())("streaming responses", (it) => {
  it.effect("iterContent gives chunks of exactly chunkSize bytes, whatever the network chunks were", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const size = 300_001
      const expected = (yield* Session.get(httpbin.url(`/bytes/${size}?seed=rechunk`))).content
      for (const chunkSize of [1, 7, 1000, 65536, 100_000, 400_000]) {
        const chunks = yield* Effect.scoped(Effect.gen(function*() {
          const response = yield* Session.stream(
            "GET",
            httpbin.url(`/stream-bytes/${size}?seed=rechunk&chunk_size=3333`)
          )
          return yield* collect(response.iterContent(chunkSize))
        }))
        const sizes = chunks.map((c) => c.length)
        assert.isTrue(sizes.slice(0, -1).every((n) => n === chunkSize), `chunkSize ${chunkSize}`)
        assert.strictEqual(sizes[sizes.length - 1], size % chunkSize || Math.min(chunkSize, size))
        assert.isTrue(Buffer.concat(chunks).equals(expected), `chunkSize ${chunkSize}`)
      }
      const invalid = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url("/bytes/10"))
        const error = yield* Effect.flip(Stream.runDrain(response.iterContent(0)))
        // The body is still there to read.
        return [error._tag, (yield* response.buffer).content.length] as const
      }))
      assert.deepStrictEqual(invalid, ["InvalidRequest", 10])
    }))

  it.effect("iterLines, iterJson and schemaNdjson read NDJSON as it arrives", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const lines = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url("/stream/5"))
        return Chunk.toReadonlyArray(yield* Stream.runCollect(response.iterLines()))
      }))
      assert.strictEqual(lines.length, 5)
      const values = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url("/stream/5"))
        return Chunk.toReadonlyArray(yield* Stream.runCollect(response.iterJson()))
      }))
      assert.deepStrictEqual(values.map((v) => (v as { id: number }).id), [0, 1, 2, 3, 4])
      const Line = Schema.Struct({ id: Schema.Number, url: Schema.String })
      const decoded = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url("/stream/3"))
        return Chunk.toReadonlyArray(yield* Stream.runCollect(Response.schemaNdjson(Line)(response)))
      }))
      assert.deepStrictEqual(decoded.map((l) => l.id), [0, 1, 2])
      const mismatch = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url("/stream/3"))
        return yield* Effect.flip(
          Stream.runDrain(Response.schemaNdjson(Schema.Struct({ id: Schema.String }))(response))
        )
      }))
      assert.strictEqual(mismatch._tag, "ResponseDecodeError")
    }))

  it.effect("a body reads once; buffer turns a streamed response into a buffered one", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url("/json"))
        const buffered = yield* response.buffer
        assert.isTrue(Response.isResponse(buffered))
        assert.strictEqual(buffered.status, 200)
        assert.isObject(yield* buffered.json)
        assert.strictEqual((yield* Effect.flip(Stream.runDrain(response.body)))._tag, "StreamConsumedError")
        assert.strictEqual((yield* Effect.flip(response.buffer))._tag, "StreamConsumedError")
        assert.strictEqual((yield* Effect.flip(Stream.runDrain(response.iterLines())))._tag, "StreamConsumedError")
      }))
    }))

  it.effect("onDownloadProgress reports a buffered and a streamed body up to Content-Length", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const reports = yield* Ref.make<ReadonlyArray<Progress.Progress>>([])
      const onDownloadProgress = (p: Progress.Progress) => Ref.update(reports, (all) => [...all, p])
      const size = 2 * 1024 * 1024
      const response = yield* Session.get(httpbin.url(`/bytes/${size}`), { onDownloadProgress })
      assert.strictEqual(response.content.length, size)
      const seen = yield* Ref.get(reports)
      assert.isAbove(seen.length, 2)
      assert.deepStrictEqual(seen.map((p) => p.total), seen.map(() => size))
      const last = seen[seen.length - 1]!
      assert.deepStrictEqual([last.transferred, last.done, last.fraction], [size, true, 1])
      yield* Ref.set(reports, [])
      // A redirect's body is not reported: only the final response's.
      const streamed = yield* Effect.scoped(Effect.gen(function*() {
        const r = yield* Session.stream(
          "GET",
          httpbin.url(`/redirect-to?url=${encodeURIComponent(`/stream-bytes/${size}`)}`),
          { onDownloadProgress }
        )
        return yield* Stream.runFold(r.body, 0, (n, c) => n + c.length)
      }))
      assert.strictEqual(streamed, size)
      const streamedReports = yield* Ref.get(reports)
      assert.isUndefined(streamedReports[0]!.total)
      assert.strictEqual(streamedReports[0]!.transferred, 0)
      assert.deepStrictEqual(streamedReports.filter((p) => p.done).map((p) => p.transferred), [size])
    }))
})

/** Wait (a little) until httpbin has `open` connections. */
const openConnections = (httpbin: Httpbin.HttpbinService, expected: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100; i++) {
      const { open } = yield* httpbin.connections
      if (open === expected) return open
      yield* Effect.sleep("20 millis")
    }
    return (yield* httpbin.connections).open
  })

describe("the socket of a streamed response", () => {
  it.live("is closed when the scope is left in the middle of the body", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream(
          "GET",
          httpbin.url(`/stream-bytes/${512 * 1024 * 1024}?chunk_size=65536`)
        )
        const head = yield* collect(response.body.pipe(Stream.take(2)))
        assert.strictEqual((yield* httpbin.connections).open, 1)
        return head
      }))
      assert.strictEqual(first.length, 2)
      assert.strictEqual(yield* openConnections(httpbin, 0), 0)
      // And the session goes on, on a new connection.
      assert.strictEqual((yield* Session.get(httpbin.url("/get"))).status, 200)
    }).pipe(Effect.provide(sessionWithHttpbin())))

  it.live("is closed when the reading fiber is interrupted", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url("/fault/drip-body?chunks=1000&interval_ms=20"))
        yield* Stream.runForEach(response.body, () => Deferred.succeed(started, undefined))
      })))
      yield* Deferred.await(started)
      assert.strictEqual((yield* httpbin.connections).open, 1)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* openConnections(httpbin, 0), 0)
    }).pipe(Effect.provide(sessionWithHttpbin())))

  it.live("is closed when the scope closes before the body is touched", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* Effect.scoped(Session.stream("GET", httpbin.url("/fault/drip-body?chunks=1000&interval_ms=20")))
      assert.strictEqual(yield* openConnections(httpbin, 0), 0)
    }).pipe(Effect.provide(sessionWithHttpbin())))

  it.live("goes back to the pool when the body was read to the end", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url("/stream-bytes/100000?chunk_size=1000"))
        yield* Stream.runDrain(response.body)
      }))
      for (let i = 0; i < 4; i++) yield* Session.get(httpbin.url("/get"))
      const [streamed, ...later] = yield* httpbin.requests
      // undici's pool may open a second connection for back-to-back requests; none is closed and
      // the streamed request's connection serves later ones.
      assert.include(later.map((r) => r.socketId), streamed!.socketId)
      const { open, total } = yield* httpbin.connections
      assert.strictEqual(open, total)
      assert.isAtMost(total, 2)
    }).pipe(Effect.provide(sessionWithHttpbin())))
})

describe("iterLines over the network", () => {
  it.live(
    "gives the same lines wherever the body is split, CRLF across the split included",
    () =>
      Effect.gen(function*() {
        const body = Buffer.from("first\r\nsecond\n\nthird\rfourth\r\n\r\nünïcödé\r\nlast")
        const expected = ["first", "second", "", "third", "fourth", "", "ünïcödé", "last"]
        const server = yield* rawServer(({ head, writePieces }) => {
          const at = Number(new URL(`http://x${head.split(" ")[1]}`).searchParams.get("at"))
          return writePieces([
            `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`,
            body.subarray(0, at),
            body.subarray(at)
          ], 5)
        })
        for (let at = 0; at <= body.length; at++) {
          const [text, raw] = yield* Effect.scoped(Effect.gen(function*() {
            const lines = yield* Session.stream("GET", server.url(`/?at=${at}`))
            const text = Chunk.toReadonlyArray(yield* Stream.runCollect(lines.iterLines()))
            const again = yield* Session.stream("GET", server.url(`/?at=${at}`))
            const raw = yield* collect(again.iterLines({ decodeUnicode: false }))
            return [text, raw.map((l) => Buffer.from(l).toString("utf8"))] as const
          }))
          assert.deepStrictEqual(text, expected, `split at ${at}`)
          assert.deepStrictEqual(raw, expected, `split at ${at} (bytes)`)
        }
      }).pipe(Effect.scoped, Effect.provide(sessionWithHttpbin())),
    { timeout: 60_000 }
  )
})

const GiB = 1024 * 1024 * 1024

describe("large downloads", () => {
  it.live("a 1 GiB streamed download runs in flat memory", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const block = (yield* Session.get(httpbin.url(`/bytes/${1024 * 1024}?seed=big`))).content
      const baseline = process.memoryUsage().rss
      let peak = baseline
      const timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss)
      }, 25)
      const [size, digest] = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url(`/bytes/${GiB}?seed=big`))
        const hash = createHash("sha256")
        const size = yield* Stream.runFold(response.body, 0, (n, chunk) => {
          hash.update(chunk)
          return n + chunk.length
        })
        return [size, hash.digest("hex")] as const
      })).pipe(
        SessionConfig.locally({ limits: { maxBodySize: 2 * GiB } }),
        Effect.ensuring(Effect.sync(() => clearInterval(timer)))
      )
      const expected = createHash("sha256")
      for (let i = 0; i < GiB / block.length; i++) expected.update(block)
      assert.strictEqual(size, GiB)
      assert.strictEqual(digest, expected.digest("hex"))
      const growth = Math.max(peak, process.memoryUsage().rss) - baseline
      assert.isBelow(growth, 64 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1024 / 1024)} MiB`)
      assert.isTrue(Option.isSome(yield* httpbin.lastRequest))
    }).pipe(Effect.provide(sessionWithHttpbin())), { timeout: 120_000 })
})
