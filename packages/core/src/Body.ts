/**
 * Request bodies: what `data`, `json` and `files` become, and whether a body can be sent again.
 *
 * A prepared body is one of three shapes an adapter sends: `Empty`, `Bytes` (replayable) and
 * `Stream` (sent with a length when known, chunked otherwise). A `Stream` body is opened through an
 * Effect each time it is sent; a one-shot source (an AsyncIterable, a user's `Stream` value) can be
 * opened once, and a second open (a 307/308 redirect, a digest retry, a retry policy) fails with
 * `UnrewindableBodyError` instead of sending an empty body.
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import type * as RequestError from "./RequestError.js"

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
 * A streamed body from a source that can be opened again: each send runs `make` anew.
 *
 * @since 0.1.0
 * @category constructors
 */
export const replayable = <E extends RequestError.RequestError = never>(
  make: () => Stream.Stream<Uint8Array, E>,
  options?: { readonly length?: number | undefined; readonly kind?: string | undefined }
): Body => ({
  _tag: "Stream",
  open: Effect.sync(make),
  length: options?.length,
  replayable: true,
  kind: options?.kind ?? "stream"
})

/**
 * A streamed body that can be sent once (a `Stream` value or an AsyncIterable from the user).
 * Opening it a second time fails with `UnrewindableBodyError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const oneShot = (
  stream: Stream.Stream<Uint8Array, RequestError.RequestError>,
  options: {
    readonly length?: number | undefined
    readonly kind?: string | undefined
    readonly onReopen: () => RequestError.RequestError
  }
): Body => {
  let opened = false
  return {
    _tag: "Stream",
    open: Effect.suspend(() => {
      if (opened) return Effect.fail(options.onReopen())
      opened = true
      return Effect.succeed(stream)
    }),
    length: options.length,
    replayable: false,
    kind: options.kind ?? "stream"
  }
}

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
