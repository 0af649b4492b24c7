/**
 * Record and replay: a transport that writes real exchanges to a cassette file, and one that
 * answers from that file without the network (vcrpy, betamax and undici's `SnapshotAgent` in
 * other ecosystems).
 *
 * - `record(transport, options)` sends through `transport`, reads each response body whole, and
 *   rewrites the file after every exchange (atomically: a temporary file, then a rename).
 * - `replay(options)` answers each request with the next recorded exchange that matches its
 *   method, URL (sensitive query values redacted) and body digest (SHA-256), in the order they
 *   were recorded; a request with no exchange left fails with `UnrecordedRequest` (or, with
 *   `repeat: true`, gets the last one again).
 * - Secrets never reach the file: request headers `Authorization`, `Proxy-Authorization`,
 *   `Cookie` and the other credential headers (`Headers.defaultRedactedNames`, the session's
 *   `sensitiveHeaders`, `redactHeaders`) read `<redacted>`; each `Set-Cookie` keeps its name and
 *   attributes but not its value; sensitive query values read `REDACTED`; and every one of those
 *   secret values is also scrubbed from the recorded response bodies (an echo server sends your
 *   `Authorization` back). Request bodies are not stored, only their digest and length.
 * - Transport failures are not recorded (they fail as they happen); bodies are buffered.
 *
 * ```ts
 * const recording = Session.layer().pipe(
 *   Layer.provide(Cassette.layerRecord({ path: "test/cassettes/api.json" })),
 *   Layer.provide(NodeAdapter.layer()),
 *   Layer.provide(NodeFileSystem.layer)
 * )
 * const replaying = Session.layer().pipe(
 *   Layer.provide(Cassette.layerReplay({ path: "test/cassettes/api.json" })),
 *   Layer.provide(NodeFileSystem.layer)
 * )
 * ```
 *
 * @since 0.1.0
 */
import { FileSystem } from "@effect/platform"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { Clock, Data, Effect, Either, Layer, Schema, Stream } from "effect"
import * as Adapter from "./Adapter.js"
import * as Headers from "./Headers.js"
import * as transports from "./internal/transports.js"
import * as url from "./internal/url.js"
import type * as PreparedRequest from "./PreparedRequest.js"
import * as RequestError from "./RequestError.js"
import * as Telemetry from "./Telemetry.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The cassette file (JSON). */
  readonly path: string
  /** More header names whose values never reach the file. */
  readonly redactHeaders?: ReadonlyArray<string> | undefined
  /** More query parameter names whose values never reach the file. */
  readonly redactQueryParams?: ReadonlyArray<string> | undefined
}

/**
 * A cassette file that cannot be read, parsed or written.
 *
 * @since 0.1.0
 * @category errors
 */
export class CassetteError extends Data.TaggedError("CassetteError")<{
  readonly message: string
  readonly path: string
  readonly cause?: unknown
}> {}

const HeaderLines = Schema.Array(Schema.Tuple(Schema.String, Schema.String))

const RecordedBody = Schema.Struct({
  encoding: Schema.Literal("utf8", "base64"),
  data: Schema.String
})

/**
 * One recorded exchange, as the file holds it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Exchange = Schema.Struct({
  request: Schema.Struct({
    method: Schema.String,
    url: Schema.String,
    headers: HeaderLines,
    bodySha256: Schema.String,
    bodyLength: Schema.Number
  }),
  response: Schema.Struct({
    status: Schema.Number,
    reason: Schema.String,
    headers: HeaderLines,
    body: RecordedBody
  })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Exchange = typeof Exchange.Type

/**
 * The cassette file.
 *
 * @since 0.1.0
 * @category schemas
 */
export const File = Schema.Struct({
  version: Schema.Literal(1),
  recordedAt: Schema.String,
  exchanges: Schema.Array(Exchange)
})

/**
 * @since 0.1.0
 * @category models
 */
export type File = typeof File.Type

const decoder = new TextDecoder("utf-8", { fatal: true })
const encoder = new TextEncoder()

const encodeBody = (bytes: Uint8Array): typeof RecordedBody.Type => {
  const text = Either.try(() => decoder.decode(bytes))
  return Either.isRight(text)
    ? { encoding: "utf8", data: text.right }
    : { encoding: "base64", data: toBase64(bytes) }
}

const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return globalThis.btoa(binary)
}

