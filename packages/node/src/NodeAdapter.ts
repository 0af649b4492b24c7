/**
 * `NodeAdapter`: our transport on undici, called directly (`dispatcher.dispatch` with a handler),
 * not through `@effect/platform`'s `HttpClient`, whose per-request machinery costs about half of
 * undici's throughput on these machines.
 *
 * - Keep-alive pools per origin, with requests' `HTTPAdapter` knobs: `connections` (pool_maxsize),
 *   `maxOrigins` (pool_connections), `poolBlock` (wait for a free connection, or fail), and
 *   keep-alive timeouts.
 * - One dispatcher per (proxy, verify, CA, client certificate, connect timeout), created on first
 *   use and kept for the adapter's life, so a connection opened under one TLS setting is never
 *   reused under another (CVE-2024-35195). All are destroyed when the adapter's scope closes.
 * - Timeouts: connect (`ConnectTimeout`), and read (`ReadTimeout`): no byte for that long while
 *   waiting for the headers or between body chunks.
 * - The fragment is never sent; the raw `Set-Cookie` lines and the reason phrase are kept;
 *   gzip, deflate and br bodies are decoded within the session's limits; redirects are never
 *   followed here.
 * - A request that is idempotent and replayable is sent once more, on a new connection, when the
 *   connection breaks before any byte of the response (a keep-alive socket the server closed as
 *   the request went out). Anything else is never resent here.
 *
 * @since 0.1.0
 */
