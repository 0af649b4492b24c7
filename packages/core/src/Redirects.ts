/**
 * requests' `SessionRedirectMixin` as composable pieces: `getRedirectTarget`, `rebuildMethod`,
 * `shouldStripAuth`, `rebuildAuth`, `rebuildProxies`, `rebuildCookies` and `nextRequest`, which
 * composes them into the request for the next hop. `Session.resolveRedirects` runs them as a Stream.
 *
 * Each piece is replaceable: a session's `redirects` setting takes a partial `Policy`, so a user
 * can, say, follow a `Location` on a 200 (requests' overridable `get_redirect_target`).
 *
 * Where we differ from requests (on purpose):
 * - Credentials never cross an origin (scheme, host or port): `Authorization`,
 *   `Proxy-Authorization`, a user-set `Cookie`, a user-set `Host`, any header named in the
 *   session's `sensitiveHeaders` and any header an auth value's `apply` set are removed on the
 *   first origin change, whatever their source and letter case, and never come back in that
 *   chain, even when it returns to the first origin (`stripCredentials`). requests keeps
 *   `Authorization` on an http→https upgrade and forwards the rest.
 * - Per-request `cookies` belong to the first origin too; jar cookies follow the jar's rules.
 * - netrc is looked up for each hop's host only when the request has no auth of its own (requests
 *   lets a netrc entry overwrite an explicit `Authorization` on every redirect).
 * - The body is also purged of every `Content-*` header, not only Content-Type/Length.
 * - Only `http` and `https` targets are followed (`InvalidSchema` otherwise); two different
 *   `Location` headers, or an empty one, are not followed.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import * as Auth from "./Auth.js"
import * as Body from "./Body.js"
import type * as CookieJar from "./CookieJar.js"
import * as Environment from "./Environment.js"
import * as url from "./internal/url.js"
import * as Netrc from "./Netrc.js"
import * as PreparedRequest from "./PreparedRequest.js"
import type * as Proxies from "./Proxies.js"
import * as RequestError from "./RequestError.js"
import type * as Response from "./Response.js"

/**
 * Header names that are credentials and never follow a redirect to another origin.
 *
 * @since 0.1.0
 * @category constants
 */
export const credentialHeaders: ReadonlyArray<string> = ["authorization", "proxy-authorization", "cookie"]

const REDIRECT_STATI = new Set([301, 302, 303, 307, 308])

const utf8Strict = new TextDecoder("utf-8", { fatal: true })

/**
 * requests' `get_redirect_target`: the `Location` of a redirect response, re-read as UTF-8 (servers
 * send UTF-8 bytes that HTTP parsers hand over as latin-1). A value that is not valid UTF-8 is kept
 * as latin-1 text (requests crashes there). Two different `Location` headers: not followed.
 *
 * @since 0.1.0
 * @category redirects
 */
export const getRedirectTarget = (response: Response.Head): Option.Option<string> => {
  if (!REDIRECT_STATI.has(response.status)) return Option.none()
  const values = response.headers.getAll("location")
  if (values.length === 0) return Option.none()
  if (values.some((v) => v !== values[0])) return Option.none()
  const raw = values[0]!.trim()
  // requests stops at an empty Location (`while url:`).
  if (raw === "") return Option.none()
  let latin1 = true
  const bytes = new Uint8Array(raw.length)
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c > 0xff) {
      latin1 = false
      break
    }
    bytes[i] = c
  }
  if (!latin1) return Option.some(raw)
  try {
    return Option.some(utf8Strict.decode(bytes))
  } catch {
    return Option.some(raw)
  }
}

/**
 * requests' `rebuild_method`: 303 → GET (except HEAD); 302 → GET (except HEAD); 301 POST → GET;
 * 307 and 308 keep the method.
 *
 * @since 0.1.0
 * @category redirects
 */
export const rebuildMethod = (method: string, status: number): string => {
  if (method === "HEAD") return method
  if (status === 303 || status === 302) return "GET"
  if (status === 301 && method === "POST") return "GET"
  return method
}

/**
 * Whether credentials must be removed between two URLs: any change of scheme, host or port
 * (default ports normalised). Unlike requests, an http→https upgrade also strips.
 *
 * @since 0.1.0
 * @category redirects
 */
