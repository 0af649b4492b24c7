/**
 * The session (requests' `Session`), as an Effect Layer that provides four services:
 * `Session` (the request functions), `Adapter` (the transports mounted by URL prefix), `CookieJar`
 * and `SessionConfig`. Closing the layer's scope closes every adapter (requests' `close()` and
 * context manager).
 *
 * One request runs this pipeline, each step a small replaceable piece:
 * merge options with the session (and the environment when `trustEnv`) → prepare (method, URL and
 * params, headers, cookies, body, auth) → `request` hooks → for each hop: send through the adapter
 * mounted for the URL (inside the auth flow, with the retry policy), store `Set-Cookie`, run
 * `response` hooks, then follow redirects with `Redirects.nextRequest` → read the body.
 *
 * `request` and the verbs give a buffered `Response`: the body is read and the connection
 * released before it is returned. `stream` gives a `StreamingResponse` that needs a `Scope`: the
 * type says who must release the connection.
 *
 * @since 0.1.0
 */
import { FileSystem } from "@effect/platform"
import { Context, Effect, Layer, Option, Stream } from "effect"
import type { Scope } from "effect"
import * as Adapter from "./Adapter.js"
import type * as Auth from "./Auth.js"
import type * as Body from "./Body.js"
import * as CookieJar from "./CookieJar.js"
import * as Environment from "./Environment.js"
import type * as Hooks from "./Hooks.js"
import * as Pipeline from "./internal/pipeline.js"
import * as Prepare from "./internal/prepare.js"
import type * as url from "./internal/url.js"
import type * as Multipart from "./Multipart.js"
import * as Netrc from "./Netrc.js"
import type * as PreparedRequest from "./PreparedRequest.js"
import type * as Progress from "./Progress.js"
import * as RequestError from "./RequestError.js"
import type * as Response from "./Response.js"
import * as SessionConfig from "./SessionConfig.js"
import * as SessionState from "./SessionState.js"

/**
 * A request body given as `data`: text or bytes (sent as is), a record or list of pairs
 * (form-encoded), a `Stream` or AsyncIterable (streamed once, chunked; `Body.stream(s, { length })`
 * to send a length), a file (`Body.file(path)`: streamed with its length, replayable), or a
 * prepared `Body` (`Body.replayable(...)`, ...).
 *
 * @since 0.1.0
 * @category models
 */
export type Data =
  | string
  | Uint8Array
  | ArrayBuffer
  | Exclude<url.ParamsInput, string>
  | Stream.Stream<Uint8Array, unknown>
  | AsyncIterable<Uint8Array | string>
  | Body.Body
  | Body.File

/**
 * Per-request options, requests' keyword arguments in camelCase.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  readonly params?: SessionConfig.ParamsInput | undefined
  readonly headers?: SessionConfig.HeadersInput | undefined
  /** Cookies for this request only: sent with the jar's (winning by name), never stored, first origin only. */
  readonly cookies?: Readonly<Record<string, string | null | undefined>> | undefined
  readonly data?: Data | undefined
  /** A value sent as JSON (when `data` is empty). */
  readonly json?: unknown
  /** Multipart files (requests' `files`; see `Multipart`): `data` fields are sent first. */
  readonly files?: Multipart.Files | undefined
  /** Reports the request body's progress as it is sent (see `Progress`). */
  readonly onUploadProgress?: Progress.Handler | undefined
  /** Reports the final response body's progress as it is read, buffered or streamed (see `Progress`). */
  readonly onDownloadProgress?: Progress.Handler | undefined
  /** `null` sends no auth at all (not the session's, not netrc). */
  readonly auth?: Auth.Input | null | undefined
  readonly timeout?: SessionConfig.TimeoutInput | undefined
  /** Follow redirects (default true; `head` defaults to false, as in requests). */
  readonly allowRedirects?: boolean | undefined
  readonly proxies?: Readonly<Record<string, string | null>> | undefined
  readonly verify?: boolean | string | undefined
  readonly cert?: Adapter.Cert | null | undefined
  readonly hooks?: Hooks.Input | undefined
}

