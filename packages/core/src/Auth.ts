/**
 * Authentication as values (requests' `auth=`, httpx's `Auth` flows).
 *
 * An `Auth` has up to three parts:
 * - `apply` runs while the request is prepared (requests' `prepare_auth`): basic and bearer set
 *   `Authorization` here, so `Session.prepareRequest` shows the header. Headers that `apply` adds
 *   are remembered as credentials of the request: redacted everywhere and never sent to another
 *   origin (see `prepareAuth`).
 * - `flow` wraps each hop's exchange, httpx-style: it gets the request and a `send` function and
 *   may send more than once (digest answers a 401 challenge; a custom flow can refresh a token).
 *   Responses the flow does not return are drained, closed and kept in `history`. The session runs
 *   the flow only while the chain is on its first origin (a redirect elsewhere sends plainly).
 * - `rebuild` runs on every redirect hop after the credential headers were stripped (or kept):
 *   netrc looks the new host up again here.
 *
 * Values: `basic`, `bearer`, `digest` (MD5, SHA, SHA-256, SHA-512 and their `-sess` forms, qop
 * `auth` / `auth-int`), `netrc`, `none` and `custom`. A `[user, password]` pair is basic auth.
 *
 * Secrets are `Redacted` from the moment they enter; `toJSON`, `toString` and inspection never
 * show them.
 *
 * @since 0.1.0
 */
import { Effect, Option, Redacted, Ref } from "effect"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Body from "./Body.js"
import * as digestImpl from "./internal/digest.js"
import * as Netrc from "./Netrc.js"
import * as PreparedRequest from "./PreparedRequest.js"
import * as Proxies from "./Proxies.js"
import * as RequestError from "./RequestError.js"
import type * as Response from "./Response.js"

/**
 * Sends one request (no redirects, no auth) and gives the response with its body unread.
 *
 * @since 0.1.0
 * @category models
 */
export type Send = (
  request: PreparedRequest.PreparedRequest
) => Effect.Effect<Response.StreamingResponse, RequestError.RequestError>

/**
 * An auth flow: given the request and `send`, produce the response of the exchange.
 *
 * @since 0.1.0
 * @category models
 */
export type Flow = (
  request: PreparedRequest.PreparedRequest,
  send: Send
) => Effect.Effect<Response.StreamingResponse, RequestError.RequestError>

/**
 * What the session gives an auth value while preparing and rebuilding a request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context {
  /** The session's netrc credentials for a host (`NETRC` or `~/.netrc`), whatever `trustEnv` says. */
  readonly netrc: (host: string) => Effect.Effect<Option.Option<readonly [string, string]>>
}

/**
 * A context with no netrc (for applying an auth value by hand).
 *
 * @since 0.1.0
 * @category constructors
 */
export const emptyContext: Context = { netrc: () => Effect.succeed(Option.none()) }

/**
 * @since 0.1.0
 * @category models
 */
export interface Auth {
  readonly _tag: string
  /** Runs while the request is prepared; may set headers. */
  readonly apply: (
    request: PreparedRequest.PreparedRequest,
    context: Context
  ) => Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError>
  /** Wraps each hop's exchange, when the scheme needs more than a header. */
  readonly flow?: Flow | undefined
  /** Runs on each redirect hop, after credentials were stripped on an origin change. */
  readonly rebuild?:
    | ((
      request: PreparedRequest.PreparedRequest,
      context: Context
    ) => Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError>)
    | undefined
  /** A description without secrets. */
  readonly toJSON: () => unknown
}

/**
 * What `auth` accepts in options: an `Auth`, or a `[user, password]` pair (basic, as requests).
 *
 * @since 0.1.0
 * @category models
 */
export type Input = Auth | readonly [user: string, password: string | Redacted.Redacted<string>]

const base = {
  toString(this: Auth) {
    return JSON.stringify(this.toJSON())
  },
  [NodeInspectSymbol](this: Auth) {
    return this.toJSON()
  }
}

/**
 * Build an auth value (the `toString`/inspect behaviour is added).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A extends Auth>(auth: A): A => Object.assign(Object.create(base), auth)

const encoder = new TextEncoder()

/**
 * The bytes of a credential: latin-1 when every character fits (requests' encoding), UTF-8 otherwise.
 *
 * @since 0.1.0
 * @category encoding
 */
