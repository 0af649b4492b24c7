/**
 * Authentication as values.
 *
 * An `Auth` has two parts, both optional in effect:
 * - `apply` runs while the request is prepared (requests' `prepare_auth`): basic and bearer set
 *   `Authorization` here, so `Session.prepareRequest` shows the header.
 * - `flow` wraps each hop's exchange, httpx-style: it gets the request and a `send` function and
 *   may send more than once (digest answers a 401 challenge; a custom flow can refresh a token).
 *   Responses the flow does not return are drained, closed and kept in `history`.
 *
 * Secrets are `Redacted` from the moment they enter; `toJSON` and `toString` never show them.
 *
 * @since 0.1.0
 */
import { Effect, Redacted } from "effect"
import { NodeInspectSymbol } from "effect/Inspectable"
import type * as PreparedRequest from "./PreparedRequest.js"
import type * as RequestError from "./RequestError.js"
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
 * @since 0.1.0
 * @category models
 */
export interface Auth {
  readonly _tag: string
  /** Runs while the request is prepared; may set headers. */
  readonly apply: (
    request: PreparedRequest.PreparedRequest
  ) => Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError>
  /** Wraps each hop's exchange, when the scheme needs more than a header. */
  readonly flow?: Flow | undefined
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

const reveal = (value: string | Redacted.Redacted<string>): string =>
  Redacted.isRedacted(value) ? Redacted.value(value) : value

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
 * HTTP basic auth (requests' `HTTPBasicAuth`). Sets `Authorization` when the request is prepared.
 *
 * @since 0.1.0
 * @category constructors
 */
export const basic = (username: string, password: string | Redacted.Redacted<string>): Basic => {
  const secret = Redacted.isRedacted(password) ? password : Redacted.make(password)
  return make<Basic>({
    _tag: "Basic",
    username,
    password: secret,
    apply: (request) =>
      Effect.succeed(request.setHeader("Authorization", basicAuthHeader(username, Redacted.value(secret)))),
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
  const secret = Redacted.isRedacted(token) ? token : Redacted.make(token)
  return make<Bearer>({
    _tag: "Bearer",
    token: secret,
    apply: (request) => Effect.succeed(request.setHeader("Authorization", `Bearer ${Redacted.value(secret)}`)),
    toJSON: () => ({ _tag: "Bearer", token: "<redacted>" })
  })
}

/**
 * A user-written auth: an `apply` step, a `flow`, or both. The flow may send, look at the
 * response and send again (OAuth signing, token refresh).
 *
 * @since 0.1.0
 * @category constructors
 */
export const custom = (options: {
  readonly name?: string | undefined
  readonly apply?: Auth["apply"] | undefined
  readonly flow?: Flow | undefined
}): Auth =>
  make<Auth>({
    _tag: "Custom",
    apply: options.apply ?? Effect.succeed,
    flow: options.flow,
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

/**
 * The credentials of `user:password` given as a plain pair, revealed (for internal use only).
 *
 * @internal
 */
export const revealPair = (pair: readonly [string, string | Redacted.Redacted<string>]): readonly [string, string] => [
  pair[0],
  reveal(pair[1])
]
