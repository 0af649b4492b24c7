/**
 * The session's settings (requests' `Session` attributes other than cookies and adapters):
 * headers, params, auth, proxies, hooks, verify, cert, maxRedirects, trustEnv, timeout, retry,
 * telemetry and limits.
 *
 * The `SessionConfig` service holds them in a `Ref`: `set` merges new options in, `update` changes
 * them with a function, and `locally(options)` runs a region of code with overrides on top (a
 * `FiberRef`, so concurrent regions do not see each other's overrides).
 *
 * Merging follows requests' `merge_setting`, normalised once at the edge:
 * - mappings (headers, params, proxies) merge key by key, the request winning; headers ignore case
 *   (the request's spelling wins), params do not; a `null` value removes the inherited key;
 * - scalars (auth, verify, cert, timeout, maxRedirects) are replaced when the request gives one;
 * - `response` hooks of a request replace the session's; other hooks append (see `Hooks`).
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, FiberRef, Layer, Option } from "effect"
import { dual } from "effect/Function"
import type * as Adapter from "./Adapter.js"
import * as Auth from "./Auth.js"
import * as Hooks from "./Hooks.js"
import type * as url from "./internal/url.js"
import * as Proxies from "./Proxies.js"
import type * as Redirects from "./Redirects.js"
import * as RequestError from "./RequestError.js"
import type * as Retry from "./Retry.js"
import * as Telemetry from "./Telemetry.js"
import { version } from "./version.js"

/**
 * A duration: a number of **milliseconds** (Effect's convention), a `Duration`, or text such as
 * `"5 seconds"`.
 *
 * @since 0.1.0
 * @category models
 */
export type DurationInput = Duration.DurationInput

/**
 * requests' timeout forms: one value for connect and read, a `[connect, read]` pair (`null`
 * waits forever for that phase), or an object that can also set a `total` deadline for the whole
 * call: redirects, auth round trips, retries (a retry wait that would pass it fails at once) and
 * reading the body, streamed bodies included. `null` disables every timeout. `read` is idle time:
 * no byte for that long while waiting for the headers or between body chunks (`ReadTimeout`).
 *
 * @since 0.1.0
 * @category models
 */
export type TimeoutInput =
  | DurationInput
  | readonly [connect: DurationInput | null, read: DurationInput | null]
  | {
    readonly connect?: DurationInput | null | undefined
    readonly read?: DurationInput | null | undefined
    readonly total?: DurationInput | null | undefined
  }
  | null

/**
 * Normalised timeouts in milliseconds; `undefined` waits forever.
 *
 * @since 0.1.0
 * @category models
 */
export interface Timeout {
  readonly connect: number | undefined
  readonly read: number | undefined
  readonly total: number | undefined
}

/**
 * The session's default: 10 s to connect, 30 s of silence while reading, no total deadline.
 * (requests waits forever by default.)
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeout: Timeout = { connect: 10_000, read: 30_000, total: undefined }

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultLimits: Adapter.Limits = {
  maxBodySize: 1024 * 1024 * 1024,
  maxDecompressionRatio: 1000,
  maxEncodings: 5
}

/**
 * Header values in options: `null` removes a header inherited from the session.
 *
 * @since 0.1.0
 * @category models
 */
export type HeadersInput =
  | Readonly<Record<string, string | number | null | undefined>>
  | ReadonlyArray<readonly [string, string | null]>

/**
 * Params in options: `null` removes a key inherited from the session. A string is used verbatim
 * (and then replaces the session's params entirely, as in requests).
 *
 * @since 0.1.0
 * @category models
 */
export type ParamsInput = url.ParamsInput

/**
 * Session settings as users give them (to `Session.layer`, `set` and `locally`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly headers?: HeadersInput | undefined
  readonly params?: ParamsInput | undefined
  /** `null` removes the session's auth. */
  readonly auth?: Auth.Input | null | undefined
  readonly proxies?: Readonly<Record<string, string | null>> | undefined
  readonly hooks?: Hooks.Input | undefined
  readonly verify?: boolean | string | undefined
  readonly cert?: Adapter.Cert | null | undefined
  readonly maxRedirects?: number | undefined
  readonly trustEnv?: boolean | undefined
  readonly timeout?: TimeoutInput | undefined
  /** A retry policy (`Retry.make(...)`) for every request; `null` removes the session's. Default: none. */
  readonly retry?: Retry.Policy | null | undefined
  /** Spans, metrics and trace propagation (see `Telemetry`). */
  readonly telemetry?: Telemetry.Options | undefined
  /** Extra header names treated as credentials: redacted, and stripped on an origin change. */
  readonly sensitiveHeaders?: ReadonlyArray<string> | undefined
  readonly limits?: Partial<Adapter.Limits> | undefined
  /** Replace parts of the redirect machinery. */
  readonly redirects?: Partial<Redirects.Policy> | undefined
}

