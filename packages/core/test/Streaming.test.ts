/**
 * Streamed bodies without sockets: `iterLines` and `iterContent` give the same result however the
 * body is chunked (properties over random bodies and random splits), incremental decoding,
 * NDJSON, typed bodies and headers with Schema, apparent encodings, and progress reports.
 */
import { Progress, Response, Session } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Ref, Schema, Stream, TestClock } from "effect"
import * as fc from "fast-check"
import { memorySession } from "./utils/memory.js"
import { buffered, bytes, streamed } from "./utils/responses.js"

/** Cut `data` at the given positions. */
const split = (data: Uint8Array, cuts: ReadonlyArray<number>) => {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let start = 0
  for (const p of points) {
    out.push(data.subarray(start, p))
    start = p
  }
  out.push(data.subarray(start))
  return out
}

/** The reference: universal newlines over the whole text, a last empty piece dropped. */
const referenceLines = (text: string, delimiter?: string) => {
  const pieces = delimiter === undefined ? text.split(/\r\n|\r|\n/) : text.split(delimiter)
  if (pieces[pieces.length - 1] === "") pieces.pop()
  return pieces
}

const run = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

describe("iterLines and iterContent, whatever the chunking", () => {
  it.effect("iterLines gives the lines of the whole body for every split (text and bytes)", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.string({ unit: fc.constantFrom("a", "b", "\r", "\n", "é", "☃", " ") }),
          fc.array(fc.nat(), { maxLength: 8 }),
          async (text, cuts) => {
            const pieces = split(bytes(text), cuts)
            const expected = referenceLines(text)
            const lines = await Effect.runPromise(run(streamed(pieces).iterLines()))
            assert.deepStrictEqual(lines, expected)
            const raw = await Effect.runPromise(run(streamed(pieces).iterLines({ decodeUnicode: false })))
            assert.deepStrictEqual(raw.map((l) => new TextDecoder().decode(l)), expected)
          }
        ),
        { numRuns: 500 }
      )
    ))

  it.effect("iterLines with a delimiter splits on it exactly, wherever it straddles chunks", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.string({ unit: fc.constantFrom("a", "-", "=", "\n", "é") }),
          fc.constantFrom("-", "--", "-=-", "é"),
          fc.array(fc.nat(), { maxLength: 8 }),
          async (text, delimiter, cuts) => {
            const pieces = split(bytes(text), cuts)
            const expected = referenceLines(text, delimiter)
            assert.deepStrictEqual(await Effect.runPromise(run(streamed(pieces).iterLines({ delimiter }))), expected)
            const raw = await Effect.runPromise(run(streamed(pieces).iterLines({ delimiter, decodeUnicode: false })))
            assert.deepStrictEqual(raw.map((l) => new TextDecoder().decode(l)), expected)
          }
        ),
        { numRuns: 500 }
      )
    ))

  it.effect("does not copy requests' spurious empty line when CRLF straddles two chunks", () =>
    Effect.gen(function*() {
      // requests: iter_lines(chunk_size=2) over b"a\r\nb" gives [a, "", b].
      const lines = yield* run(streamed([bytes("a\r"), bytes("\nb")]).iterLines())
      assert.deepStrictEqual(lines, ["a", "b"])
      const delimited = yield* run(streamed([bytes("a-"), bytes("b")]).iterLines({ delimiter: "-" }))
      assert.deepStrictEqual(delimited, ["a", "b"])
    }))

  it.effect("iterContent rechunks to exact sizes for every split", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 300 }),
          fc.array(fc.nat(), { maxLength: 10 }),
          fc.integer({ min: 1, max: 64 }),
          async (data, cuts, size) => {
            const chunks = await Effect.runPromise(run(streamed(split(data, cuts)).iterContent(size)))
            assert.isTrue(chunks.slice(0, -1).every((c) => c.length === size))
            assert.isTrue(chunks.every((c) => c.length > 0))
            assert.deepStrictEqual(Buffer.concat(chunks), Buffer.from(data))
          }
        ),
        { numRuns: 300 }
      )
    ))

  it.effect("iterText decodes multi-byte characters split across chunks, with the charset", () =>
    Effect.gen(function*() {
      const utf8 = bytes("é☃")
      const text = yield* run(streamed([utf8.subarray(0, 1), utf8.subarray(1, 3), utf8.subarray(3)]).iterText())
      assert.strictEqual(text.join(""), "é☃")
      const latin1 = yield* run(streamed([new Uint8Array([0x63, 0xe9])], { "content-type": "text/plain" }).iterText())
      assert.strictEqual(latin1.join(""), "cé")
      const cp1252 = yield* run(
        streamed([new Uint8Array([0x93, 0x41, 0x94])], { "content-type": "text/plain; charset=windows-1252" })
          .iterText()
      )
      assert.strictEqual(cp1252.join(""), "“A”")
    }))

  it.effect("a chunk size that is not a positive integer fails typed and leaves the body unread", () =>
    Effect.gen(function*() {
      const r = streamed([bytes("abc")])
      for (const size of [0, -1, 1.5, NaN]) {
        assert.strictEqual((yield* Effect.flip(Stream.runDrain(r.iterContent(size))))._tag, "InvalidRequest")
      }
      assert.strictEqual((yield* r.buffer).text, "abc")
    }))
})

