/**
 * Responses.
 *
 * - `Response` is buffered (the default): the body is read and the connection released before the
 *   value exists. `content` holds the bytes, `text` decodes them with `encoding` (from the headers,
 *   else detected), `json` parses them (an Effect failing with `JSONDecodeError`).
 * - `StreamingResponse` comes from the scoped entry point (`Session.stream`): its `body` is a
 *   `Stream` that can be read once (`iterContent`, `iterText`, `iterLines` and `iterJson` read
 *   it too; a second read fails with `StreamConsumedError`), `buffer` turns it into a `Response`,
 *   and its connection is released when the scope closes, whether the body was read to the end,
 *   abandoned or interrupted.
 * - Typed bodies: `schemaJson(schema)`, `schemaHeaders(schema)` and `schemaNdjson(schema)` decode
 *   into Effect Schema types, failing with `ResponseDecodeError`.
 *
 * Both share `Head`: status, reason, URL, headers (case-insensitive, repeated values kept), history,
 * elapsed time, the request that produced it, `ok`, redirect flags, `links` and `next`.
 *
 * @since 0.1.0
 */
import { Chunk, Duration, Effect, type Option, ParseResult, Schema, Stream } from "effect"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Headers from "./Headers.js"
import { concatBytes } from "./internal/bytes.js"
import * as lines from "./internal/lines.js"
import * as text from "./internal/text.js"
import * as url from "./internal/url.js"
import type * as PreparedRequest from "./PreparedRequest.js"
import * as Progress from "./Progress.js"
import * as RequestError from "./RequestError.js"

/**
 * One entry of the `Link` header (requests' `parse_header_links`).
 *
 * @since 0.1.0
 * @category models
 */
export type Link = Readonly<Record<string, string>> & { readonly url: string }

/**
 * Phase timings of one exchange, in milliseconds, as far as the transport can tell (the Node
 * adapter fills them in; a field is absent when it does not apply, e.g. `connect` and `tls` on a
 * reused connection). `body` and `total` are set once the body has been read to its end.
 *
 * @since 0.1.0
 * @category models
 */
export interface Timings {
  /** From handing the request to the transport until a connection was ready (pool wait, connect, TLS). */
  readonly wait?: number | undefined
  /** TCP connect (and the proxy leg) of a connection opened for this request. */
  readonly connect?: number | undefined
  /** TLS handshake of a connection opened for this request. */
  readonly tls?: number | undefined
  /** From writing the request until the response headers arrived (time to first byte). */
  readonly firstByte?: number | undefined
  /** From the headers until the end of the body. */
  readonly body?: number | undefined
  /** From handing the request to the transport until the end of the body. */
  readonly total?: number | undefined
  /** Whether the exchange went over a kept-alive connection. */
  readonly reused?: boolean | undefined
}

/**
 * What every response has, buffered or streamed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Head {
  readonly status: number
  readonly reason: string
  /** The final URL (after redirects), without credentials. */
  readonly url: string
  readonly headers: Headers.Headers
  /** The responses that led here, oldest first (redirects and auth challenges). */
  readonly history: ReadonlyArray<Response>
  /** Time from sending the request to receiving the headers. */
  readonly elapsed: Duration.Duration
  /** Phase timings of this exchange (connect, TLS, first byte, body), when the transport measures them. */
  readonly timings: Timings | undefined
  readonly request: PreparedRequest.PreparedRequest
  /** The next request of the chain when redirects were not followed (`allowRedirects: false`). */
  readonly next: Option.Option<PreparedRequest.PreparedRequest>
  readonly encoding: string | undefined
  readonly ok: boolean
  readonly isRedirect: boolean
  readonly isPermanentRedirect: boolean
  readonly links: Readonly<Record<string, Link>>
  /** Cookies this response set (name → value), from its own `Set-Cookie` lines only. */
  readonly cookies: Readonly<Record<string, string>>
}

/**
 * The fields a response is built from.
 *
 * @since 0.1.0
 * @category models
 */
export interface HeadFields {
  readonly status: number
  readonly reason: string
  readonly url: string
  readonly headers: Headers.Headers
  readonly history: ReadonlyArray<Response>
  readonly elapsed: Duration.Duration
  readonly timings?: Timings | undefined
  readonly request: PreparedRequest.PreparedRequest
  readonly next: Option.Option<PreparedRequest.PreparedRequest>
  readonly encoding?: string | undefined
}