/**
 * requests' `Request`: a method, a URL and options, not yet merged with a session.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request extends RequestOptions {
  readonly method: string
  readonly url: string
}

/**
 * Options of `send` (requests' `Session.send` keyword arguments).
 *
 * @since 0.1.0
 * @category models
 */
export interface SendOptions {
  readonly timeout?: SessionConfig.TimeoutInput | undefined
  /** Reports the final response body's progress as it is read (see `Progress`). */
  readonly onDownloadProgress?: Progress.Handler | undefined
  readonly allowRedirects?: boolean | undefined
  readonly proxies?: Readonly<Record<string, string | null>> | undefined
  readonly verify?: boolean | string | undefined
  readonly cert?: Adapter.Cert | null | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly request: (
    method: string,
    url: string,
    options?: RequestOptions
  ) => Effect.Effect<Response.Response, RequestError.RequestError>
  readonly get: (url: string, options?: RequestOptions) => Effect.Effect<Response.Response, RequestError.RequestError>
  readonly head: (url: string, options?: RequestOptions) => Effect.Effect<Response.Response, RequestError.RequestError>
  readonly post: (url: string, options?: RequestOptions) => Effect.Effect<Response.Response, RequestError.RequestError>
  readonly put: (url: string, options?: RequestOptions) => Effect.Effect<Response.Response, RequestError.RequestError>
  readonly patch: (url: string, options?: RequestOptions) => Effect.Effect<Response.Response, RequestError.RequestError>
  readonly delete: (
    url: string,
    options?: RequestOptions
  ) => Effect.Effect<Response.Response, RequestError.RequestError>
  readonly options: (
    url: string,
    options?: RequestOptions
  ) => Effect.Effect<Response.Response, RequestError.RequestError>
  /** A response whose body streams; its connection is released when the scope closes. */
  readonly stream: (
    method: string,
    url: string,
    options?: RequestOptions
  ) => Effect.Effect<Response.StreamingResponse, RequestError.RequestError, Scope.Scope>
  /** requests' `prepare_request`: merge with the session and prepare. */
  readonly prepareRequest: (
    request: Request
  ) => Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError>
  /** requests' `send`: send a prepared request (session settings apply; it is not merged again). */
  readonly send: (
    request: PreparedRequest.PreparedRequest,
    options?: SendOptions
  ) => Effect.Effect<Response.Response, RequestError.RequestError>
  /** `send` with a streamed body. */
  readonly sendStream: (
    request: PreparedRequest.PreparedRequest,
    options?: SendOptions
  ) => Effect.Effect<Response.StreamingResponse, RequestError.RequestError, Scope.Scope>
  /** requests' `resolve_redirects`: the hops after `response`, as a Stream of buffered responses. */
  readonly resolveRedirects: (
    response: Response.Head,
    request: PreparedRequest.PreparedRequest,
    options?: SendOptions
  ) => Stream.Stream<Response.Response, RequestError.RequestError>
  /** requests' `merge_environment_settings`, with explicit settings winning over the environment. */
  readonly mergeEnvironmentSettings: (
    url: string,
    settings: Pick<SendOptions, "proxies" | "verify" | "cert">
  ) => Effect.Effect<Environment.Merged<Adapter.Cert>>
  readonly mount: (prefix: string, transport: Adapter.Transport) => Effect.Effect<void>
  readonly getAdapter: (url: string) => Effect.Effect<Adapter.Transport, RequestError.InvalidSchema>
  /** Close every adapter now (requests' `close()`); the layer also does it when its scope closes. */
  readonly close: Effect.Effect<void>
  readonly config: SessionConfig.Service
  readonly cookies: CookieJar.Service
  readonly adapters: Adapter.Registry
  /** The environment the session read when it was built. */
  readonly environment: Environment.Settings
  /** requests' `__getstate__`: the session's state as a Schema-encodable snapshot (see `SessionState`). */
  readonly snapshot: (options?: SessionState.SnapshotOptions) => Effect.Effect<SessionState.Snapshot>
  /** requests' `__setstate__`: put a snapshot's state into this session. */
  readonly restore: (
    snapshot: SessionState.Snapshot,
    options?: SessionState.RestoreOptions
  ) => Effect.Effect<SessionState.Restored, SessionState.SessionStateError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Session extends Context.Tag("@effect-requests/core/Session")<Session, Service>() {}

/**
 * requests' `prepare_body`: the body and the content type it implies. `files` wins over `json`
 * (see `Multipart`); `onUploadProgress` wraps the body so that each send reports its progress. A
 * `Body.file` is resolved with `fileSystem` (the session passes its own).
 *
 * @since 0.1.0
 * @category preparation
 */
export const prepareBody: (
  options: Pick<RequestOptions, "data" | "json" | "files" | "onUploadProgress">,
  context?: { readonly fileSystem?: Option.Option<FileSystem.FileSystem> | undefined }
) => Effect.Effect<{ readonly body: Body.Body; readonly contentType: string | undefined }, RequestError.RequestError> =
  Prepare.prepareBody

/**
 * Build the session service from its parts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, Adapter.Adapter | CookieJar.CookieJar | SessionConfig.SessionConfig> =
  Effect.gen(function*() {
    const registry = yield* Adapter.Adapter
    const jar = yield* CookieJar.CookieJar
    const configService = yield* SessionConfig.SessionConfig
    const environment = yield* Environment.load
    const fileSystem = yield* Effect.serviceOption(FileSystem.FileSystem)
    // netrc: read once (through the FileSystem, when there is one), then looked up synchronously.
    let netrcFile: Netrc.Netrc | undefined
    const loadNetrc = yield* Effect.cached(
      Option.match(fileSystem, {
        onNone: () => Effect.succeed(Netrc.empty),
        onSome: (fs) =>
          Netrc.load({ path: environment.netrc, home: environment.home }).pipe(
            Effect.provideService(FileSystem.FileSystem, fs)
          )
      }).pipe(Effect.tap((file) => Effect.sync(() => (netrcFile = file))))
    )
    const netrc = (host: string) =>
      netrcFile !== undefined
        ? Effect.succeed(Netrc.lookup(netrcFile, host))
        : Effect.map(loadNetrc, (file) => Netrc.lookup(file, host))
    const netrcMayMatch = () =>
      netrcFile === undefined || netrcFile.machines.size > 0 || netrcFile.default !== undefined
    const prepare = Prepare.make({ jar, fileSystem, netrc, netrcMayMatch })
    const pipeline = Pipeline.make({ registry, jar, environment, netrc, netrcMayMatch })
    return makeService({ registry, jar, configService, environment, prepare, pipeline })
  })

const makeService = (parts: {
  readonly registry: Adapter.Registry
  readonly jar: CookieJar.Service
  readonly configService: SessionConfig.Service
  readonly environment: Environment.Settings
  readonly prepare: ReturnType<typeof Prepare.make>
  readonly pipeline: ReturnType<typeof Pipeline.make>
}): Service => {
  const { configService, environment, jar, pipeline, prepare, registry } = parts

  const resolved = (config: SessionConfig.Config, options: SendOptions) => {
    const result = pipeline.resolve(config, options)
    return result instanceof RequestError.InvalidRequest ? Effect.fail(result) : Effect.succeed(result)
  }

  /** Prepare and send: the whole call, buffered or streamed. */
  const call = <Mode extends "buffered" | "stream">(
    mode: Mode,
    method: string,
    target: string,
    options: RequestOptions
  ) =>
    Effect.flatMap(configService.get, (config) => {
      const settings = pipeline.resolve(config, options)
      if (settings instanceof RequestError.InvalidRequest) return Effect.fail(settings)
      return Effect.flatMap(
        prepare({ ...options, method, url: target }, config),
        (prepared) => pipeline.execute(prepared, settings, mode)
      )
    })