const fromBase64 = (text: string): Uint8Array => {
  const binary = globalThis.atob(text)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

const decodeBody = (body: typeof RecordedBody.Type): Uint8Array =>
  body.encoding === "utf8" ? encoder.encode(body.data) : fromBase64(body.data)

const sensitiveQuery = (options: Options): ReadonlySet<string> =>
  new Set([...Telemetry.defaultSensitiveQueryParams, ...(options.redactQueryParams ?? []).map((n) => n.toLowerCase())])

/**
 * The key an exchange is replayed by: method, URL (sensitive query values redacted, no
 * fragment) and the SHA-256 of the request body.
 *
 * @since 0.1.0
 * @category utils
 */
export const matchKey = (method: string, href: string, bodySha256: string, query?: ReadonlySet<string>): string =>
  `${method.toUpperCase()} ${Telemetry.redactUrl(href, query)} ${bodySha256}`

/** The secret values a request carried (and its response set), to scrub from the file. */
const secretsOf = (
  request: PreparedRequest.PreparedRequest,
  responseHeaders: Headers.Headers,
  extra: ReadonlyArray<string>,
  query: ReadonlySet<string>
): Array<string> => {
  const out = new Set<string>()
  for (const [name, value] of request.headers.entries) {
    if (!Headers.isSensitive(name, extra)) continue
    out.add(value)
    const space = value.indexOf(" ")
    if (space > 0) out.add(value.slice(space + 1).trim())
    for (const pair of value.split(";")) {
      const eq = pair.indexOf("=")
      if (eq > 0) out.add(pair.slice(eq + 1).trim())
    }
  }
  for (const line of responseHeaders.getAll("set-cookie")) {
    const pair = line.split(";", 1)[0]!
    const eq = pair.indexOf("=")
    if (eq > 0) out.add(pair.slice(eq + 1).trim())
  }
  const parsed = url.parse(request.url)
  if (parsed !== undefined) {
    parsed.searchParams.forEach((value, name) => {
      if (query.has(name.toLowerCase())) out.add(value)
    })
  }
  return Array.from(out).filter((s) => s.length >= 3).sort((a, b) => b.length - a.length)
}

const scrub = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const secret of secrets) out = out.split(secret).join(Headers.REDACTED)
  return out
}

const redactSetCookie = (line: string): string => {
  const semi = line.indexOf(";")
  const pair = semi < 0 ? line : line.slice(0, semi)
  const eq = pair.indexOf("=")
  const name = eq < 0 ? pair : pair.slice(0, eq)
  return `${name}=${Headers.REDACTED}${semi < 0 ? "" : line.slice(semi)}`
}

/** One exchange as the file records it, with every secret removed. */
const toRecord = (
  request: PreparedRequest.PreparedRequest,
  digest: { readonly sha256: string; readonly length: number },
  raw: Adapter.RawResponse,
  body: Uint8Array,
  options: Options
): Exchange => {
  const extra = [...request.chain.sensitive, ...(options.redactHeaders ?? [])]
  const query = sensitiveQuery(options)
  const secrets = secretsOf(request, raw.headers, extra, query)
  let recorded = encodeBody(body)
  if (recorded.encoding === "utf8" && secrets.length > 0) {
    const scrubbed = scrub(recorded.data, secrets)
    if (scrubbed !== recorded.data) recorded = { encoding: "utf8", data: scrubbed }
  }
  const length = recorded.encoding === "utf8" ? encoder.encode(recorded.data).length : body.length
  const responseHeaders = raw.headers.entries.map(([name, value]): readonly [string, string] => {
    const lower = name.toLowerCase()
    if (lower === "set-cookie") return [name, redactSetCookie(value)]
    if (lower === "content-length" && length !== body.length) return [name, String(length)]
    return [name, Headers.isSensitive(name, extra) ? Headers.REDACTED : scrub(value, secrets)]
  })
  return {
    request: {
      method: request.method,
      url: Telemetry.redactUrl(request.url, query),
      headers: Headers.redact(request.headers, extra).entries.map(([n, v]) => [n, v] as const),
      bodySha256: digest.sha256,
      bodyLength: digest.length
    },
    response: { status: raw.status, reason: raw.reason, headers: responseHeaders, body: recorded }
  }
}

/** The request with a body that hashes itself as it is sent. */
const hashing = (
  request: PreparedRequest.PreparedRequest
): { readonly request: PreparedRequest.PreparedRequest; readonly digest: () => { sha256: string; length: number } } => {
  const body = request.body
  if (body._tag !== "Stream") {
    const bytes = body._tag === "Bytes" ? body.bytes : new Uint8Array(0)
    const value = { sha256: bytesToHex(sha256(bytes)), length: bytes.length }
    return { request, digest: () => value }
  }
  let hash = sha256.create()
  let length = 0
  const open = Effect.map(body.open, (stream) => {
    hash = sha256.create()
    length = 0
    return Stream.tap(stream, (chunk) =>
      Effect.sync(() => {
        hash.update(chunk)
        length += chunk.length
      }))
  })
  return {
    request: request.copy({ body: { ...body, open } }),
    digest: () => ({ sha256: bytesToHex(hash.clone().digest()), length })
  }
}

const digestOf = (request: PreparedRequest.PreparedRequest) =>
  Effect.map(transports.readBody(request), (bytes) => bytesToHex(sha256(bytes)))

const load = (fs: FileSystem.FileSystem, path: string): Effect.Effect<File, CassetteError> =>
  fs.readFileString(path).pipe(
    Effect.mapError((cause) => new CassetteError({ message: `Cannot read the cassette ${path}`, path, cause })),
    Effect.flatMap((text) =>
      Schema.decodeUnknown(Schema.parseJson(File))(text).pipe(
        Effect.mapError((cause) =>
          new CassetteError({ message: `The cassette ${path} is not a cassette file: ${cause.message}`, path, cause })
        )
      )
    )
  )

let saves = 0

