/**
 * requests' `Session.prepare_request` and `prepare_body`: merge a request with the session's
 * settings and prepare it. Runs on every request, so the pure steps run synchronously and the
 * session-constant work is cached (prepared URLs, the session's validated headers per settings
 * value, upper-cased methods); Effects are used only where something can suspend or needs a
 * service (the cookie jar, streamed or file bodies, auth values, netrc).
 *
 * @internal
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Option, Stream } from "effect"
import * as Auth from "../Auth.js"
import * as Body from "../Body.js"
import * as CookieJar from "../CookieJar.js"
import * as Headers from "../Headers.js"
import * as Hooks from "../Hooks.js"
import * as Multipart from "../Multipart.js"
import * as Netrc from "../Netrc.js"
import * as PreparedRequest from "../PreparedRequest.js"
import * as Progress from "../Progress.js"
import * as RequestError from "../RequestError.js"
import type * as Session from "../Session.js"
import * as SessionConfig from "../SessionConfig.js"
import * as url from "./url.js"

/** A prepared body and the content type it implies. */
export interface PreparedBody {
  readonly body: Body.Body
  readonly contentType: string | undefined
}

const NO_BODY: PreparedBody = { body: Body.empty, contentType: undefined }
const noBody = Effect.succeed(NO_BODY)

