/**
 * Request bodies against httpbin: every source arrives byte-exact (the server's SHA-256 against
 * ours), with `Content-Length` when the length is known and chunked otherwise; files stream from
 * the FileSystem; replayable bodies follow a 307, one-shot bodies fail typed; a 1 GiB upload from
 * a Stream runs in flat memory.
 */
import { Body, type Progress, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeAdapter } from "@effect-requests/node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Ref, Stream } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { emptyEnv, sessionWithHttpbin } from "./utils/layers.js"

const sha256 = (...parts: ReadonlyArray<Uint8Array | string>) => {
  const hash = createHash("sha256")
  for (const part of parts) hash.update(part)
  return hash.digest("hex")
}

interface Upload {
  readonly bytes: number
  readonly sha256: string
}

/** POST `data` to /upload; the server's count and digest, and the framing headers it received. */
const upload = (data: Session.Data, target = "/upload") =>
  Effect.gen(function*() {
    const httpbin = yield* Httpbin.Httpbin
    const response = yield* Session.post(httpbin.url(target), { data })
    assert.strictEqual(response.status, 200, response.text)
    const body = (yield* response.json) as Upload
    const logged = Option.getOrThrow(yield* httpbin.lastRequest)
    const header = (name: string) => logged.rawHeaders.find(([n]) => n.toLowerCase() === name)?.[1]
    return {
      ...body,
      contentLength: header("content-length"),
      chunked: header("transfer-encoding") === "chunked",
      contentType: header("content-type"),
      logged
    }
  })

const tempFile = (bytes: Uint8Array) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "effect-requests-bodies-"))
      const file = path.join(dir, "payload.bin")
      await fs.writeFile(file, bytes)
      return { dir, file }
    }),
    ({ dir }) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.map(({ file }) => file))

const payload = randomBytes(3 * 1024 * 1024 + 17)

async function* asyncChunks(parts: ReadonlyArray<Uint8Array | string>) {
  for (const part of parts) yield part
}

