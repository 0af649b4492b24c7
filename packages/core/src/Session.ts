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
import { Clock, Context, Duration, Effect, Layer, Option, Stream } from "effect"
import type { Scope } from "effect"
import * as Adapter from "./Adapter.js"
import * as Auth from "./Auth.js"
import * as Body from "./Body.js"
import * as CookieJar from "./CookieJar.js"
import * as Environment from "./Environment.js"
import * as Headers from "./Headers.js"
import * as Hooks from "./Hooks.js"
import * as Call from "./internal/call.js"
import * as url from "./internal/url.js"
import * as Multipart from "./Multipart.js"
import * as Netrc from "./Netrc.js"
import * as PreparedRequest from "./PreparedRequest.js"
import * as Progress from "./Progress.js"
import * as Proxies from "./Proxies.js"
import * as Redirects from "./Redirects.js"
import * as RequestError from "./RequestError.js"
import * as Response from "./Response.js"
import * as Retry from "./Retry.js"
import * as SessionConfig from "./SessionConfig.js"
import * as SessionState from "./SessionState.js"
import * as Telemetry from "./Telemetry.js"

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

/** Settings resolved for one request and its chain. */
interface Resolved {
  readonly config: SessionConfig.Config
  readonly timeout: SessionConfig.Timeout
  readonly allowRedirects: boolean
  /** Session and request proxies (the environment is added per hop). */
  readonly proxies: Proxies.Proxies
  readonly verify: boolean | string
  readonly cert: Adapter.Cert | undefined
  readonly policy: Redirects.Policy
  readonly onDownloadProgress: Progress.Handler | undefined
  /** This call's state: its total deadline, telemetry and retry policy (see `internal/call`). */
  readonly call: Call.Call
}

const DRAIN_LIMIT = 1024 * 1024

const isEmptyData = (data: Data | undefined): boolean => {
  if (data === undefined || data === "") return true
  if (data instanceof Uint8Array) return data.length === 0
  if (data instanceof ArrayBuffer) return data.byteLength === 0
  if (Array.isArray(data)) return data.length === 0
  if (
    typeof data === "object" && !Body.isBody(data) && !Body.isFile(data) &&
    Object.getPrototypeOf(data) === Object.prototype
  ) {
    return Object.keys(data).length === 0
  }
  return false
}

type Prepared = { readonly body: Body.Body; readonly contentType: string | undefined }

