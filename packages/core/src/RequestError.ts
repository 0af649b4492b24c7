/**
 * Every failure of the library, as `Data.TaggedError` classes whose `_tag` is requests' exception
 * name, their union `RequestError`, and the group predicates that stand in for requests' multiple
 * inheritance (`ConnectTimeout` is both a connection error and a timeout).
 *
 * Each error carries the request (its `toJSON` is redacted) and, where there is one, the response.
 * Messages name the URL without credentials; no secret ever appears in a message or in `toJSON`.
 *
 * @since 0.1.0
 */
import { Data, Predicate } from "effect"
import type * as PreparedRequest from "./PreparedRequest.js"
import type * as Response from "./Response.js"

interface Common {
  readonly message: string
  readonly request?: PreparedRequest.PreparedRequest | undefined
  readonly response?: Response.Head | undefined
  readonly cause?: unknown
}

/**
 * The phase a timeout hit.
 *
 * @since 0.1.0
 * @category models
 */
export type TimeoutPhase = "connect" | "tls" | "headers" | "body" | "total" | "pool"

/**
 * A failure to connect: refused, reset, unreachable, DNS, a closed pool.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Data.TaggedError("ConnectionError")<Common & { readonly code?: string }> {}

/**
 * The proxy refused, could not be reached, or asked for credentials that were not accepted.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProxyError extends Data.TaggedError("ProxyError")<Common & { readonly status?: number }> {}

/**
 * A TLS failure; `reason` is the verification or handshake error (e.g. `CERT_HAS_EXPIRED`).
 *
 * @since 0.1.0
 * @category errors
 */
export class SSLError extends Data.TaggedError("SSLError")<Common & { readonly reason: string }> {}

/**
 * No connection within the connect timeout.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectTimeout extends Data.TaggedError("ConnectTimeout")<Common & { readonly phase: TimeoutPhase }> {}

/**
 * No byte within the read timeout, while waiting for the headers or between body chunks.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReadTimeout extends Data.TaggedError("ReadTimeout")<Common & { readonly phase: TimeoutPhase }> {}

/**
 * The total deadline (covering redirects, auth round trips and retries) passed.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Data.TaggedError("Timeout")<Common & { readonly phase: TimeoutPhase }> {}

/**
 * More redirects than `maxRedirects`.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyRedirects extends Data.TaggedError("TooManyRedirects")<Common> {}

/**
 * A URL without a scheme (`example.com`).
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingSchema extends Data.TaggedError("MissingSchema")<Common & { readonly url: string }> {}

/**
 * A URL whose scheme no mounted adapter handles (`ftp://`), or a redirect to one.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidSchema extends Data.TaggedError("InvalidSchema")<Common & { readonly url: string }> {}

/**
 * A URL that cannot be parsed or has no host.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidURL extends Data.TaggedError("InvalidURL")<Common & { readonly url: string }> {}

/**
 * A proxy URL that cannot be parsed or has no host.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidProxyURL extends Data.TaggedError("InvalidProxyURL")<Common & { readonly url: string }> {}

/**
 * A header name or value with CR/LF, leading whitespace or characters HTTP does not allow.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidHeader extends Data.TaggedError("InvalidHeader")<Common & { readonly name: string }> {}

/**
 * A `json` body that JSON cannot represent (NaN, Infinity, a cycle, a BigInt).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidJSONError extends Data.TaggedError("InvalidJSONError")<Common> {}

/**
 * A response body that is not JSON. `doc` is the text that failed (not in the message).
 *
 * @since 0.1.0
 * @category errors
 */
export class JSONDecodeError extends Data.TaggedError("JSONDecodeError")<
  Common & { readonly doc: string; readonly pos: number }
> {}

/**
 * One place where a response does not match a Schema: the path and what was expected (never the
 * value found).
 *
 * @since 0.1.0
 * @category models
 */
export interface DecodeIssue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/**
 * A response body or its headers do not match a Schema (`Response.schemaJson`, `schemaHeaders`,
 * `schemaNdjson`). `issues` says where and what was expected, without the values; for a body,
 * `cause` is the Schema `ParseError` (which, like `JSONDecodeError.doc`, holds the body's values).
 *
 * @since 0.1.0
 * @category errors
 */
export class ResponseDecodeError extends Data.TaggedError("ResponseDecodeError")<
  Common & { readonly source: "body" | "headers"; readonly issues: ReadonlyArray<DecodeIssue> }
> {}

/**
 * A 4xx or 5xx status, from `Response.raiseForStatus`.
 *
 * @since 0.1.0
 * @category errors
 */
export class HTTPError extends Data.TaggedError("HTTPError")<Common & { readonly status: number }> {}

/**
 * The connection broke while the body was being read (truncated chunked body, a body shorter
 * than its Content-Length, a reset).
 *
 * @since 0.1.0
 * @category errors
 */
export class ChunkedEncodingError extends Data.TaggedError("ChunkedEncodingError")<Common> {}

/**
 * A body that could not be decoded (`Content-Encoding`), or that decodes past the allowed ratio.
 *
 * @since 0.1.0
 * @category errors
 */
export class ContentDecodingError extends Data.TaggedError("ContentDecodingError")<Common> {}

/**
 * A body larger than the session's limit (`limits.maxBodySize`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ContentTooLarge extends Data.TaggedError("ContentTooLarge")<Common & { readonly limit: number }> {}

/**
 * A streamed body read a second time.
 *
 * @since 0.1.0
 * @category errors
 */
export class StreamConsumedError extends Data.TaggedError("StreamConsumedError")<Common> {}

