/**
 * Content-Encoding and charsets against httpbin and raw sockets: gzip, deflate (zlib and raw), br
 * and chains on the buffered and the streamed path; the session's limits (size, ratio, number of
 * codings) against a gzip bomb; truncated, short and reset bodies; charsets and apparentEncoding.
 */
import { Session, SessionConfig } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { assert, describe, it, layer } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { randomBytes } from "node:crypto"
import * as zlib from "node:zlib"
import { sessionWithHttpbin } from "./utils/layers.js"
import { chunk, rawServer } from "./utils/raw.js"

const original = Buffer.concat([Buffer.from("héllo wörld ".repeat(300)), randomBytes(1024)])

const faultBody = (httpbin: Httpbin.HttpbinService, encoding: string, body: Uint8Array = original) =>
  httpbin.url(`/fault/body?b64=${encodeURIComponent(Buffer.from(body).toString("base64"))}&encoding=${encoding}`)

/** The body read through `Session.stream`, chunk by chunk. */
const streamed = (target: string) =>
  Effect.scoped(Effect.gen(function*() {
    const response = yield* Session.stream("GET", target)
    const chunks = yield* Stream.runCollect(response.body)
    return Buffer.concat(Chunk.toReadonlyArray(chunks))
  }))

const buffered = (target: string) => Effect.map(Session.get(target), (r) => Buffer.from(r.content))

const MiB = 1024 * 1024