const REDIRECT_STATI = new Set([301, 302, 303, 307, 308])

abstract class HeadBase implements Head {
  readonly status: number
  readonly reason: string
  readonly url: string
  readonly headers: Headers.Headers
  readonly history: ReadonlyArray<Response>
  readonly elapsed: Duration.Duration
  readonly timings: Timings | undefined
  readonly request: PreparedRequest.PreparedRequest
  readonly next: Option.Option<PreparedRequest.PreparedRequest>
  /** `undefined` until first read, unless given: most responses never need it. */
  #encoding: string | undefined | null

  constructor(fields: HeadFields) {
    this.status = fields.status
    this.reason = fields.reason
    this.url = url.displayUrl(fields.url)
    this.headers = fields.headers
    this.history = fields.history
    this.elapsed = fields.elapsed
    this.timings = fields.timings
    this.request = fields.request
    this.next = fields.next
    this.#encoding = "encoding" in fields ? fields.encoding : null
  }

  /** The charset from `Content-Type` (`text/*` → ISO-8859-1, JSON → UTF-8, as requests), or as set. */
  get encoding(): string | undefined {
    if (this.#encoding === null) this.#encoding = text.encodingFromContentType(this.headers.get("content-type"))
    return this.#encoding
  }

  /** False for 4xx and 5xx (requests: exactly when `raiseForStatus` would fail). */
  get ok(): boolean {
    return !(this.status >= 400 && this.status < 600)
  }

  get isRedirect(): boolean {
    return REDIRECT_STATI.has(this.status) && this.headers.has("location")
  }

  get isPermanentRedirect(): boolean {
    return (this.status === 301 || this.status === 308) && this.headers.has("location")
  }

  get links(): Readonly<Record<string, Link>> {
    return linksOf(this.headers.get("link"))
  }

  get cookies(): Readonly<Record<string, string>> {
    const out: Record<string, string> = {}
    for (const line of this.headers.getAll("set-cookie")) {
      const pair = line.split(";", 1)[0]!
      const eq = pair.indexOf("=")
      if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim()
    }
    return out
  }

  /** The fields this response was built from (for making a copy with changes). */
  get fields(): HeadFields {
    return {
      status: this.status,
      reason: this.reason,
      url: this.url,
      headers: this.headers,
      history: this.history,
      elapsed: this.elapsed,
      timings: this.timings,
      request: this.request,
      next: this.next,
      encoding: this.encoding
    }
  }

  protected headJSON(): Record<string, unknown> {
    return {
      status: this.status,
      reason: this.reason,
      url: this.url,
      headers: Headers.redact(this.headers, this.request.chain.sensitive).toRecord(),
      elapsedMillis: Duration.toMillis(this.elapsed),
      history: this.history.map((r) => `<Response [${r.status}]> ${r.url}`),
      request: this.request.toJSON()
    }
  }

  [NodeInspectSymbol](): unknown {
    return (this as unknown as { toJSON(): unknown }).toJSON()
  }
}

/**
 * A buffered response: the body has been read and the connection released.
 *
 * @since 0.1.0
 * @category models
 */
export class Response extends HeadBase {
  readonly content: Uint8Array
  #text: string | undefined
  #apparentEncoding: string | undefined

  constructor(fields: HeadFields & { readonly content: Uint8Array }) {
    super(fields)
    this.content = fields.content
  }

  /** The body decoded with `encoding`, or with `apparentEncoding` when the headers name none. */
  get text(): string {
    if (this.#text === undefined) {
      this.#text = text.decode(this.content, this.encoding ?? this.apparentEncoding)
    }
    return this.#text
  }

  /**
   * The encoding the bytes look like (requests' `apparent_encoding`): `ascii` or `utf-8` when they
   * are valid UTF-8, else the `chardet` detector's best guess this runtime can decode (windows-1252,
   * ISO-8859-x, Shift_JIS, ...), else ISO-8859-1.
   */
  get apparentEncoding(): string {
    this.#apparentEncoding ??= text.detectEncoding(this.content)
    return this.#apparentEncoding
  }

