/**
 * Responses.
 *
 * - `Response` is buffered (the default): the body is read and the connection released before the
 *   value exists. `content` holds the bytes, `text` decodes them with `encoding` (from the headers,
 *   else detected), `json` parses them (an Effect failing with `JSONDecodeError`).
 * - `StreamingResponse` comes from the scoped entry point (`Session.stream`): its `body` is a
 *   `Stream` that can be read once, and its connection is released when the scope closes, whether
 *   the body was read to the end, abandoned or interrupted.
 *
 * Both share `Head`: status, reason, URL, headers (case-insensitive, repeated values kept), history,
 * elapsed time, the request that produced it, `ok`, redirect flags, `links` and `next`.
 *
 * @since 0.1.0
 */
import { Chunk, Duration, Effect, type Option, Stream } from "effect"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Headers from "./Headers.js"
import * as lines from "./internal/lines.js"
import * as text from "./internal/text.js"
import * as url from "./internal/url.js"
import type * as PreparedRequest from "./PreparedRequest.js"
import * as RequestError from "./RequestError.js"

/**
 * One entry of the `Link` header (requests' `parse_header_links`).
 *
 * @since 0.1.0
 * @category models
 */
export type Link = Readonly<Record<string, string>> & { readonly url: string }

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
  readonly request: PreparedRequest.PreparedRequest
  readonly next: Option.Option<PreparedRequest.PreparedRequest>
  readonly encoding: string | undefined

  constructor(fields: HeadFields) {
    this.status = fields.status
    this.reason = fields.reason
    this.url = url.displayUrl(fields.url)
    this.headers = fields.headers
    this.history = fields.history
    this.elapsed = fields.elapsed
    this.request = fields.request
    this.next = fields.next
    this.encoding = "encoding" in fields
      ? fields.encoding
      : text.encodingFromContentType(fields.headers.get("content-type"))
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

  /** The encoding the bytes look like: UTF-8 when they are valid UTF-8, else ISO-8859-1. */
  get apparentEncoding(): string {
    return text.isUtf8(this.content) ? "utf-8" : "ISO-8859-1"
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
  const source = doc
  return Effect.try({
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
}

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
}

/**
 * A response whose body has not been read. Its connection is released when the scope that
 * created it closes, or by `close`, or once `body` has been read to the end.
 *
 * @since 0.1.0
 * @category models
 */
export class StreamingResponse extends HeadBase {
  #state: { readonly source: BodySource; consumed: boolean }

  constructor(fields: HeadFields & { readonly source: BodySource }) {
    super(fields)
    this.#state = { source: fields.source, consumed: false }
  }

  /** A copy with other head fields, sharing this response's body (and whether it was read). */
  withFields(fields: HeadFields): StreamingResponse {
    const copy = new StreamingResponse({ ...fields, source: this.#state.source })
    copy.#state = this.#state
    return copy
  }

  /** Whether the body has been handed out already. */
  get consumed(): boolean {
    return this.#state.consumed
  }

  private take(): RequestError.StreamConsumedError | BodySource {
    if (this.#state.consumed) {
      return new RequestError.StreamConsumedError({
        message: `The body of ${this.url} was already read`,
        request: this.request,
        response: this
      })
    }
    this.#state.consumed = true
    return this.#state.source
  }

  /** The body as it arrives (decoded per `Content-Encoding`). Can be read once. */
  get body(): Stream.Stream<Uint8Array, RequestError.RequestError> {
    return Stream.suspend(() => {
      const source = this.take()
      return source instanceof RequestError.StreamConsumedError ? Stream.fail(source) : source.stream
    })
  }

  /** requests' `iter_content`: chunks of exactly `chunkSize` bytes (the last may be shorter); as they arrive without a size. */
  iterContent(chunkSize?: number): Stream.Stream<Uint8Array, RequestError.RequestError> {
    if (chunkSize === undefined) return this.body
    return Stream.suspend(() => {
      const rechunker = new lines.Rechunker(Math.max(1, Math.floor(chunkSize)))
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
   * (or `delimiter` separates lines), however the body is chunked. Lines are decoded text unless
   * `decodeUnicode: false`, which gives the raw bytes of each line.
   */
  iterLines(options?: {
    readonly delimiter?: string | undefined
    readonly decodeUnicode?: true | undefined
  }): Stream.Stream<string, RequestError.RequestError>
  iterLines(options: {
    readonly delimiter?: string | undefined
    readonly decodeUnicode: false
  }): Stream.Stream<Uint8Array, RequestError.RequestError>
  iterLines(options?: {
    readonly delimiter?: string | undefined
    readonly decodeUnicode?: boolean | undefined
  }): Stream.Stream<string | Uint8Array, RequestError.RequestError> {
    return Stream.suspend((): Stream.Stream<string | Uint8Array, RequestError.RequestError> => {
      const delimiter = options?.delimiter === undefined ? undefined : new TextEncoder().encode(options.delimiter)
      const splitter = new lines.LineSplitter(delimiter)
      const raw = this.body.pipe(
        Stream.mapConcat((chunk) => splitter.push(chunk)),
        Stream.concat(Stream.suspend(() => Stream.fromIterable(splitter.end())))
      )
      if (options?.decodeUnicode === false) return raw
      const encoding = this.encoding
      return Stream.map(raw, (line) => text.decode(line, encoding))
    })
  }

  /** Read the whole body into a buffered `Response` (and release the connection). */
  get buffer(): Effect.Effect<Response, RequestError.RequestError> {
    return Effect.suspend(() => {
      const source = this.take()
      if (source instanceof RequestError.StreamConsumedError) return Effect.fail(source)
      return Effect.map(source.readAll, (content) => new Response({ ...this.fields, content }))
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
  Effect.map(Stream.runCollect(stream), (chunks) => {
    const array = Chunk.toReadonlyArray(chunks)
    if (array.length === 1) return array[0]!
    let size = 0
    for (const c of array) size += c.length
    const out = new Uint8Array(size)
    let offset = 0
    for (const c of array) {
      out.set(c, offset)
      offset += c.length
    }
    return out
  })
