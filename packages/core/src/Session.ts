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
import { Clock, Context, Duration, Effect, Layer, Option, ScheduleIntervals as Intervals, Stream } from "effect"
import type { Scope } from "effect"
import * as Adapter from "./Adapter.js"
import * as Auth from "./Auth.js"
import * as Body from "./Body.js"
import * as CookieJar from "./CookieJar.js"
import * as Environment from "./Environment.js"
import * as Headers from "./Headers.js"
import * as Hooks from "./Hooks.js"
import * as url from "./internal/url.js"
import * as Netrc from "./Netrc.js"
import * as PreparedRequest from "./PreparedRequest.js"
import * as Proxies from "./Proxies.js"
import * as Redirects from "./Redirects.js"
import * as RequestError from "./RequestError.js"
import * as Response from "./Response.js"
import * as Retry from "./Retry.js"
import * as SessionConfig from "./SessionConfig.js"

/**
 * A request body given as `data`: text or bytes (sent as is), a record or list of pairs
 * (form-encoded), a `Stream` or AsyncIterable (streamed once, chunked unless a length is known),
 * or a prepared `Body` (`Body.replayable(...)`, a file, ...).
 *
 * @since 0.1.0
 * @category models
 */
export type Data =
  | string
  | Uint8Array
  | ArrayBuffer
  | Exclude<url.ParamsInput, string>
  | Stream.Stream<Uint8Array, RequestError.RequestError>
  | AsyncIterable<Uint8Array | string>
  | Body.Body

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
  readonly files?: unknown
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
}

const DRAIN_LIMIT = 1024 * 1024

const isBody = (u: unknown): u is Body.Body =>
  typeof u === "object" && u !== null && "_tag" in u &&
  (u._tag === "Empty" || u._tag === "Bytes" || (u._tag === "Stream" && "open" in u))

const isEmptyData = (data: Data | undefined): boolean => {
  if (data === undefined || data === "") return true
  if (data instanceof Uint8Array) return data.length === 0
  if (data instanceof ArrayBuffer) return data.byteLength === 0
  if (Array.isArray(data)) return data.length === 0
  if (typeof data === "object" && !isBody(data) && Object.getPrototypeOf(data) === Object.prototype) {
    return Object.keys(data).length === 0
  }
  return false
}

const encoder = new TextEncoder()

/**
 * requests' `prepare_body`: the body and the content type it implies.
 *
 * @since 0.1.0
 * @category preparation
 */
