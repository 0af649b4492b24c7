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
 * - `withRetry(transport, policy)` gives a transport a retry policy of its own, for the prefix it
 *   is mounted on (requests' `mount(prefix, HTTPAdapter(max_retries=Retry(...)))`).
 * - Test transports: `memory(handler)` / `layerMemory(handler)` answer from a handler and record
 *   what they saw (`MemoryRecorder`); `fromHttpApp(app)` sends requests to an `@effect/platform`
 *   `HttpApp` in process, no socket; `fromHttpClient(client)` wraps any `@effect/platform`
 *   `HttpClient`. Their read timeouts are Effect timeouts, so retries and timeouts run under
 *   `TestClock`. `Cassette` records real exchanges to a file and replays them.
 *
 * @since 0.1.0
 */
import type { HttpApp, HttpClient, HttpServerRequest } from "@effect/platform"
import { Context, Effect, Layer, Option, type Redacted, Ref, type Stream } from "effect"
import type { Scope } from "effect"
import * as Headers from "./Headers.js"
import { reasonPhrase as reason } from "./internal/reasons.js"
import * as transports from "./internal/transports.js"
import type * as PreparedRequest from "./PreparedRequest.js"
import * as RequestError from "./RequestError.js"
import type * as Response from "./Response.js"
import * as Retry from "./Retry.js"

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
  /**
   * What is left of the session's total deadline when the exchange starts, in ms: the headers and
   * the whole body must arrive within it. A transport with `enforcesDeadline` fails with `Timeout`
   * when it passes; for the others the session bounds the exchange.
   */
  readonly total?: number | undefined
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
  /** Phase timings of the exchange, when the transport measures them (`body` and `total` filled in at the end of the body). */
  readonly timings?: Response.Timings | undefined
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
  /** True when `send` enforces `options.timeout.total` itself, headers and body, failing with `Timeout`. */
  readonly enforcesDeadline?: boolean | undefined
  /** Set by `withRetry`: the policy for requests sent through this transport, and the transport it wraps. */
  readonly retry?: { readonly policy: Retry.Policy; readonly transport: Transport } | undefined
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
  /** `getAdapter` without the Effect: the transport for a URL, `undefined` when no prefix matches. */
  readonly lookup: (url: string) => Transport | undefined
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
    const mounted = new Set<Transport>(initial.map(([, t]) => t))
    const closeAll = Effect.suspend(() =>
      Effect.forEach(Array.from(mounted), (t) => t.close, { discard: true, concurrency: "unbounded" })
    )
    yield* Effect.addFinalizer(() => closeAll)
    // Looked up on every request: lower-cased prefixes kept beside the entries.
    let lowered = ordered.map(([prefix]) => prefix.toLowerCase())
    const lookup = (url: string): Transport | undefined => {
      const lower = url.toLowerCase()
      for (let i = 0; i < lowered.length; i++) {
        if (lower.startsWith(lowered[i]!)) return ordered[i]![1]
      }
      return undefined
    }
    return {
      mount: (prefix, transport) =>
        Effect.sync(() => {
          mounted.add(transport)
          ordered = mountOrder(ordered, prefix, transport)
          lowered = ordered.map(([p]) => p.toLowerCase())
        }),
      getAdapter: (url) =>
        Effect.suspend(() => {
          const transport = lookup(url)
          return transport !== undefined ? Effect.succeed(transport) : Effect.fail(
            new RequestError.InvalidSchema({
              message: `No connection adapters were found for ${JSON.stringify(url)}`,
              url
            })
          )
        }),
      lookup,
      prefixes: Effect.sync(() => ordered.map(([prefix]) => prefix)),
      close: closeAll
    }
  })

/**
 * A transport with a retry policy of its own (requests' `HTTPAdapter(max_retries=Retry(...))`):
 * mount it for a prefix and requests under that prefix follow this policy instead of the
 * session's. Used alone (outside a session) it retries by itself.
 *
 * ```ts
 * const base = yield* Session.getAdapter("https://")
 * yield* Session.mount("https://api.example.com/", Adapter.withRetry(base, Retry.make({ total: 5, statusForcelist: [502, 503] })))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withRetry = (transport: Transport, policy: Retry.Policy | Retry.Options | number): Transport => {
  const inner = transport.retry?.transport ?? transport
  const resolved = typeof policy === "object" && "_tag" in policy ? policy : Retry.make(policy)
  return {
    send: (request, options) => Retry.retrying(resolved, request, () => inner.send(request, options), rawExchange),
    close: inner.close,
    enforcesDeadline: inner.enforcesDeadline,
    retry: { policy: resolved, transport: inner }
  }
}

const rawExchange: Retry.Exchange<RawResponse> = {
  status: (raw) => raw.status,
  headers: (raw) => raw.headers,
  close: (raw) => raw.body.close
}

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
 * A handler for the in-memory transport: `Effect.sleep` in it takes time on the `Clock` (a
 * `TestClock` under `it.effect`); fail it with a `RequestError` to simulate a transport failure.
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

/**
 * The record of what an in-memory transport saw.
 *
 * @since 0.1.0
 * @category models
 */
