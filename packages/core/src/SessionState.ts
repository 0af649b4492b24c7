/**
 * Session state as data: requests' `__getstate__` / `__setstate__` (pickling a `Session`), through
 * a versioned Schema.
 *
 * A snapshot holds the session's headers, params, auth, proxies, verify, cert, maxRedirects,
 * trustEnv, timeout, sensitive header names, body limits, the cookie jar and the mounted adapters'
 * URL prefixes. Restoring it into another session makes that session send the same requests.
 *
 * - Secrets are `Redacted` in the snapshot and are written in the encoded form only when the
 *   caller asks (`secrets: true`). Otherwise each one is replaced by `{ "omitted": true }` and listed
 *   in `omitted`. Secrets are the auth password or token, credentials in proxy URLs, the values of
 *   `Authorization`, `Proxy-Authorization`, `Cookie` and the session's `sensitiveHeaders`, and a
 *   client key given as PEM text (and its passphrase).
 * - Cookie values are written (the jar is the state a snapshot exists to carry, as a cookie file
 *   does); pass `cookies: false` to leave the jar out.
 * - Functions cannot be serialised: hooks, custom auth flows (and any auth other than basic and
 *   bearer), the retry policy, redirect-policy overrides and the transports themselves. The
 *   snapshot lists each one it met under `omitted` with reason `"function"`.
 * - Restoring replaces what the snapshot holds and keeps the target session's own value for every
 *   field the snapshot omitted (so a session built with its auth and hooks can take a secret-free
 *   snapshot). Transports are re-attached by prefix: `http://` and `https://` use the target's
 *   default transport; any other prefix must already be mounted on the target or be given in
 *   `transports`, or `restore` fails with `MissingTransport` before changing anything.
 *
 * @since 0.1.0
 */
import { Data, Effect, Redacted, Schema } from "effect"
import type * as Adapter from "./Adapter.js"
import * as Auth from "./Auth.js"
import * as CookieJar from "./CookieJar.js"
import * as Hooks from "./Hooks.js"
import type * as SessionConfig from "./SessionConfig.js"

/**
 * A secret left out of the snapshot.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Omitted = Schema.Struct({ omitted: Schema.Literal(true) })

/**
 * A secret: `{ secret: "..." }` in the encoded form (a `Redacted` once decoded), or `Omitted`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Secret = Schema.Union(Schema.Struct({ secret: Schema.Redacted(Schema.String) }), Omitted)

/**
 * @since 0.1.0
 * @category models
 */
export type Secret = typeof Secret.Type

const AuthState = Schema.Union(
  Schema.TaggedStruct("Basic", { username: Schema.String, password: Secret }),
  Schema.TaggedStruct("Bearer", { token: Secret }),
  /** An auth that is code (a custom flow, digest, netrc): only its kind is recorded. */
  Schema.TaggedStruct("Unserializable", { kind: Schema.String })
)

const CertState = Schema.Union(
  /** A path, or PEM text without a private key. */
  Schema.String,
  /** PEM text holding a private key. */
  Secret,
  Schema.Struct({
    cert: Schema.String,
    key: Schema.Union(Schema.String, Secret),
    passphrase: Schema.optional(Secret)
  })
)

const ParamsState = Schema.Union(
  Schema.String,
  Schema.Array(Schema.Tuple(Schema.String, Schema.Union(Schema.String, Schema.Array(Schema.String))))
)

const Millis = Schema.NullOr(Schema.Number.pipe(Schema.nonNegative()))

