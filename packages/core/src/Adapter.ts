/**
 * Adapters: what turns a prepared request into a raw response, and the registry that picks one per URL.
 *
 * - A `Transport` sends one request and never follows redirects (requests' `BaseAdapter`). It
 *   gets the request and the resolved per-request settings (`SendOptions`: timeouts, TLS, proxy,
 *   body limits) and answers with the status, headers and a body it releases on `close`.
 * - The `Adapter` service is the registry (requests' `Session.adapters`): transports mounted by URL
 *   prefix, matched case-insensitively, longest prefix first (`mount`, `getAdapter`). Every mounted
 *   transport is closed when the session's scope closes.
 * - `DefaultTransport` is the transport `Session.layer` mounts for `http://` and `https://`;
 *   `NodeAdapter.layer` from `@effect-requests/node` provides it.
 * - `memory` builds a transport from a handler, recording what it saw (unit tests without sockets).
 *
 * @since 0.1.0
 */
import { Context, Effect, type Redacted, Ref, Stream } from "effect"
import type { Scope } from "effect"
import * as Headers from "./Headers.js"
import type * as PreparedRequest from "./PreparedRequest.js"
import * as RequestError from "./RequestError.js"
import type * as Response from "./Response.js"

/**
 * Connect and read timeouts in milliseconds; `undefined` waits forever.
 *
 * @since 0.1.0
 * @category models
 */
export interface Timeouts {
  readonly connect: number | undefined
  /** Idle time allowed while waiting for the headers and between body chunks. */
  readonly read: number | undefined
}

/**
 * A client certificate: a PEM file path or PEM text, or a certificate and key (paths or PEM), with an
 * optional passphrase for the key.
 *
 * @since 0.1.0
 * @category models
 */
export type Cert =
  | string
  | {
    readonly cert: string
    readonly key: string
    readonly passphrase?: Redacted.Redacted<string> | undefined
  }

/**
 * Limits on what a body may grow to once decoded.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  /** Largest decoded body accepted, in bytes (buffered and streamed). */
  readonly maxBodySize: number
  /** Largest decoded/encoded size ratio accepted once the decoded body passes 1 MiB. */
  readonly maxDecompressionRatio: number
  /** Most `Content-Encoding` layers accepted (curl and urllib3 use 5). */
  readonly maxEncodings: number
}

/**
 * Settings resolved for one request.
 *
 * @since 0.1.0
 * @category models
 */
export interface SendOptions {
  readonly timeout: Timeouts
  /** `true` (system CAs), `false` (no verification) or a CA bundle: a file path or PEM text. */
  readonly verify: boolean | string
  readonly cert: Cert | undefined
  /** The proxy URL for this request (credentials in its userinfo), if any. */
  readonly proxy: string | undefined
  readonly limits: Limits
}

/**
 * What a transport answers with.
 *
 * @since 0.1.0
 * @category models
 */
export interface RawResponse {
  readonly status: number
  readonly reason: string
  readonly headers: Headers.Headers
  readonly body: Response.BodySource
}

/**
 * requests' `BaseAdapter`: sends one request, never follows redirects.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transport {
  readonly send: (
    request: PreparedRequest.PreparedRequest,
    options: SendOptions
  ) => Effect.Effect<RawResponse, RequestError.RequestError>
  /** Release pooled connections (requests' `close()`). Idempotent. */
  readonly close: Effect.Effect<void>
}

/**
 * The transport mounted for `http://` and `https://` by `Session.layer`.
 *
 * @since 0.1.0
 * @category tags
 */
export class DefaultTransport extends Context.Tag("@effect-requests/core/Adapter/DefaultTransport")<
  DefaultTransport,
  Transport
>() {}

/**
 * The adapter registry (requests' `Session.adapters`, `mount`, `get_adapter`, `close`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Registry {
  /** Mount a transport for a URL prefix; longer prefixes are tried first. */
  readonly mount: (prefix: string, transport: Transport) => Effect.Effect<void>
  /** The transport for a URL, or `InvalidSchema` when no prefix matches. */
  readonly getAdapter: (url: string) => Effect.Effect<Transport, RequestError.InvalidSchema>
  /** The mounted prefixes in matching order. */
  readonly prefixes: Effect.Effect<ReadonlyArray<string>>
  /** Close every transport ever mounted (requests' `Session.close()`). */
  readonly close: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Adapter extends Context.Tag("@effect-requests/core/Adapter")<Adapter, Registry>() {}

/**
 * requests' `mount` ordering: set the prefix (keeping its slot when re-mounted), then move every
 * shorter prefix to the end. The result is ordered by descending length, earlier mounts first.
 *
 * @since 0.1.0
 * @category combinators
 */
export const mountOrder = <A>(
  entries: ReadonlyArray<readonly [string, A]>,
  prefix: string,
  value: A
): ReadonlyArray<readonly [string, A]> => {
  const out: Array<readonly [string, A]> = []
  let placed = false
  for (const entry of entries) {
    if (entry[0] === prefix) {
      out.push([prefix, value])
      placed = true
    } else {
      out.push(entry)
    }
  }
  if (!placed) out.push([prefix, value])
  const keep = out.filter(([key]) => key.length >= prefix.length)
  const move = out.filter(([key]) => key.length < prefix.length)
  return [...keep, ...move]
}

