import { PreparedRequest, Response } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { buffered, bytes, streamed } from "./utils/responses.js"

describe("Response", () => {
  it("decodes text with the charset, text/* as ISO-8859-1, and lets encoding be changed", () => {
    const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9])
    const r = buffered(latin1, { "content-type": "text/plain" })
    assert.strictEqual(r.encoding, "ISO-8859-1")
    assert.strictEqual(r.text, "café")
    assert.strictEqual(buffered(bytes("café"), { "content-type": "text/plain; charset=utf-8" }).text, "café")
    assert.strictEqual(r.withEncoding("utf-8").text, "caf\ufffd")
    assert.strictEqual(buffered(new Uint8Array([0x80])).withEncoding("latin1").text, "\u0080")
    assert.strictEqual(buffered(latin1).encoding, undefined)
    assert.strictEqual(buffered(latin1).apparentEncoding, "ISO-8859-1")
    assert.strictEqual(buffered(latin1).text, "café")
    assert.strictEqual(buffered(bytes("x")).withEncoding("no-such-codec").text, "x")
  })

  it.effect("parses JSON, detecting UTF-16 and UTF-32 without a charset", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* buffered(bytes("{\"a\": [1]}")).json, { a: [1] })
      const utf16le = new Uint8Array(Buffer.from("{\"é\": 1}", "utf16le"))
      assert.deepStrictEqual(yield* buffered(utf16le).json, { é: 1 })
      const utf32be = new Uint8Array([0, 0, 0, 0x5b, 0, 0, 0, 0x31, 0, 0, 0, 0x5d])
      assert.deepStrictEqual(yield* buffered(utf32be).json, [1])
    }))

  it.effect("fails with JSONDecodeError carrying the document but not echoing it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(buffered(bytes("secret-token not json")).json)
      assert.strictEqual(error._tag, "JSONDecodeError")
      assert.strictEqual(error.doc, "secret-token not json")
      assert.notInclude(error.message, "secret-token")
      assert.strictEqual((yield* Effect.flip(buffered(new Uint8Array()).json))._tag, "JSONDecodeError")
    }))

  it.effect("raiseForStatus uses requests' message", () =>
    Effect.gen(function*() {
      const client = yield* Effect.flip(Response.raiseForStatus(buffered(new Uint8Array(), {}, 404, "Not Found")))
      assert.strictEqual(client.message, "404 Client Error: Not Found for url: http://h/x")
      const server = yield* Effect.flip(
        Response.raiseForStatus(buffered(new Uint8Array(), {}, 503, "Service Unavailable"))
      )
      assert.strictEqual(server.message, "503 Server Error: Service Unavailable for url: http://h/x")
      assert.strictEqual((yield* Response.raiseForStatus(buffered(new Uint8Array(), {}, 302))).status, 302)
      assert.isTrue(buffered(new Uint8Array(), {}, 600).ok)
    }))

  it("parses Link headers like requests", () => {
    assert.deepStrictEqual(Response.parseHeaderLinks("<u>;"), [{ url: "u" }])
    assert.deepStrictEqual(Response.parseHeaderLinks("<a>; type=\"x\",<b>;"), [{ url: "a", type: "x" }, { url: "b" }])
    const r = buffered(new Uint8Array(), { link: "<http://h/2>; rel=\"next\", <http://h/9>; rel=\"last\"" })
    assert.strictEqual(r.links.next?.url, "http://h/2")
    assert.strictEqual(r.links.last?.url, "http://h/9")
  })

  it.effect("iterContent rechunks exactly", () =>
    Effect.gen(function*() {
      const chunks = yield* Stream.runCollect(streamed([bytes("abcde"), bytes("fg"), bytes("hijkl")]).iterContent(4))
      assert.deepStrictEqual(Chunk.toReadonlyArray(chunks).map((c) => new TextDecoder().decode(c)), [
        "abcd",
        "efgh",
        "ijkl"
      ])
    }))

  it.effect("iterLines gives the same lines wherever the chunks split", () =>
    Effect.gen(function*() {
      const body = "a\r\nb\n\nc\rd\r\n\r\nlast"
      const expected = ["a", "b", "", "c", "d", "", "last"]
      const raw = bytes(body)
      for (let size = 1; size <= raw.length; size++) {
        const pieces: Array<Uint8Array> = []
        for (let i = 0; i < raw.length; i += size) pieces.push(raw.slice(i, i + size))
        const lines = yield* Stream.runCollect(streamed(pieces).iterLines())
        assert.deepStrictEqual(Chunk.toReadonlyArray(lines), expected, `chunk size ${size}`)
      }
      const delimited = yield* Stream.runCollect(
        streamed([bytes("a-"), bytes("-b-"), bytes("c")]).iterLines({ delimiter: "--" })
      )
      assert.deepStrictEqual(Chunk.toReadonlyArray(delimited), ["a", "b-c"])
    }))

  it.effect("a streamed body can be read once", () =>
    Effect.gen(function*() {
      const r = streamed([bytes("x")])
      yield* Stream.runDrain(r.body)
      const error = yield* Effect.flip(Stream.runDrain(r.body))
      assert.strictEqual(error._tag, "StreamConsumedError")
      assert.strictEqual((yield* Effect.flip(r.buffer))._tag, "StreamConsumedError")
    }))

  it("never shows secrets in toJSON or toString", () => {
    const secret = PreparedRequest.make({ method: "GET", url: "http://h/" })
      .setHeader("Authorization", "Bearer s3cr3t")
      .setHeader("Cookie", "sid=s3cr3t")
    const r = Response.make({
      ...buffered(new Uint8Array(), { "set-cookie": "sid=s3cr3t" }).fields,
      request: secret,
      content: new Uint8Array()
    })
    const text = JSON.stringify(r) + String(r) + JSON.stringify(secret) + String(secret)
    assert.notInclude(text, "s3cr3t")
    assert.include(JSON.stringify(r), "<redacted>")
  })
})