/**
 * A snapshot, versioned: `{ format: "effect-requests/session", version: 1, ... }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SnapshotSchema = Schema.Struct({
  format: Schema.Literal("effect-requests/session"),
  version: Schema.Literal(1),
  /** Session headers in order; `null` suppresses a default header. */
  headers: Schema.Array(Schema.Tuple(Schema.String, Schema.Union(Schema.String, Schema.Null, Secret))),
  params: Schema.NullOr(ParamsState),
  auth: Schema.NullOr(AuthState),
  proxies: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Secret) }),
  verify: Schema.Union(Schema.Boolean, Schema.String),
  cert: Schema.NullOr(CertState),
  maxRedirects: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  trustEnv: Schema.Boolean,
  timeout: Schema.Struct({ connect: Millis, read: Millis, total: Millis }),
  sensitiveHeaders: Schema.Array(Schema.String),
  limits: Schema.Struct({
    maxBodySize: Schema.Number,
    maxDecompressionRatio: Schema.Number,
    maxEncodings: Schema.Number
  }),
  /** The jar, or `null` when the snapshot was taken without cookies. */
  cookies: Schema.NullOr(CookieJar.JarSchema),
  /** Mounted URL prefixes, in matching order. */
  adapters: Schema.Array(Schema.String),
  /** What the snapshot does not carry: a secret left out, or a function. */
  omitted: Schema.Array(Schema.Struct({ field: Schema.String, reason: Schema.Literal("secret", "function") }))
})

/**
 * A snapshot (secrets as `Redacted`).
 *
 * @since 0.1.0
 * @category models
 */
export type Snapshot = typeof SnapshotSchema.Type

/**
 * A snapshot's encoded (JSON) form.
 *
 * @since 0.1.0
 * @category models
 */
export type Encoded = typeof SnapshotSchema.Encoded

/**
 * What a snapshot is taken from and restored into: the `Session` service has these three fields.
 *
 * @since 0.1.0
 * @category models
 */
