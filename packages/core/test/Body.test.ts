/**
 * Request bodies through the in-memory adapter: what each `data` source becomes (bytes, length,
 * framing headers, content type), what can be sent again, and the typed failures.
 */
import { Body, Progress, Retry, Session } from "@effect-requests/core"
import { FileSystem } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Ref, Stream, TestClock } from "effect"
import { decode, memorySession } from "./utils/memory.js"

const ok = () => Effect.succeed({ status: 200, body: "ok" })

const run = <A, E>(effect: Effect.Effect<A, E, Session.Session>, options?: Session.LayerOptions) => {
  const { layer, requests } = memorySession(ok, options)
  return Effect.provide(Effect.zip(effect, requests), layer)
}

const bytes = (s: string) => new TextEncoder().encode(s)

async function* strings(parts: ReadonlyArray<string>) {
  for (const p of parts) yield p
}

describe("prepareBody", () => {
  it.effect("turns every data source into the body, length and content type requests would", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<
        readonly [string, Session.Data | undefined, { tag: string; length: number | undefined; type?: string }]
      > = [
        ["nothing", undefined, { tag: "Empty", length: 0 }],
        ["empty string", "", { tag: "Empty", length: 0 }],
        ["text (UTF-8 length)", "☃", { tag: "Bytes", length: 3 }],
        ["bytes", new Uint8Array([1, 2]), { tag: "Bytes", length: 2 }],
        ["ArrayBuffer", new ArrayBuffer(4), { tag: "Bytes", length: 4 }],
        ["record", { a: "1" }, { tag: "Bytes", length: 3, type: "application/x-www-form-urlencoded" }],
        ["pairs", [["a", "1"], ["a", "2"]], { tag: "Bytes", length: 7, type: "application/x-www-form-urlencoded" }],
        ["empty record", {}, { tag: "Empty", length: 0 }],
        ["Stream", Stream.make(new Uint8Array(3)), { tag: "Stream", length: undefined }],
        ["AsyncIterable", strings(["a"]), { tag: "Stream", length: undefined }],
        ["Body.stream with a length", Body.stream(Stream.make(new Uint8Array(3)), { length: 3 }), {
          tag: "Stream",
          length: 3
        }],
        ["Body.replayable", Body.replayable(() => Stream.empty, { length: 0, contentType: "x/y" }), {
          tag: "Stream",
          length: 0,
          type: "x/y"
        }]
      ]
      for (const [label, data, expected] of cases) {
        const { body, contentType } = yield* Session.prepareBody({ data })
        assert.strictEqual(body._tag, expected.tag, label)
        assert.strictEqual(Body.length(body), expected.length, label)
        assert.strictEqual(contentType, expected.type, label)
      }
      const json = yield* Session.prepareBody({ json: { a: [1, "é"] } })
      assert.strictEqual(json.contentType, "application/json")
      assert.strictEqual(json.body._tag === "Bytes" ? decode(json.body.bytes) : "", "{\"a\":[1,\"é\"]}")
      const dataWins = yield* Session.prepareBody({ data: "d", json: { a: 1 } })
      assert.strictEqual(dataWins.contentType, undefined)
      assert.strictEqual((yield* Effect.flip(Session.prepareBody({ json: { n: NaN } })))._tag, "InvalidJSONError")
    }))

  it.effect("knows from the body's value whether it can be sent again", () =>
    Effect.gen(function*() {
      const replayable = yield* Session.prepareBody({ data: "text" })
      assert.isTrue(Body.isReplayable(replayable.body))
      const once = yield* Session.prepareBody({ data: Stream.make(new Uint8Array(1)) })
      assert.isFalse(Body.isReplayable(once.body))
      assert.isFalse(Body.isReplayable((yield* Session.prepareBody({ data: strings(["x"]) })).body))
      assert.isTrue(Body.isReplayable(Body.replayable(() => Stream.empty)))
      assert.deepStrictEqual(Body.describe(once.body), { kind: "stream" })
    }))

  it.effect("a one-shot body opens once; a second open fails with UnrewindableBodyError", () =>
    Effect.gen(function*() {
      const body = Body.stream(Stream.make(bytes("abc")))
      assert.strictEqual(body._tag, "Stream")
      const stream = yield* body.open
      assert.strictEqual(decode((yield* Stream.runCollect(stream)).pipe((c) => Array.from(c)[0]!)), "abc")
      assert.strictEqual((yield* Effect.flip(body.open))._tag, "UnrewindableBodyError")
      const again = Body.replayable(() => Stream.make(bytes("x")))
      yield* Effect.flatMap(again.open, Stream.runDrain)
      yield* Effect.flatMap(again.open, Stream.runDrain)
    }))

  it.effect("ignores a length that is not a byte count", () =>
    Effect.sync(() => {
      for (const length of [-1, 1.5, NaN, Infinity]) {
        assert.isUndefined(Body.length(Body.stream(Stream.empty, { length })), String(length))
      }
    }))

  it.effect("a source's own failure becomes InvalidRequest, ours pass through", () =>
    Effect.gen(function*() {
      const failing = Body.stream(Stream.fail(new Error("boom")))
      const error = yield* Effect.flip(Effect.flatMap(failing.open, Stream.runDrain))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, "boom")
      const ours = Body.sourceError(Body.sourceError("x"))
      assert.strictEqual(ours._tag, "InvalidRequest")
    }))
})