export const shouldStripAuth = (from: string | URL, to: string | URL): boolean => {
  if (typeof from === "string" && typeof to === "string") {
    // Origins of the URLs of a chain are remembered: no parsing on each hop.
    const a = PreparedRequest.originOf(from)
    return a === "" || a !== PreparedRequest.originOf(to)
  }
  const a = typeof from === "string" ? url.parse(from) : from
  const b = typeof to === "string" ? url.parse(to) : to
  if (a === undefined || b === undefined) return true
  return !url.sameOrigin(a, b)
}

/**
 * Resolve a `Location` against the URL that answered: scheme-relative (`//host/x`), relative and
 * absolute targets; the fragment of the previous URL is carried over when the target has none.
 * Only http and https targets are accepted.
 *
 * @since 0.1.0
 * @category redirects
 */
export const resolveLocation = (
  location: string,
  previous: string
): Effect.Effect<string, RequestError.InvalidURL | RequestError.InvalidSchema | RequestError.MissingSchema> => {
  // The same hops repeat (an API's redirects, a login chain): remember where they led.
  const key = `${previous}\n${location}`
  const known = resolved.get(key)
  if (known !== undefined) return Effect.succeed(known)
  return Effect.tap(resolveLocationUncached(location, previous), (target) =>
    Effect.sync(() => {
      if (resolved.size >= 1024) resolved.clear()
      resolved.set(key, target)
    }))
}

/** Targets of redirects seen lately, by previous URL and `Location`. */
const resolved = new Map<string, string>()

const resolveLocationUncached = (
  location: string,
  previous: string
): Effect.Effect<string, RequestError.InvalidURL | RequestError.InvalidSchema | RequestError.MissingSchema> => {
  const base = url.parse(previous)
  let target = location.trim()
  if (target.startsWith("//") && base !== undefined) target = `${base.protocol}${target}`
  let resolved: URL
  try {
    resolved = new URL(url.requoteUri(target), base)
  } catch {
    return Effect.fail(
      new RequestError.InvalidURL({ message: `Invalid redirect target: ${JSON.stringify(location)}`, url: location })
    )
  }
  if (resolved.protocol !== "http:" && resolved.protocol !== "https:") {
    return Effect.fail(
      new RequestError.InvalidSchema({
        message: `Refusing to follow a redirect to ${JSON.stringify(resolved.protocol)} (only http and https)`,
        url: url.displayUrl(resolved.href)
      })
    )
  }
  if (resolved.hash === "" && base !== undefined && base.hash !== "") resolved.hash = base.hash
  // Credentials in a Location are never used.
  resolved.username = ""
  resolved.password = ""
  const href = resolved.href
  return Effect.map(PreparedRequest.prepareUrl(href), (prepared) => prepared.url)
}

/**
 * What rebuilding needs from the session.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context extends Auth.Context {
  readonly jar: CookieJar.Service
  readonly trustEnv: boolean
  /** Whether a netrc lookup can find anything (`false` once the file is known to be empty). Default: yes. */
  readonly netrcMayMatch?: (() => boolean) | undefined
  readonly env: Environment.Settings
  /** The session's and the request's proxies merged (before the environment). */
  readonly proxies: Proxies.Proxies
}

/**
 * Header names removed from the rest of a chain once it leaves its first origin: the credential
 * headers, a user-set `Host`, and the session's `sensitiveHeaders` (with the headers an auth
 * value's `apply` added, see `Auth.prepareAuth`).
 *
 * @since 0.1.0
 * @category redirects
 */
export const originBoundHeaders = (request: PreparedRequest.PreparedRequest): ReadonlyArray<string> => [
  ...credentialHeaders,
  "host",
  ...request.chain.sensitive.map((name) => name.toLowerCase())
]

/**
 * Remove every origin-bound header (see `originBoundHeaders`), whatever its source and letter
 * case, and remember them as stripped: they are never restored later in the chain, even when it
 * comes back to its first origin. Per-request cookies and a user `Cookie` header go with them.
 *
 * @since 0.1.0
 * @category redirects
 */
export const stripCredentials = (request: PreparedRequest.PreparedRequest): PreparedRequest.PreparedRequest => {
  const names = originBoundHeaders(request)
  const stripped = new Set(request.chain.stripped)
  for (const name of names) stripped.add(name)
  return request.removeHeader(...names).copy({ chain: { ...request.chain, stripped } })
}

