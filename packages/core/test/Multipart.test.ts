/**
 * The multipart encoder: urllib3's exact bytes for a fixed boundary, requests' forms and order,
 * HTML5 escaping, lengths and replayability from the parts, streamed parts, and requests'
 * ValueErrors as typed failures. A property: whatever names and contents, a parser splitting on
 * the boundary gets every part back, one part per entry and nothing injected.
 */
import { Body, Multipart, Session } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import * as fc from "fast-check"
import { decode, memorySession } from "./utils/memory.js"

const bytes = (s: string) => new TextEncoder().encode(s)

/** The bytes of a body, however it is made. */
const bodyBytes = (body: Body.Body) =>
  Effect.gen(function*() {
    const stream = yield* Body.toStream(body)
    const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(stream))
    return Buffer.concat(chunks)
  })

const encode = (data: unknown, files: unknown) =>
  Effect.flatMap(
    Multipart.encode({ data, files, boundary: "B" }),
    ({ body }) => Effect.map(bodyBytes(body), (b) => ({ body, text: b.toString("utf8") }))
  )

const part = (headers: string, content: string) => `--B\r\n${headers}\r\n\r\n${content}\r\n`

describe("Multipart.encode", () => {
  it.effect("writes fields first, then files in requests' forms, as urllib3 does", () =>
    Effect.gen(function*() {
      const { text } = yield* encode(
        { f: "v", list: ["1", "2"], n: 1.5, b: true, raw: bytes("é"), none: null },
        [
          ["plain", "x"],
          ["tuple2", ["a.txt", "y"]],
          ["tuple3", ["b.bin", new Uint8Array([0, 1]), "application/x-b"]],
          ["tuple4", ["c.txt", "z", null, { "X-Extra": "1", "content-type": "ignored/by-urllib3" }]],
          ["skipped", null],
          ["field", [null, "as a field"]],
          ["num", 7]
        ]
      )
      assert.strictEqual(
        text,
        part("Content-Disposition: form-data; name=\"f\"", "v") +
          part("Content-Disposition: form-data; name=\"list\"", "1") +
          part("Content-Disposition: form-data; name=\"list\"", "2") +
          part("Content-Disposition: form-data; name=\"n\"", "1.5") +
          part("Content-Disposition: form-data; name=\"b\"", "true") +
          part("Content-Disposition: form-data; name=\"raw\"", "é") +
          part("Content-Disposition: form-data; name=\"plain\"; filename=\"plain\"", "x") +
          part("Content-Disposition: form-data; name=\"tuple2\"; filename=\"a.txt\"", "y") +
          part(
            "Content-Disposition: form-data; name=\"tuple3\"; filename=\"b.bin\"\r\nContent-Type: application/x-b",
            "\0\x01"
          ) +
          part("Content-Disposition: form-data; name=\"tuple4\"; filename=\"c.txt\"\r\nX-Extra: 1", "z") +
          part("Content-Disposition: form-data; name=\"field\"", "as a field") +
          part("Content-Disposition: form-data; name=\"num\"; filename=\"num\"", "7") +
          "--B--\r\n"
      )
    }))

  it.effect("escapes quotes, CR and LF in names and filenames as HTML5 does, keeping other UTF-8", () =>
    Effect.gen(function*() {
      const { text } = yield* encode({ "a\"b": "1" }, { "x\r\ny": ["f\"\r\n☃.txt", "c"] })
      assert.strictEqual(
        text,
        part("Content-Disposition: form-data; name=\"a%22b\"", "1") +
          part("Content-Disposition: form-data; name=\"x%0D%0Ay\"; filename=\"f%22%0D%0A☃.txt\"", "c") +
          "--B--\r\n"
      )
      assert.strictEqual(Multipart.escapeParam("\"\r\n"), "%22%0D%0A")
    }))

  it.effect("a Body.file part takes its base name; a Stream part is sent once and chunked", () =>
    Effect.gen(function*() {
      const streamed = yield* Multipart.encode({
        files: { s: ["s.bin", Stream.make(bytes("ab"), bytes("cd"))] },
        boundary: "B"
      })
      assert.strictEqual(streamed.body._tag, "Stream")
      assert.isUndefined(Body.length(streamed.body))
      assert.isFalse(Body.isReplayable(streamed.body))
      assert.strictEqual(
        (yield* bodyBytes(streamed.body)).toString(),
        part("Content-Disposition: form-data; name=\"s\"; filename=\"s.bin\"", "abcd") + "--B--\r\n"
      )
      assert.strictEqual((yield* Effect.flip(bodyBytes(streamed.body)))._tag, "UnrewindableBodyError")
      const sized = yield* Multipart.encode({
        files: { s: Body.replayable(() => Stream.make(bytes("abcd")), { length: 4, contentType: "x/y" }) },
        boundary: "B"
      })
      const expected = part("Content-Disposition: form-data; name=\"s\"; filename=\"s\"\r\nContent-Type: x/y", "abcd") +
        "--B--\r\n"
      assert.strictEqual(Body.length(sized.body), Buffer.byteLength(expected))
      assert.isTrue(Body.isReplayable(sized.body))
      assert.strictEqual((yield* bodyBytes(sized.body)).toString(), expected)
      assert.strictEqual((yield* bodyBytes(sized.body)).toString(), expected)
      assert.strictEqual(Body.baseName("/tmp/dir/report.pdf"), "report.pdf")
      assert.strictEqual(Body.baseName("C:\\dir\\report.pdf"), "report.pdf")
    }))

  it.effect("sends large in-memory parts as they are, in a replayable body with a length", () =>
    Effect.gen(function*() {
      const big = new Uint8Array(3 * 1024 * 1024).fill(65)
      const { body } = yield* Multipart.encode({ files: { big }, boundary: "B" })
      assert.strictEqual(body._tag, "Stream")
      assert.isTrue(Body.isReplayable(body))
      const stream = yield* Body.toStream(body)
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(stream))
      // The big part is one chunk, not copied: the very same array.
      assert.isTrue(chunks.some((c) => c === big))
      const total = chunks.reduce((n, c) => n + c.length, 0)
      assert.strictEqual(Body.length(body), total)
    }))

  it.effect("draws a fresh 128-bit boundary each time", () =>
    Effect.gen(function*() {
      const a = Multipart.boundary()
      const b = Multipart.boundary()
      assert.match(a, /^[0-9a-f]{32}$/)
      assert.notStrictEqual(a, b)
      const { contentType } = yield* Multipart.encode({ files: { f: "x" } })
      assert.match(contentType, /^multipart\/form-data; boundary=[0-9a-f]{32}$/)
    }))

  it.effect("fails typed on requests' ValueErrors and on bad input", () =>
    Effect.gen(function*() {
      const fail = (options: Parameters<typeof Multipart.encode>[0]) =>
        Effect.map(Effect.flip(Multipart.encode(options)), (e) => [e._tag, e.message] as const)
      assert.deepStrictEqual(yield* fail({ files: {} }), ["InvalidRequest", "Files must be provided."])
      assert.deepStrictEqual(yield* fail({ data: "s", files: { f: "x" } }), [
        "InvalidRequest",
        "Data must not be a string."
      ])
      assert.deepStrictEqual(yield* fail({ data: bytes("s"), files: { f: "x" } }), [
        "InvalidRequest",
        "Data must not be a string."
      ])
      assert.deepStrictEqual(yield* fail({ data: Stream.empty, files: { f: "x" } }), [
        "InvalidRequest",
        "Streamed bodies and files are mutually exclusive."
      ])
      assert.strictEqual((yield* fail({ files: [["a"]] }))[0], "InvalidRequest")
      assert.strictEqual((yield* fail({ files: "f" }))[0], "InvalidRequest")
      assert.strictEqual((yield* fail({ files: { f: ["only"] } }))[0], "InvalidRequest")
      assert.strictEqual((yield* fail({ files: { f: { some: "object" } } }))[0], "InvalidRequest")
      assert.strictEqual((yield* fail({ files: { f: "x" }, boundary: "bad boundary\r\n" }))[0], "InvalidRequest")
      assert.strictEqual((yield* fail({ files: { f: ["n", "x", "a/b\r\nX: y"] } }))[0], "InvalidHeader")
      assert.strictEqual((yield* fail({ files: { f: ["n", "x", null, { "Bad Name": "v" }] } }))[0], "InvalidHeader")
      assert.strictEqual((yield* fail({ files: { f: ["n", "x", null, { X: "a\nb" }] } }))[0], "InvalidHeader")
      assert.strictEqual((yield* fail({ files: { f: Body.file("/x") } }))[0], "InvalidRequest")
    }))
})

