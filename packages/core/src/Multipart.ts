/**
 * `multipart/form-data` bodies (requests' `files=`), encoded here rather than with `FormData`:
 * Node 20's global `FormData` fails its brand check in undici 7 (nodejs/undici#4212), and ours
 * streams file parts instead of loading them.
 *
 * - Parts: the `data` fields first (lists repeat the field, `null` skips it), then the files, in
 *   requests' forms: a value, `[filename, content]`, `[filename, content, contentType]` or
 *   `[filename, content, contentType, headers]`. A `null` filename sends a plain field; a `null`
 *   content skips the part. Content: text (UTF-8), bytes, a number or boolean (`String()`), a
 *   `Body.file(path)` (streamed; its base name is the default filename), a `Body`, a `Stream` or an
 *   AsyncIterable (sent once).
 * - The boundary is 32 hex characters from `crypto.getRandomValues`.
 * - Names and filenames are escaped as HTML5 (and urllib3) do: `"` → `%22`, CR → `%0D`, LF → `%0A`;
 *   other characters, non-ASCII included, are sent as UTF-8. Extra part headers are checked like
 *   request headers. Nothing a user puts in a name, filename or header can start a new header line.
 * - The body is streamed part by part (file parts are never loaded whole; small pieces are joined
 *   so that the transport gets large writes). It has a `Content-Length` when every part's length
 *   is known (chunked otherwise), and can be sent again when every part can. A body made only of
 *   in-memory parts, up to 1 MiB, is sent as plain bytes.
 *
 * @since 0.1.0
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Option, Predicate, Stream } from "effect"
import * as Body from "./Body.js"
import { concatBytes } from "./internal/bytes.js"
import * as RequestError from "./RequestError.js"

/**
 * The content of one file part.
 *
 * @since 0.1.0
 * @category models
 */
export type Content =
  | string
  | Uint8Array
  | ArrayBuffer
  | number
  | boolean
  | bigint
  | Body.Body
  | Body.File
  | Stream.Stream<Uint8Array, unknown>
  | AsyncIterable<Uint8Array | string>
  | null
  | undefined

/**
 * Extra headers of one part.
 *
 * @since 0.1.0
 * @category models
 */
export type PartHeaders = Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]>

/**
 * One entry of `files`, in requests' forms.
 *
 * @since 0.1.0
 * @category models
 */
export type FileSpec =
  | Content
  | readonly [filename: string | null | undefined, content: Content]
  | readonly [filename: string | null | undefined, content: Content, contentType: string | null | undefined]
  | readonly [
    filename: string | null | undefined,
    content: Content,
    contentType: string | null | undefined,
    headers: PartHeaders
  ]

/**
 * requests' `files`: a record, or a list of `[name, file]` pairs (a name may repeat).
 *
 * @since 0.1.0
 * @category models
 */
export type Files = Readonly<Record<string, FileSpec>> | ReadonlyArray<readonly [string, FileSpec]>

/**
 * A form field value (`data` beside `files`).
 *
 * @since 0.1.0
 * @category models
 */
export type FieldValue = string | number | boolean | bigint | Uint8Array | null | undefined

/**
 * The form fields (`data` beside `files`).
 *
 * @since 0.1.0
 * @category models
 */
export type Fields =
  | URLSearchParams
  | Readonly<Record<string, FieldValue | ReadonlyArray<FieldValue>>>
  | ReadonlyArray<readonly [string, FieldValue | ReadonlyArray<FieldValue>]>

/**
 * One part, ready to encode.
 *
 * @since 0.1.0
 * @category models
 */
export interface Part {
  readonly name: string
  /** `undefined`: a plain field (no `filename` parameter). */
  readonly filename: string | undefined
  readonly contentType: string | undefined
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Body.Body
}

const encoder = new TextEncoder()
const HEX = "0123456789abcdef"

/**
 * A fresh boundary: 32 hex characters (128 bits) from the platform's cryptographic source.
 *
 * @since 0.1.0
 * @category constructors
 */
export const boundary = (): string => {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  let out = ""
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!
  return out
}

const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/

