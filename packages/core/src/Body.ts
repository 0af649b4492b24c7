/**
 * Request bodies: what `data`, `json` and `files` become, and whether a body can be sent again.
 *
 * A prepared body is one of three shapes an adapter sends: `Empty`, `Bytes` (replayable) and
 * `Stream` (sent with a length when known, chunked otherwise). A `Stream` body is opened through an
 * Effect each time it is sent; a one-shot source (an AsyncIterable, a user's `Stream` value) can be
 * opened once, and a second open (a 307/308 redirect, a digest retry, a retry policy) fails with
 * `UnrewindableBodyError` instead of sending an empty body. Whether a body can be replayed is
 * known from its value (`isReplayable`), before anything is sent.
 *
 * Constructors for `data`:
 * - `Body.stream(stream, { length? })`: a `Stream` or AsyncIterable sent once (chunked, or with
 *   `Content-Length` when the length is given).
 * - `Body.replayable(() => stream, { length? })`: a source that can be opened again.
 * - `Body.file(path, { contentType? })`: a file read through the platform `FileSystem` the
 *   session has (NodeSession provides Node's): sent with its length, streamed in chunks, never
 *   loaded whole, and replayable (the file is opened again).
 *
 * @since 0.1.0
 */
import type { FileSystem } from "@effect/platform"
import { Chunk, Effect, Option, Predicate, Stream } from "effect"
import * as RequestError from "./RequestError.js"

/**
 * No body.
 *
 * @since 0.1.0
 * @category models
 */
export interface Empty {
  readonly _tag: "Empty"
}

/**
 * Bytes in memory: always replayable.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bytes {
  readonly _tag: "Bytes"
  readonly bytes: Uint8Array
}

/**
 * A streamed body. `open` gives the bytes each time the body is sent; `replayable` says whether
 * a second `open` works. `length`, when known, is sent as `Content-Length`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamBody {
  readonly _tag: "Stream"
  readonly open: Effect.Effect<Stream.Stream<Uint8Array, RequestError.RequestError>, RequestError.RequestError>
  readonly length: number | undefined
  readonly replayable: boolean
  /** What the body is, for `toJSON` and logs: "stream", "file", "multipart", "async-iterable". */
  readonly kind: string
  /** The `Content-Type` the body implies (a file's, a multipart boundary), set unless the user set one. */
  readonly contentType?: string | undefined
}

/**
 * A prepared request body.
 *
 * @since 0.1.0
 * @category models
 */
export type Body = Empty | Bytes | StreamBody

/**
 * @since 0.1.0
 * @category constructors
 */
export const empty: Body = { _tag: "Empty" }

const encoder = new TextEncoder()

/**
 * @since 0.1.0
 * @category constructors
 */
export const bytes = (value: Uint8Array): Body => value.length === 0 ? empty : { _tag: "Bytes", bytes: value }

/**
 * UTF-8 text (requests counts a string body's length in UTF-8 bytes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const text = (value: string): Body => bytes(encoder.encode(value))

/**
 * Options of the streamed-body constructors.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions {
  /** The exact number of bytes the source gives: sent as `Content-Length` (chunked without it). */
  readonly length?: number | undefined
  readonly contentType?: string | undefined
  readonly kind?: string | undefined
}

/**
 * A failure of a body's source as one of our errors: ours pass through, anything else becomes
 * `InvalidRequest` with the original as its cause.
 *
 * @since 0.1.0
 * @category errors
 */
export const sourceError = (cause: unknown): RequestError.RequestError =>
  RequestError.isRequestError(cause) ? cause : new RequestError.InvalidRequest({
    message: `The request body's source failed: ${
      Predicate.hasProperty(cause, "message") && typeof cause.message === "string" ? cause.message : String(cause)
    }`,
    cause
  })

const SourceIterable = Symbol.for("@effect-requests/core/Body/SourceIterable")

const streamOf = (
  source: Stream.Stream<Uint8Array, unknown> | AsyncIterable<Uint8Array | string>
): Stream.Stream<Uint8Array, RequestError.RequestError> => {
  if (Stream.StreamTypeId in source) return Stream.mapError(source as Stream.Stream<Uint8Array, unknown>, sourceError)
  const iterable = source as AsyncIterable<Uint8Array | string>
  const stream = Stream.fromAsyncIterable(iterable, sourceError).pipe(
    Stream.mapChunksEffect(bytesOf)
  )
  Object.defineProperty(stream, SourceIterable, { value: iterable })
  return stream
}

