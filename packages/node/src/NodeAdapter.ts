/**
 * `NodeAdapter`: our transport on undici, called directly (`dispatcher.dispatch` with a handler),
 * not through `@effect/platform`'s `HttpClient`, whose per-request machinery costs about half of
 * undici's throughput on these machines.
 *
 * - Keep-alive pools per origin, with requests' `HTTPAdapter` knobs: `connections` (pool_maxsize),
 *   `maxOrigins` (pool_connections), `poolBlock` (wait for a free connection, or fail at once), and
 *   keep-alive timeouts. A connection counts as busy for the whole exchange: until its body has
 *   been read to the end or released.
 * - One dispatcher per (route, proxy and its credentials, verify, CA, client certificate, connect
 *   timeout), created on first use and kept for the adapter's life, so a connection (or a TLS
 *   session) opened under one setting is never reused under another (CVE-2024-35195,
 *   CVE-2026-3784). All are destroyed when the adapter's scope closes.
 * - Proxies: plain-http requests go to an http:// or https:// proxy in absolute form; https
 *   requests go through a `CONNECT` tunnel; `socks5://` (names resolved here) and `socks5h://`
 *   (names resolved by the proxy) open a SOCKS5 connection. Proxy credentials come from the proxy
 *   URL's userinfo, or from a `Proxy-Authorization` header on the request, and go to the proxy only:
 *   this adapter never sends `Proxy-Authorization` to an origin. A proxy that cannot be reached,
 *   refuses, or answers 407 fails with `ProxyError`; a malformed proxy URL with `InvalidProxyURL`.
 * - TLS: `verify` (true, false, or a CA bundle: path, directory or PEM) and `cert` (a path, or
 *   certificate + key with a passphrase), read and checked once per dispatcher; a missing file or a
 *   wrong passphrase fails with `SSLError` before anything is sent.
 * - Timeouts: connect (`ConnectTimeout`, phase `connect`, or `tls` when the handshake stalled),
 *   read (`ReadTimeout`, phase `headers` or `body`): no byte for that long while waiting for the
 *   headers or between body chunks, buffered or streamed (a body paused because its reader is slow
 *   does not count); and the session's total deadline (`Timeout`, with the phase it hit), enforced
 *   here with one timer per exchange that stays armed until the body ends.
 * - Phase timings on every response (`response.timings`: wait, connect, TLS, first byte, body).
 * - The fragment is never sent; the raw `Set-Cookie` lines and the reason phrase are kept;
 *   gzip, deflate and br bodies are decoded within the session's limits; redirects are never
 *   followed here.
 * - A request that is idempotent and replayable is sent once more, on a new connection, when the
 *   connection breaks before any byte of the response (a keep-alive socket the server closed as
 *   the request went out). Anything else is never resent here.
 *
 * @since 0.1.0
 */
import { Adapter, Body, Headers, Proxies, RequestError } from "@effect-requests/core"
import type { PreparedRequest } from "@effect-requests/core"
import { Effect, Either, Layer, Redacted } from "effect"
import type { Scope } from "effect"
import { isIP } from "node:net"
import * as undici from "undici"
import { BodyReader, declaredLength, parseEncodings, toIterable } from "./internal/body.js"
import { classify } from "./internal/errors.js"
import * as proxyConnect from "./internal/proxy.js"
import * as Timing from "./internal/timings.js"
import * as Tls from "./internal/tls.js"