layer(sessionWithHttpbin())("request bodies", (it) => {
  it.effect("text, bytes, ArrayBuffer and JSON arrive byte-exact with their length", () =>
    Effect.gen(function*() {
      const text = yield* upload("snowman ☃ and more")
      assert.strictEqual(text.sha256, sha256("snowman ☃ and more"))
      assert.strictEqual(text.contentLength, String(Buffer.byteLength("snowman ☃ and more")))
      const bytes = yield* upload(payload)
      assert.deepStrictEqual([bytes.bytes, bytes.sha256, bytes.contentLength], [
        payload.length,
        sha256(payload),
        String(payload.length)
      ])
      const buffer = yield* upload(payload.buffer.slice(payload.byteOffset, payload.byteOffset + 1000))
      assert.strictEqual(buffer.sha256, sha256(payload.subarray(0, 1000)))
      const httpbin = yield* Httpbin.Httpbin
      const json = yield* Session.post(httpbin.url("/upload"), { json: { e: "é", n: [1, 2.5, true, null] } })
      assert.strictEqual(((yield* json.json) as Upload).sha256, sha256("{\"e\":\"é\",\"n\":[1,2.5,true,null]}"))
      const logged = Option.getOrThrow(yield* httpbin.lastRequest)
      assert.deepInclude(logged.rawHeaders, ["Content-Type", "application/json"])
    }))

  it.effect("records and lists of pairs are form-encoded, values rendered with String()", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const expected = "b=true&s=a+b%2Bc%2Fd&e=&u=%C3%A9&n=1.5&l=1&l=2"
      const record = yield* upload({ b: true, s: "a b+c/d", e: "", u: "é", n: 1.5, skip: null, l: [1, 2] })
      assert.strictEqual(record.sha256, sha256(expected))
      assert.strictEqual(record.contentType, "application/x-www-form-urlencoded")
      const pairs = yield* upload([["b", true], ["s", "a b+c/d"], ["e", ""], ["u", "é"], ["n", 1.5], ["l", [1, 2]]])
      assert.strictEqual(pairs.sha256, sha256(expected))
      const echo = yield* Effect.flatMap(
        Session.post(httpbin.url("/post"), { data: [["k", "1"], ["k", "2"], ["x", "y z"]] }),
        (r) => r.json
      )
      assert.deepStrictEqual((echo as { form: unknown }).form, { k: ["1", "2"], x: "y z" })
    }))

  it.effect("a Stream is sent chunked, or with Content-Length when its length is given", () =>
    Effect.gen(function*() {
      const pieces = [payload.subarray(0, 100_000), payload.subarray(100_000, 2_000_000), payload.subarray(2_000_000)]
      const chunked = yield* upload(Stream.fromIterable(pieces))
      assert.isTrue(chunked.chunked)
      assert.isUndefined(chunked.contentLength)
      assert.strictEqual(chunked.sha256, sha256(payload))
      const sized = yield* upload(Body.stream(Stream.fromIterable(pieces), { length: payload.length }))
      assert.isFalse(sized.chunked)
      assert.strictEqual(sized.contentLength, String(payload.length))
      assert.strictEqual(sized.sha256, sha256(payload))
      // undici frames a stream that ends before its first byte as Content-Length: 0.
      const empty = yield* upload(Stream.empty)
      assert.deepStrictEqual([empty.bytes, empty.sha256], [0, sha256("")])
    }))

  it.effect("an AsyncIterable of bytes and strings is sent chunked", () =>
    Effect.gen(function*() {
      const sent = yield* upload(asyncChunks(["héllo ", payload.subarray(0, 5000), " end"]))
      assert.isTrue(sent.chunked)
      assert.strictEqual(sent.sha256, sha256("héllo ", payload.subarray(0, 5000), " end"))
      const sized = yield* upload(Body.stream(asyncChunks(["abc", "def"]), { length: 6 }))
      assert.strictEqual(sized.contentLength, "6")
      assert.strictEqual(sized.sha256, sha256("abcdef"))
    }))

  it.effect("a stream that gives fewer bytes than its declared length fails typed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const error = yield* Effect.flip(
        Session.post(httpbin.url("/upload"), { data: Body.stream(Stream.make(new Uint8Array(10)), { length: 20 }) })
      )
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, "length")
    }))

  it.effect("a stream that fails mid-body fails the request with its error, typed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const failing = Stream.concat(Stream.make(new Uint8Array(1000)), Stream.fail(new Error("disk on fire")))
      const error = yield* Effect.flip(Session.post(httpbin.url("/upload"), { data: failing }))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, "disk on fire")
      // The session still works afterwards.
      assert.strictEqual((yield* Session.get(httpbin.url("/get"))).status, 200)
    }))

  it.scoped("Body.file streams a file with its length, and is sent again after a 307", () =>
    Effect.gen(function*() {
      const file = yield* tempFile(payload)
      const sent = yield* upload(Body.file(file, { contentType: "application/x-test" }))
      assert.deepStrictEqual([sent.bytes, sent.sha256, sent.contentLength, sent.contentType], [
        payload.length,
        sha256(payload),
        String(payload.length),
        "application/x-test"
      ])
      const slice = yield* upload(Body.file(file, { offset: 1000, length: 5000, chunkSize: 1024 }))
      assert.strictEqual(slice.sha256, sha256(payload.subarray(1000, 6000)))
      assert.strictEqual(slice.contentLength, "5000")
      const redirected = yield* upload(Body.file(file), "/redirect-to?url=/upload&status_code=307")
      assert.strictEqual(redirected.sha256, sha256(payload))
    }))

  it.effect("a missing file fails with InvalidRequest before anything is sent", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const before = (yield* httpbin.requests).length
      const error = yield* Effect.flip(
        Session.post(httpbin.url("/upload"), { data: Body.file(path.join(os.tmpdir(), "no-such-file-here.bin")) })
      )
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, "no-such-file-here.bin")
      assert.strictEqual((yield* httpbin.requests).length, before)
    }))

  it.effect("a replayable body follows a 307; a one-shot stream fails with UnrewindableBodyError", () =>
    Effect.gen(function*() {
      const again = yield* upload(
        Body.replayable(() => Stream.make(payload.subarray(0, 1000)), { length: 1000 }),
        "/redirect-to?url=/upload&status_code=307"
      )
      assert.strictEqual(again.sha256, sha256(payload.subarray(0, 1000)))
      const httpbin = yield* Httpbin.Httpbin
      const error = yield* Effect.flip(
        Session.post(httpbin.url("/redirect-to?url=/upload&status_code=308"), {
          data: Stream.make(new Uint8Array(10))
        })
      )
      assert.strictEqual(error._tag, "UnrewindableBodyError")
      // A 303 drops the body, so a one-shot stream is fine there.
      const seeOther = yield* Session.post(httpbin.url("/redirect-to?url=/get&status_code=303"), {
        data: Stream.make(new Uint8Array(10))
      })
      assert.strictEqual(seeOther.status, 200)
    }))

  it.scoped("an AsyncIterable goes to undici as it is: a Node Readable arrives byte-exact, with progress too", () =>
    Effect.gen(function*() {
      const file = yield* tempFile(payload)
      const sent = yield* upload(createReadStream(file, { highWaterMark: 100_000 }))
      assert.isTrue(sent.chunked)
      assert.deepStrictEqual([sent.bytes, sent.sha256], [payload.length, sha256(payload)])
      // With a progress report layered on, it goes through an Effect Stream, and arrives the same.
      const httpbin = yield* Httpbin.Httpbin
      let last: Progress.Progress | undefined
      const response = yield* Session.post(httpbin.url("/upload"), {
        data: Body.stream(createReadStream(file), { length: payload.length }),
        onUploadProgress: (p) =>
          Effect.sync(() => {
            last = p
          })
      })
      assert.strictEqual(((yield* response.json) as Upload).sha256, sha256(payload))
      assert.deepStrictEqual([last?.transferred, last?.done], [payload.length, true])
    }))

  it.effect("an AsyncIterable that fails or gives neither bytes nor strings fails typed; it is sent once", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      async function* failing() {
        yield payload.subarray(0, 1000)
        throw new Error("disk on fire")
      }
      const failed = yield* Effect.flip(Session.post(httpbin.url("/upload"), { data: failing() }))
      assert.deepStrictEqual([failed._tag, failed.message.includes("disk on fire")], ["InvalidRequest", true])
      async function* numbers() {
        yield "fine"
        yield 42
      }
      const refused = yield* Effect.flip(
        Session.post(httpbin.url("/upload"), { data: numbers() as AsyncIterable<string> })
      )
      assert.strictEqual(refused._tag, "InvalidRequest")
      assert.include(refused.message, "a number, not bytes or a string")
      const once = yield* Effect.flip(
        Session.post(httpbin.url("/redirect-to?url=/upload&status_code=307"), { data: asyncChunks(["abc"]) })
      )
      assert.strictEqual(once._tag, "UnrewindableBodyError")
      assert.strictEqual((yield* Session.get(httpbin.url("/get"))).status, 200)
    }))

  it.effect("onUploadProgress reports the bytes sent up to the total", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const reports = yield* Ref.make<ReadonlyArray<Progress.Progress>>([])
      const onUploadProgress = (p: Progress.Progress) => Ref.update(reports, (all) => [...all, p])
      yield* Session.post(httpbin.url("/upload"), { data: payload, onUploadProgress })
      const seen = yield* Ref.get(reports)
      assert.isAbove(seen.length, 3)
      assert.deepStrictEqual(seen[0]!.transferred, 0)
      const last = seen[seen.length - 1]!
      assert.deepStrictEqual([last.transferred, last.total, last.done, last.fraction], [
        payload.length,
        payload.length,
        true,
        1
      ])
      for (let i = 1; i < seen.length; i++) assert.isAtLeast(seen[i]!.transferred, seen[i - 1]!.transferred)
      const logged = Option.getOrThrow(yield* httpbin.lastRequest)
      assert.strictEqual(logged.bodySha256, sha256(payload))
    }))
})