describe("NDJSON and typed bodies", () => {
  const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

  it.effect("iterJson parses each non-blank line; a bad line fails with JSONDecodeError holding it", () =>
    Effect.gen(function*() {
      const values = yield* run(streamed([bytes("{\"id\":1}\n\n{\"id\""), bytes(":2}\r\n  \n[3]")]).iterJson())
      assert.deepStrictEqual(values, [{ id: 1 }, { id: 2 }, [3]])
      const error = yield* Effect.flip(Stream.runDrain(streamed([bytes("{\"id\":1}\nnope\n")]).iterJson()))
      assert.strictEqual(error._tag, "JSONDecodeError")
      if (error._tag === "JSONDecodeError") assert.strictEqual(error.doc, "nope")
      const users = yield* run(
        Response.schemaNdjson(User)(streamed([bytes("{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}")]))
      )
      assert.deepStrictEqual(users, [{ id: 1, name: "a" }, { id: 2, name: "b" }])
    }))

  it.effect("schemaJson decodes the body, failing with ResponseDecodeError that shows paths, not values", () =>
    Effect.gen(function*() {
      const user = yield* Response.schemaJson(User)(buffered(bytes("{\"id\":1,\"name\":\"ada\"}")))
      assert.deepStrictEqual(user, { id: 1, name: "ada" })
      const fromStream = yield* Response.schemaJson(User)(streamed([bytes("{\"id\":2,"), bytes("\"name\":\"b\"}")]))
      assert.strictEqual(fromStream.id, 2)
      const mismatch = yield* Effect.flip(
        Response.schemaJson(User)(buffered(bytes("{\"id\":\"secret-token-123\",\"name\":\"x\"}")))
      )
      assert.strictEqual(mismatch._tag, "ResponseDecodeError")
      if (mismatch._tag === "ResponseDecodeError") {
        assert.strictEqual(mismatch.source, "body")
        assert.deepStrictEqual(mismatch.issues.map((i) => i.path), [["id"]])
        assert.strictEqual(mismatch.issues[0]!.message, "Expected number")
        assert.notInclude(mismatch.message, "secret-token-123")
        assert.include(mismatch.message, "[\"id\"]: Expected number")
      }
      const notJson = yield* Effect.flip(Response.schemaJson(User)(buffered(bytes("<html>"))))
      assert.strictEqual(notJson._tag, "JSONDecodeError")
    }))

  it.effect("schemaHeaders decodes lower-cased headers; sensitive values never reach a message", () =>
    Effect.gen(function*() {
      const Limits = Schema.Struct({ "x-rate-limit": Schema.NumberFromString, "content-type": Schema.String })
      const r = buffered(new Uint8Array(), { "X-Rate-Limit": "42", "Content-Type": "text/plain" })
      assert.deepStrictEqual(yield* Response.schemaHeaders(Limits)(r), {
        "x-rate-limit": 42,
        "content-type": "text/plain"
      })
      const Session_ = Schema.Struct({ "set-cookie": Schema.Literal("expected") })
      const error = yield* Effect.flip(
        Response.schemaHeaders(Session_)(buffered(new Uint8Array(), { "Set-Cookie": "sid=s3cr3t" }))
      )
      assert.strictEqual(error.source, "headers")
      assert.strictEqual(error.issues[0]!.message, "invalid value")
      assert.notInclude(JSON.stringify(error) + error.message + String(error), "s3cr3t")
    }))
})