describe("files through a session", () => {
  it.effect("sets the multipart Content-Type unless the user set one, and the exact Content-Length", () =>
    Effect.gen(function*() {
      const { layer, requests } = memorySession(() => Effect.succeed({ status: 200 }))
      const seen = yield* Effect.provide(
        Effect.zipRight(
          Effect.all([
            Session.post("http://h/a", { data: { k: "v" }, files: { f: ["f.txt", "hello"] } }),
            Session.post("http://h/b", { files: { f: "x" }, headers: { "Content-Type": "multipart/mixed" } })
          ]),
          requests
        ),
        layer
      )
      const [a, b] = seen
      assert.match(a!.request.headers.get("content-type")!, /^multipart\/form-data; boundary=[0-9a-f]{32}$/)
      assert.strictEqual(a!.request.headers.get("content-length"), String(a!.body.length))
      assert.include(decode(a!.body), "name=\"k\"\r\n\r\nv\r\n")
      assert.strictEqual(b!.request.headers.get("content-type"), "multipart/mixed")
    }))
})

/** A minimal multipart parser, as a server would split the body. */
const parse = (body: string, boundary: string) => {
  const parts = body.split(`--${boundary}`)
  assert.strictEqual(parts[0], "")
  assert.strictEqual(parts[parts.length - 1], "--\r\n")
  return parts.slice(1, -1).map((p) => {
    assert.isTrue(p.startsWith("\r\n") && p.endsWith("\r\n"))
    const inner = p.slice(2, -2)
    const end = inner.indexOf("\r\n\r\n")
    return { headers: inner.slice(0, end).split("\r\n"), content: inner.slice(end + 4) }
  })
}