export const credentialBytes = (value: string | Uint8Array): Uint8Array => {
  if (typeof value !== "string") return value
  let latin1 = true
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0xff) {
      latin1 = false
      break
    }
  }
  if (!latin1) return encoder.encode(value)
  const out = new Uint8Array(value.length)
  for (let i = 0; i < value.length; i++) out[i] = value.charCodeAt(i)
  return out
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/**
 * Base64 of bytes (runtime-neutral).
 *
 * @since 0.1.0
 * @category encoding
 */
export const base64 = (bytes: Uint8Array): string => {
  let out = ""
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += BASE64[(n >> 18) & 63]! + BASE64[(n >> 12) & 63]! + BASE64[(n >> 6) & 63]! + BASE64[n & 63]!
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8)
    out += BASE64[(n >> 18) & 63]! + BASE64[(n >> 12) & 63]!
    out += i + 1 < bytes.length ? BASE64[(n >> 6) & 63]! + "=" : "=="
  }
  return out
}

/**
 * requests' `_basic_auth_str`: `Basic base64(user:password)`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const basicAuthHeader = (user: string | Uint8Array, password: string | Uint8Array): string => {
  const u = credentialBytes(user)
  const p = credentialBytes(password)
  const joined = new Uint8Array(u.length + 1 + p.length)
  joined.set(u, 0)
  joined[u.length] = 58
  joined.set(p, u.length + 1)
  return `Basic ${base64(joined)}`
}

const secret = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(value) ? value : Redacted.make(value)

/**
 * A basic-auth value, requests' `HTTPBasicAuth`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Basic extends Auth {
  readonly _tag: "Basic"
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * HTTP basic auth (requests' `HTTPBasicAuth`). Sets `Authorization` when the request is prepared;
 * credentials that fit in latin-1 are sent as latin-1 (as requests does), others as UTF-8.
 *
 * @since 0.1.0
 * @category constructors
 */
export const basic = (username: string, password: string | Redacted.Redacted<string>): Basic => {
  const pass = secret(password)
  return make<Basic>({
    _tag: "Basic",
    username,
    password: pass,
    apply: (request) =>
      Effect.succeed(request.setHeader("Authorization", basicAuthHeader(username, Redacted.value(pass)))),
    toJSON: () => ({ _tag: "Basic", username, password: "<redacted>" })
  })
}

/**
 * A bearer-token value.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bearer extends Auth {
  readonly _tag: "Bearer"
  readonly token: Redacted.Redacted<string>
}

/**
 * `Authorization: Bearer <token>`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bearer = (token: string | Redacted.Redacted<string>): Bearer => {
  const value = secret(token)
  return make<Bearer>({
    _tag: "Bearer",
    token: value,
    apply: (request) => Effect.succeed(request.setHeader("Authorization", `Bearer ${Redacted.value(value)}`)),
    toJSON: () => ({ _tag: "Bearer", token: "<redacted>" })
  })
}

/**
 * A proxy-credentials value (see `proxy`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ProxyAuth extends Auth {
  readonly _tag: "ProxyAuth"
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * Credentials for the proxy (requests' `HTTPProxyAuth`), never for the origin: on every hop they go
 * to the proxy that hop uses (in the `CONNECT` request for https, in the forwarded request for
 * http, in the SOCKS5 handshake), and nowhere when the hop goes direct. A proxy URL that carries
 * its own credentials keeps them. The request gets no header (requests sets `Proxy-Authorization`
 * on it, which reaches the origin when there is no proxy, and inside an https tunnel).
 *
 * @since 0.1.0
 * @category constructors
 */
export const proxy = (username: string, password: string | Redacted.Redacted<string>): ProxyAuth => {
  const pass = Redacted.isRedacted(password) ? password : Redacted.make(password)
  return make<ProxyAuth>({
    _tag: "ProxyAuth",
    username,
    password: pass,
    apply: (request) => Effect.succeed(request),
    toJSON: () => ({ _tag: "ProxyAuth", username, password: "<redacted>" })
  })
}

/**
 * The proxy URL a hop uses, with the credentials of an `Auth.proxy` value put in when the URL has
 * none.
 *
 * @since 0.1.0
 * @category proxies
 */
export const proxyUrl = (proxyUrl: string, auth: Auth | undefined): string =>
  auth !== undefined && auth._tag === "ProxyAuth"
    ? Proxies.withCredentials(proxyUrl, (auth as ProxyAuth).username, Redacted.value((auth as ProxyAuth).password))
    : proxyUrl