const jsonBody = (json: unknown): Effect.Effect<Prepared, RequestError.RequestError> => {
  let text: string | undefined
  try {
    text = JSON.stringify(json, (_key, value) => {
      if (typeof value === "number" && !Number.isFinite(value)) {
        throw new RangeError("Out of range float values are not JSON compliant")
      }
      return value
    })
  } catch (cause) {
    return Effect.fail(
      new RequestError.InvalidJSONError({
        message: `Cannot send json: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })
    )
  }
  if (text === undefined) return Effect.succeed({ body: Body.empty, contentType: undefined })
  return Effect.succeed({ body: Body.text(text), contentType: "application/json" })
}

/** `data` alone (no files): requests' `prepare_body` without multipart. */
const dataBody = (
  data: Data | undefined,
  json: unknown,
  fileSystem: Option.Option<FileSystem.FileSystem>
): Effect.Effect<Prepared, RequestError.RequestError> => {
  if (isEmptyData(data)) {
    return json === undefined ? Effect.succeed({ body: Body.empty, contentType: undefined }) : jsonBody(json)
  }
  if (typeof data === "string") return Effect.succeed({ body: Body.text(data), contentType: undefined })
  if (data instanceof Uint8Array) return Effect.succeed({ body: Body.bytes(data), contentType: undefined })
  if (data instanceof ArrayBuffer) {
    return Effect.succeed({ body: Body.bytes(new Uint8Array(data)), contentType: undefined })
  }
  if (Body.isFile(data)) {
    return Effect.map(Body.resolveFile(data, fileSystem), (body) => ({ body, contentType: body.contentType }))
  }
  if (Body.isBody(data)) {
    return Effect.succeed({ body: data, contentType: data._tag === "Stream" ? data.contentType : undefined })
  }
  if (typeof data === "object" && data !== null && (Stream.StreamTypeId in data || Symbol.asyncIterator in data)) {
    return Effect.succeed({
      body: Body.stream(data as Stream.Stream<Uint8Array, unknown> | AsyncIterable<Uint8Array | string>),
      contentType: undefined
    })
  }
  const form = url.encodeForm(url.toPairs(data as Exclude<url.ParamsInput, string>))
  return Effect.succeed({ body: Body.text(form), contentType: "application/x-www-form-urlencoded" })
}

/**
 * requests' `prepare_body`: the body and the content type it implies. `files` wins over `json`
 * (see `Multipart`); `onUploadProgress` wraps the body so that each send reports its progress. A
 * `Body.file` is resolved with `fileSystem` (the session passes its own).
 *
 * @since 0.1.0
 * @category preparation
 */
export const prepareBody = (
  options: Pick<RequestOptions, "data" | "json" | "files" | "onUploadProgress">,
  context?: { readonly fileSystem?: Option.Option<FileSystem.FileSystem> | undefined }
): Effect.Effect<Prepared, RequestError.RequestError> =>
  Effect.suspend((): Effect.Effect<Prepared, RequestError.RequestError> => {
    const { data, files, json, onUploadProgress } = options
    const fileSystem = context?.fileSystem ?? Option.none()
    const prepared = files !== undefined && files !== null
      ? Multipart.encode({ data, files, fileSystem })
      : dataBody(data, json, fileSystem)
    return onUploadProgress === undefined
      ? prepared
      : Effect.map(prepared, ({ body, contentType }) => ({ body: Progress.body(body, onUploadProgress), contentType }))
  })

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
    const fs = yield* Effect.serviceOption(FileSystem.FileSystem)
    const netrcFile = yield* Effect.cached(
      Option.match(fs, {
        onNone: () => Effect.succeed(Netrc.empty),
        onSome: (fs) =>
          Netrc.load({ path: environment.netrc, home: environment.home }).pipe(
            Effect.provideService(FileSystem.FileSystem, fs)
          )
      })
    )
    const netrc = (host: string) => Effect.map(netrcFile, (file) => Netrc.lookup(file, host))
    return makeService({ registry, jar, configService, environment, netrc, fileSystem: fs })
  })

const makeService = (parts: {
  readonly registry: Adapter.Registry
  readonly jar: CookieJar.Service
  readonly configService: SessionConfig.Service
  readonly environment: Environment.Settings
  readonly netrc: (host: string) => Effect.Effect<Option.Option<readonly [string, string]>>
  /** For `Body.file` bodies and file parts. */
  readonly fileSystem: Option.Option<FileSystem.FileSystem>
}): Service => {
  const { configService, environment, fileSystem, jar, netrc, registry } = parts

  const prepareWith = (
    request: Request,
    config: SessionConfig.Config
  ): Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError> =>
    Effect.gen(function*() {
      const method = yield* PreparedRequest.prepareMethod(request.method)
      const params = SessionConfig.mergeParams(request.params, config.params)
      const prepared = yield* PreparedRequest.prepareUrl(request.url, params)
      const merged = Headers.merge(config.headers, SessionConfig.headerPairs(request.headers))
      let headers = yield* PreparedRequest.prepareHeaders(merged as ReadonlyArray<readonly [string, string]>)
      const userCookie = headers.get("cookie")
      const cookies: Array<readonly [string, string]> = []
      if (request.cookies !== undefined) {
        for (const [name, value] of Object.entries(request.cookies)) {
          if (value !== null && value !== undefined) cookies.push([name, value])
        }
        const invalid = CookieJar.invalidPair(cookies)
        if (invalid !== undefined) return yield* new RequestError.InvalidHeader({ message: invalid, name: "Cookie" })
      }
      if (userCookie === undefined) {
        const header = yield* jar.header(prepared.url, cookies)
        if (header !== undefined) headers = headers.set("Cookie", header)
      }
      const { body, contentType } = yield* prepareBody(request, { fileSystem })
      if (contentType !== undefined && !headers.has("content-type")) headers = headers.set("Content-Type", contentType)
      headers = PreparedRequest.prepareContentLength(method, headers, body)

      // Auth precedence: request > session > netrc (trustEnv) > URL userinfo. `null` means none.
      let auth: Auth.Auth | undefined
      if (request.auth === null) {
        auth = Auth.none
      } else if (request.auth !== undefined) {
        auth = Auth.fromInput(request.auth)
      } else if (config.auth !== undefined) {
        auth = config.auth
      }
      let result = new PreparedRequest.PreparedRequest({
        method,
        url: prepared.url,
        headers,
        body,
        hooks: Hooks.merge(Hooks.make(request.hooks), config.hooks),
        auth,
        cookies,
        userCookie,
        chain: {
          origin: PreparedRequest.originOf(prepared.url),
          stripped: new Set(),
          sensitive: config.sensitiveHeaders
        }
      })
      if (auth !== undefined) {
        result = yield* Auth.prepareAuth(auth, result, { netrc })
      } else {
        let credentials: Option.Option<readonly [string, string]> = Option.none()
        if (config.trustEnv) {
          const host = Netrc.hostOf(prepared.url)
          if (host !== undefined) credentials = yield* netrc(host)
        }
        if (Option.isNone(credentials) && prepared.userinfo !== undefined) credentials = Option.some(prepared.userinfo)
        if (Option.isSome(credentials)) {
          result = result.setHeader(
            "Authorization",
            Auth.basicAuthHeader(credentials.value[0], credentials.value[1])
          )
        }
      }
      return result
    })

  const resolve = (
    config: SessionConfig.Config,
    options: SendOptions
  ): Effect.Effect<Resolved, RequestError.InvalidRequest> =>
    Effect.map(SessionConfig.normalizeTimeout(options.timeout, config.timeout), (timeout) => {
      const verify = Environment.resolveVerify(options.verify ?? config.verify, config.trustEnv, environment)
      return {
        config,
        timeout,
        allowRedirects: options.allowRedirects ?? true,
        proxies: Proxies.merge(config.proxies, options.proxies),
        verify,
        cert: options.cert === null ? undefined : options.cert ?? config.cert,
        policy: { ...Redirects.defaultPolicy, ...config.redirects },
        onDownloadProgress: options.onDownloadProgress,
        call: Call.make()
      }
    })

  /** Send one request through the adapter (no auth flow, no redirects), with retries; store its cookies. */
  const sendRaw = (
    request: PreparedRequest.PreparedRequest,
    resolved: Resolved
  ): Effect.Effect<Response.StreamingResponse, RequestError.RequestError> =>
    Effect.gen(function*() {
      const mounted = yield* registry.getAdapter(request.url)
      // `Adapter.withRetry`: the mount's policy replaces the session's, and the loop runs here.
      const transport = mounted.retry?.transport ?? mounted
      // The proxy is chosen per hop (explicit proxies, then the environment's), with `Auth.proxy` credentials.
      const proxy = Environment.proxyFor(request.url, resolved.proxies, resolved.config.trustEnv, environment)
      const options: Adapter.SendOptions = {
        timeout: { connect: resolved.timeout.connect, read: resolved.timeout.read },
        verify: resolved.verify,
        cert: resolved.cert,
        proxy: proxy === undefined ? undefined : Auth.proxyUrl(proxy, request.auth),
        limits: resolved.config.limits
      }
      const { call, config } = resolved
      const once = (attempt: number) =>
        Telemetry.exchange(request, attempt, call, config.telemetry, (wire) =>
          Effect.gen(function*() {
            const start = yield* Clock.currentTimeNanos
            const raw = yield* Call.send(transport, wire, options, call, resolved.timeout.total)
            const end = yield* Clock.currentTimeNanos
            const response = new Response.StreamingResponse({
              status: raw.status,
              reason: raw.reason,
              url: wire.url,
              headers: raw.headers,
              history: [],
              elapsed: Duration.nanos(end - start),
              timings: raw.timings,
              request: wire,
              next: Option.none(),
              source: raw.body
            })
            yield* jar.extract(wire.url, raw.headers.getAll("set-cookie"))
            return response
          }))
      const policy = mounted.retry?.policy ?? config.retry
      if (policy === undefined) return yield* once(1)
      call.policy = policy
      return yield* Retry.retrying(policy, request, once, Call.responseExchange, {
        deadline: () => call.deadline,
        onRetry: (attempt) => Telemetry.countRetry(request, attempt, config.telemetry)
      })
    })

  /** One hop: the auth flow (if any) around `sendRaw`. Responses the flow does not return go to `extra`. */
  const sendHop = (
    request: PreparedRequest.PreparedRequest,
    resolved: Resolved,
    extra: Array<Response.Response>
  ): Effect.Effect<Response.StreamingResponse, RequestError.RequestError> => {
    const flow = request.auth?.flow
    if (flow === undefined || request.chain.stripped.has("authorization")) return sendRaw(request, resolved)
    return Effect.gen(function*() {
      const created: Array<Response.StreamingResponse> = []
      // A response is drained (bounded) and released before the flow's next send, so a retry
      // can reuse its connection; the drained copy goes to history.
      const drained = new Map<Response.StreamingResponse, Response.Response>()
      const settle = Effect.forEach(
        created,
        (r) => drained.has(r) ? Effect.void : Effect.map(drain(r, []), (d) => void drained.set(r, d)),
        { discard: true }
      )
      const send: Auth.Send = (req) =>
        Effect.gen(function*() {
          yield* settle
          const withCookies = created.length === 0 ? req : yield* Redirects.rebuildCookies(req, jar)
          const response = yield* sendRaw(withCookies, resolved)
          created.push(response)
          return response
        })
      const result = yield* flow(request, send).pipe(
        Effect.onError(() => Effect.forEach(created, (r) => r.close, { discard: true }))
      )
      for (const response of created) {
        if (response !== result) extra.push(drained.get(response) ?? (yield* drain(response, extra)))
      }
      const settled = drained.get(result)
      return settled === undefined ? result : Response.toStreaming(settled)
    })
  }

  /** Read at most DRAIN_LIMIT bytes of an intermediate response, then release it. */
  const drain = (
    response: Response.StreamingResponse,
    history: ReadonlyArray<Response.Response>
  ): Effect.Effect<Response.Response> =>
    Effect.gen(function*() {
      let size = 0
      let complete = true
      const chunks: Array<Uint8Array> = []
      yield* response.body.pipe(
        Stream.takeWhile((chunk) => {
          size += chunk.length
          if (size > DRAIN_LIMIT) {
            complete = false
            return false
          }
          chunks.push(chunk)
          return true
        }),
        Stream.runDrain,
        Effect.catchAll(() => Effect.sync(() => (complete = false)))
      )
      yield* response.close
      let content = new Uint8Array(0)
      if (complete) {
        content = new Uint8Array(size)
        let offset = 0
        for (const c of chunks) {
          content.set(c, offset)
          offset += c.length
        }
      }
      return new Response.Response({ ...response.fields, history: [...history], content })
    })

  const rebuildContext = (resolved: Resolved): Redirects.Context => ({
    jar,
    trustEnv: resolved.config.trustEnv,
    netrc,
    env: resolved.config.trustEnv ? environment : Environment.empty,
    proxies: resolved.proxies
  })

  /**
   * The whole chain. In buffered mode the result is a `Response`; in stream mode the final hop is
   * returned unread (its release is the caller's), every other hop is drained and released here.
   */
  const execute = <Mode extends "buffered" | "stream">(
    initial: PreparedRequest.PreparedRequest,
    resolved: Resolved,
    mode: Mode
  ): Effect.Effect<
    Mode extends "buffered" ? Response.Response : Response.StreamingResponse,
    RequestError.RequestError
  > => {
    let current: Response.StreamingResponse | undefined
    const chain = Effect.gen(function*() {
      let request = initial
      const history: Array<Response.Response> = []
      while (true) {
        // `request` hooks run on every hop's request, before its auth flow (httpx's event hooks).
        request = yield* Hooks.dispatchRequest(request.hooks, request)
        const extra: Array<Response.Response> = []
        current = yield* sendHop(request, resolved, extra)
        for (const r of extra) {
          history.push(new Response.Response({ ...r.fields, history: [...history], content: r.content }))
        }
        const target = resolved.allowRedirects ? resolved.policy.getRedirectTarget(current) : Option.none()
        // Buffer before hooks: a hop to follow is drained (bounded); a buffered final hop is read whole.
        let head: Response.Head = Option.isSome(target)
          ? yield* drain(current, history)
          : mode === "buffered"
          ? yield* Response.trackProgress(current, resolved.onDownloadProgress).buffer
          : Response.trackProgress(current, resolved.onDownloadProgress)
        head = yield* Hooks.dispatchResponse(request.hooks, head)
        const follow = resolved.allowRedirects ? resolved.policy.getRedirectTarget(head) : Option.none()
        if (Option.isSome(follow)) {
          const buffered = Response.isResponse(head)
            ? head
            : yield* drain(head as Response.StreamingResponse, history)
          if (history.length >= resolved.config.maxRedirects) {
            return yield* new RequestError.TooManyRedirects({
              message: `Exceeded ${resolved.config.maxRedirects} redirects.`,
              request,
              response: new Response.Response({ ...buffered.fields, history: [...history], content: buffered.content })
            })
          }
          // A retry policy's `redirect` counter (urllib3): follow, return this redirect, or fail.
          const byPolicy = Retry.onRedirect(resolved.call.policy, history.length)
          if (byPolicy === "raise") return yield* Retry.redirectError(request, history, buffered)
          const next = byPolicy === "return"
            ? Option.none()
            : yield* Redirects.nextRequest(buffered, request, rebuildContext(resolved), resolved.policy)
          if (Option.isSome(next)) {
            const proceed = yield* Hooks.dispatchRedirect(request.hooks, {
              response: buffered,
              next: next.value.request
            })
            if (proceed) {
              history.push(
                new Response.Response({ ...buffered.fields, history: [...history], content: buffered.content })
              )
              request = next.value.request
              continue
            }
          }
          head = buffered
        }
        // The final response: attach history, and `next` when redirects were not followed.
        let nextRequest = Option.none<PreparedRequest.PreparedRequest>()
        if (!resolved.allowRedirects && head.isRedirect) {
          const next = yield* Redirects.nextRequest(head, request, rebuildContext(resolved), resolved.policy).pipe(
            Effect.catchAll(() => Effect.succeed(Option.none()))
          )
          nextRequest = Option.map(next, (n) => n.request)
        }
        const fields = { ...finalFields(head), history: [...history], next: nextRequest }
        if (mode === "buffered") {
          const content = Response.isResponse(head) ?
            head.content :
            (yield* (head as Response.StreamingResponse).buffer)
              .content
          return new Response.Response({ ...fields, content }) as any
        }
        if (Response.isStreamingResponse(head)) return head.withFields(fields) as any
        return Response.toStreaming(new Response.Response({ ...fields, content: (head as Response.Response).content }))
      }
    })
    // The total deadline is enforced per exchange (see `internal/call`); spans and metrics wrap the call.
    const bounded = Telemetry.call(initial, resolved.call, resolved.config.telemetry, chain)
    return bounded.pipe(
      Effect.onExit((exit) =>
        exit._tag === "Failure" || mode === "buffered"
          ? current === undefined ? Effect.void : current.close
          : Effect.void
      ),
      Effect.tapError((error) => Hooks.dispatchError(initial.hooks, error, initial))
    ) as any
  }

  const finalFields = (head: Response.Head): Response.HeadFields => ({
    status: head.status,
    reason: head.reason,
    url: head.url,
    headers: head.headers,
    history: head.history,
    elapsed: head.elapsed,
    timings: head.timings,
    request: head.request,
    next: head.next,
    encoding: head.encoding
  })

  const request = (method: string, target: string, options: RequestOptions = {}) =>
    Effect.gen(function*() {
      const config = yield* configService.get
      const prepared = yield* prepareWith({ ...options, method, url: target }, config)
      const resolved = yield* resolve(config, options)
      return { prepared, resolved }
    })

  const service: Service = {
    request: (method, target, options) =>
      Effect.flatMap(
        request(method, target, options),
        ({ prepared, resolved }) => execute(prepared, resolved, "buffered")
      ),
    get: (target, options) => service.request("GET", target, options),
    head: (target, options) =>
      service.request("HEAD", target, { ...options, allowRedirects: options?.allowRedirects ?? false }),
    post: (target, options) => service.request("POST", target, options),
    put: (target, options) => service.request("PUT", target, options),
    patch: (target, options) => service.request("PATCH", target, options),
    delete: (target, options) => service.request("DELETE", target, options),
    options: (target, options) => service.request("OPTIONS", target, options),
    stream: (method, target, options) =>
      Effect.flatMap(
        request(method, target, options),
        ({ prepared, resolved }) =>
          Effect.acquireRelease(execute(prepared, resolved, "stream"), (response) => response.close)
      ),
    prepareRequest: (req) => Effect.flatMap(configService.get, (config) => prepareWith(req, config)),
    send: (prepared, options = {}) =>
      Effect.flatMap(configService.get, (config) =>
        Effect.flatMap(
          resolve(config, options),
          (resolved) => execute(prepared, resolved, "buffered")
        )),
    sendStream: (prepared, options = {}) =>
      Effect.flatMap(
        configService.get,
        (config) =>
          Effect.flatMap(resolve(config, options), (resolved) =>
            Effect.acquireRelease(execute(prepared, resolved, "stream"), (response) => response.close))
      ),
    resolveRedirects: (response, prepared, options = {}) =>
      Stream.unwrap(Effect.gen(function*() {
        const config = yield* configService.get
        const resolved = yield* resolve(config, options)
        const context = rebuildContext(resolved)
        const first = Response.isStreamingResponse(response)
          ? yield* drain(response, [])
          : response as Response.Response
        type State = {
          readonly response: Response.Response
          readonly request: PreparedRequest.PreparedRequest
          readonly history: ReadonlyArray<Response.Response>
        }
        // Each hop as `execute` runs it: redirect hooks, request hooks, the auth flow, response hooks.
        return Stream.unfoldEffect<State | undefined, Response.Response, RequestError.RequestError, never>(
          { response: first, request: prepared, history: [] },
          (state) =>
            Effect.gen(function*() {
              if (state === undefined) return Option.none()
              if (Option.isNone(resolved.policy.getRedirectTarget(state.response))) return Option.none()
              if (state.history.length >= config.maxRedirects) {
                return yield* new RequestError.TooManyRedirects({
                  message: `Exceeded ${config.maxRedirects} redirects.`,
                  request: state.request,
                  response: new Response.Response({
                    ...state.response.fields,
                    history: state.history,
                    content: state.response.content
                  })
                })
              }
              const byPolicy = Retry.onRedirect(resolved.call.policy ?? config.retry, state.history.length)
              if (byPolicy === "raise") return yield* Retry.redirectError(state.request, state.history, state.response)
              if (byPolicy === "return") return Option.none()
              const next = yield* Redirects.nextRequest(state.response, state.request, context, resolved.policy)
              if (Option.isNone(next)) return Option.none()
              const proceed = yield* Hooks.dispatchRedirect(state.request.hooks, {
                response: state.response,
                next: next.value.request
              })
              if (!proceed) return Option.none()
              const history = [
                ...state.history,
                new Response.Response({
                  ...state.response.fields,
                  history: state.history,
                  content: state.response.content
                })
              ]
              const request = yield* Hooks.dispatchRequest(next.value.request.hooks, next.value.request)
              const extra: Array<Response.Response> = []
              const hop = yield* sendHop(request, resolved, extra)
              for (const r of extra) {
                history.push(new Response.Response({ ...r.fields, history: [...history], content: r.content }))
              }
              const hooked = yield* Hooks.dispatchResponse(request.hooks, yield* drainOrBuffer(hop, resolved))
              const buffered: Response.Response = Response.isStreamingResponse(hooked)
                ? yield* drainOrBuffer(hooked, resolved)
                : hooked as Response.Response
              const result = new Response.Response({ ...buffered.fields, history, content: buffered.content })
              return Option.some([result, { response: result, request, history }])
            })
        )
      })),
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

  const drainOrBuffer = (response: Response.StreamingResponse, resolved: Resolved) =>
    Option.isSome(resolved.policy.getRedirectTarget(response)) ? drain(response, []) : response.buffer

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