const isEmptyData = (data: Session.Data | undefined): boolean => {
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

const jsonBody = (json: unknown): Effect.Effect<PreparedBody, RequestError.RequestError> => {
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
  if (text === undefined) return noBody
  return Effect.succeed({ body: Body.text(text), contentType: "application/json" })
}

/** `data` alone (no files): requests' `prepare_body` without multipart. */
const dataBody = (
  data: Session.Data | undefined,
  json: unknown,
  fileSystem: Option.Option<FileSystem.FileSystem>
): Effect.Effect<PreparedBody, RequestError.RequestError> => {
  if (isEmptyData(data)) return json === undefined ? noBody : jsonBody(json)
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
 * `Body.file` is resolved with `fileSystem`.
 */
export const prepareBody = (
  options: Pick<Session.RequestOptions, "data" | "json" | "files" | "onUploadProgress">,
  context?: { readonly fileSystem?: Option.Option<FileSystem.FileSystem> | undefined }
): Effect.Effect<PreparedBody, RequestError.RequestError> => {
  const { data, files, json, onUploadProgress } = options
  if (data === undefined && json === undefined && files === undefined && onUploadProgress === undefined) return noBody
  return Effect.suspend((): Effect.Effect<PreparedBody, RequestError.RequestError> => {
    const fileSystem = context?.fileSystem ?? Option.none()
    const prepared = files !== undefined && files !== null
      ? Multipart.encode({ data, files, fileSystem })
      : dataBody(data, json, fileSystem)
    return onUploadProgress === undefined
      ? prepared
      : Effect.map(prepared, ({ body, contentType }) => ({ body: Progress.body(body, onUploadProgress), contentType }))
  })
}

// -------------------------------------------------------------------------------------------
// caches (prepared URLs are remembered by `url.prepareUrl`, origins by `PreparedRequest.originOf`)

const urlError = (raw: string, problem: url.UrlProblem): RequestError.MissingSchema | RequestError.InvalidURL =>
  problem._tag === "MissingSchema"
    ? new RequestError.MissingSchema({ message: problem.message, url: raw })
    : new RequestError.InvalidURL({ message: problem.message, url: url.displayUrl(raw) })

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const methods = new Map<string, string>()

/** requests' `prepare_method` (upper case; an HTTP token), remembered per spelling. */
const methodOf = (method: string): string | RequestError.InvalidRequest => {
  const known = methods.get(method)
  if (known !== undefined) return known
  const upper = method.toUpperCase()
  if (!TOKEN.test(upper)) {
    return new RequestError.InvalidRequest({ message: `Invalid HTTP method: ${JSON.stringify(method)}` })
  }
  if (methods.size < 64) methods.set(method, upper)
  return upper
}

const validated = (
  pairs: ReadonlyArray<readonly [string, string | null]>
): Headers.Headers | RequestError.InvalidHeader => {
  const out: Array<readonly [string, string]> = []
  for (const [name, value] of pairs) {
    if (value === null) continue
    const error = PreparedRequest.validateHeader(name, value)
    if (error !== undefined) return error
    out.push([name, value])
  }
  return new Headers.Headers(out)
}

/** What preparation needs from the session. */
export interface Parts {
  readonly jar: CookieJar.Service
  readonly fileSystem: Option.Option<FileSystem.FileSystem>
  /** netrc credentials for a host (the file read once, then looked up synchronously). */
  readonly netrc: (host: string) => Effect.Effect<Option.Option<readonly [string, string]>>
  /** Whether a netrc lookup can find anything: `false` once the file is known to be empty or missing. */
  readonly netrcMayMatch: () => boolean
}

/**
 * The preparer of one session: `Session.prepareRequest` with the session's settings.
 */
export const make = (parts: Parts) => {
  const { fileSystem, jar, netrc, netrcMayMatch } = parts
  /** The session's headers validated, per settings value (settings are immutable values). */
  const sessionHeaders = new WeakMap<SessionConfig.Config, Headers.Headers | RequestError.InvalidHeader>()
  const headersOf = (config: SessionConfig.Config) => {
    let headers = sessionHeaders.get(config)
    if (headers === undefined) {
      headers = validated(Headers.merge(config.headers, []))
      sessionHeaders.set(config, headers)
    }
    return headers
  }
  const authContext: Auth.Context = { netrc }

  return (
    request: Session.Request,
    config: SessionConfig.Config
  ): Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError> => {
    const method = methodOf(request.method)
    if (method instanceof RequestError.InvalidRequest) return Effect.fail(method)
    const params = SessionConfig.mergeParams(request.params, config.params)
    const entry = url.prepareUrl(request.url, params)
    if (entry._tag === "Err") return Effect.fail(urlError(request.url, entry.problem))
    const prepared = entry.value
    const merged = request.headers === undefined
      ? headersOf(config)
      : validated(Headers.merge(config.headers, SessionConfig.headerPairs(request.headers)))
    if (merged instanceof RequestError.InvalidHeader) return Effect.fail(merged)
    const userCookie = merged.get("cookie")
    let cookies: Array<readonly [string, string]> = []
    if (request.cookies !== undefined) {
      cookies = []
      for (const [name, value] of Object.entries(request.cookies)) {
        if (value !== null && value !== undefined) cookies.push([name, value])
      }
      const invalid = CookieJar.invalidPair(cookies)
      if (invalid !== undefined) {
        return Effect.fail(new RequestError.InvalidHeader({ message: invalid, name: "Cookie" }))
      }
    }
    // Auth precedence: request > session > netrc (trustEnv) > URL userinfo. `null` means none.
    const auth = request.auth === null
      ? Auth.none
      : request.auth !== undefined
      ? Auth.fromInput(request.auth)
      : config.auth
    const hooks = request.hooks === undefined ? config.hooks : Hooks.merge(Hooks.make(request.hooks), config.hooks)
    const chain: PreparedRequest.Chain = {
      origin: PreparedRequest.originOf(prepared.url),
      stripped: new Set(),
      sensitive: config.sensitiveHeaders
    }

    const build = (cookieHeader: string | undefined, prepared_: PreparedBody) => {
      let headers = cookieHeader === undefined ? merged : merged.set("Cookie", cookieHeader)
      const { body, contentType } = prepared_
      if (contentType !== undefined && !headers.has("content-type")) headers = headers.set("Content-Type", contentType)
      headers = PreparedRequest.prepareContentLength(method, headers, body)
      return new PreparedRequest.PreparedRequest({
        method,
        url: prepared.url,
        headers,
        body,
        hooks,
        auth,
        cookies,
        userCookie,
        chain
      })
    }
    /** Auth: an Effect, or the request itself when nothing can suspend. */
    const withAuth = (
      result: PreparedRequest.PreparedRequest
    ): Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError> | PreparedRequest.PreparedRequest => {
      if (auth !== undefined) return Auth.prepareAuth(auth, result, authContext)
      const fromUrl = prepared.userinfo
      const basic = (credentials: readonly [string, string]) =>
        result.setHeader("Authorization", Auth.basicAuthHeader(credentials[0], credentials[1]))
      if (config.trustEnv && netrcMayMatch()) {
        const host = Netrc.hostOf(prepared.url)
        if (host !== undefined) {
          return Effect.map(netrc(host), (credentials) =>
            Option.isSome(credentials)
              ? basic(credentials.value)
              : fromUrl !== undefined
              ? basic(fromUrl)
              : result)
        }
      }
      return fromUrl !== undefined ? basic(fromUrl) : result
    }
    const lift = (
      value: Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError> | PreparedRequest.PreparedRequest
    ) => PreparedRequest.isPreparedRequest(value) ? Effect.succeed(value) : value
    // The common case (no cookie to look up, no body, nothing to suspend for) needs no Effect steps.
    const noJar = userCookie !== undefined || (cookies.length === 0 && jar.unsafeIsEmpty?.() === true)
    const noData = request.data === undefined && request.json === undefined && request.files === undefined &&
      request.onUploadProgress === undefined
    if (noJar && noData) return lift(withAuth(build(undefined, NO_BODY)))
    const cookieHeader = noJar ? noCookie : jar.header(prepared.url, cookies)
    return Effect.flatMap(
      cookieHeader,
      (header) => Effect.flatMap(prepareBody(request, { fileSystem }), (body) => lift(withAuth(build(header, body))))
    )
  }
}

const noCookie: Effect.Effect<string | undefined> = Effect.succeed(undefined)