/**
 * No auth at all: neither the session's, nor netrc, nor the URL's userinfo (`auth: null`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Auth = make<Auth>({
  _tag: "None",
  apply: Effect.succeed,
  toJSON: () => ({ _tag: "None" })
})

/**
 * A netrc value.
 *
 * @since 0.1.0
 * @category models
 */
export interface NetrcAuth extends Auth {
  readonly _tag: "Netrc"
}

/**
 * Basic auth from netrc, looked up for the host of every hop (a redirect to another host uses
 * that host's entry, or none). By default the session's netrc file (`NETRC`, else `~/.netrc`) is
 * used even when `trustEnv` is off; `options.netrc` gives a parsed file instead.
 *
 * Without any auth, a session with `trustEnv` (the default) does the same on its own.
 *
 * @since 0.1.0
 * @category constructors
 */
export const netrc = (options?: { readonly netrc?: Netrc.Netrc | undefined }): NetrcAuth => {
  const apply = (request: PreparedRequest.PreparedRequest, context: Context) => {
    const host = Netrc.hostOf(request.url)
    if (host === undefined) return Effect.succeed(request)
    const found = options?.netrc !== undefined
      ? Effect.succeed(Netrc.lookup(options.netrc, host))
      : context.netrc(host)
    return Effect.map(found, (credentials) =>
      Option.match(credentials, {
        onNone: () => request,
        onSome: ([user, password]) => request.setHeader("Authorization", basicAuthHeader(user, password))
      }))
  }
  return make<NetrcAuth>({ _tag: "Netrc", apply, rebuild: apply, toJSON: () => ({ _tag: "Netrc" }) })
}

/**
 * A digest value.
 *
 * @since 0.1.0
 * @category models
 */
