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
import { BodyReader, declaredLength, fromSource, parseEncodings, toIterable } from "./internal/body.js"
import { Deadlines } from "./internal/deadlines.js"
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

const noop = () => {}

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
  // Requests without headers of their own share the session's `Headers` value: convert it once.
  const known = flatHeaders.get(headers)
  if (known !== undefined) return known
  const flat = flatten(headers)
  flatHeaders.set(headers, flat)
  return flat
}

const flatHeaders = new WeakMap<Headers.Headers, Array<string>>()

const flatten = (headers: Headers.Headers): Array<string> => {
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
      return Effect.flatMap(body.open, (stream) => {
        // An AsyncIterable from the user goes to undici as it is, not through an Effect Stream.
        const source = Body.sourceIterable(stream)
        if (source !== undefined) {
          const { cancel, iterable } = fromSource(source)
          return Effect.succeed({ body: iterable, cancel })
        }
        return Effect.map(Effect.runtime<never>(), (runtime) => {
          const { cancel, iterable } = toIterable(stream, runtime)
          return { body: iterable, cancel }
        })
      })
  }
}

/** The parts of a request URL the adapter uses. */
interface Target {
  readonly protocol: string
  readonly host: string
  readonly origin: string
  readonly pathname: string
}

const targets = new Map<string, Target | undefined>()

/** Parse a request URL once: requests to the same URLs repeat. `undefined` when it does not parse. */
const targetOf = (href: string): Target | undefined => {
  if (targets.has(href)) return targets.get(href)
  let target: Target | undefined
  try {
    const parsed = new URL(href)
    target = { protocol: parsed.protocol, host: parsed.host, origin: parsed.origin, pathname: parsed.pathname }
  } catch {
    target = undefined
  }
  if (targets.size >= 1024) targets.clear()
  targets.set(href, target)
  return target
}

