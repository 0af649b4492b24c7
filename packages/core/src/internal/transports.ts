/**
 * The transports that are not sockets, behind `Adapter.memory`, `Adapter.fromHttpApp` and
 * `Adapter.fromHttpClient`: reading a request body whole, read timeouts as Effect timeouts (so
 * they run under `TestClock`), and the conversions to and from web `Request`/`Response` and
 * `@effect/platform`'s client request and response.
 *
 * @internal
 */
import {
  Cookies,
  HttpApp,
  HttpBody,
  HttpClient,
  HttpClientRequest,
  type HttpClientResponse,
  type HttpServerRequest
} from "@effect/platform"
import type { HttpClientError } from "@effect/platform"
import { Effect, Stream } from "effect"
import type * as Scope from "effect/Scope"
import type * as Adapter from "../Adapter.js"
import * as Headers from "../Headers.js"
import type * as PreparedRequest from "../PreparedRequest.js"
import * as RequestError from "../RequestError.js"
import * as Response from "../Response.js"
import { reasonPhrase } from "./reasons.js"
import * as url from "./url.js"

const encoder = new TextEncoder()

/** The request body, read whole (a stream body is opened, read and closed). */
export const readBody = (
  request: PreparedRequest.PreparedRequest
): Effect.Effect<Uint8Array, RequestError.RequestError> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(new Uint8Array(0))
    case "Bytes":
      return Effect.succeed(body.bytes)
    case "Stream":
      return Effect.flatMap(body.open, (stream) => Response.collect(stream))
  }
}

/** A body source over a Stream (the test transports' bodies). */
export const sourceOf = (
  stream: Stream.Stream<Uint8Array, RequestError.RequestError>,
  close: Effect.Effect<void> = Effect.void
): Response.BodySource => ({ stream, readAll: Response.collect(stream), close })

/** A body given as text, bytes or a Stream. */
export const streamOf = (
  content: string | Uint8Array | Stream.Stream<Uint8Array, RequestError.RequestError> | undefined
): Stream.Stream<Uint8Array, RequestError.RequestError> =>
  content === undefined
    ? Stream.empty
    : typeof content === "string"
    ? Stream.succeed(encoder.encode(content))
    : content instanceof Uint8Array
    ? Stream.succeed(content)
    : content

const readTimeout = (request: PreparedRequest.PreparedRequest, phase: "headers" | "body", millis: number) =>
  new RequestError.ReadTimeout({
    message: `Read timed out waiting for the response ${phase} from ${
      url.displayUrl(request.url)
    } (read timeout ${millis} ms)`,
    phase,
    request
  })

/**
 * Read timeouts for a transport that is not a socket: the headers within `headers` ms, then no
 * gap longer than `read` ms between body chunks. Effect timeouts: they follow the `Clock`.
 */
export const withReadTimeouts = (
  send: Effect.Effect<Adapter.RawResponse, RequestError.RequestError>,
  request: PreparedRequest.PreparedRequest,
  headers: number | undefined,
  read: number | undefined
): Effect.Effect<Adapter.RawResponse, RequestError.RequestError> => {
  const bounded = headers === undefined
    ? send
    : Effect.timeoutFail(send, { duration: headers, onTimeout: () => readTimeout(request, "headers", headers) })
  if (read === undefined) return bounded
  return Effect.map(bounded, (raw) => {
    const stream = raw.body.stream.pipe(Stream.timeoutFail(() => readTimeout(request, "body", read), read))
    return { ...raw, body: sourceOf(stream, raw.body.close) }
  })
}

// ---------------------------------------------------------------------------------------------
// web Request / Response

const webHeaders = (headers: Headers.Headers): globalThis.Headers => {
  const out = new globalThis.Headers()
  for (const [name, value] of headers.entries) out.append(name, value)
  return out
}

/** A web `Response` as a raw response: every header line kept (each `Set-Cookie` apart), the body streamed. */
export const fromWebResponse = (
  response: globalThis.Response,
  request: PreparedRequest.PreparedRequest
): Adapter.RawResponse => {
  const lines: Array<readonly [string, string]> = []
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") lines.push([name, value])
  })
  for (const cookie of response.headers.getSetCookie()) lines.push(["set-cookie", cookie])
  const body = response.body
  const stream: Stream.Stream<Uint8Array, RequestError.RequestError> = body === null
    ? Stream.empty
    : Stream.fromReadableStream({
      evaluate: () => body,
      onError: (cause) =>
        new RequestError.ChunkedEncodingError({
          message: `Reading the body of ${url.displayUrl(request.url)} failed: ${
            cause instanceof Error ? cause.message : String(cause)
          }`,
          request,
          cause
        })
    })
  return {
    status: response.status,
    reason: response.statusText || reasonPhrase(response.status),
    headers: new Headers.Headers(lines),
    body: sourceOf(
      stream,
      Effect.promise(() => (body === null || body.locked ? Promise.resolve() : body.cancel().catch(() => undefined)))
    )
  }
}

/** Check that a body can go into a web `Request` (GET and HEAD cannot carry one). */
const checkWebBody = (
  request: PreparedRequest.PreparedRequest,
  body: Uint8Array
): Effect.Effect<Uint8Array, RequestError.RequestError> =>
  body.length > 0 && (request.method === "GET" || request.method === "HEAD")
    ? Effect.fail(
      new RequestError.InvalidRequest({
        message: `A ${request.method} request with a body cannot be sent in process (web Request forbids it)`,
        request
      })
    )
    : Effect.succeed(body)