export interface Digest extends Auth {
  readonly _tag: "Digest"
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

interface DigestState {
  readonly challenge: digestImpl.DigestChallenge
  readonly nc: number
}

const DIGEST_ORIGINS = 256

/**
 * HTTP Digest auth (requests' `HTTPDigestAuth`, RFC 7616): MD5, MD5-sess, SHA (SHA-1), SHA-sess,
 * SHA-256(-sess) and SHA-512(-sess); `qop="auth"`, or `auth-int` when the body is in memory; nonce
 * count and client nonce; `opaque` echoed back.
 *
 * Each hop sends the request; a 4xx carrying a digest challenge we can answer is answered once,
 * with the body sent again (a one-shot body fails with `UnrewindableBodyError`), and once more if
 * the server says the nonce was `stale`. A challenge we cannot answer (unknown algorithm, only
 * `auth-int` with a streamed body, another scheme) is returned as is.
 *
 * The last challenge is remembered per origin, and the next request to that origin answers it
 * before being asked (the nonce count goes up), as requests does. Challenges are answered only for
 * the origin the request chain started on: a redirect to another origin never gets a digest
 * answer, and a nonce is never replayed to another origin (curl CVE-2026-11856). The state is a
 * `Ref`, safe for concurrent fibers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const digest = (username: string, password: string | Redacted.Redacted<string>): Digest => {
  const pass = secret(password)
  const state = Ref.unsafeMake<ReadonlyMap<string, DigestState>>(new Map())

  const remember = (origin: string, challenge: digestImpl.DigestChallenge | undefined) =>
    Ref.modify(state, (map): [DigestState | undefined, ReadonlyMap<string, DigestState>] => {
      const known = map.get(origin)
      if (challenge === undefined && known === undefined) return [undefined, map]
      const current = challenge ?? known!.challenge
      const nc = known !== undefined && known.challenge.nonce === current.nonce ? known.nc + 1 : 1
      const entry: DigestState = { challenge: current, nc }
      const next = new Map(map)
      next.delete(origin)
      next.set(origin, entry)
      if (next.size > DIGEST_ORIGINS) next.delete(next.keys().next().value!)
      return [entry, next]
    })

  const answer = (request: PreparedRequest.PreparedRequest, entry: DigestState): string | undefined =>
    digestImpl.authorization({
      challenge: entry.challenge,
      target: targetOf(request),
      username,
      password: Redacted.value(pass),
      nc: entry.nc,
      cnonce: digestImpl.makeCnonce()
    })

  const flow: Flow = (request, send) =>
    Effect.gen(function*() {
      const origin = PreparedRequest.originOf(request.url)
      if (origin !== request.chain.origin || request.chain.stripped.has("authorization")) return yield* send(request)
      if (/[\r\n\0]/.test(username)) {
        return yield* new RequestError.InvalidHeader({
          message: "The digest username contains a control character",
          name: "Authorization",
          request
        })
      }
      const target = targetOf(request)
      // Answer the last challenge of this origin before being asked (requests' pre-emptive digest).
      const known = yield* remember(origin, undefined)
      const preemptive = known !== undefined && digestImpl.chooseQop(known.challenge, target) !== undefined
        ? answer(request, known)
        : undefined
      let response = yield* send(preemptive === undefined ? request : request.setHeader("Authorization", preemptive))
      let answered = false
      let staleRetried = false
      while (response.status >= 400 && response.status < 500) {
        const challenge = digestImpl.digestChallenges(response.headers.getAll("www-authenticate")).find((c) =>
          digestImpl.chooseQop(c, target) !== undefined
        )
        if (challenge === undefined) return response
        if (answered) {
          if (!challenge.stale || staleRetried) return response
          staleRetried = true
        }
        if (!Body.isReplayable(request.body)) {
          return yield* new RequestError.UnrewindableBodyError({
            message: "Unable to rewind request body for the digest auth challenge.",
            request,
            response
          })
        }
        const entry = (yield* remember(origin, challenge))!
        const header = answer(request, entry)
        if (header === undefined) return response
        answered = true
        response = yield* send(request.setHeader("Authorization", header))
      }
      return response
    })

  return make<Digest>({
    _tag: "Digest",
    username,
    password: pass,
    apply: Effect.succeed,
    flow,
    toJSON: () => ({ _tag: "Digest", username, password: "<redacted>" })
  })
}

const targetOf = (request: PreparedRequest.PreparedRequest): digestImpl.Target => ({
  method: request.method,
  uri: request.pathUrl,
  body: request.body._tag === "Bytes"
    ? request.body.bytes
    : request.body._tag === "Empty"
    ? new Uint8Array(0)
    : undefined
})

/**
 * A user-written auth: an `apply` step, a `flow`, a per-hop `rebuild`, or any of them. The flow
 * may send, look at the response and send again (token refresh); `apply` may sign the prepared
 * request (it sees the final body).
 *
 * @since 0.1.0
 * @category constructors
 */
export const custom = (options: {
  readonly name?: string | undefined
  readonly apply?: Auth["apply"] | undefined
  readonly flow?: Flow | undefined
  readonly rebuild?: Auth["rebuild"] | undefined
}): Auth =>
  make<Auth>({
    _tag: "Custom",
    apply: options.apply ?? Effect.succeed,
    flow: options.flow,
    rebuild: options.rebuild,
    toJSON: () => ({ _tag: "Custom", name: options.name ?? "custom" })
  })

/**
 * Normalise the `auth` option: a pair becomes basic auth.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromInput = (input: Input): Auth =>
  Array.isArray(input) ? basic(input[0] as string, input[1] as string | Redacted.Redacted<string>) : (input as Auth)

/**
 * Whether a value is an `Auth`.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isAuth = (u: unknown): u is Auth =>
  typeof u === "object" && u !== null && "_tag" in u && "apply" in u && typeof u.apply === "function"

/** Headers an auth may set that are not credentials, or that are stripped across origins anyway. */
const NOT_EXTRA = /^(content-|transfer-encoding$|host$|authorization$|proxy-authorization$|cookie$)/i

/**
 * requests' `prepare_auth`: run the auth value's `apply`. Every header it adds or changes (other
 * than `Content-*`, `Transfer-Encoding` and `Host`) becomes a credential of the request: redacted in
 * `toJSON` and logs, and stripped on a redirect to another origin like `Authorization`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const prepareAuth = (
  auth: Auth,
  request: PreparedRequest.PreparedRequest,
  context: Context
): Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError> =>
  Effect.map(auth.apply(request, context), (after) => {
    const added = after.headers.keys().filter((name) =>
      !NOT_EXTRA.test(name) && request.headers.get(name) !== after.headers.get(name) &&
      !after.chain.sensitive.some((s) => s.toLowerCase() === name.toLowerCase())
    )
    return added.length === 0
      ? after
      : after.copy({ chain: { ...after.chain, sensitive: [...after.chain.sensitive, ...added] } })
  })