/**
 * Normalised settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** Session headers in order; a `null` value suppresses a default header. */
  readonly headers: ReadonlyArray<readonly [string, string | null]>
  readonly params: ParamsInput | undefined
  readonly auth: Auth.Auth | undefined
  readonly proxies: Proxies.Proxies
  readonly hooks: Hooks.Hooks
  readonly verify: boolean | string
  readonly cert: Adapter.Cert | undefined
  readonly maxRedirects: number
  readonly trustEnv: boolean
  readonly timeout: Timeout
  readonly retry: Retry.Policy | undefined
  readonly telemetry: Telemetry.Config
  readonly sensitiveHeaders: ReadonlyArray<string>
  readonly limits: Adapter.Limits
  readonly redirects: Partial<Redirects.Policy>
}

/**
 * requests' `default_headers()`, with our user agent and the encodings we decode.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHeaders: ReadonlyArray<readonly [string, string]> = [
  ["User-Agent", `effect-requests/${version}`],
  ["Accept-Encoding", "gzip, deflate, br"],
  ["Accept", "*/*"],
  ["Connection", "keep-alive"]
]

/**
 * requests' `Session()` defaults.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: Config = {
  headers: defaultHeaders,
  params: undefined,
  auth: undefined,
  proxies: {},
  hooks: Hooks.empty,
  verify: true,
  cert: undefined,
  maxRedirects: 30,
  trustEnv: true,
  timeout: defaultTimeout,
  retry: undefined,
  telemetry: Telemetry.defaults,
  sensitiveHeaders: [],
  limits: defaultLimits,
  redirects: {}
}

/**
 * Header input as pairs (`null` kept, to remove inherited keys when merged).
 *
 * @since 0.1.0
 * @category merging
 */
export const headerPairs = (input: HeadersInput | undefined): ReadonlyArray<readonly [string, string | null]> => {
  if (input === undefined) return []
  if (Array.isArray(input)) return input as ReadonlyArray<readonly [string, string | null]>
  const out: Array<readonly [string, string | null]> = []
  const record = input as Readonly<Record<string, string | number | null | undefined>>
  for (const key of Object.keys(record)) {
    const value = record[key]
    if (value === undefined) continue
    out.push([key, value === null ? null : String(value)])
  }
  return out
}

type ParamEntry = readonly [string, url.ParamValue | ReadonlyArray<url.ParamValue>]

const paramEntries = (input: Exclude<ParamsInput, string>): Array<ParamEntry> => {
  if (input instanceof URLSearchParams) {
    const out: Array<ParamEntry> = []
    input.forEach((value, key) => out.push([key, value]))
    return out
  }
  if (Array.isArray(input)) return [...(input as ReadonlyArray<ParamEntry>)]
  const record = input as Readonly<Record<string, url.ParamValue | ReadonlyArray<url.ParamValue>>>
  return Object.keys(record).map((key) => [key, record[key]] as ParamEntry)
}

/**
 * requests' `merge_setting` for params: key by key (case-sensitive), the request winning; `null`
 * removes the key; a string on either side cannot be merged, so the request's value wins whole.
 *
 * @since 0.1.0
 * @category merging
 */
export const mergeParams = (
  request: ParamsInput | undefined,
  session: ParamsInput | undefined
): ParamsInput | undefined => {
  if (session === undefined) return request
  if (request === undefined) return session
  if (typeof request === "string" || typeof session === "string") return request
  const requestEntries = paramEntries(request)
  if (requestEntries.length === 0) return session
  const merged = new Map<string, url.ParamValue | ReadonlyArray<url.ParamValue>>()
  const order: Array<string> = []
  for (const [key, value] of [...paramEntries(session), ...requestEntries]) {
    if (!merged.has(key)) order.push(key)
    merged.set(key, value)
  }
  const out: Array<ParamEntry> = []
  for (const key of order) {
    const value = merged.get(key)
    if (value !== null && value !== undefined) out.push([key, value])
  }
  return out
}