const save = (fs: FileSystem.FileSystem, path: string, file: File): Effect.Effect<void, CassetteError> => {
  const temporary = `${path}.${(saves++).toString(36)}.tmp`
  return Schema.encode(Schema.parseJson(File, { space: 2 }))(file).pipe(
    Effect.flatMap((text) => fs.writeFileString(temporary, `${text}\n`)),
    Effect.zipRight(fs.rename(temporary, path)),
    Effect.mapError((cause) => new CassetteError({ message: `Cannot write the cassette ${path}`, path, cause }))
  )
}

/**
 * A transport that sends through `transport` and records every exchange to `options.path`
 * (the file starts empty). A write failure fails the request with `ConnectionError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const record = (
  transport: Adapter.Transport,
  options: Options
): Effect.Effect<Adapter.Transport, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const lock = yield* Effect.makeSemaphore(1)
    const startedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
    const exchanges: Array<Exchange> = []
    const send = (request: PreparedRequest.PreparedRequest, sendOptions: Adapter.SendOptions) =>
      Effect.gen(function*() {
        const hashed = hashing(request)
        const raw = yield* transport.send(hashed.request, sendOptions)
        const body = yield* raw.body.readAll
        const entry = toRecord(request, hashed.digest(), raw, body, options)
        yield* lock.withPermits(1)(Effect.suspend(() => {
          exchanges.push(entry)
          return save(fs, options.path, { version: 1, recordedAt: startedAt, exchanges: [...exchanges] })
        })).pipe(
          Effect.mapError((error) =>
            new RequestError.ConnectionError({ message: error.message, code: "CASSETTE_WRITE", request, cause: error })
          )
        )
        return { ...raw, body: transports.sourceOf(Stream.succeed(body)) } satisfies Adapter.RawResponse
      })
    return { send, close: transport.close } satisfies Adapter.Transport
  })

/**
 * A transport that answers from the cassette at `options.path`, never from the network.
 * `repeat: true` gives the last matching exchange again once every one was replayed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const replay = (
  options: Options & { readonly repeat?: boolean | undefined }
): Effect.Effect<Adapter.Transport, CassetteError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = yield* load(fs, options.path)
    const query = sensitiveQuery(options)
    const queues = new Map<string, { readonly exchanges: Array<Exchange>; next: number }>()
    for (const exchange of file.exchanges) {
      const key = matchKey(exchange.request.method, exchange.request.url, exchange.request.bodySha256, query)
      const queue = queues.get(key)
      if (queue === undefined) queues.set(key, { exchanges: [exchange], next: 0 })
      else queue.exchanges.push(exchange)
    }
    const send = (request: PreparedRequest.PreparedRequest) =>
      Effect.flatMap(digestOf(request), (sha): Effect.Effect<Adapter.RawResponse, RequestError.RequestError> => {
        const key = matchKey(request.method, request.url, sha, query)
        const queue = queues.get(key)
        if (queue === undefined || (queue.next >= queue.exchanges.length && options.repeat !== true)) {
          return Effect.fail(
            new RequestError.UnrecordedRequest({
              message: queue === undefined
                ? `The cassette ${options.path} holds no exchange for ${request.method} ${
                  Telemetry.redactUrl(request.url, query)
                } (body sha256 ${sha.slice(0, 12)}…)`
                : `Every exchange the cassette ${options.path} holds for ${request.method} ${
                  Telemetry.redactUrl(request.url, query)
                } was replayed (${queue.exchanges.length})`,
              key,
              request
            })
          )
        }
        const exchange = queue.exchanges[Math.min(queue.next, queue.exchanges.length - 1)]!
        queue.next++
        const response = exchange.response
        return Effect.succeed({
          status: response.status,
          reason: response.reason || Adapter.reasonPhrase(response.status),
          headers: new Headers.Headers(response.headers),
          body: transports.sourceOf(Stream.succeed(decodeBody(response.body)))
        })
      })
    return { send, close: Effect.void } satisfies Adapter.Transport
  })

/**
 * The session's default transport, recording: wraps the `DefaultTransport` below it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRecord = (
  options: Options
): Layer.Layer<Adapter.DefaultTransport, never, Adapter.DefaultTransport | FileSystem.FileSystem> =>
  Layer.effect(Adapter.DefaultTransport, Effect.flatMap(Adapter.DefaultTransport, (inner) => record(inner, options)))

/**
 * The session's default transport, replaying (no network).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerReplay = (
  options: Options & { readonly repeat?: boolean | undefined }
): Layer.Layer<Adapter.DefaultTransport, CassetteError, FileSystem.FileSystem> =>
  Layer.effect(Adapter.DefaultTransport, replay(options))

/**
 * Replay when the cassette exists, record it (through the `DefaultTransport` below) when it does not.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<Adapter.DefaultTransport, CassetteError, Adapter.DefaultTransport | FileSystem.FileSystem> =>
  Layer.effect(
    Adapter.DefaultTransport,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const exists = yield* fs.exists(options.path).pipe(Effect.orElseSucceed(() => false))
      if (exists) return yield* replay(options)
      return yield* record(yield* Adapter.DefaultTransport, options)
    })
  )