describe("bodies without a FileSystem", () => {
  it.effect("Body.file fails with InvalidRequest naming what is missing", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const error = yield* Effect.flip(Session.post(httpbin.url("/upload"), { data: Body.file("/etc/hostname") }))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, "FileSystem")
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          Httpbin.layer,
          Session.layer().pipe(Layer.provide(NodeAdapter.layer()), Layer.provide(emptyEnv()))
        ).pipe(Layer.orDie)
      )
    ))
})

describe("a stalled upload source", () => {
  it.live("is stopped, its finalizers run, when the request passes its deadline or is interrupted", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const stalled = (finalized: Deferred.Deferred<void>) =>
        Stream.concat(Stream.make(new Uint8Array(1000)), Stream.never).pipe(
          Stream.ensuring(Deferred.succeed(finalized, undefined))
        )
      const first = yield* Deferred.make<void>()
      const error = yield* Effect.flip(
        Session.post(httpbin.url("/upload"), { data: stalled(first), timeout: { total: "300 millis" } })
      )
      assert.strictEqual(error._tag, "Timeout")
      yield* Deferred.await(first).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "not finalized" }))
      const second = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(Session.post(httpbin.url("/upload"), { data: stalled(second) }))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(second).pipe(
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "not finalized" })
      )
    }).pipe(Effect.provide(sessionWithHttpbin())))
})