/**
 * A name or filename as HTML5 and urllib3 put it in `Content-Disposition`: `"` → `%22`,
 * CR → `%0D`, LF → `%0A`.
 *
 * @since 0.1.0
 * @category utils
 */
export const escapeParam = (value: string): string =>
  value.replace(/["\r\n]/g, (c) => (c === "\"" ? "%22" : c === "\r" ? "%0D" : "%0A"))

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const BAD_VALUE = /[\r\n\0]/

const invalid = (message: string) => new RequestError.InvalidRequest({ message })

const checkHeader = (name: string, value: string): RequestError.InvalidHeader | undefined =>
  TOKEN.test(name) && !BAD_VALUE.test(value) ? undefined : new RequestError.InvalidHeader({
    message: `Invalid character(s) in a multipart part header ${JSON.stringify(name)}`,
    name
  })

const SET_BY_US = new Set(["content-disposition", "content-type", "content-location"])

/** The header block of one part, ending with the blank line. */
const partHead = (part: Part, boundaryValue: string): string => {
  let head = `--${boundaryValue}\r\nContent-Disposition: form-data; name="${escapeParam(part.name)}"`
  if (part.filename !== undefined) head += `; filename="${escapeParam(part.filename)}"`
  head += "\r\n"
  if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`
  for (const [name, value] of part.headers) head += `${name}: ${value}\r\n`
  return head + "\r\n"
}

/** Small pieces are joined up to this size; larger byte parts are sent as they are (no copy). */
const COALESCE = 64 * 1024
/** A body made only of bytes, up to this size, is sent as one `Bytes` body. */
const INLINE = 1024 * 1024

/**
 * Encode parts as a `multipart/form-data` body (urllib3's `encode_multipart_formdata`, streamed).
 * Gives the body and its `Content-Type` (`multipart/form-data; boundary=...`).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeParts = (
  parts: ReadonlyArray<Part>,
  options?: { readonly boundary?: string | undefined }
): Effect.Effect<{ readonly body: Body.Body; readonly contentType: string }, RequestError.RequestError> =>
  Effect.suspend(
    (): Effect.Effect<{ readonly body: Body.Body; readonly contentType: string }, RequestError.RequestError> => {
      const b = options?.boundary ?? boundary()
      if (!BOUNDARY.test(b)) return Effect.fail(invalid(`Invalid multipart boundary ${JSON.stringify(b)}`))
      for (const part of parts) {
        for (const [name, value] of part.headers) {
          const error = checkHeader(name, value)
          if (error !== undefined) return Effect.fail(error)
        }
        if (part.contentType !== undefined) {
          const error = checkHeader("Content-Type", part.contentType)
          if (error !== undefined) return Effect.fail(error)
        }
      }
      const segments: Array<Uint8Array | Body.StreamBody> = []
      let small: Array<Uint8Array> = []
      let smallSize = 0
      let total: number | undefined = 0
      let replayable = true
      let onlyBytes = true
      const flush = () => {
        if (small.length > 0) segments.push(concatBytes(small, smallSize))
        small = []
        smallSize = 0
      }
      const pushBytes = (bytes: Uint8Array) => {
        if (bytes.length === 0) return
        if (total !== undefined) total += bytes.length
        if (bytes.length >= COALESCE) {
          flush()
          segments.push(bytes)
          return
        }
        small.push(bytes)
        smallSize += bytes.length
        if (smallSize >= COALESCE) flush()
      }
      for (const part of parts) {
        pushBytes(encoder.encode(partHead(part, b)))
        const body = part.body
        if (body._tag === "Bytes") {
          pushBytes(body.bytes)
        } else if (body._tag === "Stream") {
          flush()
          segments.push(body)
          onlyBytes = false
          replayable &&= body.replayable
          total = total === undefined || body.length === undefined ? undefined : total + body.length
        }
        pushBytes(CRLF)
      }
      pushBytes(encoder.encode(`--${b}--\r\n`))
      flush()
      const contentType = `multipart/form-data; boundary=${b}`
      if (onlyBytes && total !== undefined && total <= INLINE) {
        const bytes = concatBytes(segments as Array<Uint8Array>, total)
        return Effect.succeed({ body: Body.bytes(bytes), contentType })
      }
      const make = () =>
        Stream.fromIterable(segments).pipe(
          Stream.flatMap((segment) =>
            segment instanceof Uint8Array ? Stream.succeed(segment) : Stream.unwrap(segment.open)
          )
        )
      const streamOptions = { length: total, kind: "multipart", contentType }
      return Effect.succeed({
        body: replayable ? Body.replayable(make, streamOptions) : Body.oneShot(make(), {
          ...streamOptions,
          onReopen: () => new RequestError.UnrewindableBodyError({ message: "Unable to rewind request body." })
        }),
        contentType
      })
    }
  )

const CRLF = new Uint8Array([13, 10])

const isStreamLike = (u: unknown): boolean =>
  typeof u === "object" && u !== null && (Stream.StreamTypeId in u || Symbol.asyncIterator in u)

/** The body of one part from its content; `undefined` skips the part (requests skips `None`). */
const contentBody = (
  content: Content,
  name: string,
  fileSystem: Option.Option<FileSystem.FileSystem>
): Effect.Effect<Body.Body | undefined, RequestError.RequestError> => {
  if (content === null || content === undefined) return Effect.succeed(undefined)
  if (typeof content === "string") return Effect.succeed(Body.text(content))
  if (typeof content === "number" || typeof content === "boolean" || typeof content === "bigint") {
    return Effect.succeed(Body.text(String(content)))
  }
  if (content instanceof Uint8Array) return Effect.succeed(Body.bytes(content))
  if (content instanceof ArrayBuffer) return Effect.succeed(Body.bytes(new Uint8Array(content)))
  if (Body.isFile(content)) return Body.resolveFile(content, fileSystem)
  if (Body.isBody(content)) return Effect.succeed(content)
  if (isStreamLike(content)) {
    return Effect.succeed(Body.stream(content as Stream.Stream<Uint8Array, unknown>))
  }
  return Effect.fail(invalid(`files: the content of ${JSON.stringify(name)} cannot be sent (${typeof content})`))
}

const headerPairs = (headers: PartHeaders | undefined): Array<readonly [string, string]> => {
  if (headers === undefined || headers === null) return []
  const pairs: ReadonlyArray<readonly [string, string]> = Array.isArray(headers)
    ? headers as ReadonlyArray<readonly [string, string]>
    : Object.entries(headers as Readonly<Record<string, string>>)
  return pairs.filter(([name]) => !SET_BY_US.has(String(name).toLowerCase())).map(([n, v]) => [String(n), String(v)])
}

/** One `files` entry as a part (`undefined` when its content is `null`). */
const filePart = (
  name: string,
  spec: FileSpec,
  fileSystem: Option.Option<FileSystem.FileSystem>
): Effect.Effect<Part | undefined, RequestError.RequestError> =>
  Effect.gen(function*() {
    let filename: string | undefined
    let content: Content
    let contentType: string | undefined
    let headers: Array<readonly [string, string]> = []
    if (Array.isArray(spec)) {
      if (spec.length < 2 || spec.length > 4) {
        return yield* invalid(
          `files: the entry for ${
            JSON.stringify(name)
          } must be [filename, content] with an optional content type and headers`
        )
      }
      const [fn, c, ct, h] = spec as readonly [unknown, Content, unknown, PartHeaders | undefined]
      filename = fn === null || fn === undefined ? undefined : String(fn)
      content = c
      contentType = ct === null || ct === undefined ? undefined : String(ct)
      headers = headerPairs(h)
    } else {
      content = spec as Content
      filename = Body.isFile(content) ? Body.baseName(content.path) || name : name
    }
    const body = yield* contentBody(content, name, fileSystem)
    if (body === undefined) return undefined
    if (contentType === undefined) {
      if (Body.isFile(content)) contentType = content.contentType
      else if (body._tag === "Stream") contentType = body.contentType
    }
    return { name, filename, contentType, headers, body }
  })

const fieldPairs = (fields: unknown): Array<readonly [string, FieldValue | ReadonlyArray<FieldValue>]> | undefined => {
  if (fields === undefined || fields === null) return []
  if (fields instanceof URLSearchParams) return Array.from(fields.entries())
  if (Array.isArray(fields)) {
    const out: Array<readonly [string, FieldValue | ReadonlyArray<FieldValue>]> = []
    for (const entry of fields) {
      if (!Array.isArray(entry) || entry.length !== 2) return undefined
      out.push([String(entry[0]), entry[1]])
    }
    return out
  }
  if (Predicate.isRecord(fields) && !isStreamLike(fields) && !Body.isBody(fields) && !Body.isFile(fields)) {
    return Object.entries(fields as Record<string, FieldValue | ReadonlyArray<FieldValue>>)
  }
  return undefined
}

const fieldBody = (value: Exclude<FieldValue, null | undefined>): Body.Body =>
  value instanceof Uint8Array ? Body.bytes(value) : Body.text(typeof value === "string" ? value : String(value))

/**
 * requests' `_encode_files(files, data)`: the parts of a request with `files` (and `data` fields),
 * with requests' checks, which fail with `InvalidRequest`: `files` must not be empty ("Files must
 * be provided."), `data` must not be text or bytes ("Data must not be a string.") nor a stream
 * ("Streamed bodies and files are mutually exclusive."), and every entry must be a pair.
 *
 * @since 0.1.0
 * @category encoding
 */
export const parts = (options: {
  readonly data?: unknown
  readonly files: unknown
  readonly fileSystem?: Option.Option<FileSystem.FileSystem> | undefined
}): Effect.Effect<Array<Part>, RequestError.RequestError> =>
  Effect.gen(function*() {
    const { data, files } = options
    const fileSystem = options.fileSystem ?? Option.none()
    if (typeof data === "string" || data instanceof Uint8Array || data instanceof ArrayBuffer) {
      return yield* invalid("Data must not be a string.")
    }
    if (isStreamLike(data) || Body.isBody(data) || Body.isFile(data)) {
      return yield* invalid("Streamed bodies and files are mutually exclusive.")
    }
    const fields = fieldPairs(data)
    if (fields === undefined) return yield* invalid("data: with files, data must be a record or a list of pairs")
    let entries: ReadonlyArray<readonly [string, FileSpec]>
    if (Array.isArray(files)) {
      for (const entry of files) {
        if (!Array.isArray(entry) || entry.length !== 2) {
          return yield* invalid("files: a list of files must hold [name, file] pairs")
        }
      }
      entries = (files as ReadonlyArray<readonly [unknown, FileSpec]>).map(([k, v]) => [String(k), v])
    } else if (Predicate.isRecord(files) && !isStreamLike(files) && !Body.isBody(files) && !Body.isFile(files)) {
      entries = Object.entries(files as Readonly<Record<string, FileSpec>>)
    } else {
      return yield* invalid("files: expected a record or a list of [name, file] pairs")
    }
    if (entries.length === 0) return yield* invalid("Files must be provided.")
    const out: Array<Part> = []
    for (const [name, value] of fields) {
      const values = Array.isArray(value) ? value as ReadonlyArray<FieldValue> : [value as FieldValue]
      for (const v of values) {
        if (v === null || v === undefined) continue
        out.push({ name, filename: undefined, contentType: undefined, headers: [], body: fieldBody(v) })
      }
    }
    for (const [name, spec] of entries) {
      const part = yield* filePart(name, spec, fileSystem)
      if (part !== undefined) out.push(part)
    }
    return out
  })

/**
 * The body of a request with `files` (and `data` fields): `parts` then `encodeParts`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (options: {
  readonly data?: unknown
  readonly files: unknown
  readonly fileSystem?: Option.Option<FileSystem.FileSystem> | undefined
  readonly boundary?: string | undefined
}): Effect.Effect<{ readonly body: Body.Body; readonly contentType: string }, RequestError.RequestError> =>
  Effect.flatMap(parts(options), (all) => encodeParts(all, { boundary: options.boundary }))