  const service: Service = {
    request: (method, target, options = {}) => call("buffered", method, target, options),
    get: (target, options = {}) => call("buffered", "GET", target, options),
    head: (target, options) =>
      call("buffered", "HEAD", target, { ...options, allowRedirects: options?.allowRedirects ?? false }),
    post: (target, options = {}) => call("buffered", "POST", target, options),
    put: (target, options = {}) => call("buffered", "PUT", target, options),
    patch: (target, options = {}) => call("buffered", "PATCH", target, options),
    delete: (target, options = {}) => call("buffered", "DELETE", target, options),
    options: (target, options = {}) => call("buffered", "OPTIONS", target, options),
    stream: (method, target, options = {}) =>
      Effect.acquireRelease(call("stream", method, target, options), (response) => response.close),
    prepareRequest: (req) => Effect.flatMap(configService.get, (config) => prepare(req, config)),
    send: (prepared, options = {}) =>
      Effect.flatMap(configService.get, (config) =>
        Effect.flatMap(
          resolved(config, options),
          (settings) => pipeline.execute(prepared, settings, "buffered")
        )),
    sendStream: (prepared, options = {}) =>
      Effect.flatMap(
        configService.get,
        (config) =>
          Effect.flatMap(resolved(config, options), (settings) =>
            Effect.acquireRelease(pipeline.execute(prepared, settings, "stream"), (response) =>
              response.close))
      ),
    resolveRedirects: (response, prepared, options = {}) =>
      Stream.unwrap(
        Effect.map(
          Effect.flatMap(configService.get, (config) => resolved(config, options)),
          (settings) => pipeline.resolveRedirects(response, prepared, settings)
        )
      ),
    mergeEnvironmentSettings: (target, settings) =>
      Effect.map(
        configService.get,
        (config) => Environment.mergeEnvironmentSettings(target, settings, config, environment)
      ),
    mount: (prefix, transport) => registry.mount(prefix, transport),
    getAdapter: (target) => registry.getAdapter(target),
    close: registry.close,
    config: configService,
    cookies: jar,
    adapters: registry,
    environment,
    snapshot: (options) => SessionState.snapshot(service, options),
    restore: (snapshot, options) => SessionState.restore(service, snapshot, options)
  }
  return service
}