  /** The body parsed as JSON (requests' `json()`, with its UTF-16/32 detection when no encoding is known). */
  get json(): Effect.Effect<unknown, RequestError.JSONDecodeError> {
    return Effect.suspend(() => parseJson(this))
  }

  /** The same response decoded with another encoding (requests: `r.encoding = ...`). */
  withEncoding(encoding: string | undefined): Response {
    return new Response({ ...this.fields, encoding, content: this.content })
  }

  toJSON(): unknown {
    return { _tag: "Response", ...this.headJSON(), contentLength: this.content.length }
  }

  override toString(): string {
    return `<Response [${this.status}]>`
  }
}

const parseJson = (response: Response): Effect.Effect<unknown, RequestError.JSONDecodeError> => {
  let doc: string | undefined
  if (response.encoding === undefined && response.content.length > 3) {
    const flavour = text.guessJsonUtf(response.content)
    if (flavour !== undefined) doc = text.decodeJsonUtf(response.content, flavour)
  }
  if (doc === undefined) doc = response.text
  if (doc.charCodeAt(0) === 0xfeff) doc = doc.slice(1)
  return parseJsonText(doc, response)
}

const parseJsonText = (source: string, response: Head): Effect.Effect<unknown, RequestError.JSONDecodeError> =>
  Effect.try({
    try: () => JSON.parse(source) as unknown,
    catch: (cause) => {
      const match = /position (\d+)/.exec(cause instanceof Error ? cause.message : "")
      const pos = match ? Number(match[1]) : source.trim() === "" ? 0 : source.length
      return new RequestError.JSONDecodeError({
        message: `Expecting JSON value (char ${pos}) in the body of ${response.url}`,
        doc: source,
        pos,
        request: response.request,
        response
      })
    }
  })

/**
 * What a transport gives for one exchange (see `Adapter.Transport`), from which a
 * `StreamingResponse` is built.
 *
 * @since 0.1.0
 * @category models
 */
export interface BodySource {
  /** The (decoded) body; can be run once. */
  readonly stream: Stream.Stream<Uint8Array, RequestError.RequestError>
  /** Read the whole (decoded) body; a faster path than collecting `stream`. */
  readonly readAll: Effect.Effect<Uint8Array, RequestError.RequestError>
  /** Release the connection: a no-op after the body was read to the end, an abort otherwise. Idempotent. */
  readonly close: Effect.Effect<void>
  /**
   * The whole body when it has already arrived and needs no decoding (it then counts as read),
   * else `undefined`: lets a small response be read without an Effect. Optional.
   */
  readonly unsafeReadIfDone?: (() => Uint8Array | undefined) | undefined
}

/** Whether a streamed body was handed out, shared by the copies of one response. */
interface BodyState {
  readonly source: BodySource
  readonly flag: { consumed: boolean }
}

const encoder = new TextEncoder()

/**
 * A response whose body has not been read. Its connection is released when the scope that
 * created it closes, or by `close`, or once `body` has been read to the end.
 *
 * @since 0.1.0
 * @category models
 */
export class StreamingResponse extends HeadBase {
  #state: BodyState

  constructor(fields: HeadFields & { readonly source: BodySource }) {
    super(fields)
    this.#state = { source: fields.source, flag: { consumed: false } }
  }