import { Adapter, Body, Headers, RequestError } from "@effect-requests/core"
import type { PreparedRequest } from "@effect-requests/core"
import { Effect, Layer, Redacted, Stream } from "effect"
import type { Scope } from "effect"
import { readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import * as undici from "undici"
import { BodyReader, parseEncodings } from "./internal/body.js"
import { classify } from "./internal/errors.js"

/**
 * Pool and connection options (requests' `HTTPAdapter(pool_connections, pool_maxsize, pool_block)`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Connections kept per origin (requests' `pool_maxsize`). Default: no limit. */
  readonly connections?: number | undefined
  /** Origins pooled at once (requests' `pool_connections`); a request to one more fails. Default: no limit. */
  readonly maxOrigins?: number | undefined
  /** When every connection of an origin is busy: wait (`true`, default) or fail with `ConnectionError`. */
  readonly poolBlock?: boolean | undefined
  /** How long an idle keep-alive connection is kept. Default 4 s. */
  readonly keepAliveTimeout?: number | undefined
  /** The most a server's `Keep-Alive: timeout=` hint is trusted. Default 600 s. */
  readonly keepAliveMaxTimeout?: number | undefined
  /** Resend an idempotent, replayable request once when its connection breaks before any response byte. Default true. */
  readonly retryStaleConnections?: boolean | undefined
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"])

/** What selects a dispatcher. */
interface Key {
  readonly proxy: string | undefined
  readonly verify: boolean | string
  readonly cert: Adapter.Cert | undefined
  readonly connectTimeout: number | undefined
}

const keyString = (key: Key): string =>
  JSON.stringify([
    key.proxy ?? null,
    key.verify,
    key.cert === undefined
      ? null
      : typeof key.cert === "string"
      ? key.cert
      : [key.cert.cert, key.cert.key, key.cert.passphrase === undefined ? null : Redacted.value(key.cert.passphrase)],
    key.connectTimeout ?? null
  ])

const isPem = (value: string) => value.includes("-----BEGIN")

/** Read a PEM value: given inline, or from a file, or every certificate file of a directory. */
const readPem = (value: string): string => {
  if (isPem(value)) return value
  const stats = statSync(value)
  if (stats.isDirectory()) {
    return readdirSync(value)
      .filter((f) => /\.(pem|crt|cer)$/i.test(f))
      .map((f) => readFileSync(path.join(value, f), "utf8"))
      .join("\n")
  }
  return readFileSync(value, "utf8")
}

const tlsOptions = (
  key: Key
): Effect.Effect<Record<string, unknown>, RequestError.SSLError> =>
  Effect.try({
    try: () => {
      const tls: Record<string, unknown> = { rejectUnauthorized: key.verify !== false }
      if (typeof key.verify === "string") tls.ca = readPem(key.verify)
      if (key.cert !== undefined) {
        if (typeof key.cert === "string") {
          const pem = readPem(key.cert)
          tls.cert = pem
          tls.key = pem
        } else {
          tls.cert = readPem(key.cert.cert)
          tls.key = readPem(key.cert.key)
          if (key.cert.passphrase !== undefined) tls.passphrase = Redacted.value(key.cert.passphrase)
        }
      }
      return tls
    },
    catch: (cause) =>
      new RequestError.SSLError({
        message: `Could not load the TLS certificate files: ${cause instanceof Error ? cause.message : String(cause)}`,
        reason: "invalid path",
        cause
      })
  })

const stripProxyCredentials = (proxy: string): { readonly uri: string; readonly token: string | undefined } => {
  const parsed = new URL(proxy)
  let token: string | undefined
  if (parsed.username !== "" || parsed.password !== "") {
    const user = decodeURIComponent(parsed.username)
    const pass = decodeURIComponent(parsed.password)
    token = `Basic ${Buffer.from(`${user}:${pass}`, "latin1").toString("base64")}`
    parsed.username = ""
    parsed.password = ""
  }
  return { uri: parsed.href, token }
}

const makeDispatcher = (key: Key, options: Options): Effect.Effect<undici.Dispatcher, RequestError.RequestError> =>
  Effect.flatMap(tlsOptions(key), (tls) =>
    Effect.try({
      try: (): undici.Dispatcher => {
        const connect = { ...tls, timeout: key.connectTimeout ?? 0 }
        const pool = {
          ...(options.connections !== undefined ? { connections: options.connections } : {}),
          ...(options.maxOrigins !== undefined ? { maxOrigins: options.maxOrigins } : {}),
          keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
          keepAliveMaxTimeout: options.keepAliveMaxTimeout ?? 600_000,
          pipelining: 1
        }
        if (key.proxy === undefined) return new undici.Agent({ ...pool, connect })
        const proxyUrl = new URL(key.proxy)
        if (proxyUrl.protocol === "socks5:" || proxyUrl.protocol === "socks5h:" || proxyUrl.protocol === "socks:") {
          const socks = new URL(key.proxy)
          if (socks.protocol === "socks5h:") socks.protocol = "socks5:"
          return new undici.ProxyAgent({ ...pool, uri: socks.href, requestTls: connect })
        }
        const { token, uri } = stripProxyCredentials(key.proxy)
        return new undici.ProxyAgent({
          ...pool,
          uri,
          ...(token !== undefined ? { token } : {}),
          proxyTunnel: false,
          requestTls: connect,
          proxyTls: { timeout: key.connectTimeout ?? 0 },
          connect
        })
      },
      catch: (cause) =>
        new RequestError.InvalidProxyURL({
          message: `Cannot use proxy ${JSON.stringify(displayProxy(key.proxy ?? ""))}: ${
            cause instanceof Error ? cause.message : String(cause)
          }`,
          url: displayProxy(key.proxy ?? ""),
          cause
        })
    }))

/** A proxy URL for messages: credentials never shown. */
const displayProxy = (proxy: string): string => {
  try {
    const parsed = new URL(proxy)
    parsed.username = ""
    parsed.password = ""
    return parsed.href
  } catch {
    return "<unparseable proxy URL>"
  }
}

/** Validate a proxy URL as requests does (`InvalidProxyURL` when it has no host). */
const checkProxy = (proxy: string): Effect.Effect<string, RequestError.InvalidProxyURL> => {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`
  try {
    const parsed = new URL(withScheme)
    if (parsed.hostname === "") throw new Error("no host")
    if (!["http:", "https:", "socks5:", "socks5h:", "socks:"].includes(parsed.protocol)) {
      throw new Error(`unsupported proxy scheme ${parsed.protocol}`)
    }
    return Effect.succeed(withScheme)
  } catch {
    return Effect.fail(
      new RequestError.InvalidProxyURL({
        message: "Please check proxy URL. It is malformed and could be missing the host.",
        url: displayProxy(proxy)
      })
    )
  }
}

const HOP_BY_HOP = new Set(["transfer-encoding", "keep-alive", "upgrade", "expect", "proxy-connection"])

/** Headers as undici takes them: a flat list (or, through a proxy, a record of lists). */
const undiciHeaders = (headers: Headers.Headers, viaProxy: boolean): Array<string> | Record<string, Array<string>> => {
  if (!viaProxy) {
    const flat: Array<string> = []
    for (const [name, value] of headers.entries) {
      const lower = name.toLowerCase()
      if (HOP_BY_HOP.has(lower)) continue
      if (lower === "connection" && !/^(keep-alive|close)$/i.test(value.trim())) continue
      flat.push(name, value)
    }
    return flat
  }
  const record: Record<string, Array<string>> = {}
  for (const [name, value] of headers.entries) {
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || lower === "connection") continue
    ;(record[lower] ??= []).push(value)
  }
  return record
}

/** The body as undici takes it. */
const undiciBody = (
  body: Body.Body
): Effect.Effect<Uint8Array | AsyncIterable<Uint8Array> | null, RequestError.RequestError> => {
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(null)
    case "Bytes":
      return Effect.succeed(body.bytes)
    case "Stream":
      return Effect.flatMap(
        body.open,
        (stream) => Effect.map(Effect.runtime<never>(), (runtime) => Stream.toAsyncIterableRuntime(stream, runtime))
      )
  }
}

/**
 * Build the transport. Its dispatchers are destroyed when the scope closes (and by `close`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Adapter.Transport, never, Scope.Scope> =>
  Effect.gen(function*() {
    const dispatchers = new Map<string, undici.Dispatcher>()
    const busy = new Map<string, number>()
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

    const dispatcherFor = (key: Key): Effect.Effect<undici.Dispatcher, RequestError.RequestError> => {
      const id = keyString(key)
      const existing = dispatchers.get(id)
      if (existing !== undefined) return Effect.succeed(existing)
      if (closed) {
        return Effect.fail(new RequestError.ConnectionError({ message: "The adapter is closed (Pool is closed)." }))
      }
      return Effect.tap(makeDispatcher(key, options), (d) => Effect.sync(() => dispatchers.set(id, d)))
    }

    const attempt = (
      request: PreparedRequest.PreparedRequest,
      sendOptions: Adapter.SendOptions,
      target: URL,
      dispatcher: undici.Dispatcher
    ): Effect.Effect<Adapter.RawResponse, RequestError.RequestError & { readonly beforeResponse?: boolean }> =>
      Effect.flatMap(
        undiciBody(request.body),
        (body) =>
          Effect.async<Adapter.RawResponse, RequestError.RequestError>((resume) => {
            const context = { proxy: sendOptions.proxy, url: `${target.origin}${target.pathname}` }
            let abort: ((reason?: Error) => void) | undefined
            let reader: BodyReader | undefined
            let settled = false
            let aborted = false
            const doAbort = (reason?: Error) => {
              aborted = true
              abort?.(reason)
            }
            const handler = {
              onConnect: (abortFn: (reason?: Error) => void) => {
                abort = abortFn
                if (aborted) abortFn()
              },
              onHeaders: (statusCode: number, rawHeaders: Array<Buffer>, resume_: () => void, statusText: string) => {
                if (statusCode < 200) return true
                const headers = Headers.fromRaw(rawHeaders)
                reader = new BodyReader(
                  doAbort,
                  { request, url: context.url, limits: sendOptions.limits },
                  request.method === "HEAD" ? [] : parseEncodings(headers.get("content-encoding")),
                  (error) => classify(error, "body", request, context)
                )
                resumeData = resume_
                settled = true
                resume(Effect.succeed({
                  status: statusCode,
                  reason: statusText || Adapter.reasonPhrase(statusCode),
                  headers,
                  body: { stream: reader.stream, readAll: reader.readAll, close: reader.close }
                }))
                return true
              },
              onData: (chunk: Buffer) => reader === undefined ? true : reader.onData(chunk, () => resumeData?.()),
              onComplete: () => reader?.onComplete(),
              onError: (error: Error) => {
                if (!settled) {
                  settled = true
                  const failure = classify(error, "connect", request, context)
                  resume(Effect.fail(failure))
                } else {
                  reader?.onError(error)
                }
              }
            }
            let resumeData: (() => void) | undefined
            const viaProxy = sendOptions.proxy !== undefined
            const dispatchOptions: undici.Dispatcher.DispatchOptions = {
              origin: target.origin,
              path: request.pathUrl,
              method: request.method as undici.Dispatcher.HttpMethod,
              headers: undiciHeaders(request.headers, viaProxy) as any,
              body: body as any,
              headersTimeout: sendOptions.timeout.read ?? 0,
              bodyTimeout: sendOptions.timeout.read ?? 0
            }
            try {
              dispatcher.dispatch(dispatchOptions, handler as any)
            } catch (error) {
              settled = true
              resume(Effect.fail(classify(error, "connect", request, context)))
            }
            return Effect.sync(() => {
              if (!settled) doAbort()
            })
          })
      )

    const send = (
      request: PreparedRequest.PreparedRequest,
      sendOptions: Adapter.SendOptions
    ): Effect.Effect<Adapter.RawResponse, RequestError.RequestError> =>
      Effect.gen(function*() {
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
        const proxy = sendOptions.proxy === undefined ? undefined : yield* checkProxy(sendOptions.proxy)
        const dispatcher = yield* dispatcherFor({
          proxy,
          verify: target.protocol === "https:" ? sendOptions.verify : true,
          cert: sendOptions.cert,
          connectTimeout: sendOptions.timeout.connect
        })
        const origin = target.origin
        if (options.poolBlock === false && options.connections !== undefined) {
          const inFlight = busy.get(origin) ?? 0
          if (inFlight >= options.connections) {
            return yield* new RequestError.ConnectionError({
              message: `Connection pool is full for ${origin} (${options.connections} connections, poolBlock: false)`,
              request
            })
          }
        }
        busy.set(origin, (busy.get(origin) ?? 0) + 1)
        const release = Effect.sync(() => busy.set(origin, (busy.get(origin) ?? 1) - 1))
        const first = attempt(request, { ...sendOptions, proxy }, target, dispatcher)
        const canRetry = (options.retryStaleConnections ?? true) && IDEMPOTENT.has(request.method) &&
          Body.isReplayable(request.body)
        const withRetry = canRetry
          ? Effect.catchIf(
            first,
            (error) =>
              error._tag === "ConnectionError" &&
              (error.code === "UND_ERR_SOCKET" || error.code === "ECONNRESET" || error.code === "EPIPE"),
            () => attempt(request, { ...sendOptions, proxy }, target, dispatcher)
          )
          : first
        return yield* Effect.ensuring(withRetry, release)
      })

    return { send, close: closeAll } satisfies Adapter.Transport
  })

/**
 * Provide `NodeAdapter` as the session's default transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Adapter.DefaultTransport> =>
  Layer.scoped(Adapter.DefaultTransport, make(options))