/**
 * Pool and connection options (requests' `HTTPAdapter(pool_connections, pool_maxsize, pool_block)`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Connections per origin (requests' `pool_maxsize`). Default: no limit. */
  readonly connections?: number | undefined
  /**
   * Origins with open connections at once (requests' `pool_connections`); a request to one more
   * fails with `ConnectionError` until an origin's last connection closes. Default: no limit.
   */
  readonly maxOrigins?: number | undefined
  /**
   * When every connection of an origin is busy: wait for one (`true`, the default) or fail at once
   * with `ConnectionError` (`false`). Only matters with `connections`.
   */
  readonly poolBlock?: boolean | undefined
  /** Keep connections open for reuse (default true); `false` closes each one after its exchange. */
  readonly keepAlive?: boolean | undefined
  /**
   * The longest an idle keep-alive connection is kept, in ms. Default 4 s. A server's shorter
   * `Keep-Alive: timeout=` hint wins (less 2 s of margin, as undici does).
   */
  readonly keepAliveTimeout?: number | undefined
  /** The most a server's `Keep-Alive: timeout=` hint is trusted, in ms. Default: `keepAliveTimeout`. */
  readonly keepAliveMaxTimeout?: number | undefined
  /** Resend an idempotent, replayable request once when its connection breaks before any response byte. Default true. */
  readonly retryStaleConnections?: boolean | undefined
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"])

/** How a request reaches its origin. */
type Mode = "direct" | "forward" | "tunnel" | "socks"

/** What selects a dispatcher. */
interface Key {
  readonly mode: Mode
  /** The proxy URL, credentials included (different credentials, different connections). */
  readonly proxy: string | undefined
  /** `Proxy-Authorization` for an HTTP proxy. */
  readonly token: string | undefined
  readonly verify: boolean | string
  readonly cert: Adapter.Cert | undefined
  readonly connectTimeout: number | undefined
}

const keyString = (key: Key): string =>
  JSON.stringify([
    key.mode,
    key.proxy ?? null,
    key.token ?? null,
    key.verify,
    key.cert === undefined
      ? null
      : typeof key.cert === "string"
      ? key.cert
      : [key.cert.cert, key.cert.key, key.cert.passphrase === undefined ? null : Redacted.value(key.cert.passphrase)],
    key.connectTimeout ?? null
  ])

interface Entry {
  readonly dispatcher: undici.Dispatcher
  readonly id: number
  readonly destroy: () => Promise<unknown>
}

const basicToken = (proxy: URL): string | undefined => {
  if (proxy.username === "") return undefined
  const user = decodeURIComponent(proxy.username)
  const pass = decodeURIComponent(proxy.password)
  return `Basic ${Buffer.from(`${user}:${pass}`, "latin1").toString("base64")}`
}

const withoutCredentials = (proxy: URL): URL => {
  const copy = new URL(proxy.href)
  copy.username = ""
  copy.password = ""
  return copy
}

const makeDispatcher = (
  key: Key,
  options: Options,
  id: number
): Effect.Effect<Entry, RequestError.RequestError> =>
  Effect.gen(function*() {
    const timeout = key.connectTimeout ?? 0
    const proxy = key.proxy === undefined ? undefined : new URL(key.proxy)
    const proxyIsTls = proxy?.protocol === "https:"
    const tls = yield* Tls.load(key.verify, key.mode === "forward" ? undefined : key.cert)
    const proxyTls: Tls.TlsOptions | undefined = proxyIsTls
      ? { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) }
      : undefined
    const pool = {
      ...(options.connections !== undefined ? { connections: options.connections } : {}),
      ...(options.maxOrigins !== undefined ? { maxOrigins: options.maxOrigins } : {}),
      keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
      // A server's `Keep-Alive: timeout=` hint may shorten the idle time, never lengthen it.
      keepAliveMaxTimeout: Math.max(
        1,
        Math.min(options.keepAliveMaxTimeout ?? 600_000, options.keepAliveTimeout ?? 4_000)
      ),
      pipelining: 1
    }
    const simple = (dispatcher: undici.Dispatcher): Entry => ({ dispatcher, id, destroy: () => dispatcher.destroy() })
    switch (key.mode) {
      case "direct":
        return simple(
          new undici.Agent({
            ...pool,
            connect: Timing.timed(Tls.keepAlerts(undici.buildConnector({ ...tls, timeout })))
          })
        )
      case "forward": {
        // TLS to an https:// proxy is checked against the proxy's name, not the target's.
        const name = proxy!.hostname.replace(/^\[|\]$/g, "")
        const base = undici.buildConnector({ ...(proxyTls ?? {}), timeout })
        const connect: undici.buildConnector.connector = (connectOptions, callback) =>
          base({ ...connectOptions, servername: isIP(name) === 0 ? name : "" }, callback)
        return simple(new undici.Agent({ ...pool, connect: Timing.timed(connect) }))
      }
      case "tunnel":
      case "socks": {
        const connector = key.mode === "tunnel"
          ? proxyConnect.tunnel({
            proxy: withoutCredentials(proxy!),
            token: key.token,
            proxyTls,
            originTls: tls,
            timeout: key.connectTimeout
          })
          : proxyConnect.socks({
            proxy: proxy!,
            remoteDns: proxy!.protocol !== "socks5:",
            originTls: tls,
            timeout: key.connectTimeout
          })
        const agent = new undici.Agent({ ...pool, connect: Timing.timed(connector.connect) })
        return { dispatcher: agent, id, destroy: () => Promise.all([agent.destroy(), connector.close()]) }
      }
    }
  })