describe("an AsyncIterable source", () => {
  it.effect("is given to an adapter as it is, until something is layered on its Stream", () =>
    Effect.gen(function*() {
      const source = strings(["a", "b"])
      const opened = yield* Body.stream(source).open
      assert.strictEqual(Body.sourceIterable(opened), source)
      const made: Array<AsyncIterable<string>> = []
      const again = Body.replayable(() => {
        const fresh = strings(["x"])
        made.push(fresh)
        return fresh
      })
      assert.strictEqual(Body.sourceIterable(yield* again.open), made[0])
      assert.strictEqual(Body.sourceIterable(yield* again.open), made[1])
      // An Effect Stream has no such source; a progress report is layered on the Stream.
      assert.isUndefined(Body.sourceIterable(yield* Body.stream(Stream.make(bytes("a"))).open))
      const reported = Progress.body(Body.stream(strings(["a"])), () => Effect.void)
      assert.strictEqual(reported._tag, "Stream")
      if (reported._tag === "Stream") assert.isUndefined(Body.sourceIterable(yield* reported.open))
    }))

  it.effect("as a Stream: strings become UTF-8, anything else but bytes fails with InvalidRequest", () =>
    Effect.gen(function*() {
      async function* mixed(parts: ReadonlyArray<unknown>) {
        for (const p of parts) yield p
      }
      const good = yield* Body.stream(mixed(["hé", bytes("llo")]) as AsyncIterable<string>).open
      const chunks = Array.from(yield* Stream.runCollect(good))
      assert.deepStrictEqual(chunks.map(decode), ["hé", "llo"])
      for (const [bad, named] of [[42, "a number"], [null, "null"], [{ a: 1 }, "an object (Object)"]] as const) {
        const stream = yield* Body.stream(mixed(["ok", bad]) as AsyncIterable<string>).open
        const error = yield* Effect.flip(Stream.runDrain(stream))
        assert.strictEqual(error._tag, "InvalidRequest")
        assert.include(error.message, named)
      }
    }))
})

