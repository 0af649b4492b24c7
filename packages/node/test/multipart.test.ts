/**
 * Multipart `files` against httpbin (which parses the body back into `form` and `files`) and a
 * capturing node:http server (which shows the exact bytes): requests' forms, fields first,
 * streamed file parts with and without a known length, escaping of hostile names, replay after a
 * 307, and requests' ValueErrors as InvalidRequest.
 */
import { Body, Multipart, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { assert, layer } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { sessionWithHttpbin } from "./utils/layers.js"

interface Echo {
  readonly form: Record<string, string | Array<string>>
  readonly files: Record<string, string | Array<string>>
  readonly headers: Record<string, string>
}

const echo = (response: { readonly json: Effect.Effect<unknown, unknown> }) =>
  Effect.map(response.json, (j) => j as Echo)

/** httpbin reports non-UTF-8 file contents as a data URL. */
const dataUrl = (bytes: Uint8Array, type = "application/octet-stream") =>
  `data:${type};base64,${Buffer.from(bytes).toString("base64")}`

/** A node:http server that answers every request with what it received, body included (base64). */
const captureServer = Effect.acquireRelease(
  Effect.async<http.Server>((resume) => {
    const server = http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        res.setHeader("content-type", "application/json")
        res.end(JSON.stringify({ headers: req.headers, body: Buffer.concat(chunks).toString("base64") }))
      })
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`))

const captured = (target: string, options: Session.RequestOptions) =>
  Effect.gen(function*() {
    const response = yield* Session.post(target, options)
    const seen = (yield* response.json) as { headers: Record<string, string>; body: string }
    return { headers: seen.headers, body: Buffer.from(seen.body, "base64") }
  })

const payload = randomBytes(2 * 1024 * 1024 + 3)

layer(sessionWithHttpbin())("multipart files", (it) => {
  it.effect("every form of requests' files, with data fields, parses back on the server", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const binary = new Uint8Array([0, 1, 2, 0xff, 0xfe, 13, 10])
      const response = yield* Session.post(httpbin.url("/post"), {
        data: { field: "value", many: ["1", "2"], number: 3, flag: false, skipped: null },
        files: [
          ["plain", "plain text"],
          ["named", ["report.csv", "a,b\n1,2\n"]],
          ["typed", ["data.bin", binary, "application/x-thing"]],
          ["headed", ["h.txt", "with headers", "text/plain", { "X-Part": "yes" }]],
          ["number", 42],
          ["dropped", null],
          ["asField", [null, "not a file"]]
        ]
      })
      const body = yield* echo(response)
      assert.deepStrictEqual(body.form, {
        field: "value",
        many: ["1", "2"],
        number: "3",
        flag: "false",
        asField: "not a file"
      })
      assert.deepStrictEqual(body.files, {
        plain: "plain text",
        named: "a,b\n1,2\n",
        typed: dataUrl(binary, "application/x-thing"),
        headed: "with headers",
        number: "42"
      })
      assert.match(body.headers["Content-Type"]!, /^multipart\/form-data; boundary=[0-9a-f]{32}$/)
      const logged = Option.getOrThrow(yield* httpbin.lastRequest)
      assert.isDefined(logged.rawHeaders.find(([n]) => n.toLowerCase() === "content-length"))
    }))

  it.scoped("file parts stream from Body.file and from Streams: with a length, or chunked", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "effect-requests-multipart-"))),
        (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
      )
      const file = path.join(dir, "big.bin")
      yield* Effect.promise(() => fs.writeFile(file, payload))
      const sized = yield* Session.post(httpbin.url("/post"), {
        data: { note: "sized" },
        files: { upload: Body.file(file, { contentType: "application/x-big" }) }
      })
      const sizedBody = yield* echo(sized)
      assert.deepStrictEqual(sizedBody.form, { note: "sized" })
      assert.strictEqual(sizedBody.files.upload, dataUrl(payload, "application/x-big"))
      const sizedLog = Option.getOrThrow(yield* httpbin.lastRequest)
      const length = sizedLog.rawHeaders.find(([n]) => n.toLowerCase() === "content-length")?.[1]
      assert.strictEqual(Number(length), sizedLog.bodyBytes)
      assert.isAbove(sizedLog.bodyBytes, payload.length)

      const pieces = [payload.subarray(0, 1000), payload.subarray(1000)]
      const chunked = yield* Session.post(httpbin.url("/post"), {
        files: { upload: ["s.bin", Stream.fromIterable(pieces)] }
      })
      assert.strictEqual((yield* echo(chunked)).files.upload, dataUrl(payload))
      const chunkedLog = Option.getOrThrow(yield* httpbin.lastRequest)
      assert.deepInclude(chunkedLog.rawHeaders, ["transfer-encoding", "chunked"])
      const withLength = yield* Session.post(httpbin.url("/post"), {
        files: { upload: ["s.bin", Body.stream(Stream.fromIterable(pieces), { length: payload.length })] }
      })
      assert.strictEqual((yield* echo(withLength)).files.upload, dataUrl(payload))
      const lengthLog = Option.getOrThrow(yield* httpbin.lastRequest)
      assert.isUndefined(lengthLog.rawHeaders.find(([n]) => n.toLowerCase() === "transfer-encoding"))
    }))

  it.effect("a replayable multipart body is sent again after a 307; a one-shot part fails typed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const response = yield* Session.post(httpbin.url("/redirect-to?url=/post&status_code=307"), {
        data: { a: "1" },
        files: { f: ["f.txt", "content"] }
      })
      assert.deepStrictEqual(response.history.map((r) => r.status), [307])
      const body = yield* echo(response)
      assert.deepStrictEqual([body.form, body.files], [{ a: "1" }, { f: "content" }])
      const error = yield* Effect.flip(
        Session.post(httpbin.url("/redirect-to?url=/post&status_code=307"), {
          files: { f: ["f.txt", Stream.make(new Uint8Array([1, 2, 3]))] }
        })
      )
      assert.strictEqual(error._tag, "UnrewindableBodyError")
    }))

  it.scoped("hostile names and filenames cannot inject a header or a part", () =>
    Effect.gen(function*() {
      const target = yield* captureServer
      const hostile = "evil\"; name=\"x\r\nX-Injected: 1\r\n\r\n--boundary\r\nContent-Type: text/html"
      const { body, headers } = yield* captured(target, {
        files: [[hostile, [hostile + ".txt", "payload"]], ["naïve ☃", ["résumé ☃.pdf", "unicode"]]]
      })
      const boundary = /boundary=([0-9a-f]{32})$/.exec(headers["content-type"]!)![1]!
      const text = body.toString("utf8")
      const parts = text.split(`--${boundary}`)
      // Preamble (empty), two parts, and the closing "--\r\n".
      assert.deepStrictEqual([parts.length, parts[0], parts[3]], [4, "", "--\r\n"])
      const escaped = "evil%22; name=%22x%0D%0AX-Injected: 1%0D%0A%0D%0A--boundary%0D%0AContent-Type: text/html"
      assert.strictEqual(
        parts[1],
        `\r\nContent-Disposition: form-data; name="${escaped}"; filename="${escaped}.txt"\r\n\r\npayload\r\n`
      )
      assert.strictEqual(
        parts[2],
        "\r\nContent-Disposition: form-data; name=\"naïve ☃\"; filename=\"résumé ☃.pdf\"\r\n\r\nunicode\r\n"
      )
      assert.notInclude(text, "\r\nX-Injected")
      assert.strictEqual(headers["content-length"], String(body.length))
    }))

  it.scoped("a part header or content type with CR/LF fails with InvalidHeader, nothing sent", () =>
    Effect.gen(function*() {
      const target = yield* captureServer
      const header = yield* Effect.flip(
        Session.post(target, { files: { f: ["f", "x", "text/plain", { "X-A": "a\r\nX-B: b" }] } })
      )
      assert.strictEqual(header._tag, "InvalidHeader")
      const type = yield* Effect.flip(Session.post(target, { files: { f: ["f", "x", "text/plain\r\nX-B: b"] } }))
      assert.strictEqual(type._tag, "InvalidHeader")
    }))

  it.effect("requests' ValueErrors become InvalidRequest", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const fail = (options: Session.RequestOptions) =>
        Effect.map(Effect.flip(Session.post(httpbin.url("/post"), options)), (e) => [e._tag, e.message])
      assert.deepStrictEqual(yield* fail({ files: {} }), ["InvalidRequest", "Files must be provided."])
      assert.deepStrictEqual(yield* fail({ files: [] }), ["InvalidRequest", "Files must be provided."])
      assert.deepStrictEqual(yield* fail({ data: "text", files: { f: "x" } }), [
        "InvalidRequest",
        "Data must not be a string."
      ])
      assert.deepStrictEqual(yield* fail({ data: Stream.make(new Uint8Array(1)), files: { f: "x" } }), [
        "InvalidRequest",
        "Streamed bodies and files are mutually exclusive."
      ])
      assert.strictEqual((yield* fail({ files: [["only-one"]] as any }))[0], "InvalidRequest")
      assert.strictEqual((yield* fail({ files: { f: ["a", "b", "c", {}, "e"] as any } }))[0], "InvalidRequest")
    }))

  it.effect("files win over json, as in requests", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const body = yield* echo(yield* Session.post(httpbin.url("/post"), { json: { a: 1 }, files: { f: "x" } }))
      assert.deepStrictEqual(body.files, { f: "x" })
      assert.match(body.headers["Content-Type"]!, /^multipart\/form-data/)
    }))

  it.effect("Multipart.encode gives the same bytes urllib3 writes for a fixed boundary", () =>
    Effect.gen(function*() {
      const { body, contentType } = yield* Multipart.encode({
        data: { a: "1" },
        files: { f: ["f.txt", "hi", "text/plain"] },
        boundary: "b0undary"
      })
      assert.strictEqual(contentType, "multipart/form-data; boundary=b0undary")
      assert.strictEqual(body._tag, "Bytes")
      const expected = "--b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" +
        "--b0undary\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
        "--b0undary--\r\n"
      if (body._tag === "Bytes") assert.strictEqual(Buffer.from(body.bytes).toString(), expected)
    }))
})