  /** A copy with other head fields, sharing this response's body (and whether it was read). */
  withFields(fields: HeadFields): StreamingResponse {
    const copy = new StreamingResponse({ ...fields, source: this.#state.source })
    copy.#state = this.#state
    return copy
  }

  /**
   * A copy whose body reports its progress as it is read, by `body`, the `iter*` methods or
   * `buffer` (see `Progress`). The total is `Content-Length` when the body is not encoded.
   */
  trackProgress(onProgress: Progress.Handler): StreamingResponse {
    const source = this.#state.source
    const stream = Stream.suspend(() => Progress.tap({ total: declaredLength(this) }, onProgress)(source.stream))
    const copy = new StreamingResponse({
      ...this.fields,
      source: { stream, readAll: collect(stream), close: source.close }
    })
    copy.#state = { source: copy.#state.source, flag: this.#state.flag }
    return copy
  }

  /** Whether the body has been handed out already. */
  get consumed(): boolean {
    return this.#state.flag.consumed
  }

  private take(): RequestError.StreamConsumedError | BodySource {
    if (this.#state.flag.consumed) {
      return new RequestError.StreamConsumedError({
        message: `The body of ${this.url} was already read`,
        request: this.request,
        response: this
      })
    }
    this.#state.flag.consumed = true
    return this.#state.source
  }

  /** The body as it arrives (decoded per `Content-Encoding`). Can be read once. */
  get body(): Stream.Stream<Uint8Array, RequestError.RequestError> {
    return Stream.suspend(() => {
      const source = this.take()
      return source instanceof RequestError.StreamConsumedError ? Stream.fail(source) : source.stream
    })
  }

  /**
   * requests' `iter_content`: chunks of exactly `chunkSize` bytes (the last may be shorter), or
   * as they arrive without a size (requests' `chunk_size=None`). A size that is not a positive
   * integer fails with `InvalidRequest` (the body is left unread).
   */
  iterContent(chunkSize?: number): Stream.Stream<Uint8Array, RequestError.RequestError> {
    if (chunkSize === undefined) return this.body
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      return Stream.fail(
        new RequestError.InvalidRequest({
          message: `chunkSize must be a positive integer, it is ${String(chunkSize)}`,
          request: this.request
        })
      )
    }
    return Stream.suspend(() => {
      const rechunker = new lines.Rechunker(chunkSize)
      return this.body.pipe(
        Stream.mapConcat((chunk) => rechunker.push(chunk)),
        Stream.concat(Stream.suspend(() => Stream.fromIterable(rechunker.end())))
      )
    })
  }

  /** requests' `iter_content(decode_unicode=True)`: text decoded incrementally with `encoding` (UTF-8 if none). */
  iterText(): Stream.Stream<string, RequestError.RequestError> {
    return Stream.suspend(() => {
      const decoder = text.makeStreamDecoder(this.encoding)
      return this.body.pipe(
        Stream.map(decoder.write),
        Stream.concat(Stream.suspend(() => Stream.succeed(decoder.end()))),
        Stream.filter((s) => s.length > 0)
      )
    })
  }

  /**
   * requests' `iter_lines`, without its chunk-boundary quirks: `\n`, `\r\n` and `\r` end a line
   * (or `delimiter` separates lines), however the body is chunked; a last line without a
   * terminator is kept when it is not empty. Lines are text decoded with `encoding` (UTF-8 if
   * none; split after decoding, so UTF-16 works) unless `decodeUnicode: false`, which gives the
   * raw bytes of each line.
   */
  iterLines(options?: {
    readonly delimiter?: string | undefined
    readonly decodeUnicode?: true | undefined
  }): Stream.Stream<string, RequestError.RequestError>
  iterLines(options: {
    readonly delimiter?: string | Uint8Array | undefined
    readonly decodeUnicode: false
  }): Stream.Stream<Uint8Array, RequestError.RequestError>
  iterLines(options?: {
    readonly delimiter?: string | Uint8Array | undefined
    readonly decodeUnicode?: boolean | undefined
  }): Stream.Stream<string | Uint8Array, RequestError.RequestError> {
    return Stream.suspend((): Stream.Stream<string | Uint8Array, RequestError.RequestError> => {
      const delimiter = options?.delimiter
      if (options?.decodeUnicode === false) {
        const splitter = new lines.LineSplitter(typeof delimiter === "string" ? encoder.encode(delimiter) : delimiter)
        return this.body.pipe(
          Stream.mapConcat((chunk) => splitter.push(chunk)),
          Stream.concat(Stream.suspend(() => Stream.fromIterable(splitter.end())))
        )
      }
      const splitter = new lines.TextLineSplitter(
        delimiter instanceof Uint8Array ? new TextDecoder().decode(delimiter) : delimiter
      )
      return this.iterText().pipe(
        Stream.mapConcat((chunk) => splitter.push(chunk)),
        Stream.concat(Stream.suspend(() => Stream.fromIterable(splitter.end())))
      )
    })
  }

  /**
   * NDJSON / JSON Lines: each non-blank line parsed as JSON, as it arrives. A line that is not
   * JSON fails the stream with `JSONDecodeError` (its `doc` is that line).
   */
  iterJson(): Stream.Stream<unknown, RequestError.RequestError> {
    return this.iterLines().pipe(
      Stream.filter((line) => line.trim() !== ""),
      Stream.mapEffect((line) => parseJsonText(line.charCodeAt(0) === 0xfeff ? line.slice(1) : line, this))
    )
  }

  /** Read the whole body into a buffered `Response` (and release the connection). */
  get buffer(): Effect.Effect<Response, RequestError.RequestError> {
    return Effect.map(this.bytes, (content) => new Response({ ...this.fields, content }))
  }

  /** Read the whole body (decoded) and release the connection: `buffer` without the `Response`. */
  get bytes(): Effect.Effect<Uint8Array, RequestError.RequestError> {
    return Effect.suspend(() => {
      const source = this.take()
      return source instanceof RequestError.StreamConsumedError ? Effect.fail(source) : source.readAll
    })
  }

  /** Release the connection now (requests' `close()`); an unread body is aborted. */
  get close(): Effect.Effect<void> {
    return this.#state.source.close
  }

  toJSON(): unknown {
    return { _tag: "StreamingResponse", ...this.headJSON() }
  }

  override toString(): string {
    return `<StreamingResponse [${this.status}]>`
  }
}

/** The body length the headers promise, when the bytes read will be exactly that many. */
const declaredLength = (response: Head): number | undefined => {
  if (response.request.method === "HEAD" || response.status === 204 || response.status === 304) return 0
  const encoding = response.headers.get("content-encoding")
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity" && encoding.trim() !== "") {
    return undefined
  }
  const value = response.headers.get("content-length")
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined
  return Number(value.trim())
}

/**
 * The response with its body's progress reported (see `StreamingResponse.trackProgress`); the same
 * response when `onProgress` is `undefined`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const trackProgress = (
  response: StreamingResponse,
  onProgress: Progress.Handler | undefined
): StreamingResponse => onProgress === undefined ? response : response.trackProgress(onProgress)

const SENSITIVE_RESPONSE_HEADERS = ["set-cookie", "www-authenticate", "proxy-authenticate"]

const decodeError = (
  error: ParseResult.ParseError,
  response: Head,
  source: "body" | "headers"
): RequestError.ResponseDecodeError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue): RequestError.DecodeIssue => {
    const first = issue.path[0]
    const secret = source === "headers" && typeof first === "string" &&
      Headers.isSensitive(first, [...SENSITIVE_RESPONSE_HEADERS, ...response.request.chain.sensitive])
    // The values found are left out: they may be credentials.
    const message = secret ? "invalid value" : issue.message.replace(/, actual [\s\S]*$/, "")
    return { path: issue.path, message }
  })
  const where = issues.slice(0, 3).map((i) =>
    `${i.path.length === 0 ? "(root)" : JSON.stringify(i.path)}: ${i.message}`
  )
  return new RequestError.ResponseDecodeError({
    message: `The ${source} of ${response.url} do${source === "body" ? "es" : ""} not match the schema: ${
      where.join("; ")
    }${issues.length > 3 ? ` (and ${issues.length - 3} more)` : ""}`,
    source,
    issues,
    request: response.request,
    response,
    ...(source === "body" ? { cause: error } : {})
  })
}

/**
 * Parse the body as JSON (requests' `json()`) and decode it with `schema`: `JSONDecodeError` when
 * it is not JSON, `ResponseDecodeError` when it does not match. A streamed response is read first.
 *
 * @since 0.1.0
 * @category schema
 */
export const schemaJson =
  <A, I, R>(schema: Schema.Schema<A, I, R>) =>
  (response: Response | StreamingResponse): Effect.Effect<A, RequestError.RequestError, R> =>
    Effect.gen(function*() {
      const buffered = isStreamingResponse(response) ? yield* response.buffer : response
      const json = yield* buffered.json
      return yield* Effect.mapError(Schema.decodeUnknown(schema)(json), (e) => decodeError(e, buffered, "body"))
    })

/**
 * Decode the headers with `schema`: the input is a record of lower-cased names, repeated values
 * joined with `", "`. Fails with `ResponseDecodeError`, whose messages never show sensitive values.
 *
 * @since 0.1.0
 * @category schema
 */
export const schemaHeaders =
  <A, I, R>(schema: Schema.Schema<A, I, R>) =>
  (response: Head): Effect.Effect<A, RequestError.ResponseDecodeError, R> => {
    const record: Record<string, string> = {}
    for (const name of response.headers.keys()) record[name.toLowerCase()] = response.headers.get(name)!
    return Effect.mapError(Schema.decodeUnknown(schema)(record), (e) => decodeError(e, response, "headers"))
  }

/**
 * NDJSON / JSON Lines decoded with `schema`, line by line as the body arrives (see `iterJson`).
 *
 * @since 0.1.0
 * @category schema
 */
export const schemaNdjson =
  <A, I, R>(schema: Schema.Schema<A, I, R>) =>
  (response: StreamingResponse): Stream.Stream<A, RequestError.RequestError, R> => {
    const decode = Schema.decodeUnknown(schema)
    return Stream.mapEffect(
      response.iterJson(),
      (value) => Effect.mapError(decode(value), (e) => decodeError(e, response, "body"))
    )
  }

/**
 * @since 0.1.0
 * @category refinements
 */
export const isResponse = (u: unknown): u is Response => u instanceof Response

/**
 * @since 0.1.0
 * @category refinements
 */
export const isStreamingResponse = (u: unknown): u is StreamingResponse => u instanceof StreamingResponse

/**
 * A buffered response from already-known bytes (for tests and adapters).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (fields: HeadFields & { readonly content: Uint8Array }): Response => new Response(fields)

/**
 * A streaming view of a buffered response (its body is the bytes already read).
 *
 * @since 0.1.0
 * @category constructors
 */
export const toStreaming = (response: Response): StreamingResponse =>
  new StreamingResponse({
    ...response.fields,
    source: {
      stream: Stream.succeed(response.content),
      readAll: Effect.succeed(response.content),
      close: Effect.void
    }
  })

/**
 * requests' `raise_for_status`: fail with `HTTPError` on 4xx and 5xx, with requests' message.
 *
 * @since 0.1.0
 * @category combinators
 */
export const raiseForStatus = <R extends Head>(response: R): Effect.Effect<R, RequestError.HTTPError> => {
  const kind = response.status >= 400 && response.status < 500
    ? "Client Error"
    : response.status >= 500 && response.status < 600
    ? "Server Error"
    : undefined
  if (kind === undefined) return Effect.succeed(response)
  return Effect.fail(
    new RequestError.HTTPError({
      message: `${response.status} ${kind}: ${response.reason} for url: ${response.url}`,
      status: response.status,
      request: response.request,
      response
    })
  )
}

/**
 * requests' `parse_header_links` keyed by `rel` (or by URL when there is none).
 *
 * @since 0.1.0
 * @category utils
 */
export const linksOf = (header: string | undefined): Readonly<Record<string, Link>> => {
  const out: Record<string, Link> = {}
  for (const link of parseHeaderLinks(header ?? "")) out[link.rel ?? link.url] = link
  return out
}

/**
 * requests' `parse_header_links`: the entries of a `Link` header.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseHeaderLinks = (value: string): ReadonlyArray<Link> => {
  const strip = (s: string, chars: string) => {
    let start = 0
    let end = s.length
    while (start < end && chars.includes(s[start]!)) start++
    while (end > start && chars.includes(s[end - 1]!)) end--
    return s.slice(start, end)
  }
  const trimmed = strip(value, " '\"")
  if (trimmed === "") return []
  const out: Array<Link> = []
  for (const part of trimmed.split(/, *</)) {
    const semi = part.indexOf(";")
    const target = semi === -1 ? part : part.slice(0, semi)
    const params = semi === -1 ? "" : part.slice(semi + 1)
    const link: Record<string, string> = { url: strip(target, "<> '\"") }
    for (const param of params.split(";")) {
      const pieces = param.split("=")
      if (pieces.length !== 2) break
      link[strip(pieces[0]!, " '\"")] = strip(pieces[1]!, " '\"")
    }
    out.push(link as Link)
  }
  return out
}

/**
 * Collect a byte stream into one array (used where a transport has no faster path).
 *
 * @since 0.1.0
 * @category utils
 */
export const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Uint8Array, E, R> =>
  Effect.map(Stream.runCollect(stream), (chunks) => concatBytes(Chunk.toReadonlyArray(chunks)))