/** Reject pool options that cannot work (requests: `pool_maxsize=0` gives "Pool is closed"). */
const checkOptions = (options: Options): string | undefined => {
  const positive = (name: string, value: number | undefined) =>
    value === undefined || (Number.isInteger(value) && value > 0) ? undefined : `${name} must be a positive integer`
  const nonNegative = (name: string, value: number | undefined) =>
    value === undefined || (Number.isFinite(value) && value >= 0) ? undefined : `${name} must be a duration in ms`
  return positive("connections", options.connections) ?? positive("maxOrigins", options.maxOrigins) ??
    nonNegative("keepAliveTimeout", options.keepAliveTimeout) ??
    nonNegative("keepAliveMaxTimeout", options.keepAliveMaxTimeout)
}

const HOP_BY_HOP = new Set(["transfer-encoding", "keep-alive", "upgrade", "expect", "proxy-connection"])

/**
 * Headers as undici takes them, as a flat list: hop-by-hop headers dropped, `Proxy-Authorization`
 * never included (it belongs to the proxy and is sent by the proxy leg only).
 */
const undiciHeaders = (headers: Headers.Headers): Array<string> => {
  const flat: Array<string> = []
  for (const [name, value] of headers.entries) {
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || lower === "proxy-authorization") continue
    if (lower === "connection" && !/^(keep-alive|close)$/i.test(value.trim())) continue
    flat.push(name, value)
  }
  return flat
}

/** The body as undici takes it, and how to stop a streamed one (see `toIterable`). */
const undiciBody = (
  body: Body.Body
): Effect.Effect<
  { readonly body: Uint8Array | AsyncIterable<Uint8Array> | null; readonly cancel: () => void },
  RequestError.RequestError
> => {
  switch (body._tag) {
    case "Empty":
      return Effect.succeed({ body: null, cancel: () => {} })
    case "Bytes":
      return Effect.succeed({ body: body.bytes, cancel: () => {} })
    case "Stream":
      return Effect.flatMap(body.open, (stream) =>
        Effect.map(Effect.runtime<never>(), (runtime) => {
          const { cancel, iterable } = toIterable(stream, runtime)
          return { body: iterable, cancel }
        }))
  }
}

/** Where one request goes, and how. */
interface Route {
  readonly mode: Mode
  /** The validated proxy URL (credentials included), if any. */
  readonly proxy: URL | undefined
  /** The proxy URL for messages (credentials hidden). */
  readonly display: string | undefined
  readonly token: string | undefined
}