/** The web `Request` for a prepared request and its body (throws what the constructor throws). */
const webRequest = (request: PreparedRequest.PreparedRequest, body: Uint8Array, signal: AbortSignal) =>
  new globalThis.Request(request.url, {
    method: request.method,
    headers: webHeaders(request.headers),
    ...(body.length > 0 ? { body: body as unknown as BodyInit } : {}),
    signal
  })

/**
 * A transport that answers with an `HttpApp`, in process: each request becomes a web `Request`,
 * the app runs with the runtime the transport was built in, its response becomes ours.
 */
export const fromHttpApp = <E, R>(
  app: HttpApp.Default<E, R>
): Effect.Effect<Adapter.Transport, never, Exclude<R, Scope.Scope | HttpServerRequest.HttpServerRequest>> =>
  Effect.map(Effect.runtime<Exclude<R, Scope.Scope | HttpServerRequest.HttpServerRequest>>(), (runtime) => {
    const handler = HttpApp.toWebHandlerRuntime(runtime)(app as HttpApp.Default<E, Scope.Scope>)
    const exchange = (request: PreparedRequest.PreparedRequest, body: Uint8Array) =>
      Effect.tryPromise({
        try: (signal) => handler(webRequest(request, body, signal)),
        catch: (cause) =>
          new RequestError.InvalidRequest({
            message: `The in-process app could not take ${request.method} ${url.displayUrl(request.url)}: ${
              cause instanceof Error ? cause.message : String(cause)
            }`,
            request,
            cause
          })
      })
    const transport: Adapter.Transport = {
      send: (request, options) =>
        withReadTimeouts(
          readBody(request).pipe(
            Effect.flatMap((body) => checkWebBody(request, body)),
            Effect.flatMap((body) => exchange(request, body)),
            Effect.map((response) => fromWebResponse(response, request))
          ),
          request,
          options.timeout.read,
          options.timeout.read
        ),
      close: Effect.void
    }
    return transport
  })

// ---------------------------------------------------------------------------------------------
// @effect/platform HttpClient

const clientError = (
  error: HttpClientError.HttpClientError,
  request: PreparedRequest.PreparedRequest
): RequestError.RequestError => {
  const where = url.displayUrl(request.url)
  if (error._tag === "RequestError" && error.reason !== "Transport") {
    return new RequestError.InvalidRequest({
      message: `The HttpClient refused ${request.method} ${where}: ${error.reason}`,
      request,
      cause: error
    })
  }
  if (error._tag === "ResponseError") {
    return new RequestError.ChunkedEncodingError({
      message: `Reading the body of ${where} failed (${error.reason})`,
      request,
      cause: error
    })
  }
  return new RequestError.ConnectionError({
    message: `The HttpClient failed for ${request.method} ${where}: ${error.description ?? error.reason}`,
    request,
    cause: error
  })
}

const fromClientResponse = (
  response: HttpClientResponse.HttpClientResponse,
  request: PreparedRequest.PreparedRequest
): Adapter.RawResponse => {
  const lines: Array<readonly [string, string]> = []
  for (const [name, value] of Object.entries(response.headers)) {
    if (name !== "set-cookie") lines.push([name, value])
  }
  for (const line of Cookies.toSetCookieHeaders(response.cookies)) lines.push(["set-cookie", line])
  const stream = response.stream.pipe(Stream.mapError((error) => clientError(error, request)))
  return {
    status: response.status,
    reason: reasonPhrase(response.status),
    headers: new Headers.Headers(lines),
    body: sourceOf(stream, Effect.void)
  }
}

/** Header lines as @effect/platform keeps them (one value per name: repeated ones are joined). */
const clientHeaders = (headers: Headers.Headers): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of headers.entries) {
    const key = name.toLowerCase()
    const previous = out[key]
    out[key] = previous === undefined ? value : `${previous}${key === "cookie" ? "; " : ", "}${value}`
  }
  return out
}

/**
 * A transport over an `@effect/platform` `HttpClient`. Proxies, `verify` and `cert` cannot be
 * passed to it: a request that needs them fails with `InvalidRequest`. Its own spans and
 * trace propagation are turned off (the session has its own).
 */
export const fromHttpClient = (client: HttpClient.HttpClient): Adapter.Transport => {
  const quiet = client.pipe(HttpClient.withTracerDisabledWhen(() => true), HttpClient.withTracerPropagation(false))
  return {
    send: (request, options) =>
      Effect.gen(function*() {
        const unsupported = options.proxy !== undefined
          ? "a proxy"
          : options.verify !== true
          ? "verify settings"
          : options.cert !== undefined
          ? "a client certificate"
          : undefined
        if (unsupported !== undefined) {
          return yield* new RequestError.InvalidRequest({
            message: `Adapter.fromHttpClient cannot use ${unsupported} for ${request.method} ${
              url.displayUrl(request.url)
            }: configure the HttpClient itself (and set trustEnv: false if the environment sets them)`,
            request
          })
        }
        const body = yield* readBody(request)
        const make = HttpClientRequest.make(request.method as "POST")
        let clientRequest = make(request.url, { headers: clientHeaders(request.headers) })
        if (body.length > 0) {
          clientRequest = HttpClientRequest.setBody(
            clientRequest,
            HttpBody.raw(body, {
              contentType: request.headers.get("content-type"),
              contentLength: body.length
            })
          )
        }
        const connect = options.timeout.connect
        const read = options.timeout.read
        const headersWithin = connect === undefined || read === undefined ? undefined : connect + read
        return yield* withReadTimeouts(
          Effect.map(
            Effect.mapError(quiet.execute(clientRequest), (error) => clientError(error, request)),
            (response) => fromClientResponse(response, request)
          ),
          request,
          headersWithin,
          read
        )
      }),
    close: Effect.void
  }
}