/**
 * A retry policy gave up; `attempts` is what each attempt ended with.
 *
 * @since 0.1.0
 * @category errors
 */
export class RetryError extends Data.TaggedError("RetryError")<
  Common & { readonly attempts: ReadonlyArray<RetryAttempt> }
> {}

/**
 * One attempt in a `RetryError`'s history.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryAttempt {
  readonly attempt: number
  /** Why the attempt was retried (or would have been): urllib3's counters. */
  readonly cause?: "connect" | "read" | "status" | "other" | "redirect" | undefined
  readonly status?: number | undefined
  readonly error?: string | undefined
  readonly delayMillis: number
}

/**
 * A body that cannot be sent again (a one-shot stream) was needed again by a 307/308 redirect,
 * an auth round trip or a retry.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnrewindableBodyError extends Data.TaggedError("UnrewindableBodyError")<Common> {}

/**
 * A record/replay transport (`Cassette`) holds no recorded exchange for this request (matched by
 * method, URL and body digest), or every matching one was already replayed.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnrecordedRequest extends Data.TaggedError("UnrecordedRequest")<Common & { readonly key: string }> {}

/**
 * A request that cannot be built: conflicting body options, a bad `files` entry, a bad timeout.
 * requests raises `ValueError` for these.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<Common> {}

/**
 * More than one cookie matches a name (requests' `CookieConflictError`).
 *
 * @since 0.1.0
 * @category errors
 */
export class CookieConflictError extends Data.TaggedError("CookieConflictError")<
  Common & { readonly name: string }
> {}

/**
 * A failure raised by a user's hook or custom auth flow that is not one of ours.
 *
 * @since 0.1.0
 * @category errors
 */
export class HookError extends Data.TaggedError("HookError")<Common & { readonly hook: string }> {}

/**
 * The union of every error the library fails with.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestError =
  | ConnectionError
  | ProxyError
  | SSLError
  | ConnectTimeout
  | ReadTimeout
  | Timeout
  | TooManyRedirects
  | MissingSchema
  | InvalidSchema
  | InvalidURL
  | InvalidProxyURL
  | InvalidHeader
  | InvalidJSONError
  | JSONDecodeError
  | ResponseDecodeError
  | HTTPError
  | ChunkedEncodingError
  | ContentDecodingError
  | ContentTooLarge
  | StreamConsumedError
  | RetryError
  | UnrewindableBodyError
  | UnrecordedRequest
  | InvalidRequest
  | CookieConflictError
  | HookError

const tags: ReadonlySet<string> = new Set([
  "ConnectionError",
  "ProxyError",
  "SSLError",
  "ConnectTimeout",
  "ReadTimeout",
  "Timeout",
  "TooManyRedirects",
  "MissingSchema",
  "InvalidSchema",
  "InvalidURL",
  "InvalidProxyURL",
  "InvalidHeader",
  "InvalidJSONError",
  "JSONDecodeError",
  "ResponseDecodeError",
  "HTTPError",
  "ChunkedEncodingError",
  "ContentDecodingError",
  "ContentTooLarge",
  "StreamConsumedError",
  "RetryError",
  "UnrewindableBodyError",
  "UnrecordedRequest",
  "InvalidRequest",
  "CookieConflictError",
  "HookError"
])

/**
 * Whether a value is one of this library's errors.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRequestError = (u: unknown): u is RequestError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag) && u instanceof Error

/**
 * requests' `Timeout` family: connect, read and total timeouts.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isTimeout = (u: unknown): u is ConnectTimeout | ReadTimeout | Timeout =>
  isRequestError(u) && (u._tag === "ConnectTimeout" || u._tag === "ReadTimeout" || u._tag === "Timeout")

/**
 * requests' `ConnectionError` family: connection, proxy and TLS failures and connect timeouts.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isConnectionError = (u: unknown): u is ConnectionError | ProxyError | SSLError | ConnectTimeout =>
  isRequestError(u) &&
  (u._tag === "ConnectionError" || u._tag === "ProxyError" || u._tag === "SSLError" || u._tag === "ConnectTimeout")

/**
 * requests' `InvalidURL`/`ValueError` family: errors raised while preparing a request, before anything is sent.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isInvalidRequest = (
  u: unknown
): u is
  | MissingSchema
  | InvalidSchema
  | InvalidURL
  | InvalidProxyURL
  | InvalidHeader
  | InvalidJSONError
  | InvalidRequest =>
  isRequestError(u) &&
  (u._tag === "MissingSchema" || u._tag === "InvalidSchema" || u._tag === "InvalidURL" ||
    u._tag === "InvalidProxyURL" || u._tag === "InvalidHeader" || u._tag === "InvalidJSONError" ||
    u._tag === "InvalidRequest")

/**
 * Errors raised while reading a body: broken connections, bad encodings, limits.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isBodyError = (
  u: unknown
): u is ChunkedEncodingError | ContentDecodingError | ContentTooLarge | StreamConsumedError =>
  isRequestError(u) &&
  (u._tag === "ChunkedEncodingError" || u._tag === "ContentDecodingError" || u._tag === "ContentTooLarge" ||
    u._tag === "StreamConsumedError")

/**
 * Errors for which sending the same request again may succeed (used by retry policies).
 *
 * @since 0.1.0
 * @category refinements
 */
export const isTransient = (u: unknown): boolean =>
  isRequestError(u) &&
  (u._tag === "ConnectionError" || u._tag === "ConnectTimeout" || u._tag === "ReadTimeout" ||
    u._tag === "ChunkedEncodingError" || u._tag === "ProxyError")