/**
 * Normalise a timeout option; `InvalidRequest` for a value that is not a duration.
 *
 * @since 0.1.0
 * @category merging
 */
export const normalizeTimeout = (
  input: TimeoutInput | undefined,
  fallback: Timeout
): Effect.Effect<Timeout, RequestError.InvalidRequest> => {
  const result = normalizeTimeoutSync(input, fallback)
  return result instanceof RequestError.InvalidRequest ? Effect.fail(result) : Effect.succeed(result)
}

const NO_TIMEOUT: Timeout = { connect: undefined, read: undefined, total: undefined }

/**
 * `normalizeTimeout` without the Effect: the timeouts, or the `InvalidRequest` error.
 *
 * @since 0.1.0
 * @category merging
 */
export const normalizeTimeoutSync = (
  input: TimeoutInput | undefined,
  fallback: Timeout
): Timeout | RequestError.InvalidRequest => {
  if (input === undefined) return fallback
  if (input === null) return NO_TIMEOUT
  const millis = (value: DurationInput | null | undefined, whenUndefined: number | undefined) => {
    if (value === undefined) return Option.some(whenUndefined)
    if (value === null) return Option.some(undefined)
    if (typeof value === "number" && !(value >= 0 && Number.isFinite(value))) return Option.none()
    return Option.map(Duration.decodeUnknown(value), (d) => Duration.toMillis(d))
  }
  const invalid = () =>
    new RequestError.InvalidRequest({
      message: `Invalid timeout ${
        JSON.stringify(input)
      }. Pass a duration, a [connect, read] pair, or { connect, read, total }.`
    })
  let parts: Option.Option<Timeout>
  if (Array.isArray(input)) {
    if (input.length !== 2) return invalid()
    parts = Option.all({
      connect: millis(input[0], undefined),
      read: millis(input[1], undefined),
      total: Option.some(fallback.total)
    })
  } else if (typeof input === "object" && !Duration.isDuration(input) && typeof input !== "bigint") {
    const o = input as Exclude<TimeoutInput, DurationInput | null | ReadonlyArray<unknown>>
    parts = Option.all({
      connect: millis(o.connect, fallback.connect),
      read: millis(o.read, fallback.read),
      total: millis(o.total, fallback.total)
    })
  } else {
    const one = millis(input as DurationInput, undefined)
    parts = Option.map(one, (ms) => ({ connect: ms, read: ms, total: fallback.total }))
  }
  if (Option.isNone(parts)) return invalid()
  const value = parts.value
  const bad = [value.connect, value.read, value.total].some((v) => v !== undefined && (!(v >= 0) || !isFinite(v)))
  return bad ? invalid() : value
}

/**
 * Apply options to settings: mappings merge (`null` removes), scalars replace. The result of
 * `Session.layer(options)` is `apply(defaults, options)`.
 *
 * @since 0.1.0
 * @category merging
 */
export const apply = (config: Config, options: Options): Effect.Effect<Config, RequestError.InvalidRequest> =>
  Effect.suspend(() => {
    const result = applySync(config, options)
    return result instanceof RequestError.InvalidRequest ? Effect.fail(result) : Effect.succeed(result)
  })

/**
 * `apply` without the Effect: the new settings, or the `InvalidRequest` error.
 *
 * @since 0.1.0
 * @category merging
 */
export const applySync = (config: Config, options: Options): Config | RequestError.InvalidRequest => {
  const timeout = normalizeTimeoutSync(options.timeout, config.timeout)
  if (timeout instanceof RequestError.InvalidRequest) return timeout
  return {
    headers: options.headers === undefined ? config.headers : mergeHeaderPairs(config.headers, options.headers),
    params: options.params === undefined ? config.params : mergeParams(options.params, config.params),
    auth: options.auth === undefined ? config.auth : options.auth === null ? undefined : Auth.fromInput(options.auth),
    proxies: options.proxies === undefined ? config.proxies : Proxies.merge(config.proxies, options.proxies),
    hooks: options.hooks === undefined ? config.hooks : Hooks.make(options.hooks),
    verify: options.verify ?? config.verify,
    cert: options.cert === undefined ? config.cert : options.cert ?? undefined,
    maxRedirects: options.maxRedirects ?? config.maxRedirects,
    trustEnv: options.trustEnv ?? config.trustEnv,
    timeout,
    retry: options.retry === undefined ? config.retry : options.retry ?? undefined,
    telemetry: Telemetry.apply(config.telemetry, options.telemetry),
    sensitiveHeaders: options.sensitiveHeaders ?? config.sensitiveHeaders,
    limits: options.limits === undefined ? config.limits : { ...config.limits, ...options.limits },
    redirects: options.redirects === undefined ? config.redirects : { ...config.redirects, ...options.redirects }
  }
}

