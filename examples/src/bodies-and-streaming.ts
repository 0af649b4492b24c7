/**
 * Bodies and streaming: what `data`, `json` and `files` send, how a streamed response is read
 * (and released), what the decoding limits stop, and a progress bar for a large download.
 * Runs against an embedded httpbin, no network.
 *
 *   pnpm tsx examples/src/bodies-and-streaming.ts
 */
import { Body, Response, Session, SessionConfig } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeSession } from "@effect-requests/node"
import { NodeRuntime } from "@effect/platform-node"
import { Chunk, ConfigProvider, Console, Effect, Layer, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { progressBar } from "./support/progress.js"

const title = (text: string) => Console.log(`\n== ${text}`)
const show = (label: string, value: unknown) =>
  Console.log(`  ${label.padEnd(40)} ${typeof value === "string" ? value : JSON.stringify(value)}`)

interface Upload {
  readonly bytes: number
  readonly sha256: string
}

/** Every kind of `data`: /upload answers with the byte count and SHA-256 it received. */
const requestBodies = Effect.gen(function*() {
  yield* title("Request bodies (data, json, Stream, Body.file)")
  const httpbin = yield* Httpbin.Httpbin
  const uploaded = (data: Session.Data) =>
    Effect.flatMap(Session.post(httpbin.url("/upload"), { data }), (r) => Effect.map(r.json, (j) => j as Upload))
  const form = yield* Effect.flatMap(
    Session.post(httpbin.url("/post"), { data: { q: "a b", n: 1, ok: true } }),
    (r) => r.json
  )
  yield* show("form (record)", (form as { form: unknown }).form)
  const json = yield* Effect.flatMap(Session.post(httpbin.url("/post"), { json: { name: "ada" } }), (r) => r.json)
  yield* show("json", (json as { json: unknown }).json)
  const chunks = Stream.make("streamed ", "in ", "chunks").pipe(Stream.map((s) => new TextEncoder().encode(s)))
  yield* show("Stream (chunked, sent once)", yield* uploaded(chunks))
  yield* show("Body.stream with a length", yield* uploaded(Body.stream(chunks, { length: 18 })))

  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "bodies-demo-"))),
    (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
  )
  const file = path.join(dir, "report.csv")
  const content = "id,name\n".concat(Array.from({ length: 20_000 }, (_, i) => `${i},row ${i}\n`).join(""))
  yield* Effect.promise(() => fs.writeFile(file, content))
  // An AsyncIterable (an async generator, a Node Readable) is handed to undici as it is.
  async function* lines() {
    for (let i = 0; i < 3; i++) yield `line ${i}\n`
  }
  yield* show("async generator of strings (UTF-8)", yield* uploaded(lines()))
  yield* show("Node Readable (fs.createReadStream)", yield* uploaded(createReadStream(file)))
  const sent = yield* uploaded(Body.file(file, { contentType: "text/csv" }))
  yield* show("Body.file (streamed, with its length)", {
    ...sent,
    matches: sent.sha256 === createHash("sha256").update(content).digest("hex")
  })
  // A file can be opened again, so it follows a 307; a one-shot Stream cannot.
  const replayed = yield* Effect.flatMap(
    Session.post(httpbin.url("/redirect-to?url=/upload&status_code=307"), { data: Body.file(file) }),
    (r) => Effect.map(r.json, (j) => (j as Upload).bytes)
  )
  yield* show("Body.file through a 307", `${replayed} bytes sent again`)
  const oneShot = yield* Effect.flip(
    Session.post(httpbin.url("/redirect-to?url=/upload&status_code=307"), { data: chunks })
  )
  yield* show("a Stream through a 307", oneShot._tag)

  yield* title("Multipart files")
  const multipart = yield* Effect.flatMap(
    Session.post(httpbin.url("/post"), {
      data: { title: "Q3" },
      files: {
        report: Body.file(file, { contentType: "text/csv" }),
        notes: ["notes.txt", "plain text", "text/plain"],
        "evil\"\r\nX-Injected: 1": ["a\"b.txt", "hostile names are escaped"]
      }
    }),
    (r) => r.json
  )
  const { files, form: fields } = multipart as { files: Record<string, string>; form: unknown }
  yield* show("form", fields)
  yield* show("files (names as the server parsed them)", Object.keys(files))
  yield* show("report bytes", files.report?.length)
}).pipe(Effect.scoped)