describe("apparentEncoding", () => {
  it("is ascii, utf-8, a detected code page, or ISO-8859-1", () => {
    const latin1 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))
    assert.strictEqual(buffered(bytes("plain")).apparentEncoding, "ascii")
    assert.strictEqual(buffered(bytes("café ☃")).apparentEncoding, "utf-8")
    assert.strictEqual(buffered(latin1("café")).apparentEncoding, "ISO-8859-1")
    // Short texts give chardet weak or wrong guesses (Shift_JIS for these): latin-1 keeps every byte.
    assert.strictEqual(buffered(latin1("Grüße")).apparentEncoding, "ISO-8859-1")
    assert.strictEqual(buffered(latin1("naïve café")).apparentEncoding, "ISO-8859-1")
    const koi8 = new Uint8Array(Buffer.from("f0d2c9d7c5d42c20cbc1cb20c4c5ccc1", "hex"))
    assert.strictEqual(buffered(koi8).apparentEncoding, "KOI8-R")
    assert.strictEqual(buffered(koi8).text, "Привет, как дела")
    const quotes = latin1("\x93Smart quotes\x94 \x96 they\x92re typical of windows-1252 text, aren\x92t they?")
    assert.strictEqual(buffered(quotes).apparentEncoding, "windows-1252")
    assert.strictEqual(buffered(quotes).text, "“Smart quotes” – they’re typical of windows-1252 text, aren’t they?")
    const sjis = new Uint8Array(Buffer.from("82b182ea82cd93fa967b8cea82cc83658342835883678376815b82c582b78142", "hex"))
    assert.strictEqual(buffered(sjis).apparentEncoding, "Shift_JIS")
    assert.strictEqual(buffered(sjis).text, "これは日本語のティストプーです。")
    const utf16 = new Uint8Array([0xff, 0xfe, 0x68, 0, 0x69, 0])
    assert.strictEqual(buffered(utf16).apparentEncoding, "UTF-16LE")
    assert.strictEqual(buffered(utf16).text, "hi")
    // A charset from the headers wins; apparentEncoding is only the fallback.
    assert.strictEqual(buffered(latin1("café"), { "content-type": "text/plain; charset=utf-8" }).text, "caf\ufffd")
  })
})

describe("progress", () => {
  it.effect("Progress.tap reports the start, each chunk, and the end, with rate and fraction", () =>
    Effect.gen(function*() {
      const reports = yield* Ref.make<ReadonlyArray<Progress.Progress>>([])
      const source = Stream.make(new Uint8Array(100), new Uint8Array(300)).pipe(
        Stream.tap(() => Effect.sleep("1 second"))
      )
      const fiber = yield* Effect.fork(Stream.runDrain(
        source.pipe(Progress.tap({ total: 400 }, (p) => Ref.update(reports, (all) => [...all, p])))
      ))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      const seen = yield* Ref.get(reports)
      assert.deepStrictEqual(seen.map((p) => [p.transferred, p.fraction, p.done]), [
        [0, 0, false],
        [100, 0.25, false],
        [400, 1, true]
      ])
      assert.deepStrictEqual(seen.map((p) => p.elapsedMillis), [0, 1000, 2000])
      assert.strictEqual(seen[2]!.rate, 200)
      const unknown = yield* Ref.make<ReadonlyArray<Progress.Progress>>([])
      yield* Stream.runDrain(
        Stream.make(new Uint8Array(5)).pipe(
          Progress.tap({}, (p) => Ref.update(unknown, (all) => [...all, p]))
        )
      )
      const withoutTotal = yield* Ref.get(unknown)
      assert.isTrue(withoutTotal.every((p) => p.total === undefined && p.fraction === undefined))
      // Without a total, the end is reported when the stream ends.
      assert.deepStrictEqual(withoutTotal.map((p) => [p.transferred, p.done]), [[0, false], [5, false], [5, true]])
    }))

  it.effect("onDownloadProgress reports the final body of a buffered request, with Content-Length as total", () =>
    Effect.gen(function*() {
      const reports = yield* Ref.make<ReadonlyArray<Progress.Progress>>([])
      const { layer } = memorySession((req) =>
        Effect.succeed(
          new URL(req.url).pathname === "/start"
            ? { status: 302, headers: { location: "/final", "content-length": "7" }, body: "moved!!" }
            : {
              status: 200,
              headers: { "content-length": "6" },
              body: Stream.make(bytes("abc"), bytes("def"))
            }
        )
      )
      const response = yield* Effect.provide(
        Session.get("http://h/start", { onDownloadProgress: (p) => Ref.update(reports, (all) => [...all, p]) }),
        layer
      )
      assert.strictEqual(response.text, "abcdef")
      const seen = yield* Ref.get(reports)
      assert.deepStrictEqual(seen.map((p) => [p.transferred, p.total, p.done]), [
        [0, 6, false],
        [3, 6, false],
        [6, 6, true]
      ])
    }))
})