/**
 * The AsyncIterable a body's Stream was made from, when that Stream is exactly the opened source
 * of `stream(asyncIterable)` or `replayable(() => asyncIterable)` and nothing was layered on it
 * since (a progress report, a recorder): an adapter that writes from an AsyncIterable may then
 * take the source itself instead of an Effect Stream made from it and turned back. It must then
 * do what the Stream does: each chunk through `chunkBytes` (refused with `chunkError`), a
 * failure of the source mapped with `sourceError`, and the iterator's `return` called when the
 * request stops early.
 *
 * @since 0.1.0
 * @category getters
 */
export const sourceIterable = (stream: Stream.Stream<Uint8Array, unknown>): AsyncIterable<unknown> | undefined =>
  (stream as { readonly [SourceIterable]?: AsyncIterable<unknown> })[SourceIterable]

/**
 * The error for a chunk of an AsyncIterable body that is neither bytes nor a string.
 *
 * @since 0.1.0
 * @category errors
 */
export const chunkError = (chunk: unknown): RequestError.RequestError =>
  new RequestError.InvalidRequest({
    message: `The request body's source gave ${
      chunk === null
        ? "null"
        : typeof chunk === "object"
        ? `an object (${chunk.constructor?.name ?? "Object"})`
        : `a ${typeof chunk}`
    }, not bytes or a string`
  })

/**
 * One chunk of an AsyncIterable body as bytes: bytes as they are, a string as UTF-8; `undefined`
 * for anything else (fail with `chunkError`).
 *
 * @since 0.1.0
 * @category getters
 */
export const chunkBytes = (value: unknown): Uint8Array | undefined =>
  value instanceof Uint8Array ? value : typeof value === "string" ? encoder.encode(value) : undefined

const bytesOf = (
  chunk: Chunk.Chunk<unknown>
): Effect.Effect<Chunk.Chunk<Uint8Array>, RequestError.RequestError> => {
  const out: Array<Uint8Array> = []
  for (const value of chunk) {
    const bytes = chunkBytes(value)
    if (bytes === undefined) return Effect.fail(chunkError(value))
    out.push(bytes)
  }
  return Effect.succeed(Chunk.unsafeFromArray(out))
}

/**
 * A streamed body from a source that can be opened again: each send runs `make` anew.
 *
 * @since 0.1.0
 * @category constructors
 */
export const replayable = <E = never>(
  make: () => Stream.Stream<Uint8Array, E> | AsyncIterable<Uint8Array | string>,
  options?: StreamOptions
): StreamBody => ({
  _tag: "Stream",
  open: Effect.sync(() => streamOf(make())),
  length: checkLength(options?.length),
  replayable: true,
  kind: options?.kind ?? "stream",
  contentType: options?.contentType
})

const checkLength = (length: number | undefined): number | undefined =>
  length !== undefined && Number.isSafeInteger(length) && length >= 0 ? length : undefined

/**
 * A streamed body that can be sent once (a `Stream` value or an AsyncIterable from the user).
 * Opening it a second time fails with `onReopen` (`UnrewindableBodyError`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const oneShot = (
  stream: Stream.Stream<Uint8Array, RequestError.RequestError>,
  options: StreamOptions & { readonly onReopen: () => RequestError.RequestError }
): StreamBody => {
  let opened = false
  return {
    _tag: "Stream",
    open: Effect.suspend(() => {
      if (opened) return Effect.fail(options.onReopen())
      opened = true
      return Effect.succeed(stream)
    }),
    length: checkLength(options.length),
    replayable: false,
    kind: options.kind ?? "stream",
    contentType: options.contentType
  }
}

/**
 * A `Stream` or an AsyncIterable sent once: chunked, or with `Content-Length` when `length` is
 * given (the source must then give exactly that many bytes, or the request fails). A second send
 * (a 307/308 redirect, an auth round trip, a retry) fails with `UnrewindableBodyError`. Strings
 * from an AsyncIterable are sent as UTF-8. A failure of the source that is not one of our errors
 * becomes `InvalidRequest`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const stream = (
  source: Stream.Stream<Uint8Array, unknown> | AsyncIterable<Uint8Array | string>,
  options?: StreamOptions
): StreamBody =>
  oneShot(streamOf(source), {
    ...options,
    kind: options?.kind ?? (Stream.StreamTypeId in source ? "stream" : "async-iterable"),
    onReopen: () => new RequestError.UnrewindableBodyError({ message: "Unable to rewind request body." })
  })

/**
 * A file to send, read through the platform `FileSystem` when the request is prepared (see `file`).
 *
 * @since 0.1.0
 * @category models
 */
export interface File {
  readonly _tag: "File"
  readonly path: string
  readonly contentType: string | undefined
  /** First byte to send (default 0). */
  readonly offset: number
  /** Most bytes to send (default: to the end of the file). */
  readonly maxLength: number | undefined
  /** Size of the chunks read and sent (default 256 KiB). */
  readonly chunkSize: number
}