/**
 * Build a registry. Every transport mounted into it is closed when `scope` closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRegistry = (
  initial: ReadonlyArray<readonly [string, Transport]>
): Effect.Effect<Registry, never, Scope.Scope> =>
  Effect.gen(function*() {
    let ordered: ReadonlyArray<readonly [string, Transport]> = []
    for (const [prefix, transport] of initial) ordered = mountOrder(ordered, prefix, transport)
    const state = yield* Ref.make(ordered)
    const mounted = new Set<Transport>(initial.map(([, t]) => t))
    const closeAll = Effect.suspend(() =>
      Effect.forEach(Array.from(mounted), (t) => t.close, { discard: true, concurrency: "unbounded" })
    )
    yield* Effect.addFinalizer(() => closeAll)
    return {
      mount: (prefix, transport) =>
        Ref.update(state, (entries) => {
          mounted.add(transport)
          return mountOrder(entries, prefix, transport)
        }),
      getAdapter: (url) =>
        Effect.flatMap(Ref.get(state), (entries) => {
          const lower = url.toLowerCase()
          for (const [prefix, transport] of entries) {
            if (lower.startsWith(prefix.toLowerCase())) return Effect.succeed(transport)
          }
          return Effect.fail(
            new RequestError.InvalidSchema({
              message: `No connection adapters were found for ${JSON.stringify(url)}`,
              url
            })
          )
        }),
      prefixes: Effect.map(Ref.get(state), (entries) => entries.map(([prefix]) => prefix)),
      close: closeAll
    }
  })

/**
 * What an in-memory handler answers with.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryResponse {
  readonly status?: number | undefined
  readonly reason?: string | undefined
  readonly headers?: Headers.Input | undefined
  readonly body?: string | Uint8Array | Stream.Stream<Uint8Array, RequestError.RequestError> | undefined
}

/**
 * A handler for the in-memory transport.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler = (
  request: PreparedRequest.PreparedRequest,
  options: SendOptions
) => Effect.Effect<MemoryResponse, RequestError.RequestError>

/**
 * A request the in-memory transport received, with its body read.
 *
 * @since 0.1.0
 * @category models
 */
export interface Recorded {
  readonly request: PreparedRequest.PreparedRequest
  readonly body: Uint8Array
  readonly options: SendOptions
}

const encoder = new TextEncoder()

/**
 * A transport that answers from a handler, recording every request with its body. For unit tests
 * of anything above the wire.
 *
 * @since 0.1.0
 * @category constructors
 */
export const memory = (handler: Handler): Effect.Effect<
  { readonly transport: Transport; readonly requests: Effect.Effect<ReadonlyArray<Recorded>> }
> =>
  Effect.gen(function*() {
    const log = yield* Ref.make<ReadonlyArray<Recorded>>([])
    const transport: Transport = {
      send: (request, options) =>
        Effect.gen(function*() {
          const bodyStream = yield* (request.body._tag === "Stream"
            ? request.body.open
            : Effect.succeed(
              request.body._tag === "Bytes" ? Stream.succeed(request.body.bytes) : Stream.empty
            ))
          const chunks = yield* Stream.runCollect(bodyStream)
          let size = 0
          for (const c of chunks) size += c.length
          const body = new Uint8Array(size)
          let offset = 0
          for (const c of chunks) {
            body.set(c, offset)
            offset += c.length
          }
          yield* Ref.update(log, (entries) => [...entries, { request, body, options }])
          const answer = yield* handler(request, options)
          const content = answer.body
          const stream: Stream.Stream<Uint8Array, RequestError.RequestError> = content === undefined
            ? Stream.empty
            : typeof content === "string"
            ? Stream.succeed(encoder.encode(content))
            : content instanceof Uint8Array
            ? Stream.succeed(content)
            : content
          const readAll = Effect.map(Stream.runCollect(stream), (chunks) => {
            let size = 0
            for (const c of chunks) size += c.length
            const out = new Uint8Array(size)
            let offset = 0
            for (const c of chunks) {
              out.set(c, offset)
              offset += c.length
            }
            return out
          })
          return {
            status: answer.status ?? 200,
            reason: answer.reason ?? reasonPhrase(answer.status ?? 200),
            headers: Headers.fromInput(answer.headers),
            body: {
              stream,
              readAll,
              close: Effect.void
            }
          } satisfies RawResponse
        }),
      close: Effect.void
    }
    return { transport, requests: Ref.get(log) }
  })

const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  418: "I'm a Teapot",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  511: "Network Authentication Required"
}

/**
 * The standard reason phrase of a status code ("" when unknown).
 *
 * @since 0.1.0
 * @category utils
 */
export const reasonPhrase = (status: number): string => REASONS[status] ?? ""

/**
 * The mounted transport for a URL from the registry in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getAdapter = (url: string): Effect.Effect<Transport, RequestError.InvalidSchema, Adapter> =>
  Effect.flatMap(Adapter, (registry) => registry.getAdapter(url))

/**
 * Mount a transport in the registry in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const mount = (prefix: string, transport: Transport): Effect.Effect<void, never, Adapter> =>
  Effect.flatMap(Adapter, (registry) => registry.mount(prefix, transport))