const route = (
  target: URL,
  request: PreparedRequest.PreparedRequest,
  proxy: string | undefined
): Either.Either<Route, RequestError.InvalidProxyURL> => {
  if (proxy === undefined) {
    return Either.right({ mode: "direct", proxy: undefined, display: undefined, token: undefined })
  }
  return Either.map(Proxies.validate(proxy), (valid) => {
    const url = new URL(valid)
    const socks = url.protocol.startsWith("socks")
    const mode: Mode = socks ? "socks" : target.protocol === "http:" ? "forward" : "tunnel"
    // Credentials in the proxy URL win; a Proxy-Authorization header set on the request is the fallback.
    const token = socks ? undefined : basicToken(url) ?? request.headers.get("proxy-authorization")
    return { mode, proxy: url, display: Proxies.redact(url.href), token }
  })
}

/**
 * Build the transport. Its dispatchers are destroyed when the scope closes (and by `close`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Adapter.Transport, never, Scope.Scope> =>
  Effect.gen(function*() {
    const invalidOptions = checkOptions(options)
    const dispatchers = new Map<string, Entry>()
    /** Exchanges in flight per (dispatcher, pooled origin), from dispatch until the body is done. */
    const busy = new Map<string, number>()
    let nextId = 0
    let closed = false
    const closeAll = Effect.suspend(() => {
      closed = true
      const all = Array.from(dispatchers.values())
      dispatchers.clear()
      return Effect.forEach(all, (d) => Effect.promise(() => d.destroy().catch(() => undefined)), {
        discard: true,
        concurrency: "unbounded"
      })
    })
    yield* Effect.addFinalizer(() => closeAll)

    const dispatcherFor = (key: Key): Effect.Effect<Entry, RequestError.RequestError> =>
      Effect.suspend(() => {
        const id = keyString(key)
        const existing = dispatchers.get(id)
        if (existing !== undefined) return Effect.succeed(existing)
        if (closed) {
          return Effect.fail(new RequestError.ConnectionError({ message: "The adapter is closed (Pool is closed)." }))
        }
        return Effect.tap(makeDispatcher(key, options, nextId++), (entry) =>
          Effect.sync(() => {
            // Two fibers may have raced to create it: keep the first, destroy the other.
            const raced = dispatchers.get(id)
            if (raced !== undefined) {
              entry.destroy().catch(() => undefined)
              return
            }
            dispatchers.set(id, entry)
          })).pipe(Effect.map((entry) => dispatchers.get(id) ?? entry))
      })

    const attempt = (
      request: PreparedRequest.PreparedRequest,
      sendOptions: Adapter.SendOptions,
      target: URL,
      way: Route,
      entry: Entry,
      /** When the session's total deadline passes (`performance.now()` time), if it has one. */
      deadlineAt: number | undefined
    ): Effect.Effect<Adapter.RawResponse, RequestError.RequestError & { readonly beforeResponse?: boolean }> =>
      Effect.flatMap(
        undiciBody(request.body),
        ({ body, cancel }) =>
          Effect.async<Adapter.RawResponse, RequestError.RequestError>((resume) => {
            const context = { proxy: way.display, url: `${target.origin}${target.pathname}` }
            const forward = way.mode === "forward"
            const origin = forward ? way.proxy!.origin : target.origin
            const busyKey = `${entry.id} ${origin}`
            const inFlight = busy.get(busyKey) ?? 0
            if (options.poolBlock === false && options.connections !== undefined && inFlight >= options.connections) {
              resume(Effect.fail(
                new RequestError.ConnectionError({
                  message:
                    `Connection pool is full for ${origin} (${options.connections} connections, poolBlock: false)`,
                  code: "POOL_FULL",
                  request
                })
              ))
              return
            }
            busy.set(busyKey, inFlight + 1)
            let released = false
            const release = () => {
              if (released) return
              released = true
              const left = (busy.get(busyKey) ?? 1) - 1
              if (left <= 0) busy.delete(busyKey)
              else busy.set(busyKey, left)
            }
            let abort: ((reason?: Error) => void) | undefined
            let reader: BodyReader | undefined
            let settled = false
            let aborted = false
            let abortReason: Error | undefined
            const doAbort = (reason?: Error) => {
              aborted = true
              abortReason ??= reason
              abort?.(reason)
            }
            const fail = (error: RequestError.RequestError) => {
              settled = true
              resume(Effect.fail(error))
            }
            const clock = new Timing.Clock()
            // The session's total deadline: one timer for the exchange, armed until the body ends.
            let deadline: ReturnType<typeof setTimeout> | undefined
            const disarm = () => {
              if (deadline !== undefined) clearTimeout(deadline)
              deadline = undefined
            }
            if (deadlineAt !== undefined) {
              deadline = setTimeout(() => {
                deadline = undefined
                const error = timeoutError(sendOptions.timeout.total ?? 0, request, clock.phase, context.url)
                if (!settled) fail(error)
                doAbort(error)
              }, Math.max(0, deadlineAt - performance.now()))
            }
            let resumeData: (() => void) | undefined
            const handler = {
              onConnect: (abortFn: (reason?: Error) => void) => {
                abort = abortFn
                clock.onConnect()
                if (aborted) abortFn(abortReason)
              },
              onHeaders: (statusCode: number, rawHeaders: Array<Buffer>, resume_: () => void, statusText: string) => {
                if (statusCode < 200) return true
                clock.onHeaders()
                if (forward && statusCode === 407) {
                  // The proxy refused the credentials (or wants some): not a response of the origin.
                  fail(
                    new RequestError.ProxyError({
                      message: `The proxy ${way.display} answered 407 Proxy Authentication Required for ${context.url}`,
                      status: 407,
                      request
                    })
                  )
                  doAbort()
                  return false
                }
                const headers = Headers.fromRaw(rawHeaders)
                reader = new BodyReader(
                  doAbort,
                  {
                    request,
                    url: context.url,
                    limits: sendOptions.limits,
                    declaredLength: declaredLength(request.method, statusCode, headers.get("content-length"))
                  },
                  request.method === "HEAD" ? [] : parseEncodings(headers.get("content-encoding")),
                  (error) => classify(error, "body", request, context)
                )
                resumeData = resume_
                settled = true
                resume(Effect.succeed({
                  status: statusCode,
                  reason: statusText || Adapter.reasonPhrase(statusCode),
                  headers,
                  body: { stream: reader.stream, readAll: reader.readAll, close: reader.close },
                  timings: clock.timings
                }))
                return true
              },
              onData: (chunk: Buffer) => reader === undefined ? true : reader.onData(chunk, () => resumeData?.()),
              onComplete: () => {
                disarm()
                clock.onComplete()
                release()
                reader?.onComplete()
              },
              onError: (error: Error) => {
                disarm()
                release()
                cancel()
                if (!settled) fail(classify(error, "connect", request, context))
                else reader?.onError(error)
              }
            }
            const headers = undiciHeaders(request.headers)
            if (forward) {
              if (!request.headers.has("host")) headers.push("host", target.host)
              if (way.token !== undefined) headers.push("proxy-authorization", way.token)
            }
            const dispatchOptions: undici.Dispatcher.DispatchOptions = {
              origin,
              // Absolute form to a forwarding proxy, without userinfo or fragment.
              path: forward ? `${target.protocol}//${target.host}${request.pathUrl}` : request.pathUrl,
              method: request.method as undici.Dispatcher.HttpMethod,
              headers,
              body: body as any,
              headersTimeout: sendOptions.timeout.read ?? 0,
              bodyTimeout: sendOptions.timeout.read ?? 0,
              ...(options.keepAlive === false ? { reset: true } : {}),
              // An https:// proxy is verified under its own name (never the target's, never an IP as SNI).
              ...(forward && way.proxy!.protocol === "https:" && isIP(way.proxy!.hostname.replace(/^\[|\]$/g, "")) === 0
                ? { servername: way.proxy!.hostname }
                : {})
            }
            try {
              entry.dispatcher.dispatch(dispatchOptions, handler as any)
            } catch (error) {
              release()
              fail(classify(error, "connect", request, context))
            }
            return Effect.sync(() => {
              if (!settled) {
                disarm()
                doAbort()
                cancel()
              }
            })
          })
      )

    const send = (
      request: PreparedRequest.PreparedRequest,
      sendOptions: Adapter.SendOptions
    ): Effect.Effect<Adapter.RawResponse, RequestError.RequestError> =>
      Effect.gen(function*() {
        if (invalidOptions !== undefined) {
          return yield* new RequestError.InvalidRequest({ message: `NodeAdapter: ${invalidOptions}`, request })
        }
        let target: URL
        try {
          target = new URL(request.url)
        } catch {
          return yield* new RequestError.InvalidURL({
            message: `Invalid URL ${JSON.stringify(request.url)}`,
            url: request.url,
            request
          })
        }
        if (target.protocol !== "http:" && target.protocol !== "https:") {
          return yield* new RequestError.InvalidSchema({
            message: `No connection adapters were found for ${JSON.stringify(request.url)}`,
            url: request.url,
            request
          })
        }
        const way = yield* Either.mapLeft(
          route(target, request, sendOptions.proxy),
          (error) => new RequestError.InvalidProxyURL({ message: error.message, url: error.url, request })
        )
        // TLS settings matter only where TLS is spoken: to an https origin (not through a forwarding
        // proxy), or to an https:// proxy.
        const originTls = target.protocol === "https:" && way.mode !== "forward"
        const proxyTls = way.proxy?.protocol === "https:"
        const entry = yield* dispatcherFor({
          mode: way.mode,
          proxy: way.proxy?.href,
          token: way.token,
          verify: originTls || proxyTls ? sendOptions.verify : true,
          cert: originTls ? sendOptions.cert : undefined,
          connectTimeout: sendOptions.timeout.connect
        }).pipe(Effect.mapError((error) => withRequest(error, request)))
        const total = sendOptions.timeout.total
        const deadlineAt = total === undefined ? undefined : performance.now() + total
        const once = attempt(request, sendOptions, target, way, entry, deadlineAt)
        const canRetry = (options.retryStaleConnections ?? true) && IDEMPOTENT.has(request.method) &&
          Body.isReplayable(request.body)
        return yield* canRetry
          ? Effect.catchIf(
            once,
            (error) =>
              error._tag === "ConnectionError" &&
              (error.code === "UND_ERR_SOCKET" || error.code === "ECONNRESET" || error.code === "EPIPE"),
            () => attempt(request, sendOptions, target, way, entry, deadlineAt)
          )
          : once
      })

    return { send, close: closeAll, enforcesDeadline: true } satisfies Adapter.Transport
  })

