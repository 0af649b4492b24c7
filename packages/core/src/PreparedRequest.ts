/**
 * The prepared request (requests' `PreparedRequest`): method, URL, headers and body exactly as they
 * will be sent, plus what the session needs to follow it through redirects (the merged hooks, the
 * auth value, per-request cookies and the credentials already stripped in this chain).
 *
 * It is an immutable value: `copy`, `setHeader` and `removeHeader` return new requests. Its
 * `toJSON`, `toString` and inspection never show credentials, cookies or the body.
 *
 * The preparation steps (`prepareMethod`, `prepareUrl`, `prepareHeaders`, `prepareBody`,
 * `prepareContentLength`) are exported one by one, in requests' order, for users who build
 * requests by hand; `Session.prepareRequest` runs them all with the session's settings merged in.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { NodeInspectSymbol } from "effect/Inspectable"
import type * as Auth from "./Auth.js"
import * as Body from "./Body.js"
import * as Headers from "./Headers.js"
import * as Hooks from "./Hooks.js"
import * as url from "./internal/url.js"
import * as RequestError from "./RequestError.js"

/**
 * State carried from hop to hop of one redirect chain.
 *
 * @since 0.1.0
 * @category models
 */
export interface Chain {
  /** The origin (`scheme://host:port`) of the first request: per-request cookies and a user `Host` belong to it. */
  readonly origin: string
  /** Lower-cased header names removed on an origin change: never restored later in the chain. */
  readonly stripped: ReadonlySet<string>
  /** Extra header names treated as credentials (the session's `sensitiveHeaders`). */
  readonly sensitive: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Fields {
  readonly method: string
  readonly url: string
  readonly headers: Headers.Headers
  readonly body: Body.Body
  readonly hooks: Hooks.Hooks
  readonly auth: Auth.Auth | undefined
  /** Per-request `cookies` (requests keeps them on the prepared request for its redirects). */
  readonly cookies: ReadonlyArray<readonly [string, string]>
  /** A `Cookie` header the user set explicitly; it suppresses jar cookies, as in requests. */
  readonly userCookie: string | undefined
  readonly chain: Chain
}

/**
 * @since 0.1.0
 * @category models
 */
export class PreparedRequest implements Fields {
  readonly method: string
  readonly url: string
  readonly headers: Headers.Headers
  readonly body: Body.Body
  readonly hooks: Hooks.Hooks
  readonly auth: Auth.Auth | undefined
  readonly cookies: ReadonlyArray<readonly [string, string]>
  readonly userCookie: string | undefined
  readonly chain: Chain

  constructor(fields: Fields) {
    this.method = fields.method
    this.url = fields.url
    this.headers = fields.headers
    this.body = fields.body
    this.hooks = fields.hooks
    this.auth = fields.auth
    this.cookies = fields.cookies
    this.userCookie = fields.userCookie
    this.chain = fields.chain
  }

  /** The request target: path (at least `/`) and query, never the fragment (requests' `path_url`). */
  get pathUrl(): string {
    return url.pathUrl(this.url)
  }

  /** A copy with some fields replaced (requests' `copy()`, which shares the body). */
  copy(changes: Partial<Fields>): PreparedRequest {
    return new PreparedRequest({ ...this, ...changes })
  }

  setHeader(name: string, value: string): PreparedRequest {
    return this.copy({ headers: this.headers.set(name, value) })
  }

  removeHeader(...names: ReadonlyArray<string>): PreparedRequest {
    const headers = this.headers.remove(...names)
    return headers === this.headers ? this : this.copy({ headers })
  }

  toJSON(): unknown {
    return {
      _tag: "PreparedRequest",
      method: this.method,
      url: url.displayUrl(this.url),
      headers: Headers.redact(this.headers, this.chain.sensitive).toRecord(),
      body: Body.describe(this.body),
      auth: this.auth?.toJSON()
    }
  }

  toString(): string {
    return `<PreparedRequest [${this.method}] ${url.displayUrl(this.url)}>`
  }