export const prepareBody = (
  options: Pick<RequestOptions, "data" | "json" | "files">
): Effect.Effect<{ readonly body: Body.Body; readonly contentType: string | undefined }, RequestError.RequestError> =>
  Effect.suspend((): Effect.Effect<
    { readonly body: Body.Body; readonly contentType: string | undefined },
    RequestError.RequestError
  > => {
    const { data, files, json } = options
    if (files !== undefined) {
      return Effect.fail(new RequestError.InvalidRequest({ message: "files: multipart bodies are not supported yet" }))
    }
    if (isEmptyData(data)) {
      if (json === undefined) return Effect.succeed({ body: Body.empty, contentType: undefined })
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
    if (typeof data === "string") return Effect.succeed({ body: Body.text(data), contentType: undefined })
    if (data instanceof Uint8Array) return Effect.succeed({ body: Body.bytes(data), contentType: undefined })
    if (data instanceof ArrayBuffer) {
      return Effect.succeed({ body: Body.bytes(new Uint8Array(data)), contentType: undefined })
    }
    if (isBody(data)) return Effect.succeed({ body: data, contentType: undefined })
    if (Stream.StreamTypeId in (data as object)) {
      return Effect.succeed({
        body: Body.oneShot(data as Stream.Stream<Uint8Array, RequestError.RequestError>, {
          onReopen: () => new RequestError.UnrewindableBodyError({ message: "Unable to rewind request body." })
        }),
        contentType: undefined
      })
    }
    if (typeof data === "object" && data !== null && Symbol.asyncIterator in data) {
      const iterable = data as AsyncIterable<Uint8Array | string>
      const stream = Stream.fromAsyncIterable(
        iterable,
        (cause) => new RequestError.InvalidRequest({ message: "The request body's iterable failed", cause })
      ).pipe(Stream.map((chunk) => (typeof chunk === "string" ? encoder.encode(chunk) : chunk)))
      return Effect.succeed({
        body: Body.oneShot(stream, {
          kind: "async-iterable",
          onReopen: () => new RequestError.UnrewindableBodyError({ message: "Unable to rewind request body." })
        }),
        contentType: undefined
      })
    }
    const form = url.encodeForm(url.toPairs(data as Exclude<url.ParamsInput, string>))
    return Effect.succeed({ body: Body.text(form), contentType: "application/x-www-form-urlencoded" })
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
    return makeService({ registry, jar, configService, environment, netrc })
  })

const makeService = (parts: {
  readonly registry: Adapter.Registry
  readonly jar: CookieJar.Service
  readonly configService: SessionConfig.Service
  readonly environment: Environment.Settings
  readonly netrc: (host: string) => Effect.Effect<Option.Option<readonly [string, string]>>
}): Service => {
  const { configService, environment, jar, netrc, registry } = parts

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
      }
      if (userCookie === undefined) {
        const header = yield* jar.header(prepared.url, cookies)
        if (header !== undefined) headers = headers.set("Cookie", header)
      }
      const { body, contentType } = yield* prepareBody(request)
      if (contentType !== undefined && !headers.has("content-type")) headers = headers.set("Content-Type", contentType)
      headers = PreparedRequest.prepareContentLength(method, headers, body)

      // Auth precedence: request > session > netrc (trustEnv) > URL userinfo. `null` means none.
      let auth: Auth.Auth | undefined
      if (request.auth === null) {
        auth = undefined
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
        result = yield* auth.apply(result)
      } else if (request.auth !== null) {
        let credentials: Option.Option<readonly [string, string]> = Option.none()
        if (config.trustEnv) {
          const host = url.parse(prepared.url)?.hostname
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
      let verify = options.verify ?? config.verify
      if (verify === true && config.trustEnv && environment.caBundle !== undefined) verify = environment.caBundle
      return {
        config,
        timeout,
        allowRedirects: options.allowRedirects ?? true,
        proxies: Proxies.merge(config.proxies, options.proxies),
        verify,
        cert: options.cert === null ? undefined : options.cert ?? config.cert,
        policy: { ...Redirects.defaultPolicy, ...config.redirects }
      }
    })

  /** Send one request through the adapter (no auth flow, no redirects), with retries; store its cookies. */
  const sendRaw = (
    request: PreparedRequest.PreparedRequest,
    resolved: Resolved
  ): Effect.Effect<Response.StreamingResponse, RequestError.RequestError> =>
    Effect.gen(function*() {
      const transport = yield* registry.getAdapter(request.url)
      const proxies = resolved.config.trustEnv
        ? Proxies.merge(
          Proxies.environmentProxiesFor(
            request.url,
            environment.proxies,
            resolved.proxies["no_proxy"] ?? environment.noProxy
          ),
          resolved.proxies
        )
        : resolved.proxies
      const options: Adapter.SendOptions = {
        timeout: { connect: resolved.timeout.connect, read: resolved.timeout.read },
        verify: resolved.verify,
        cert: resolved.cert,
        proxy: Proxies.selectProxy(request.url, proxies),
        limits: resolved.config.limits
      }
      const once = Effect.gen(function*() {
        const start = yield* Clock.currentTimeNanos
        const raw = yield* transport.send(request, options)
        const end = yield* Clock.currentTimeNanos
        const response = new Response.StreamingResponse({
          status: raw.status,
          reason: raw.reason,
          url: request.url,
          headers: raw.headers,
          history: [],
          elapsed: Duration.nanos(end - start),
          request,
          next: Option.none(),
          source: raw.body
        })
        yield* jar.extract(request.url, raw.headers.getAll("set-cookie"))
        return response
      })
      const policy = resolved.config.retry
      return yield* (policy === undefined ? once : withRetry(policy, request, once))
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
      const send: Auth.Send = (req) =>
        Effect.gen(function*() {
          const withCookies = created.length === 0 ? req : yield* Redirects.rebuildCookies(req, jar)
          const response = yield* sendRaw(withCookies, resolved)
          created.push(response)
          return response
        })
      const result = yield* flow(request, send).pipe(
        Effect.onError(() => Effect.forEach(created, (r) => r.close, { discard: true }))
      )
      for (const response of created) {
        if (response !== result) extra.push(yield* drain(response, extra))
      }
      return result
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
      let request = yield* Hooks.dispatchRequest(initial.hooks, initial)
      const history: Array<Response.Response> = []
      while (true) {
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
          ? yield* current.buffer
          : current
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
          const next = yield* Redirects.nextRequest(buffered, request, rebuildContext(resolved), resolved.policy)
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
    const total = resolved.timeout.total
    const bounded = total === undefined ? chain : chain.pipe(
      Effect.timeoutFail({
        duration: Duration.millis(total),
        onTimeout: () =>
          new RequestError.Timeout({
            message: `The total deadline of ${total} ms passed for ${url.displayUrl(initial.url)}`,
            phase: "total",
            request: initial
          })
      })
    )
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
        type State = {
          readonly response: Response.Head
          readonly request: PreparedRequest.PreparedRequest
          readonly hops: number
        }
        return Stream.unfoldEffect<State | undefined, Response.Response, RequestError.RequestError, never>(
          { response, request: prepared, hops: 0 },
          (state) =>
            Effect.gen(function*() {
              if (state === undefined) return Option.none()
              if (state.hops >= config.maxRedirects) {
                return yield* new RequestError.TooManyRedirects({
                  message: `Exceeded ${config.maxRedirects} redirects.`,
                  request: state.request,
                  response: state.response
                })
              }
              const next = yield* Redirects.nextRequest(state.response, state.request, context, resolved.policy)
              if (Option.isNone(next)) return Option.none()
              const extra: Array<Response.Response> = []
              const hop = yield* sendHop(next.value.request, resolved, extra)
              const buffered = yield* drainOrBuffer(hop, resolved)
              return Option.some([buffered, { response: buffered, request: next.value.request, hops: state.hops + 1 }])
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
    environment
  }

  const drainOrBuffer = (response: Response.StreamingResponse, resolved: Resolved) =>
    Option.isSome(resolved.policy.getRedirectTarget(response)) ? drain(response, []) : response.buffer

  return service
}

/**
 * Retry one exchange by the policy (see `Retry`): connection failures for any method with a
 * replayable body, read failures and `statusForcelist` statuses for allowed methods only.
 */
const withRetry = (
  policy: Retry.Policy,
  request: PreparedRequest.PreparedRequest,
  once: Effect.Effect<Response.StreamingResponse, RequestError.RequestError>
): Effect.Effect<Response.StreamingResponse, RequestError.RequestError> =>
  Effect.gen(function*() {
    const attempts: Array<RequestError.RetryAttempt> = []
    const left = {
      total: policy.total,
      connect: policy.connect,
      read: policy.read,
      status: policy.status,
      other: policy.other
    }
    let state = policy.schedule.initial
    const methodAllowed = Retry.isMethodAllowed(policy, request.method)
    for (let attempt = 1;; attempt++) {
      const result = yield* Effect.either(once)
      let cause: Retry.Attempt["cause"] | undefined
      let response: Response.StreamingResponse | undefined
      if (result._tag === "Left") {
        cause = Retry.classify(result.left)
        if (cause === undefined || (cause !== "connect" && !methodAllowed)) return yield* Effect.fail(result.left)
      } else {
        response = result.right
        const status = response.status
        const hasRetryAfter = response.headers.has("retry-after") &&
          (status === 413 || status === 429 || status === 503)
        const retryable = methodAllowed &&
          (policy.statusForcelist.has(status) || (policy.respectRetryAfter && hasRetryAfter && policy.total > 0))
        if (!retryable) return response
        cause = "status"
      }
      left.total--
      left[cause]--
      const now = yield* Clock.currentTimeMillis
      const retryAfter = response !== undefined && policy.respectRetryAfter
        ? Retry.parseRetryAfter(response.headers.get("retry-after"), now)
        : Option.none()
      const exhausted = left.total < 0 || left[cause] < 0 || !Body.isReplayable(request.body)
      const tooLong = Option.isSome(retryAfter) && Duration.greaterThan(retryAfter.value, policy.retryAfterMax)
      let delay = Duration.zero
      let scheduleDone = false
      if (!exhausted && !tooLong) {
        const input: Retry.Attempt = {
          attempt,
          cause,
          status: response?.status,
          error: result._tag === "Left" ? result.left : undefined
        }
        const [nextState, , decision] = yield* policy.schedule.step(now, input, state)
        state = nextState
        if (decision._tag === "Done") {
          scheduleDone = true
        } else {
          delay = Duration.millis(Math.max(0, Intervals.start(decision.intervals) - now))
        }
        if (Option.isSome(retryAfter) && Duration.greaterThan(retryAfter.value, delay)) delay = retryAfter.value
      }
      attempts.push({
        attempt,
        status: response?.status,
        error: result._tag === "Left" ? result.left.message : undefined,
        delayMillis: Duration.toMillis(delay)
      })
      if (exhausted || tooLong || scheduleDone) {
        if (response !== undefined && !policy.raiseOnStatus) return response
        if (response !== undefined) yield* response.close
        if (result._tag === "Left" && attempts.length === 1 && !Body.isReplayable(request.body)) {
          return yield* Effect.fail(result.left)
        }
        return yield* Retry.retryError(request, attempts, cause, {
          response,
          cause: result._tag === "Left" ? result.left : undefined
        })
      }
      if (response !== undefined) yield* response.close
      if (Duration.greaterThan(delay, Duration.zero)) yield* Effect.sleep(delay)
    }
  })

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
    if (options?.cookies !== undefined) yield* jar.update(options.cookies)
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