export interface Parts {
  readonly config: SessionConfig.Service
  readonly cookies: CookieJar.Service
  readonly adapters: Adapter.Registry
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SnapshotOptions {
  /** Keep secrets (as `Redacted`, written in clear by `encode`). Default `false`. */
  readonly secrets?: boolean | undefined
  /** Include the cookie jar. Default `true`. */
  readonly cookies?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RestoreOptions {
  /** Transports for mounted prefixes other than `http://` and `https://`. */
  readonly transports?: Readonly<Record<string, Adapter.Transport>> | undefined
}

/**
 * What a restore did: the fields the target session kept because the snapshot omitted them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Restored {
  readonly kept: ReadonlyArray<string>
  readonly cookies: CookieJar.Loaded | undefined
}

/**
 * A snapshot that cannot be decoded or encoded, or a restore that lacks a transport.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionStateError extends Data.TaggedError("SessionStateError")<{
  readonly reason: "Decode" | "Encode" | "MissingTransport"
  readonly message: string
  readonly prefixes?: ReadonlyArray<string> | undefined
  readonly cause?: unknown
}> {}

const CREDENTIAL_HEADERS = ["authorization", "proxy-authorization", "cookie"]
const PRIVATE_KEY = /PRIVATE KEY/

const hasUserinfo = (proxy: string): boolean => {
  try {
    const u = new URL(proxy)
    return u.username !== "" || u.password !== ""
  } catch {
    return /@/.test(proxy)
  }
}

const reveal = (secret: Secret): string | undefined => "secret" in secret ? Redacted.value(secret.secret) : undefined

const normalizeParams = (params: SessionConfig.ParamsInput | undefined): typeof ParamsState.Type | null => {
  if (params === undefined) return null
  if (typeof params === "string") return params
  const render = (v: unknown): string | undefined => v === null || v === undefined ? undefined : String(v)
  const entries: Array<readonly [string, unknown]> = []
  if (params instanceof URLSearchParams) params.forEach((value, key) => entries.push([key, value]))
  else if (Array.isArray(params)) entries.push(...(params as ReadonlyArray<readonly [string, unknown]>))
  else entries.push(...Object.entries(params as Record<string, unknown>))
  const out: Array<readonly [string, string | ReadonlyArray<string>]> = []
  for (const [key, value] of entries) {
    if (Array.isArray(value)) {
      out.push([key, value.flatMap((v) => render(v) ?? [])])
    } else {
      const text = render(value)
      if (text !== undefined) out.push([key, text])
    }
  }
  return out
}

/**
 * requests' `__getstate__`: the session's state as a snapshot.
 *
 * @since 0.1.0
 * @category snapshot
 */
export const snapshot = (parts: Parts, options?: SnapshotOptions): Effect.Effect<Snapshot> =>
  Effect.gen(function*() {
    const config = yield* parts.config.get
    const omitted: Array<{ readonly field: string; readonly reason: "secret" | "function" }> = []
    const secret = (field: string, value: string | Redacted.Redacted<string>): Secret => {
      if (options?.secrets === true) return { secret: Redacted.isRedacted(value) ? value : Redacted.make(value) }
      omitted.push({ field, reason: "secret" })
      return { omitted: true }
    }
    const sensitive = new Set([...CREDENTIAL_HEADERS, ...config.sensitiveHeaders.map((n) => n.toLowerCase())])
    const headers = config.headers.map(([name, value]): readonly [string, string | null | Secret] =>
      value !== null && sensitive.has(name.toLowerCase()) ? [name, secret(`headers.${name}`, value)] : [name, value]
    )
    let auth: typeof AuthState.Type | null = null
    const a = config.auth as (Auth.Auth & { readonly username?: unknown; readonly password?: unknown }) | undefined
    if (a !== undefined) {
      if (a._tag === "Basic" && typeof a.username === "string" && Redacted.isRedacted(a.password)) {
        auth = {
          _tag: "Basic",
          username: a.username,
          password: secret("auth.password", a.password as Redacted.Redacted<string>)
        }
      } else if (a._tag === "Bearer" && "token" in a && Redacted.isRedacted(a.token)) {
        auth = { _tag: "Bearer", token: secret("auth.token", a.token as Redacted.Redacted<string>) }
      } else {
        auth = { _tag: "Unserializable", kind: a._tag }
        omitted.push({ field: "auth", reason: "function" })
      }
    }
    const proxies: Record<string, string | Secret> = {}
    for (const [key, value] of Object.entries(config.proxies)) {
      proxies[key] = hasUserinfo(value) ? secret(`proxies.${key}`, value) : value
    }
    let cert: typeof CertState.Type | null = null
    if (typeof config.cert === "string") {
      cert = PRIVATE_KEY.test(config.cert) ? secret("cert", config.cert) : config.cert
    } else if (config.cert !== undefined) {
      const c = config.cert
      cert = {
        cert: c.cert,
        key: PRIVATE_KEY.test(c.key) ? secret("cert.key", c.key) : c.key,
        ...(c.passphrase !== undefined ? { passphrase: secret("cert.passphrase", c.passphrase) } : {})
      }
    }
    if (!Hooks.isEmpty(config.hooks)) omitted.push({ field: "hooks", reason: "function" })
    if (config.retry !== undefined) omitted.push({ field: "retry", reason: "function" })
    if (Object.keys(config.redirects).length > 0) omitted.push({ field: "redirects", reason: "function" })
    const cookies = options?.cookies === false ? null : {
      format: "effect-requests/cookie-jar" as const,
      version: 1 as const,
      cookies: yield* parts.cookies.list
    }
    return {
      format: "effect-requests/session" as const,
      version: 1 as const,
      headers,
      params: normalizeParams(config.params),
      auth,
      proxies,
      verify: config.verify,
      cert,
      maxRedirects: config.maxRedirects,
      trustEnv: config.trustEnv,
      timeout: {
        connect: config.timeout.connect ?? null,
        read: config.timeout.read ?? null,
        total: config.timeout.total ?? null
      },
      sensitiveHeaders: config.sensitiveHeaders,
      limits: config.limits,
      cookies,
      adapters: yield* parts.adapters.prefixes,
      omitted
    }
  })

/**
 * requests' `__setstate__`: put a snapshot's state into a session (see the module notes for what
 * is kept and how transports are re-attached).
 *
 * @since 0.1.0
 * @category snapshot
 */
export const restore = (
  parts: Parts,
  state: Snapshot,
  options?: RestoreOptions
): Effect.Effect<Restored, SessionStateError> =>
  Effect.gen(function*() {
    const transports = options?.transports ?? {}
    const mounted = yield* parts.adapters.prefixes
    const missing = state.adapters.filter((p) => !mounted.includes(p) && transports[p] === undefined)
    if (missing.length > 0) {
      return yield* new SessionStateError({
        reason: "MissingTransport",
        message: `No transport for the mounted prefixes ${missing.map((p) => JSON.stringify(p)).join(", ")}; ` +
          "pass them in `transports`",
        prefixes: missing
      })
    }
    for (const prefix of state.adapters) {
      const transport = transports[prefix]
      if (transport !== undefined) yield* parts.adapters.mount(prefix, transport)
    }
    const kept: Array<string> = []
    yield* parts.config.update((config) => {
      const headers: Array<readonly [string, string | null]> = []
      for (const [name, value] of state.headers) {
        if (value === null || typeof value === "string") {
          headers.push([name, value])
          continue
        }
        const revealed = reveal(value)
        if (revealed !== undefined) {
          headers.push([name, revealed])
          continue
        }
        kept.push(`headers.${name}`)
        const own = config.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())
        if (own !== undefined) headers.push(own)
      }
      let auth = config.auth
      if (state.auth === null) {
        auth = undefined
      } else if (state.auth._tag === "Basic" && "secret" in state.auth.password) {
        auth = Auth.basic(state.auth.username, state.auth.password.secret)
      } else if (state.auth._tag === "Bearer" && "secret" in state.auth.token) {
        auth = Auth.bearer(state.auth.token.secret)
      } else {
        kept.push("auth")
      }
      const proxies: Record<string, string> = {}
      for (const [key, value] of Object.entries(state.proxies)) {
        const text = typeof value === "string" ? value : reveal(value)
        if (text !== undefined) {
          proxies[key] = text
        } else {
          kept.push(`proxies.${key}`)
          const own = config.proxies[key]
          if (own !== undefined) proxies[key] = own
        }
      }
      let cert: Adapter.Cert | undefined = config.cert
      const c = state.cert
      if (c === null) {
        cert = undefined
      } else if (typeof c === "string") {
        cert = c
      } else if ("cert" in c) {
        const key = typeof c.key === "string" ? c.key : reveal(c.key)
        const passphrase = c.passphrase === undefined ? undefined : "secret" in c.passphrase
          ? c.passphrase.secret
          : null
        if (key === undefined || passphrase === null) kept.push("cert")
        else cert = { cert: c.cert, key, ...(passphrase !== undefined ? { passphrase } : {}) }
      } else {
        const pem = reveal(c)
        if (pem === undefined) kept.push("cert")
        else cert = pem
      }
      return {
        ...config,
        headers,
        params: state.params === null ? undefined : state.params,
        auth,
        proxies,
        verify: state.verify,
        cert,
        maxRedirects: state.maxRedirects,
        trustEnv: state.trustEnv,
        timeout: {
          connect: state.timeout.connect ?? undefined,
          read: state.timeout.read ?? undefined,
          total: state.timeout.total ?? undefined
        },
        sensitiveHeaders: state.sensitiveHeaders,
        limits: state.limits
      }
    })
    let cookies: CookieJar.Loaded | undefined
    if (state.cookies !== null) {
      yield* parts.cookies.clear()
      cookies = yield* parts.cookies.restore(state.cookies.cookies)
    } else {
      kept.push("cookies")
    }
    return { kept, cookies }
  })

/**
 * The encoded (JSON) form of a snapshot; secrets present in it are written in clear.
 *
 * @since 0.1.0
 * @category codecs
 */
export const encode = (state: Snapshot): Effect.Effect<Encoded, SessionStateError> =>
  Schema.encode(SnapshotSchema)(state).pipe(
    Effect.mapError((e) =>
      new SessionStateError({
        reason: "Encode",
        message: `The snapshot cannot be encoded: ${CookieJar.describeParseError(e)}`
      })
    )
  )

/**
 * Read an encoded snapshot (an object or its JSON text).
 *
 * @since 0.1.0
 * @category codecs
 */
export const decode = (input: unknown): Effect.Effect<Snapshot, SessionStateError> =>
  Effect.gen(function*() {
    let value = input
    if (typeof input === "string") {
      value = yield* Effect.try({
        try: () => JSON.parse(input) as unknown,
        catch: (cause) => new SessionStateError({ reason: "Decode", message: "The snapshot is not JSON", cause })
      })
    }
    return yield* Schema.decodeUnknown(SnapshotSchema)(value).pipe(
      Effect.mapError((e) =>
        new SessionStateError({
          reason: "Decode",
          message: `The snapshot is not valid: ${CookieJar.describeParseError(e)}`
        })
      )
    )
  })