  [NodeInspectSymbol](): unknown {
    return this.toJSON()
  }
}

/**
 * @since 0.1.0
 * @category refinements
 */
export const isPreparedRequest = (u: unknown): u is PreparedRequest => u instanceof PreparedRequest

/**
 * The origin of a URL as `scheme://host:port` (default ports filled in).
 *
 * @since 0.1.0
 * @category utils
 */
export const originOf = (href: string): string => {
  const known = origins.get(href)
  if (known !== undefined) return known
  const parsed = url.parse(href)
  const origin = parsed === undefined ? "" : `${parsed.protocol}//${parsed.hostname}:${url.effectivePort(parsed)}`
  if (origins.size >= 1024) origins.clear()
  origins.set(href, origin)
  return origin
}

/** Origins of URLs seen lately: redirect chains compare them on every hop. */
const origins = new Map<string, string>()

/**
 * A request with nothing but a method and URL (for users building requests by hand).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (fields: Partial<Fields> & { readonly method: string; readonly url: string }): PreparedRequest =>
  new PreparedRequest({
    headers: Headers.empty,
    body: Body.empty,
    hooks: Hooks.empty,
    auth: undefined,
    cookies: [],
    userCookie: undefined,
    chain: { origin: originOf(fields.url), stripped: new Set(), sensitive: [] },
    ...fields
  })

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * requests' `prepare_method`: upper-cased. A method must be an HTTP token (no spaces, no CR/LF),
 * which also closes request-line injection through the method.
 *
 * @since 0.1.0
 * @category preparation
 */
export const prepareMethod = (method: string): Effect.Effect<string, RequestError.InvalidRequest> => {
  const upper = method.toUpperCase()
  return TOKEN.test(upper)
    ? Effect.succeed(upper)
    : Effect.fail(new RequestError.InvalidRequest({ message: `Invalid HTTP method: ${JSON.stringify(method)}` }))
}

/**
 * requests' `prepare_url`: see the module `internal/url`. Fails with `MissingSchema` or `InvalidURL`.
 * Credentials in the URL come back separately and are removed from it.
 *
 * @since 0.1.0
 * @category preparation
 */
export const prepareUrl = (
  rawUrl: string,
  params?: url.ParamsInput | undefined
): Effect.Effect<url.PreparedUrl, RequestError.MissingSchema | RequestError.InvalidURL> => {
  const result = url.prepareUrl(rawUrl, params)
  if (result._tag === "Ok") return Effect.succeed(result.value)
  const { problem } = result
  return problem._tag === "MissingSchema"
    ? Effect.fail(new RequestError.MissingSchema({ message: problem.message, url: rawUrl }))
    : Effect.fail(new RequestError.InvalidURL({ message: problem.message, url: url.displayUrl(rawUrl) }))
}

const NAME = /^[^:\s][^:\r\n]*$/
const VALUE = /^\S[^\r\n]*$|^$/

const VALUE_CHARS = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * Validate one header (requests' `check_header_validity`, plus HTTP's own rules: a name is a
 * token, a value has no control characters and fits in latin-1). The message names the header,
 * never its value.
 *
 * @since 0.1.0
 * @category preparation
 */
export const validateHeader = (name: string, value: string): RequestError.InvalidHeader | undefined => {
  if (!NAME.test(name) || !TOKEN.test(name)) {
    return new RequestError.InvalidHeader({
      message: `Invalid leading whitespace, reserved character(s), or return character(s) in header name: ${
        JSON.stringify(name)
      }`,
      name
    })
  }
  if (!VALUE.test(value) || !VALUE_CHARS.test(value)) {
    return new RequestError.InvalidHeader({
      message: `Invalid leading whitespace, reserved character(s), or return character(s) in header value of ${
        JSON.stringify(name)
      }`,
      name
    })
  }
  return undefined
}

/**
 * requests' `prepare_headers`: validate every merged header and build `Headers`.
 *
 * @since 0.1.0
 * @category preparation
 */
export const prepareHeaders = (
  pairs: Iterable<readonly [string, string]>
): Effect.Effect<Headers.Headers, RequestError.InvalidHeader> => {
  const out: Array<readonly [string, string]> = []
  for (const [name, value] of pairs) {
    const error = validateHeader(name, value)
    if (error !== undefined) return Effect.fail(error)
    out.push([name, value])
  }
  return Effect.succeed(new Headers.Headers(out))
}

/**
 * requests' `prepare_content_length`: a body of known length sets `Content-Length` (replacing the
 * user's); a streamed body of unknown length is sent chunked; no body on a method other than
 * GET/HEAD sends `Content-Length: 0` unless the user set one.
 *
 * @since 0.1.0
 * @category preparation
 */
export const prepareContentLength = (method: string, headers: Headers.Headers, body: Body.Body): Headers.Headers => {
  const length = Body.length(body)
  if (body._tag === "Empty") {
    if (method !== "GET" && method !== "HEAD" && !headers.has("content-length")) {
      return headers.set("Content-Length", "0")
    }
    return headers
  }
  if (length !== undefined && length > 0) {
    return headers.remove("transfer-encoding").set("Content-Length", String(length))
  }
  if (length === undefined) {
    return headers.remove("content-length").set("Transfer-Encoding", "chunked")
  }
  return headers
}