/**
 * requests' `rebuild_auth`, with our policy: when the policy's `shouldStripAuth` says the hop
 * changes origin, strip the origin-bound headers for the rest of the chain (`stripCredentials`).
 * Then the auth value's `rebuild` runs (`Auth.netrc` looks the new host up); a request without
 * auth in a session that trusts the environment gets the netrc entry of the new host, when it has
 * no `Authorization` left.
 *
 * @since 0.1.0
 * @category redirects
 */
export const rebuildAuth = (
  request: PreparedRequest.PreparedRequest,
  previousUrl: string,
  context: Pick<Context, "netrc" | "trustEnv">,
  policy: Pick<Policy, "shouldStripAuth"> = defaultPolicy
): Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError> =>
  Effect.suspend(() => {
    let next = request
    if (policy.shouldStripAuth(previousUrl, request.url)) next = stripCredentials(next)
    if (next.auth !== undefined) {
      return next.auth.rebuild === undefined ? Effect.succeed(next) : next.auth.rebuild(next, context)
    }
    const netrcMayMatch = "netrcMayMatch" in context ? (context as Context).netrcMayMatch : undefined
    if (
      !context.trustEnv || next.headers.has("authorization") || (netrcMayMatch !== undefined && !netrcMayMatch())
    ) {
      return Effect.succeed(next)
    }
    return rebuildNetrc(next, context)
  })

const rebuildNetrc = (
  request: PreparedRequest.PreparedRequest,
  context: Pick<Context, "netrc" | "trustEnv">
): Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError> =>
  Effect.suspend(() => {
    const host = Netrc.hostOf(request.url)
    if (host === undefined) return Effect.succeed(request)
    return Effect.map(context.netrc(host), (credentials) =>
      Option.isSome(credentials)
        ? request.setHeader("Authorization", Auth.basicAuthHeader(credentials.value[0], credentials.value[1]))
        : request)
  })

/**
 * requests' `rebuild_proxies`: the proxies for the new URL (the environment re-read, `NO_PROXY`
 * applied to the new host) and any `Proxy-Authorization` header removed; proxy credentials travel
 * in the proxy URL and go to the proxy only.
 *
 * @since 0.1.0
 * @category redirects
 */
export const rebuildProxies = (
  request: PreparedRequest.PreparedRequest,
  context: Pick<Context, "env" | "proxies" | "trustEnv">
): { readonly request: PreparedRequest.PreparedRequest; readonly proxies: Proxies.Proxies } => {
  const withoutHeader = request.removeHeader("proxy-authorization")
  if (isEmpty(context.proxies) && (!context.trustEnv || isEmpty(context.env.proxies))) {
    return { request: withoutHeader, proxies: context.proxies }
  }
  const merged = Environment.mergeEnvironmentSettings(
    request.url,
    {},
    { proxies: context.proxies, verify: true, cert: undefined, trustEnv: context.trustEnv },
    context.env
  )
  return { request: withoutHeader, proxies: merged.proxies }
}

const isEmpty = (record: Readonly<Record<string, unknown>>): boolean => {
  for (const _ in record) return false
  return true
}

/**
 * Rebuild the `Cookie` header for the next hop from the jar (which already holds what the
 * redirect response set), by the jar's own rules for the new URL. A user-set `Cookie` header
 * (which suppresses the jar, as in requests) and per-request cookies apply only until the chain
 * first leaves its origin (`stripCredentials`).
 *
 * @since 0.1.0
 * @category redirects
 */
export const rebuildCookies = (
  request: PreparedRequest.PreparedRequest,
  jar: CookieJar.Service
): Effect.Effect<PreparedRequest.PreparedRequest> =>
  Effect.suspend(() => {
    const own = !request.chain.stripped.has("cookie")
    const next = request.removeHeader("cookie")
    if (request.userCookie !== undefined && own) return Effect.succeed(next.setHeader("Cookie", request.userCookie))
    const extra = own ? request.cookies : []
    if (extra.length === 0 && jar.unsafeIsEmpty?.() === true) return Effect.succeed(next)
    return Effect.map(jar.header(request.url, extra), (header) =>
      header === undefined ? next : next.setHeader("Cookie", header))
  })