/** Raw header buffers as latin-1 strings (what HTTP parsers hand over), order and repeats kept. */
const headersOf = (raw: ReadonlyArray<Buffer>): Headers.Headers => {
  const entries: Array<readonly [string, string]> = new Array(raw.length >> 1)
  for (let i = 0, j = 0; i + 1 < raw.length; i += 2, j++) {
    entries[j] = [raw[i]!.toString("latin1"), raw[i + 1]!.toString("latin1")]
  }
  return new Headers.Headers(entries)
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

const DIRECT: Either.Either<Route, RequestError.InvalidProxyURL> = Either.right({
  mode: "direct",
  proxy: undefined,
  display: undefined,
  token: undefined
})

const route = (
  target: Target,
  request: PreparedRequest.PreparedRequest,
  proxy: string | undefined
): Either.Either<Route, RequestError.InvalidProxyURL> => {
  if (proxy === undefined) return DIRECT
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
    const deadlines = new Deadlines()
    const failWhenFull = options.poolBlock === false && options.connections !== undefined
    let nextId = 0
    let closed = false
    const closeAll = Effect.suspend(() => {
      closed = true
      deadlines.clear()
      last = undefined
      const all = Array.from(dispatchers.values())
      dispatchers.clear()
      return Effect.forEach(all, (d) => Effect.promise(() => d.destroy().catch(() => undefined)), {
        discard: true,
        concurrency: "unbounded"
      })
    })
    yield* Effect.addFinalizer(() => closeAll)

    // The last dispatcher used, by the identity of its settings: most requests repeat them.
    let last: { readonly key: Key; readonly entry: Entry } | undefined
    const sameKey = (a: Key, b: Key) =>
      a.mode === b.mode && a.proxy === b.proxy && a.token === b.token && a.verify === b.verify &&
      a.cert === b.cert && a.connectTimeout === b.connectTimeout
    const dispatcherFor = (key: Key): Effect.Effect<Entry, RequestError.RequestError> =>
      last !== undefined && sameKey(last.key, key) && !closed ? Effect.succeed(last.entry) : Effect.suspend(() => {
        const id = keyString(key)
        const existing = dispatchers.get(id)
        if (existing !== undefined) {
          last = { key, entry: existing }
          return Effect.succeed(existing)
        }
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
          })).pipe(Effect.map((entry) => {
            const chosen = dispatchers.get(id) ?? entry
            last = { key, entry: chosen }
            return chosen
          }))
      })

    const attempt = (
      request: PreparedRequest.PreparedRequest,
      sendOptions: Adapter.SendOptions,
      target: Target,
      way: Route,
      entry: Entry,
      /** When the session's total deadline passes (`performance.now()` time), if it has one. */
      deadlineAt: number | undefined
    ): Effect.Effect<Adapter.RawResponse, RequestError.RequestError & { readonly beforeResponse?: boolean }> =>
      // In-memory bodies need no Effect to be opened.
      request.body._tag === "Stream"
        ? Effect.flatMap(undiciBody(request.body), (opened) =>
          exchange(request, sendOptions, target, way, entry, deadlineAt, opened))
        : exchange(
          request,
          sendOptions,
          target,
          way,
          entry,
          deadlineAt,
          request.body._tag === "Bytes"
            ? { body: request.body.bytes, cancel: noop }
            : { body: null, cancel: noop }
        )

    /**
     * One exchange: the undici handler (its methods are what undici calls), the abort, the
     * deadline, the pool accounting and the body reader. One object per request instead of a
     * closure per callback; it is also the context `classify` reads (`proxy`, `url`).
     */
    class Exchange {
      abortFn: ((reason?: Error) => void) | undefined = undefined
      reader: BodyReader | undefined = undefined
      settled = false
      aborted = false
      abortReason: Error | undefined = undefined
      resumeData: () => void = noop
      disarm: () => void = noop
      release: () => void = noop
      readonly clock = new Timing.Clock()

      constructor(
        readonly request: PreparedRequest.PreparedRequest,
        readonly sendOptions: Adapter.SendOptions,
        readonly target: Target,
        readonly way: Route,
        readonly resume: (effect: Effect.Effect<Adapter.RawResponse, RequestError.RequestError>) => void,
        readonly cancel: () => void
      ) {}

      get proxy(): string | undefined {
        return this.way.display
      }

      /** The URL for messages (built only when an error or a limit needs it). */
      get url(): string {
        return `${this.target.origin}${this.target.pathname}`
      }

      doAbort(reason?: Error) {
        this.aborted = true
        this.abortReason ??= reason
        this.abortFn?.(reason)
      }

      fail(error: RequestError.RequestError) {
        this.settled = true
        this.resume(Effect.fail(error))
      }

      expire() {
        const error = timeoutError(this.sendOptions.timeout.total ?? 0, this.request, this.clock.phase, this.url)
        if (!this.settled) this.fail(error)
        this.doAbort(error)
      }

      onConnect(abortFn: (reason?: Error) => void) {
        this.abortFn = abortFn
        this.clock.onConnect()
        if (this.aborted) abortFn(this.abortReason)
      }

      onHeaders(statusCode: number, rawHeaders: Array<Buffer>, resume: () => void, statusText: string): boolean {
        if (statusCode < 200) return true
        this.clock.onHeaders()
        const request = this.request
        if (this.way.mode === "forward" && statusCode === 407) {
          // The proxy refused the credentials (or wants some): not a response of the origin.
          this.fail(
            new RequestError.ProxyError({
              message: `The proxy ${this.way.display} answered 407 Proxy Authentication Required for ${this.url}`,
              status: 407,
              request
            })
          )
          this.doAbort()
          return false
        }
        const headers = headersOf(rawHeaders)
        const reader = new BodyReader(
          (reason) => this.doAbort(reason),
          {
            request,
            url: this.url,
            limits: this.sendOptions.limits,
            declaredLength: declaredLength(request.method, statusCode, headers.get("content-length"))
          },
          request.method === "HEAD" ? [] : parseEncodings(headers.get("content-encoding")),
          (error) => classify(error, "body", request, this)
        )
        this.reader = reader
        this.resumeData = resume
        this.settled = true
        this.resume(Effect.succeed({
          status: statusCode,
          reason: statusText || Adapter.reasonPhrase(statusCode),
          headers,
          body: reader,
          timings: this.clock.timings
        }))
        return true
      }

      onData(chunk: Buffer): boolean {
        return this.reader === undefined ? true : this.reader.onData(chunk, this.resumeData)
      }

      onComplete() {
        this.disarm()
        this.clock.onComplete()
        this.release()
        this.reader?.onComplete()
      }

      onError(error: Error) {
        this.disarm()
        this.release()
        this.cancel()
        if (!this.settled) this.fail(classify(error, "connect", this.request, this))
        else this.reader?.onError(error)
      }
    }

    const exchange = (
      request: PreparedRequest.PreparedRequest,
      sendOptions: Adapter.SendOptions,
      target: Target,
      way: Route,
      entry: Entry,
      deadlineAt: number | undefined,
      { body, cancel }: { readonly body: Uint8Array | AsyncIterable<Uint8Array> | null; readonly cancel: () => void }
    ): Effect.Effect<Adapter.RawResponse, RequestError.RequestError> =>
      Effect.async<Adapter.RawResponse, RequestError.RequestError>((resume) => {
        const forward = way.mode === "forward"
        const origin = forward ? way.proxy!.origin : target.origin
        const handler = new Exchange(request, sendOptions, target, way, resume, cancel)
        // Exchanges in flight per pool are counted only where it matters: `poolBlock: false`.
        if (failWhenFull) {
          const busyKey = `${entry.id} ${origin}`
          const inFlight = busy.get(busyKey) ?? 0
          if (inFlight >= options.connections!) {
            resume(Effect.fail(
              new RequestError.ConnectionError({
                message: `Connection pool is full for ${origin} (${options.connections} connections, poolBlock: false)`,
                code: "POOL_FULL",
                request
              })
            ))
            return
          }
          busy.set(busyKey, inFlight + 1)
          let released = false
          handler.release = () => {
            if (released) return
            released = true
            const left = (busy.get(busyKey) ?? 1) - 1
            if (left <= 0) busy.delete(busyKey)
            else busy.set(busyKey, left)
          }
        }
        // The session's total deadline, watched until the body ends (one shared timer per adapter).
        if (deadlineAt !== undefined) handler.disarm = deadlines.add(deadlineAt, () => handler.expire())
        const headers = forward ? [...undiciHeaders(request.headers)] : undiciHeaders(request.headers)
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
          handler.release()
          handler.fail(classify(error, "connect", request, handler))
        }
        return Effect.sync(() => {
          if (!handler.settled) {
            handler.disarm()
            handler.doAbort()
            handler.cancel()
          }
        })
      })

    const stale = (error: RequestError.RequestError) =>
      error._tag === "ConnectionError" &&
      (error.code === "UND_ERR_SOCKET" || error.code === "ECONNRESET" || error.code === "EPIPE")

    const send = (
      request: PreparedRequest.PreparedRequest,
      sendOptions: Adapter.SendOptions
    ): Effect.Effect<Adapter.RawResponse, RequestError.RequestError> => {
      if (invalidOptions !== undefined) {
        return Effect.fail(new RequestError.InvalidRequest({ message: `NodeAdapter: ${invalidOptions}`, request }))
      }
      const target = targetOf(request.url)
      if (target === undefined) {
        return Effect.fail(
          new RequestError.InvalidURL({
            message: `Invalid URL ${JSON.stringify(request.url)}`,
            url: request.url,
            request
          })
        )
      }
      if (target.protocol !== "http:" && target.protocol !== "https:") {
        return Effect.fail(
          new RequestError.InvalidSchema({
            message: `No connection adapters were found for ${JSON.stringify(request.url)}`,
            url: request.url,
            request
          })
        )
      }
      const routed = route(target, request, sendOptions.proxy)
      if (Either.isLeft(routed)) {
        return Effect.fail(
          new RequestError.InvalidProxyURL({ message: routed.left.message, url: routed.left.url, request })
        )
      }
      const way = routed.right
      // TLS settings matter only where TLS is spoken: to an https origin (not through a forwarding
      // proxy), or to an https:// proxy.
      const originTls = target.protocol === "https:" && way.mode !== "forward"
      const proxyTls = way.proxy?.protocol === "https:"
      const key: Key = {
        mode: way.mode,
        proxy: way.proxy?.href,
        token: way.token,
        verify: originTls || proxyTls ? sendOptions.verify : true,
        cert: originTls ? sendOptions.cert : undefined,
        connectTimeout: sendOptions.timeout.connect
      }
      const go = (entry: Entry) => {
        const total = sendOptions.timeout.total
        const deadlineAt = total === undefined ? undefined : performance.now() + total
        const once = attempt(request, sendOptions, target, way, entry, deadlineAt)
        const canRetry = (options.retryStaleConnections ?? true) && IDEMPOTENT.has(request.method) &&
          Body.isReplayable(request.body)
        return canRetry
          ? Effect.catchIf(once, stale, () => attempt(request, sendOptions, target, way, entry, deadlineAt))
          : once
      }
      // The dispatcher used last, when the settings are the same: no Effect to look it up.
      if (last !== undefined && !closed && sameKey(last.key, key)) return go(last.entry)
      return Effect.flatMap(Effect.mapError(dispatcherFor(key), (error) => withRequest(error, request)), go)
    }

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