layer(sessionWithHttpbin())("Content-Encoding", (it) => {
  it.effect("decodes gzip, deflate (zlib and raw), br and chains, buffered and streamed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      for (
        const encoding of [
          "gzip",
          "deflate",
          "deflate-raw",
          "br",
          "gzip,br",
          "deflate-raw,gzip,br",
          "br,deflate,gzip",
          "identity"
        ]
      ) {
        const target = faultBody(httpbin, encoding)
        assert.isTrue((yield* buffered(target)).equals(original), `buffered ${encoding}`)
        assert.isTrue((yield* streamed(target)).equals(original), `streamed ${encoding}`)
      }
    }))

  it.effect("caps the number of codings (maxEncodings), on both paths", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const target = faultBody(httpbin, "gzip,gzip,gzip", Buffer.from("layered"))
      const limited = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        SessionConfig.locally(effect, { limits: { maxEncodings: 2 } })
      const error = yield* Effect.flip(limited(buffered(target)))
      assert.strictEqual(error._tag, "ContentDecodingError")
      const streamError = yield* Effect.flip(limited(streamed(target)))
      assert.strictEqual(streamError._tag, "ContentDecodingError")
      assert.strictEqual((yield* buffered(target)).toString(), "layered")
    }))

  it.effect("a body that is not what its Content-Encoding says fails with ContentDecodingError", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const target = httpbin.url(
        `/fault/body?b64=${Buffer.from("this is not gzip at all").toString("base64")}&h=Content-Encoding:gzip`
      )
      assert.strictEqual((yield* Effect.flip(buffered(target)))._tag, "ContentDecodingError")
      assert.strictEqual((yield* Effect.flip(streamed(target)))._tag, "ContentDecodingError")
    }))

  it.effect("leaves a body with an unknown coding as it was sent", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const target = faultBody(httpbin, "x-custom", Buffer.from("raw"))
      const response = yield* Session.get(target)
      assert.strictEqual(response.headers.get("content-encoding"), "x-custom")
      assert.strictEqual(response.text, "raw")
    }))

  it.effect("a gzip bomb fails with ContentTooLarge at maxBodySize, buffered and streamed, without reading it all", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const bomb = httpbin.url(`/fault/gzip-bomb?decoded=${4 * 1024 * MiB}`)
      const limited = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        SessionConfig.locally(effect, { limits: { maxBodySize: 8 * MiB, maxDecompressionRatio: 1_000_000 } })
      const before = process.memoryUsage().rss
      const error = yield* Effect.flip(limited(buffered(bomb)))
      assert.strictEqual(error._tag, "ContentTooLarge")
      if (error._tag === "ContentTooLarge") assert.strictEqual(error.limit, 8 * MiB)
      const streamError = yield* Effect.flip(limited(streamed(bomb)))
      assert.strictEqual(streamError._tag, "ContentTooLarge")
      assert.isBelow(process.memoryUsage().rss - before, 256 * MiB)
    }))

  it.effect("a gzip bomb fails with ContentDecodingError past maxDecompressionRatio, on both paths", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const bomb = httpbin.url(`/fault/gzip-bomb?decoded=${1024 * MiB}`)
      const limited = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        SessionConfig.locally(effect, { limits: { maxDecompressionRatio: 100 } })
      const error = yield* Effect.flip(limited(buffered(bomb)))
      assert.strictEqual(error._tag, "ContentDecodingError")
      assert.include(error.message, "100 times")
      assert.strictEqual((yield* Effect.flip(limited(streamed(bomb))))._tag, "ContentDecodingError")
      // A small gzip body under the ratio floor (1 MiB) is fine at any ratio.
      const small = yield* limited(buffered(httpbin.url(`/fault/gzip-bomb?decoded=${512 * 1024}`)))
      assert.strictEqual(small.length, 512 * 1024)
    }))

  it.effect("a Content-Length above maxBodySize fails before the body is read", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const limited = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        SessionConfig.locally(effect, { limits: { maxBodySize: MiB } })
      const error = yield* Effect.flip(limited(buffered(httpbin.url(`/bytes/${2 * 1024 * MiB}`))))
      assert.strictEqual(error._tag, "ContentTooLarge")
      const chunked = yield* Effect.flip(limited(streamed(httpbin.url(`/stream-bytes/${4 * MiB}`))))
      assert.strictEqual(chunked._tag, "ContentTooLarge")
      assert.strictEqual((yield* limited(buffered(httpbin.url(`/bytes/${MiB}`)))).length, MiB)
    }))

  it.effect("a truncated chunked body fails with ChunkedEncodingError, buffered and streamed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const target = httpbin.url("/fault/truncated-chunked?bytes=4096&chunk_size=1000")
      assert.strictEqual((yield* Effect.flip(buffered(target)))._tag, "ChunkedEncodingError")
      assert.strictEqual((yield* Effect.flip(streamed(target)))._tag, "ChunkedEncodingError")
    }))

  it.effect("a body shorter than its Content-Length fails instead of being cut silently", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const target = httpbin.url("/fault/short-body?declared=4096&actual=1000")
      const error = yield* Effect.flip(buffered(target))
      assert.strictEqual(error._tag, "ChunkedEncodingError")
      assert.include(error.message, "/fault/short-body")
      assert.strictEqual((yield* Effect.flip(streamed(target)))._tag, "ChunkedEncodingError")
      const empty = yield* Effect.flip(buffered(httpbin.url("/fault/short-body?declared=10&actual=0")))
      assert.strictEqual(empty._tag, "ChunkedEncodingError")
    }))

  it.effect("a reset in the middle of the body fails with ChunkedEncodingError", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const target = httpbin.url("/fault/reset-mid-body?bytes=2048&declared=100000")
      assert.strictEqual((yield* Effect.flip(buffered(target)))._tag, "ChunkedEncodingError")
      assert.strictEqual((yield* Effect.flip(streamed(target)))._tag, "ChunkedEncodingError")
    }))
})