/**
 * The replaceable parts of the redirect machinery.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  readonly getRedirectTarget: (response: Response.Head) => Option.Option<string>
  readonly rebuildMethod: (method: string, status: number) => string
  readonly shouldStripAuth: (from: string, to: string) => boolean
}

/**
 * requests' rules with our credential policy.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPolicy: Policy = { getRedirectTarget, rebuildMethod, shouldStripAuth }

const CONTENT_HEADER = /^(content-|transfer-encoding$)/i

/**
 * The request for the next hop after `response` (requests' `resolve_redirects` loop body, without
 * sending): resolve the target, rebuild the method, purge the body when the method changes or the
 * status is not 307/308, refuse to replay a one-shot body, then rebuild cookies, auth and proxies.
 * `None` when the response is not a redirect (by the policy's `getRedirectTarget`).
 *
 * @since 0.1.0
 * @category redirects
 */
export const nextRequest = (
  response: Response.Head,
  request: PreparedRequest.PreparedRequest,
  context: Context,
  policy: Policy = defaultPolicy
): Effect.Effect<
  Option.Option<{ readonly request: PreparedRequest.PreparedRequest; readonly proxies: Proxies.Proxies }>,
  RequestError.RequestError
> =>
  Effect.suspend(() => {
    const location = policy.getRedirectTarget(response)
    if (Option.isNone(location)) return Effect.succeed(Option.none())
    const known = resolved.get(`${request.url}\n${location.value}`)
    return known !== undefined
      ? rebuild(known, response, request, context, policy)
      : Effect.flatMap(
        resolveLocation(location.value, request.url),
        (target) => rebuild(target, response, request, context, policy)
      )
  })

/** `nextRequest` once the target is known. Each step is synchronous unless it has to look something up. */
const rebuild = (
  target: string,
  response: Response.Head,
  request: PreparedRequest.PreparedRequest,
  context: Context,
  policy: Policy
): Effect.Effect<
  Option.Option<{ readonly request: PreparedRequest.PreparedRequest; readonly proxies: Proxies.Proxies }>,
  RequestError.RequestError
> => {
  const method = policy.rebuildMethod(request.method, response.status)
  let next = request.copy({ url: target, method })
  const keepBody = (response.status === 307 || response.status === 308) && method === request.method
  if (!keepBody) {
    const drop = next.headers.keys().filter((name) => CONTENT_HEADER.test(name))
    const headers = PreparedRequest.prepareContentLength(method, next.headers.remove(...drop), Body.empty)
    next = next.copy({ headers, body: Body.empty })
  } else if (!Body.isReplayable(request.body)) {
    return Effect.fail(
      new RequestError.UnrewindableBodyError({
        message: "Unable to rewind request body for redirect.",
        request,
        response
      })
    )
  }
  const finish = (rebuilt: PreparedRequest.PreparedRequest) => Option.some(rebuildProxies(rebuilt, context))
  // The common hop (same origin or nothing to strip, no auth to rebuild, no netrc, no cookies) is synchronous.
  if (policy.shouldStripAuth(request.url, next.url)) next = stripCredentials(next)
  const netrcMayMatch = context.netrcMayMatch
  const authDone = next.auth !== undefined
    ? next.auth.rebuild === undefined
    : !context.trustEnv || next.headers.has("authorization") || (netrcMayMatch !== undefined && !netrcMayMatch())
  const own = !next.chain.stripped.has("cookie")
  const cookiesDone = (next.userCookie !== undefined && own) ||
    ((own ? next.cookies.length === 0 : true) && context.jar.unsafeIsEmpty?.() === true)
  if (authDone && cookiesDone) {
    const withCookies = next.userCookie !== undefined && own
      ? next.removeHeader("cookie").setHeader("Cookie", next.userCookie)
      : next.removeHeader("cookie")
    return Effect.succeed(finish(withCookies))
  }
  const auth = authDone
    ? Effect.succeed(next)
    : next.auth !== undefined
    ? next.auth.rebuild!(next, context)
    : rebuildNetrc(next, context)
  return Effect.flatMap(auth, (authed) => Effect.map(rebuildCookies(authed, context.jar), finish))
}