const PHASE_TEXT = {
  connect: "while connecting",
  headers: "while waiting for the response headers",
  body: "while reading the response body"
} as const

/** The session's total deadline passed during this exchange. */
const timeoutError = (
  total: number,
  request: PreparedRequest.PreparedRequest,
  phase: "connect" | "headers" | "body",
  where: string
): RequestError.Timeout =>
  new RequestError.Timeout({
    message: `The total deadline passed for ${request.method} ${where} (${PHASE_TEXT[phase]}; ${
      Math.round(total)
    } ms were left for this exchange)`,
    phase,
    request
  })

/** Attach the request to an error raised before it was sent (TLS material, a closed adapter). */
const withRequest = (
  error: RequestError.RequestError,
  request: PreparedRequest.PreparedRequest
): RequestError.RequestError => {
  if (error.request !== undefined) return error
  switch (error._tag) {
    case "SSLError":
      return new RequestError.SSLError({ message: error.message, reason: error.reason, cause: error.cause, request })
    case "ConnectionError":
      return new RequestError.ConnectionError({
        message: error.message,
        ...(error.code !== undefined ? { code: error.code } : {}),
        cause: error.cause,
        request
      })
    default:
      return error
  }
}

/**
 * Provide `NodeAdapter` as the session's default transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Adapter.DefaultTransport> =>
  Layer.scoped(Adapter.DefaultTransport, make(options))