export interface Recorder {
  /** Every request so far, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<Recorded>>
  /** The last request, if any. */
  readonly last: Effect.Effect<Option.Option<Recorded>>
  /** Forget the requests seen so far. */
  readonly clear: Effect.Effect<void>
}

/**
 * The recorder of the in-memory transport provided by `layerMemory`.
 *
 * @since 0.1.0
 * @category tags
 */
export class MemoryRecorder extends Context.Tag("@effect-requests/core/Adapter/MemoryRecorder")<
  MemoryRecorder,
  Recorder
>() {}

/**
 * A transport that answers from a handler, recording every request with its body. The read
 * timeout applies to the handler (the headers) and between body chunks, on the `Clock`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const memory = (handler: Handler): Effect.Effect<Recorder & { readonly transport: Transport }> =>
  Effect.gen(function*() {
    const log = yield* Ref.make<ReadonlyArray<Recorded>>([])
    const transport: Transport = {
      send: (request, options) =>
        Effect.gen(function*() {
          const body = yield* transports.readBody(request)
          yield* Ref.update(log, (entries) => [...entries, { request, body, options }])
          const answer = yield* transports.withReadTimeouts(
            Effect.map(handler(request, options), (answer): RawResponse => ({
              status: answer.status ?? 200,
              reason: answer.reason ?? reason(answer.status ?? 200),
              headers: Headers.fromInput(answer.headers),
              body: transports.sourceOf(transports.streamOf(answer.body))
            })),
            request,
            options.timeout.read,
            options.timeout.read
          )
          return answer
        }),
      close: Effect.void
    }
    return {
      transport,
      requests: Ref.get(log),
      last: Effect.map(Ref.get(log), (entries) => Option.fromNullable(entries[entries.length - 1])),
      clear: Ref.set(log, [])
    }
  })

/**
 * The in-memory transport as the session's default transport, with its `MemoryRecorder`:
 *
 * ```ts
 * const layer = Session.layer().pipe(Layer.provideMerge(Adapter.layerMemory(handler)))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (handler: Handler): Layer.Layer<DefaultTransport | MemoryRecorder> =>
  Layer.effectContext(
    Effect.map(memory(handler), ({ transport, ...recorder }) =>
      Context.make(DefaultTransport, transport).pipe(Context.add(MemoryRecorder, recorder)))
  )

/**
 * A transport that sends requests to an `@effect/platform` `HttpApp` in process (no socket): test
 * your client against your server. Each request becomes a web `Request` (its body read whole; a
 * GET or HEAD with a body fails with `InvalidRequest`), the app runs in the runtime the transport
 * was built in (so its services and a `TestClock` apply), and its response streams back.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromHttpApp: <E, R>(
  app: HttpApp.Default<E, R>
) => Effect.Effect<Transport, never, Exclude<R, Scope.Scope | HttpServerRequest.HttpServerRequest>> =
  transports.fromHttpApp

/**
 * `fromHttpApp` as the session's default transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpApp = <E, R>(
  app: HttpApp.Default<E, R>
): Layer.Layer<DefaultTransport, never, Exclude<R, Scope.Scope | HttpServerRequest.HttpServerRequest>> =>
  Layer.effect(DefaultTransport, transports.fromHttpApp(app))

/**
 * A transport over any `@effect/platform` `HttpClient` (the fetch client in a browser, say). It
 * cannot apply the session's proxies, `verify` or `cert`: a request that needs them fails with
 * `InvalidRequest` (configure the client itself, and `trustEnv: false` when the environment sets
 * proxies or a CA bundle). The client must not follow redirects (the session does): give the
 * fetch client `FetchHttpClient.RequestInit` with `redirect: "manual"`. The request body is read
 * whole; the headers must arrive within connect + read timeouts, then no gap longer than the read
 * timeout between body chunks. The client's own spans and trace headers are turned off.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromHttpClient: (client: HttpClient.HttpClient) => Transport = transports.fromHttpClient

/**
 * The standard reason phrase of a status code ("" when unknown).
 *
 * @since 0.1.0
 * @category utils
 */
export const reasonPhrase = (status: number): string => reason(status)

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
