/**
 * An httpbin-compatible test server on plain `node:http` / `node:https`, as a scoped
 * Effect service. The server records every request (raw headers, body digest,
 * connection id) and offers fault endpoints under `/fault/` for client tests.
 *
 * ```ts
 * import { Httpbin } from "@effect-requests/httpbin"
 *
 * const program = Effect.gen(function*() {
 *   const httpbin = yield* Httpbin.Httpbin
 *   const res = yield* Effect.promise(() => fetch(httpbin.url("/get?a=1")))
 *   const [last] = yield* httpbin.requests
 * }).pipe(Effect.provide(Httpbin.layer))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Layer, Option, type Scope } from "effect"
import type { ConnectionStats } from "./internal/context.js"
import type { LoggedRequest } from "./internal/log.js"
import { HttpbinServer, type ServerOptions, type TlsOptions } from "./internal/server.js"

export type {
  /**
   * Sockets currently open, and accepted since the server started.
   *
   * @since 0.1.0
   * @category models
   */
  ConnectionStats,
  /**
   * One request as received: raw target, raw headers (case, order and duplicates
   * kept), body size and SHA-256, connection id.
   *
   * @since 0.1.0
   * @category models
   */
  LoggedRequest,
  /**
   * TLS material: `key`, `cert`, and optionally `ca`, `requestCert`, `rejectUnauthorized`.
   *
   * @since 0.1.0
   * @category models
   */
  TlsOptions
}

/**
 * Options of {@link make}, {@link layerOptions} and {@link start}: `host` (default
 * `127.0.0.1`), `port` (default 0), `tls`, `log` (default true), `logSize` (default
 * 10,000), `maxBodyBytes` (default 64 MiB) and `stallCapMs` (default 60 s).
 *
 * @since 0.1.0
 * @category models
 */
export type Options = ServerOptions

/**
 * What a running server offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpbinService {
  /** Absolute URL of `path` on this server (`url("/get")`). */
  readonly url: (path: string) => string
  /** `http://127.0.0.1:54321`. */
  readonly origin: string
  /** The listening host, without port (`127.0.0.1`). */
  readonly host: string
  readonly port: number
  readonly protocol: "http" | "https"
  /** The request log, oldest first (empty when logging is off). */
  readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
  /** The newest logged request. */
  readonly lastRequest: Effect.Effect<Option.Option<LoggedRequest>>
  /** Forget every logged request. */
  readonly clearLog: Effect.Effect<void>
  /** Open and total connections. */
  readonly connections: Effect.Effect<ConnectionStats>
}

/**
 * The Httpbin service.
 *
 * @since 0.1.0
 * @category tags
 */
export class Httpbin extends Context.Tag("@effect-requests/httpbin/Httpbin")<Httpbin, HttpbinService>() {}

/**
 * The server could not listen (address in use, bad TLS material, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpbinStartError extends Data.TaggedError("HttpbinStartError")<{
  readonly host: string
  readonly port: number
  readonly cause: unknown
}> {
  override get message(): string {
    return `httpbin could not listen on ${this.host}:${this.port}: ${String(this.cause)}`
  }
}

const joinUrl = (origin: string, path: string): string => `${origin}${path.startsWith("/") ? "" : "/"}${path}`

const service = (server: HttpbinServer): HttpbinService => ({
  url: (path) => joinUrl(server.origin, path),
  origin: server.origin,
  host: server.host,
  port: server.port,
  protocol: server.protocol,
  requests: Effect.sync(() => server.log.entries()),
  lastRequest: Effect.sync(() => Option.fromNullable(server.log.last())),
  clearLog: Effect.sync(() => server.log.clear()),
  connections: Effect.sync(() => server.connections())
})

/**
 * Start a server for the life of the current scope. Closing the scope closes the
 * server, destroys every open connection and ends every pending stall.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<HttpbinService, HttpbinStartError, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.tryPromise({
        try: () => HttpbinServer.start(options),
        catch: (cause) => new HttpbinStartError({ host: options.host ?? "127.0.0.1", port: options.port ?? 0, cause })
      }),
      (server) => Effect.promise(() => server.close())
    ),
    service
  )

/**
 * A layer with a server on the given options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOptions = (options: Options = {}): Layer.Layer<Httpbin, HttpbinStartError> =>
  Layer.scoped(Httpbin, make(options))

/**
 * A layer with a server on `127.0.0.1`, on a free port.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Httpbin> = Layer.orDie(layerOptions())

/**
 * A running server for callers outside Effect (benchmarks, scripts).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunningHttpbin {
  /** The origin, `http://127.0.0.1:54321`. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly protocol: "http" | "https"
  readonly requests: () => ReadonlyArray<LoggedRequest>
  readonly clearLog: () => void
  readonly connections: () => ConnectionStats
  /** Stop listening and destroy every connection. Idempotent. */
  readonly close: () => Promise<void>
}

/**
 * Start a server with plain promises. The caller must `close()` it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (options: Options = {}): Promise<RunningHttpbin> => {
  const server = await HttpbinServer.start(options)
  return {
    url: server.origin,
    host: server.host,
    port: server.port,
    protocol: server.protocol,
    requests: () => server.log.entries(),
    clearLog: () => server.log.clear(),
    connections: () => server.connections(),
    close: () => server.close()
  }
}