/**
 * A file body: sent with its length (`Content-Length`), streamed in chunks of `chunkSize` bytes,
 * never loaded whole, and opened again for each send (a 307/308 redirect or a retry works). The
 * session resolves it with its `FileSystem` (NodeSession provides Node's); without one, or when
 * the path is not a readable file, the request fails with `InvalidRequest`. `contentType` is set
 * unless the request has a `Content-Type`; in `files`, it is the part's type and the file's base
 * name is the part's filename.
 *
 * @since 0.1.0
 * @category constructors
 */
export const file = (
  path: string,
  options?: {
    readonly contentType?: string | undefined
    readonly offset?: number | undefined
    readonly length?: number | undefined
    readonly chunkSize?: number | undefined
  }
): File => ({
  _tag: "File",
  path,
  contentType: options?.contentType,
  offset: Math.max(0, Math.floor(options?.offset ?? 0)),
  maxLength: checkLength(options?.length),
  chunkSize: Math.max(1, Math.floor(options?.chunkSize ?? 256 * 1024))
})

/**
 * @since 0.1.0
 * @category refinements
 */
export const isFile = (u: unknown): u is File =>
  Predicate.hasProperty(u, "_tag") && u._tag === "File" && Predicate.hasProperty(u, "path")

/**
 * @since 0.1.0
 * @category refinements
 */
export const isBody = (u: unknown): u is Body =>
  Predicate.hasProperty(u, "_tag") &&
  (u._tag === "Empty" || (u._tag === "Bytes" && Predicate.hasProperty(u, "bytes")) ||
    (u._tag === "Stream" && Predicate.hasProperty(u, "open")))

/**
 * The last path segment (either separator), as requests' `guess_filename` takes it.
 *
 * @since 0.1.0
 * @category utils
 */
export const baseName = (path: string): string => {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))
  return cut === -1 ? path : path.slice(cut + 1)
}

/**
 * Turn a `File` into a streamed body with the `FileSystem` at hand: the size comes from `stat`,
 * the bytes from `FileSystem.stream`, opened anew on each send.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolveFile = (
  source: File,
  fileSystem: Option.Option<FileSystem.FileSystem>
): Effect.Effect<StreamBody, RequestError.RequestError> =>
  Effect.gen(function*() {
    if (Option.isNone(fileSystem)) {
      return yield* new RequestError.InvalidRequest({
        message:
          `Cannot send the file ${source.path}: no FileSystem service (NodeSession.layer provides one; with Session.layer, provide a FileSystem layer)`
      })
    }
    const fs = fileSystem.value
    const failed = (cause: unknown) =>
      new RequestError.InvalidRequest({
        message: `Cannot read the file ${source.path}: ${
          Predicate.hasProperty(cause, "message") ? String(cause.message) : String(cause)
        }`,
        cause
      })
    const info = yield* Effect.mapError(fs.stat(source.path), failed)
    if (info.type !== "File") {
      return yield* new RequestError.InvalidRequest({ message: `Cannot send ${source.path}: not a regular file` })
    }
    const available = Math.max(0, Number(info.size) - source.offset)
    const length = source.maxLength === undefined ? available : Math.min(available, source.maxLength)
    return replayable(
      () =>
        length === 0 ? Stream.empty : fs.stream(source.path, {
          offset: source.offset,
          bytesToRead: length,
          chunkSize: source.chunkSize
        }).pipe(Stream.mapError(failed)),
      { length, kind: "file", contentType: source.contentType }
    )
  })

/**
 * Whether the body can be sent again (Empty and Bytes always; streams when their source allows it).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isReplayable = (body: Body): boolean => body._tag !== "Stream" || body.replayable

/**
 * The body's length in bytes, when known.
 *
 * @since 0.1.0
 * @category getters
 */
export const length = (body: Body): number | undefined =>
  body._tag === "Empty" ? 0 : body._tag === "Bytes" ? body.bytes.length : body.length

/**
 * The body as a stream of chunks (Bytes as one chunk).
 *
 * @since 0.1.0
 * @category getters
 */
export const toStream = (
  body: Body
): Effect.Effect<Stream.Stream<Uint8Array, RequestError.RequestError>, RequestError.RequestError> =>
  body._tag === "Empty"
    ? Effect.succeed(Stream.empty)
    : body._tag === "Bytes"
    ? Effect.succeed(Stream.succeed(body.bytes))
    : body.open

/**
 * A description for logs and `toJSON`: kind and length, never the content.
 *
 * @since 0.1.0
 * @category getters
 */
export const describe = (body: Body): { readonly kind: string; readonly length?: number } => {
  switch (body._tag) {
    case "Empty":
      return { kind: "empty" }
    case "Bytes":
      return { kind: "bytes", length: body.bytes.length }
    case "Stream":
      return body.length === undefined ? { kind: body.kind } : { kind: body.kind, length: body.length }
  }
}