describe("Multipart property", () => {
  it.effect("any names, filenames and contents come back part for part, with nothing injected", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.tuple(
              fc.string({ unit: fc.constantFrom("a", "\"", "\r", "\n", ":", ";", "é", "☃", " ", "-") }),
              fc.option(fc.string({ unit: fc.constantFrom("x", "\"", "\r", "\n", "=", "é") }), { nil: null }),
              fc.string({ unit: fc.constantFrom("c", "\r\n", "-", "é") })
            ),
            { minLength: 1, maxLength: 6 }
          ),
          async (entries) => {
            const files = entries.map(([name, filename, content]) => [name, [filename, content]] as const)
            const { body, contentType } = await Effect.runPromise(Multipart.encode({ files }))
            const boundary = contentType.split("boundary=")[1]!
            const text = (await Effect.runPromise(bodyBytes(body))).toString("utf8")
            const parsed = parse(text, boundary)
            assert.strictEqual(parsed.length, entries.length)
            parsed.forEach((p, i) => {
              const [name, filename, content] = entries[i]!
              const disposition = `Content-Disposition: form-data; name="${Multipart.escapeParam(name)}"` +
                (filename === null ? "" : `; filename="${Multipart.escapeParam(filename)}"`)
              assert.deepStrictEqual(p.headers, [disposition])
              assert.strictEqual(p.content, content)
            })
          }
        ),
        { numRuns: 200 }
      )
    ))
})