/**
 * Options of `Session.layer`: the session's settings plus its initial cookies, jar policy, extra
 * mounts, or a jar of your own (for example a file-backed one).
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions extends SessionConfig.Options {
  /** Cookies to start with (requests' `session.cookies.update(...)`: sent to every host). */
  readonly cookies?: CookieJar.Input | undefined
  readonly cookieJar?: CookieJar.Options | undefined
  /** A jar to use instead of the in-memory one (acquired and released with the layer). */
  readonly jar?: Effect.Effect<CookieJar.Service, never, Scope.Scope> | undefined
  /** Extra transports by URL prefix. */
  readonly mounts?: Readonly<Record<string, Adapter.Transport>> | undefined
}

/**
 * The session layer: provides `Session`, `Adapter`, `CookieJar` and `SessionConfig`; needs the
 * default transport (`Adapter.DefaultTransport`), mounted for `http://` and `https://`.
 * A `FileSystem` in context, when there is one, is used for netrc.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: LayerOptions
): Layer.Layer<
  Session | Adapter.Adapter | CookieJar.CookieJar | SessionConfig.SessionConfig,
  RequestError.InvalidRequest,
  Adapter.DefaultTransport
> =>
  Layer.scopedContext(Effect.gen(function*() {
    const transport = yield* Adapter.DefaultTransport
    const mounts: Array<readonly [string, Adapter.Transport]> = [["https://", transport], ["http://", transport]]
    for (const [prefix, t] of Object.entries(options?.mounts ?? {})) mounts.push([prefix, t])
    const registry = yield* Adapter.makeRegistry(mounts)
    const jar = options?.jar !== undefined ? yield* options.jar : yield* CookieJar.make(options?.cookieJar)
    if (options?.cookies !== undefined) {
      yield* jar.update(options.cookies).pipe(
        Effect.mapError((e) => new RequestError.InvalidRequest({ message: e.message, cause: e }))
      )
    }
    const configService = yield* SessionConfig.make(options)
    const context = Context.make(Adapter.Adapter, registry).pipe(
      Context.add(CookieJar.CookieJar, jar),
      Context.add(SessionConfig.SessionConfig, configService)
    )
    const session = yield* Effect.provide(make, context)
    return Context.add(context, Session, session)
  }))

/**
 * @since 0.1.0
 * @category accessors
 */