describe("bodies through a session", () => {
  it.effect("frames a stream chunked and a sized body with Content-Length; a body's type is set unless given", () =>
    Effect.gen(function*() {
      const [, seen] = yield* run(Effect.all([
        Session.post("http://h/a", { data: Stream.make(bytes("ab"), bytes("c")) }),
        Session.post("http://h/b", { data: Body.stream(Stream.make(bytes("abc")), { length: 3, contentType: "x/y" }) }),
        Session.post("http://h/c", {
          data: Body.replayable(() => Stream.make(bytes("abc")), { length: 3, contentType: "x/y" }),
          headers: { "Content-Type": "mine/yes" }
        })
      ]))
      const [a, b, c] = seen
      assert.deepStrictEqual(
        [a!.request.headers.get("transfer-encoding"), a!.request.headers.get("content-length"), decode(a!.body)],
        ["chunked", undefined, "abc"]
      )
      assert.deepStrictEqual([b!.request.headers.get("content-length"), b!.request.headers.get("content-type")], [
        "3",
        "x/y"
      ])
      assert.strictEqual(c!.request.headers.get("content-type"), "mine/yes")
    }))

  it.effect("a retry policy sends a replayable body again, and never a one-shot one", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const flaky = () =>
        Effect.map(Ref.getAndUpdate(attempts, (n) => n + 1), (n) => ({ status: n === 0 ? 503 : 200, body: "" }))
      const retry = Retry.make({ total: 2, statusForcelist: [503] })
      const replay = memorySession(flaky, { retry })
      const [response, seen] = yield* Effect.provide(
        Effect.zip(
          Session.put("http://h/r", { data: Body.replayable(() => Stream.make(bytes("again"))) }),
          replay.requests
        ),
        replay.layer
      )
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(seen.map((r) => decode(r.body)), ["again", "again"])
      yield* Ref.set(attempts, 0)
      const once = memorySession(flaky, { retry })
      const error = yield* Effect.flip(Effect.provide(
        Session.put("http://h/r", { data: Stream.make(bytes("once")) }),
        once.layer
      ))
      assert.strictEqual(error._tag, "RetryError")
      assert.strictEqual((yield* once.requests).length, 1)
    }))

  it.effect("Body.file is read through the session's FileSystem, with its length and type", () =>
    Effect.gen(function*() {
      const content = bytes("file content, streamed")
      const fileSystem = FileSystem.layerNoop({
        stat: () => Effect.succeed({ type: "File", size: FileSystem.Size(content.length) } as FileSystem.File.Info),
        stream: (_path, options) => {
          const offset = Number(options?.offset ?? 0)
          const end = offset + Number(options?.bytesToRead ?? content.length)
          return Stream.make(content.subarray(offset, Math.min(end, offset + 5)), content.subarray(offset + 5, end))
        }
      })
      const { layer, requests } = memorySession(ok)
      const [, seen] = yield* Effect.provide(
        Effect.zip(
          Effect.all([
            Session.post("http://h/f", { data: Body.file("/data/f.txt", { contentType: "text/plain" }) }),
            Session.post("http://h/g", { data: Body.file("/data/f.txt", { offset: 5, length: 7 }) })
          ]),
          requests
        ),
        Layer.provide(layer, fileSystem)
      )
      assert.strictEqual(decode(seen[0]!.body), "file content, streamed")
      assert.strictEqual(seen[0]!.request.headers.get("content-length"), String(content.length))
      assert.strictEqual(seen[0]!.request.headers.get("content-type"), "text/plain")
      assert.isTrue(Body.isReplayable(seen[0]!.request.body))
      assert.deepStrictEqual(Body.describe(seen[0]!.request.body), { kind: "file", length: content.length })
      assert.strictEqual(decode(seen[1]!.body), "content")
    }))

  it.effect("Body.file without a FileSystem fails with InvalidRequest", () =>
    Effect.gen(function*() {
      const { layer } = memorySession(ok)
      const error = yield* Effect.flip(Effect.provide(Session.post("http://h/f", { data: Body.file("/x") }), layer))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, "FileSystem")
      const direct = yield* Effect.flip(Body.resolveFile(Body.file("/x"), Option.none()))
      assert.strictEqual(direct._tag, "InvalidRequest")
    }))

  it.effect("onUploadProgress follows each send, from zero", () =>
    Effect.gen(function*() {
      const reports = yield* Ref.make<ReadonlyArray<Progress.Progress>>([])
      const onUploadProgress = (p: Progress.Progress) => Ref.update(reports, (all) => [...all, p])
      const big = new Uint8Array(600 * 1024).fill(7)
      const [, seen] = yield* run(Session.post("http://h/p", { data: big, onUploadProgress }))
      assert.strictEqual(seen[0]!.body.length, big.length)
      assert.strictEqual(seen[0]!.request.headers.get("content-length"), String(big.length))
      const all = yield* Ref.get(reports)
      assert.deepStrictEqual(all.map((p) => p.transferred), [0, 262144, 524288, 614400])
      // The chunk that reaches the known total is the last report.
      assert.deepStrictEqual(all.map((p) => p.done), [false, false, false, true])
      assert.isTrue(all.every((p) => p.total === big.length && p.rate === 0))
      assert.strictEqual(yield* TestClock.currentTimeMillis, 0)
    }))
})