/** Session headers keep their `null`s (they suppress defaults when merged with a request). */
const mergeHeaderPairs = (
  session: ReadonlyArray<readonly [string, string | null]>,
  input: HeadersInput
): ReadonlyArray<readonly [string, string | null]> => {
  const order: Array<string> = []
  const values = new Map<string, readonly [string, string | null]>()
  for (const [key, value] of [...session, ...headerPairs(input)]) {
    const lower = key.toLowerCase()
    if (!values.has(lower)) order.push(lower)
    values.set(lower, [key, value])
  }
  return order.map((lower) => values.get(lower)!)
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The settings in effect here (with any `locally` overrides applied). */
  readonly get: Effect.Effect<Config>
  /** Merge options into the session's settings. */
  readonly set: (options: Options) => Effect.Effect<void, RequestError.InvalidRequest>
  /** Change the session's settings with a function. */
  readonly update: (f: (config: Config) => Config) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class SessionConfig extends Context.Tag("@effect-requests/core/SessionConfig")<SessionConfig, Service>() {}

/**
 * Overrides applied by `locally`, innermost last.
 *
 * @since 0.1.0
 * @category overrides
 */
export const currentOverrides: FiberRef.FiberRef<ReadonlyArray<Options>> = FiberRef.unsafeMake<
  ReadonlyArray<Options>
>([])

/**
 * Build the service from options.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Service, RequestError.InvalidRequest> =>
  Effect.suspend(() => {
    const initial = options === undefined ? defaults : applySync(defaults, options)
    if (initial instanceof RequestError.InvalidRequest) return Effect.fail(initial)
    // The session's settings (read on every request, so read synchronously), and the settings
    // last computed for a stack of `locally` overrides on top of them.
    let current = initial
    let lastBase: Config | undefined
    let lastOverrides: ReadonlyArray<Options> | undefined
    let lastResult: Config = initial
    const withOverrides = (overrides: ReadonlyArray<Options>): Config => {
      if (overrides.length === 0) return current
      if (lastBase === current && lastOverrides === overrides) return lastResult
      let result = current
      for (const override of overrides) {
        const next = applySync(result, override)
        if (!(next instanceof RequestError.InvalidRequest)) result = next
      }
      lastBase = current
      lastOverrides = overrides
      lastResult = result
      return result
    }
    const service: Service = {
      get: Effect.withFiberRuntime((fiber) => Effect.succeed(withOverrides(fiber.getFiberRef(currentOverrides)))),
      set: (opts) =>
        Effect.suspend(() => {
          const next = applySync(current, opts)
          if (next instanceof RequestError.InvalidRequest) return Effect.fail(next)
          current = next
          return Effect.void
        }),
      update: (f) =>
        Effect.sync(() => {
          current = f(current)
        })
    }
    return Effect.succeed(service)
  })

/**
 * A layer holding `options` applied to the defaults.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<SessionConfig, RequestError.InvalidRequest> =>
  Layer.effect(SessionConfig, make(options))

/**
 * Run `effect` with `options` applied on top of every session's settings (nests; innermost wins).
 *
 * @since 0.1.0
 * @category overrides
 */
export const locally: {
  (options: Options): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(effect: Effect.Effect<A, E, R>, options: Options): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(effect: Effect.Effect<A, E, R>, options: Options): Effect.Effect<A, E, R> =>
    Effect.locallyWith(effect, currentOverrides, (list) => [...list, options])
)

/**
 * The settings in effect for the session in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const get: Effect.Effect<Config, never, SessionConfig> = Effect.flatMap(SessionConfig, (s) => s.get)

/**
 * Merge options into the session in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const set = (options: Options): Effect.Effect<void, RequestError.InvalidRequest, SessionConfig> =>
  Effect.flatMap(SessionConfig, (s) => s.set(options))

/**
 * Change the session in context with a function.
 *
 * @since 0.1.0
 * @category accessors
 */
export const update = (f: (config: Config) => Config): Effect.Effect<void, never, SessionConfig> =>
  Effect.flatMap(SessionConfig, (s) => s.update(f))