export const request = (
  method: string,
  url: string,
  options?: RequestOptions
): Effect.Effect<Response.Response, RequestError.RequestError, Session> =>
  Effect.flatMap(Session, (s) => s.request(method, url, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const get = (url: string, options?: RequestOptions) => request("GET", url, options)

/**
 * requests' `head`: redirects are not followed unless `allowRedirects: true`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const head = (url: string, options?: RequestOptions): Effect.Effect<
  Response.Response,
  RequestError.RequestError,
  Session
> => Effect.flatMap(Session, (s) => s.head(url, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const post = (url: string, options?: RequestOptions) => request("POST", url, options)

/**
 * @since 0.1.0
 * @category accessors
 */
export const put = (url: string, options?: RequestOptions) => request("PUT", url, options)

/**
 * @since 0.1.0
 * @category accessors
 */
export const patch = (url: string, options?: RequestOptions) => request("PATCH", url, options)

/**
 * requests' `delete` (`delete` is a reserved word for a module function).
 *
 * @since 0.1.0
 * @category accessors
 */
export const del = (url: string, options?: RequestOptions) => request("DELETE", url, options)

/**
 * @since 0.1.0
 * @category accessors
 */
export const options = (url: string, options?: RequestOptions) => request("OPTIONS", url, options)

/**
 * A streamed response; the connection is released when the scope closes.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stream = (
  method: string,
  url: string,
  options?: RequestOptions
): Effect.Effect<Response.StreamingResponse, RequestError.RequestError, Session | Scope.Scope> =>
  Effect.flatMap(Session, (s) => s.stream(method, url, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const prepareRequest = (
  request: Request
): Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError, Session> =>
  Effect.flatMap(Session, (s) => s.prepareRequest(request))

/**
 * @since 0.1.0
 * @category accessors
 */
export const send = (
  request: PreparedRequest.PreparedRequest,
  options?: SendOptions
): Effect.Effect<Response.Response, RequestError.RequestError, Session> =>
  Effect.flatMap(Session, (s) => s.send(request, options))

/**
 * @since 0.1.0
 * @category accessors
 */
export const resolveRedirects = (
  response: Response.Head,
  request: PreparedRequest.PreparedRequest,
  options?: SendOptions
): Stream.Stream<Response.Response, RequestError.RequestError, Session> =>
  Stream.unwrap(Effect.map(Session, (s) => s.resolveRedirects(response, request, options)))

/**
 * @since 0.1.0
 * @category accessors
 */
export const mergeEnvironmentSettings = (
  url: string,
  settings: Pick<SendOptions, "proxies" | "verify" | "cert"> = {}
): Effect.Effect<Environment.Merged<Adapter.Cert>, never, Session> =>
  Effect.flatMap(Session, (s) => s.mergeEnvironmentSettings(url, settings))

/**
 * @since 0.1.0
 * @category accessors
 */
export const mount = (prefix: string, transport: Adapter.Transport): Effect.Effect<void, never, Session> =>
  Effect.flatMap(Session, (s) => s.mount(prefix, transport))

/**
 * @since 0.1.0
 * @category accessors
 */
export const getAdapter = (
  url: string
): Effect.Effect<Adapter.Transport, RequestError.InvalidSchema, Session> =>
  Effect.flatMap(Session, (s) => s.getAdapter(url))

/**
 * @since 0.1.0
 * @category accessors
 */
export const close: Effect.Effect<void, never, Session> = Effect.flatMap(Session, (s) => s.close)

/**
 * requests' `__getstate__` for the session in context (see `SessionState`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const snapshot = (
  options?: SessionState.SnapshotOptions
): Effect.Effect<SessionState.Snapshot, never, Session> => Effect.flatMap(Session, (s) => s.snapshot(options))

/**
 * requests' `__setstate__` for the session in context (see `SessionState`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const restore = (
  snapshot: SessionState.Snapshot,
  options?: SessionState.RestoreOptions
): Effect.Effect<SessionState.Restored, SessionState.SessionStateError, Session> =>
  Effect.flatMap(Session, (s) => s.restore(snapshot, options))