/** Streamed responses: read once, in exact chunks or lines, released when the scope closes. */
const streaming = Effect.gen(function*() {
  yield* title("Streaming responses (Session.stream)")
  const httpbin = yield* Httpbin.Httpbin
  const sizes = yield* Effect.scoped(Effect.gen(function*() {
    const response = yield* Session.stream("GET", httpbin.url("/stream-bytes/10000?chunk_size=777"))
    return yield* Stream.runCollect(Stream.map(response.iterContent(4096), (c) => c.length))
  }))
  yield* show("iterContent(4096) chunk sizes", Chunk.toReadonlyArray(sizes))
  const Line = Schema.Struct({ id: Schema.Number, url: Schema.String })
  const ids = yield* Effect.scoped(Effect.gen(function*() {
    const response = yield* Session.stream("GET", httpbin.url("/stream/4"))
    return yield* Stream.runCollect(Response.schemaNdjson(Line)(response).pipe(Stream.map((l) => l.id)))
  }))
  yield* show("NDJSON decoded with a Schema", Chunk.toReadonlyArray(ids))
  const again = yield* Effect.scoped(Effect.gen(function*() {
    const response = yield* Session.stream("GET", httpbin.url("/get"))
    yield* Stream.runDrain(response.body)
    return yield* Effect.flip(Stream.runDrain(response.body))
  }))
  yield* show("reading a body twice", again._tag)
  const during = yield* Effect.scoped(Effect.gen(function*() {
    const response = yield* Session.stream("GET", httpbin.url("/stream-bytes/100000000"))
    yield* Stream.runDrain(Stream.take(response.body, 1))
    return (yield* httpbin.connections).activeRequests
  }))
  yield* Effect.sleep("50 millis")
  const after = (yield* httpbin.connections).activeRequests
  yield* show("one chunk of 100 MB, then scope left", `requests in flight at the server: ${during} → ${after}`)
  const Slideshow = Schema.Struct({ slideshow: Schema.Struct({ title: Schema.String }) })
  const typed = yield* Effect.flatMap(Session.get(httpbin.url("/json")), Response.schemaJson(Slideshow))
  yield* show("Response.schemaJson", typed.slideshow.title)
})

/** Content-Encoding and the session's limits. */
const decoding = Effect.gen(function*() {
  yield* title("Decoding and limits")
  const httpbin = yield* Httpbin.Httpbin
  for (const encoding of ["gzip", "deflate", "brotli"]) {
    const response = yield* Session.get(httpbin.url(`/${encoding}`))
    yield* show(
      `/${encoding}`,
      `${response.headers.get("content-encoding")} → ${response.content.length} bytes decoded`
    )
  }
  const bomb = yield* Effect.flip(
    SessionConfig.locally(Session.get(httpbin.url(`/fault/gzip-bomb?decoded=${4 * 1024 ** 3}`)), {
      limits: { maxBodySize: 32 * 1024 * 1024 }
    })
  )
  yield* show("4 GiB gzip bomb, maxBodySize 32 MiB", `${bomb._tag}: ${bomb.message}`)
  const truncated = yield* Effect.flip(Session.get(httpbin.url("/fault/truncated-chunked")))
  yield* show("truncated chunked body", truncated._tag)
  const short = yield* Effect.flip(Session.get(httpbin.url("/fault/short-body?declared=100&actual=10")))
  yield* show("body shorter than Content-Length", short._tag)
  const german = "Schöne Grüße aus München, der Straßenverkehr ist heute ruhig."
  const latin1 = yield* Session.get(httpbin.url(`/fault/body?b64=${Buffer.from(german, "latin1").toString("base64")}`))
  yield* show("no charset: apparentEncoding", `${latin1.apparentEncoding} → ${latin1.text}`)
})

/** A large download with a progress bar, printed in place. */
const download = Effect.gen(function*() {
  yield* title("Download progress")
  const httpbin = yield* Httpbin.Httpbin
  const size = 256 * 1024 * 1024
  const onDownloadProgress = progressBar()
  const total = yield* Effect.scoped(Effect.gen(function*() {
    const response = yield* Session.stream("GET", httpbin.url(`/bytes/${size}`), { onDownloadProgress })
    return yield* Stream.runFold(response.body, 0, (n, chunk) => n + chunk.length)
  }))
  yield* show("downloaded (streamed, flat memory)", `${total} bytes`)
})

const program = Effect.gen(function*() {
  yield* requestBodies
  yield* streaming
  yield* decoding
  yield* download
})

program.pipe(
  Effect.provide(
    Layer.mergeAll(
      Httpbin.layer,
      // An empty environment: the demo never reads the machine's proxies or ~/.netrc.
      NodeSession.layer().pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))))
    )
  ),
  NodeRuntime.runMain
)