layer(sessionWithHttpbin())("Charsets", (it) => {
  it.effect("takes the charset from Content-Type, text/* defaulting to ISO-8859-1", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const text = "naïve – ½ € ü"
      for (const charset of ["utf-8", "utf-16le", "windows-1252"]) {
        const response = yield* Session.get(
          httpbin.url(`/fault/text?text=${encodeURIComponent(text)}&charset=${charset}`)
        )
        assert.strictEqual(response.encoding, charset)
        assert.strictEqual(response.text, text, charset)
      }
      const latin1 = yield* Session.get(httpbin.url("/fault/latin1"))
      assert.strictEqual(latin1.text, "café")
      // text/* without a charset is ISO-8859-1, as in requests, even for UTF-8 bytes.
      const noCharset = yield* Session.get(httpbin.url(`/fault/text?text=${encodeURIComponent("é")}`))
      assert.strictEqual(noCharset.encoding, "ISO-8859-1")
      assert.strictEqual(noCharset.text, "Ã©")
      assert.strictEqual(noCharset.apparentEncoding, "utf-8")
      assert.strictEqual(noCharset.withEncoding(noCharset.apparentEncoding).text, "é")
    }))

  it.effect("detects the apparent encoding of a body without a charset", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const raw = (bytes: Buffer) =>
        Session.get(httpbin.url(`/fault/body?b64=${encodeURIComponent(bytes.toString("base64"))}`))
      const french = "Le café était très bon, à côté de la forêt où les élèves jouaient. Ça coûte cher. "
      const latin1 = yield* raw(Buffer.from(french.repeat(3), "latin1"))
      assert.strictEqual(latin1.encoding, undefined)
      assert.strictEqual(latin1.apparentEncoding, "ISO-8859-1")
      assert.strictEqual(latin1.text, french.repeat(3))
      const quotes = Buffer.from(
        "He said \x93hello\x94 \x96 it\x92s a nice day, isn\x92t it? The caf\xe9 was open.",
        "latin1"
      )
      const cp1252 = yield* raw(quotes)
      assert.strictEqual(cp1252.apparentEncoding, "windows-1252")
      assert.strictEqual(cp1252.text, "He said “hello” – it’s a nice day, isn’t it? The café was open.")
      const utf8 = yield* raw(Buffer.from(french))
      assert.strictEqual(utf8.apparentEncoding, "utf-8")
      assert.strictEqual(utf8.text, french)
      assert.strictEqual((yield* raw(Buffer.from("plain"))).apparentEncoding, "ascii")
    }))

  it.effect("iterText and iterLines decode streamed text with the charset, UTF-16 included", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const text = "première\nseconde ligne\r\ntroisième"
      const lines = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream(
          "GET",
          httpbin.url(`/fault/text?text=${encodeURIComponent(text)}&charset=utf-16le`)
        )
        return Chunk.toReadonlyArray(yield* Stream.runCollect(response.iterLines()))
      }))
      assert.deepStrictEqual(lines, ["première", "seconde ligne", "troisième"])
    }))
})

describe("decoding over a raw socket", () => {
  it.live("decodes deflate whose first chunk is a single byte, zlib-wrapped or raw", () =>
    Effect.gen(function*() {
      const payload = Buffer.from("deflated ".repeat(500))
      const bodies = { "/zlib": zlib.deflateSync(payload), "/raw": zlib.deflateRawSync(payload) }
      const server = yield* rawServer(({ head, writePieces }) => {
        const body = bodies[head.split(" ")[1] as keyof typeof bodies]
        return writePieces([
          "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n",
          chunk(body.subarray(0, 1)),
          chunk(body.subarray(1, 2)),
          chunk(body.subarray(2)),
          "0\r\n\r\n"
        ], 15)
      })
      for (const path of ["/zlib", "/raw"]) {
        assert.isTrue((yield* buffered(server.url(path))).equals(payload), `buffered ${path}`)
        assert.isTrue((yield* streamed(server.url(path))).equals(payload), `streamed ${path}`)
      }
    }).pipe(Effect.scoped, Effect.provide(sessionWithHttpbin())))

  it.live("a gzip body cut mid-stream by the server fails typed, not with a partial body", () =>
    Effect.gen(function*() {
      const gz = zlib.gzipSync(randomBytes(64 * 1024))
      const server = yield* rawServer(({ socket, writePieces }) =>
        writePieces([
          `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`,
          gz.subarray(0, 1000)
        ], 10).then(() => {
          socket.end()
        })
      )
      const error = yield* Effect.flip(buffered(server.url("/")))
      assert.strictEqual(error._tag, "ChunkedEncodingError")
      assert.strictEqual((yield* Effect.flip(streamed(server.url("/"))))._tag, "ChunkedEncodingError")
    }).pipe(Effect.scoped, Effect.provide(sessionWithHttpbin())))
})