describe("a stalled AsyncIterable source", () => {
  it.live("is closed (a Readable destroyed) when the request passes its deadline, is interrupted or cannot connect", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const stalled = () => {
        const readable = new Readable({ read() {} })
        readable.push(new Uint8Array(1000))
        return readable
      }
      const destroyed = (readable: Readable) =>
        Effect.async<void>((resume) => {
          if (readable.destroyed) return resume(Effect.void)
          readable.once("close", () => resume(Effect.void))
        }).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "not destroyed" }))
      const first = stalled()
      const error = yield* Effect.flip(
        Session.post(httpbin.url("/upload"), { data: first, timeout: { total: "300 millis" } })
      )
      assert.strictEqual(error._tag, "Timeout")
      yield* destroyed(first)
      const second = stalled()
      const fiber = yield* Effect.fork(Session.post(httpbin.url("/upload"), { data: second }))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(fiber)
      yield* destroyed(second)
      // Never started: the connection is refused before undici reads the body.
      const third = stalled()
      const refused = yield* Effect.flip(Session.post("http://127.0.0.1:1/upload", { data: third }))
      assert.strictEqual(refused._tag, "ConnectionError")
      yield* destroyed(third)
    }).pipe(Effect.provide(sessionWithHttpbin())))
})

/** Run `effect` while sampling RSS; the result and the largest growth seen, in bytes. */
const withPeakRss = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const baseline = process.memoryUsage().rss
    let peak = baseline
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss)
    }, 25)
    const result = yield* Effect.ensuring(effect, Effect.sync(() => clearInterval(timer)))
    peak = Math.max(peak, process.memoryUsage().rss)
    return [result, peak - baseline] as const
  })

const GiB = 1024 * 1024 * 1024

describe("large uploads", () => {
  it.live("a 1 GiB upload from a Stream arrives whole, in flat memory", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const block = randomBytes(1024 * 1024)
      const blocks = GiB / block.length
      const [response, growth] = yield* withPeakRss(
        Session.post(httpbin.url("/upload"), {
          data: Stream.repeatValue(block).pipe(Stream.take(blocks)),
          timeout: { read: "60 seconds" }
        })
      )
      const received = (yield* response.json) as Upload
      const hash = createHash("sha256")
      for (let i = 0; i < blocks; i++) hash.update(block)
      assert.strictEqual(received.bytes, GiB)
      assert.strictEqual(received.sha256, hash.digest("hex"))
      assert.isBelow(growth, 64 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1024 / 1024)} MiB`)
    }).pipe(Effect.provide(sessionWithHttpbin())), { timeout: 120_000 })
})
