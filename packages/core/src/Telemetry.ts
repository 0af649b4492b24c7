/**
 * Observability: tracing spans, Effect metrics and trace-context propagation for the session.
 *
 * - Spans (when a tracer is installed: `tracing: "auto"`): one `http.client {METHOD}` span per
 *   call (kind internal), with a child span per exchange, named `{METHOD}` (kind client): the first
 *   send, each retry, each redirect hop and each auth round trip, with OpenTelemetry's HTTP
 *   attribute names (`http.request.method`, `url.full`, `server.address`, `server.port`,
 *   `http.response.status_code`, `http.resend_count`, `error.type`, `http.request.header.*`,
 *   `http.response.header.*`); and, under the `effect_requests.` prefix, why it was sent
 *   (`send.reason`: initial, redirect, retry, auth), the retry attempt, the phase timings and
 *   whether the connection was reused. `url.full` never shows credentials, and the values of
 *   sensitive query parameters read `REDACTED` (in `Location` and `Referer` too); header values
 *   are redacted as `Headers.redact` does (plus the session's `sensitiveHeaders`).
 * - Metrics (Effect `Metric`, on by default): `http.client.requests` (a counter) and
 *   `http.client.request.duration` (a histogram, seconds) per call, and `http.client.retries`,
 *   tagged with `http.request.method`, `http.response.status_class` (`2xx` … `5xx`, or `error`),
 *   `server.address` and, on failures, `error.type`.
 * - Propagation is off unless asked (`propagation: "w3c" | "b3" | true`): no `traceparent` or `b3`
 *   header leaves the process otherwise.
 * - Phase timings are on the responses (`response.timings`), filled in by the transport.
 *
 * With Effect's built-in tracer (no tracer installed) no span is created at all, and the metrics
 * cost two clock reads and one map lookup per call.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  Context,
  DefaultServices,
  Effect,
  Exit,
  FiberRef,
  Metric,
  MetricBoundaries,
  Option,
  Tracer
} from "effect"
import type { MetricLabel } from "effect"
import * as MetricLabelModule from "effect/MetricLabel"
import * as Headers from "./Headers.js"
import type * as PreparedRequest from "./PreparedRequest.js"
import type * as RequestError from "./RequestError.js"
import type * as Response from "./Response.js"

/**
 * Telemetry settings as users give them (the session's `telemetry` option).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Spans: `"auto"` (the default) creates them when a tracer other than Effect's built-in one is
   * installed (e.g. `@effect/opentelemetry`) and tracing is enabled; `true` always; `false` never.
   */
  readonly tracing?: boolean | "auto" | undefined
  /** Trace-context headers on outgoing requests: `false` (the default), `"w3c"` (`traceparent`), `"b3"`, or `true` (both). */
  readonly propagation?: boolean | "w3c" | "b3" | undefined
  /** Count and time calls with Effect metrics (default true). */
  readonly metrics?: boolean | undefined
  /** Record request and response headers (redacted) as span attributes (default true). */
  readonly headers?: boolean | undefined
  /** More query parameter names whose values `url.full` hides (case-insensitive). */
  readonly sensitiveQueryParams?: ReadonlyArray<string> | undefined
}

/**
 * Normalised settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config {
  readonly tracing: boolean | "auto"
  readonly propagation: "none" | "w3c" | "b3" | "both"
  readonly metrics: boolean
  readonly headers: boolean
  readonly sensitiveQueryParams: ReadonlySet<string>
}

/**
 * Query parameters whose values `url.full` always hides (OpenTelemetry's list plus common tokens).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSensitiveQueryParams: ReadonlyArray<string> = [
  "awsaccesskeyid",
  "signature",
  "sig",
  "x-goog-signature",
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
  "access_token",
  "refresh_token",
  "id_token",
  "token",
  "api_key",
  "apikey",
  "key",
  "password",
  "passwd",
  "secret",
  "client_secret",
  "code"
]

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults: Config = {
  tracing: "auto",
  propagation: "none",
  metrics: true,
  headers: true,
  sensitiveQueryParams: new Set(defaultSensitiveQueryParams)
}

/**
 * Apply options to settings.
 *
 * @since 0.1.0
 * @category constructors
 */
export const apply = (config: Config, options: Options | undefined): Config => {
  if (options === undefined) return config
  const propagation = options.propagation
  return {
    tracing: options.tracing ?? config.tracing,
    propagation: propagation === undefined
      ? config.propagation
      : propagation === false
      ? "none"
      : propagation === true
      ? "both"
      : propagation,
    metrics: options.metrics ?? config.metrics,
    headers: options.headers ?? config.headers,
    sensitiveQueryParams: options.sensitiveQueryParams === undefined
      ? config.sensitiveQueryParams
      : new Set([...config.sensitiveQueryParams, ...options.sensitiveQueryParams.map((n) => n.toLowerCase())])
  }
}

/**
 * What one call (a request and its chain) keeps for its spans: decided once, updated per send.
 *
 * @since 0.1.0
 * @category models
 */
export interface Trace {
  /** Whether spans are created for this call (`undefined` until decided). */
  tracing: boolean | undefined
  /** Exchanges sent so far. */
  sends: number
  /** The status of the last exchange (to tell a redirect hop from an auth round trip). */
  lastStatus: number | undefined
}

/**
 * A fresh trace for one call.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeTrace = (): Trace => ({ tracing: undefined, sends: 0, lastStatus: undefined })

// ---------------------------------------------------------------------------------------------
// metrics

/**
 * Calls made, by method, status class, host (and error type for failures).
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestCount: Metric.Metric.Counter<number> = Metric.counter("http.client.requests", {
  description: "HTTP calls made by effect-requests sessions (redirects and retries included in one call)",
  incremental: true
})

/**
 * Duration of calls in seconds, by method, status class, host (and error type for failures).
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestDuration = Metric.histogram(
  "http.client.request.duration",
  MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 14 }),
  "Duration of HTTP calls made by effect-requests sessions, in seconds"
)

/**
 * Retries sent by a retry policy, by method and host.
 *
 * @since 0.1.0
 * @category metrics
 */
export const retryCount: Metric.Metric.Counter<number> = Metric.counter("http.client.retries", {
  description: "Retries sent by effect-requests retry policies",
  incremental: true
})

/** Hosts of URLs seen lately (the metrics tag every call with one). */
const hosts = new Map<string, string>()
const hostOf = (href: string): string => {
  let host = hosts.get(href)
  if (host === undefined) {
    host = targetOf(href).host
    if (hosts.size >= 1024) hosts.clear()
    hosts.set(href, host)
  }
  return host
}

/** Tag arrays by key, reused so that Effect's metric hooks are found by identity. */
const tagCache = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()

const tagsFor = (method: string, statusClass: string, host: string, errorType: string | undefined) => {
  const key = `${method}\u0000${statusClass}\u0000${host}\u0000${errorType ?? ""}`
  let tags = tagCache.get(key)
  if (tags === undefined) {
    if (tagCache.size >= 4096) tagCache.clear()
    tags = [
      MetricLabelModule.make("http.request.method", method),
      MetricLabelModule.make("http.response.status_class", statusClass),
      MetricLabelModule.make("server.address", host)
    ]
    if (errorType !== undefined) tags = [...tags, MetricLabelModule.make("error.type", errorType)]
    tagCache.set(key, tags)
  }
  return tags
}

const withFiberLabels = (
  labels: ReadonlyArray<MetricLabel.MetricLabel>,
  tags: ReadonlyArray<MetricLabel.MetricLabel>
): ReadonlyArray<MetricLabel.MetricLabel> => labels.length === 0 ? tags : [...labels, ...tags]

/**
 * The status class of a status code (`2xx`, …), as the metrics tag it.
 *
 * @since 0.1.0
 * @category utils
 */
export const statusClass = (status: number): string =>
  status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "other"

// ---------------------------------------------------------------------------------------------
// attributes

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"])

interface Target {
  readonly scheme: string
  readonly host: string
  readonly port: number | undefined
}

/** Scheme, host and port of an absolute URL without building a `URL` (the metrics' hot path). */
export const targetOf = (href: string): Target => {
  const colon = href.indexOf("://")
  const scheme = colon < 0 ? "" : href.slice(0, colon).toLowerCase()
  const start = colon < 0 ? 0 : colon + 3
  let end = href.length
  for (let i = start; i < href.length; i++) {
    const c = href.charCodeAt(i)
    if (c === 47 || c === 63 || c === 35) {
      end = i
      break
    }
  }
  let authority = href.slice(start, end)
  const at = authority.lastIndexOf("@")
  if (at >= 0) authority = authority.slice(at + 1)
  let host = authority
  let port: number | undefined
  const bracket = authority.lastIndexOf("]")
  const portColon = authority.lastIndexOf(":")
  if (portColon > bracket && portColon >= 0) {
    host = authority.slice(0, portColon)
    const n = Number(authority.slice(portColon + 1))
    if (Number.isInteger(n)) port = n
  }
  if (port === undefined) port = scheme === "https" ? 443 : scheme === "http" ? 80 : undefined
  return { scheme, host: host.toLowerCase().replace(/^\[|\]$/g, ""), port }
}

/**
 * `url.full` as OpenTelemetry wants it: no credentials, no fragment, and the values of sensitive
 * query parameters replaced by `REDACTED`.
 *
 * @since 0.1.0
 * @category utils
 */
export const redactUrl = (href: string, sensitive: ReadonlySet<string> = defaults.sensitiveQueryParams): string => {
  let parsed: URL
  try {
    parsed = new URL(href)
  } catch {
    return redactQuery(href.replace(/\/\/[^/@?#]*@/, "//").replace(/#.*$/, ""), sensitive)
  }
  parsed.username = ""
  parsed.password = ""
  parsed.hash = ""
  return redactQuery(parsed.href, sensitive)
}

/**
 * The values of sensitive query parameters of a URL or URL reference (absolute or relative,
 * as in `Location`) replaced by `REDACTED`; the rest left as it is.
 *
 * @since 0.1.0
 * @category utils
 */
export const redactQuery = (
  reference: string,
  sensitive: ReadonlySet<string> = defaults.sensitiveQueryParams
): string => {
  const question = reference.indexOf("?")
  if (question < 0) return reference
  const hash = reference.indexOf("#", question)
  const end = hash < 0 ? reference.length : hash
  const parts = reference.slice(question + 1, end).split("&").map((part) => {
    const eq = part.indexOf("=")
    if (eq < 0) return part
    const name = part.slice(0, eq)
    let decoded = name
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, " "))
    } catch {
      // keep the raw name
    }
    return sensitive.has(decoded.toLowerCase()) ? `${name}=REDACTED` : part
  })
  return `${reference.slice(0, question + 1)}${parts.join("&")}${reference.slice(end)}`
}

/** Headers whose values are URL references, whose sensitive query values are hidden. */
const URL_HEADERS = new Set(["location", "content-location", "referer", "link"])

const headerAttributes = (
  prefix: string,
  headers: Headers.Headers,
  extra: ReadonlyArray<string>,
  sensitiveQuery: ReadonlySet<string>
): Record<string, Array<string>> => {
  const out: Record<string, Array<string>> = {}
  for (const [name, raw] of Headers.redact(headers, extra).entries) {
    const lower = name.toLowerCase()
    const value = URL_HEADERS.has(lower) ? redactQuery(raw, sensitiveQuery) : raw
    const key = `${prefix}${lower}`
    const list = out[key]
    if (list === undefined) out[key] = [value]
    else list.push(value)
  }
  return out
}

const SENSITIVE_RESPONSE_HEADERS = ["set-cookie", "www-authenticate", "proxy-authenticate"]

const requestAttributes = (
  request: PreparedRequest.PreparedRequest,
  config: Config,
  withHeaders: boolean
): Record<string, unknown> => {
  const target = targetOf(request.url)
  const method = KNOWN_METHODS.has(request.method) ? request.method : "_OTHER"
  const attributes: Record<string, unknown> = {
    "http.request.method": method,
    "url.full": redactUrl(request.url, config.sensitiveQueryParams),
    "url.scheme": target.scheme,
    "server.address": target.host
  }
  if (method === "_OTHER") attributes["http.request.method_original"] = request.method
  if (target.port !== undefined) attributes["server.port"] = target.port
  if (withHeaders && config.headers) {
    Object.assign(
      attributes,
      headerAttributes("http.request.header.", request.headers, request.chain.sensitive, config.sensitiveQueryParams)
    )
  }
  return attributes
}

const errorType = (error: RequestError.RequestError): string => error._tag

// ---------------------------------------------------------------------------------------------
// tracing

/** Effect's built-in tracer: spans from it go nowhere, so none are made while it is in place. */
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

const tracingOn = (
  fiber: { getFiberRef<A>(ref: FiberRef.FiberRef<A>): A },
  mode: boolean | "auto"
): boolean => {
  if (mode === false || !fiber.getFiberRef(FiberRef.currentTracerEnabled)) return false
  if (mode === true) return true
  return Context.get(fiber.getFiberRef(DefaultServices.currentServices), Tracer.Tracer) !== nativeTracer
}

/**
 * Whether spans would be created here with these settings.
 *
 * @since 0.1.0
 * @category tracing
 */
export const isTracing = (config: Config = defaults): Effect.Effect<boolean> =>
  Effect.withFiberRuntime((fiber) => Effect.succeed(tracingOn(fiber, config.tracing)))

const spanOptions = (attributes: Record<string, unknown>, kind: Tracer.SpanKind): Tracer.SpanOptions => ({
  kind,
  attributes,
  captureStackTrace: false
})

/**
 * Observe one call: its span (when tracing) and its metrics. `effect` is the whole chain.
 *
 * @since 0.1.0
 * @category tracing
 */
export const call = <A extends Response.Head, E extends RequestError.RequestError, R>(
  request: PreparedRequest.PreparedRequest,
  trace: Trace,
  config: Config,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime<A, E, R>((fiber) => {
    const tracing = tracingOn(fiber, config.tracing)
    trace.tracing = tracing
    const services = fiber.getFiberRef(DefaultServices.currentServices)
    let observed = effect
    if (config.metrics) {
      const clock = Context.get(services, Clock.Clock)
      const start = clock.unsafeCurrentTimeNanos()
      const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
      observed = Effect.onExit(effect, (exit) => {
        const seconds = Number(clock.unsafeCurrentTimeNanos() - start) / 1e9
        const host = hostOf(request.url)
        const tags = Exit.isSuccess(exit)
          ? tagsFor(request.method, statusClass(exit.value.status), host, undefined)
          : tagsFor(request.method, "error", host, failureType(exit))
        const all = withFiberLabels(labels, tags)
        requestCount.unsafeUpdate(1, all)
        requestDuration.unsafeUpdate(seconds, all)
        return Effect.void
      })
    }
    if (!tracing) return observed
    return Effect.useSpan(
      `http.client ${request.method}`,
      spanOptions(requestAttributes(request, config, false), "internal"),
      (span) =>
        Effect.withParentSpan(
          Effect.onExit(observed, (exit) =>
            Effect.sync(() => {
              if (trace.sends > 1) span.attribute("http.resend_count", trace.sends - 1)
              if (Exit.isSuccess(exit)) {
                span.attribute("http.response.status_code", exit.value.status)
                span.attribute("url.full", redactUrl(exit.value.url, config.sensitiveQueryParams))
                if (exit.value.history.length > 0) {
                  span.attribute("effect_requests.redirect_count", exit.value.history.length)
                }
                if (exit.value.status >= 400) {
                  span.attribute("error.type", String(exit.value.status))
                }
              } else {
                const type = failureType(exit)
                if (type !== undefined) span.attribute("error.type", type)
              }
            })),
          span
        )
    )
  })

const failureType = (exit: Exit.Exit<unknown, RequestError.RequestError>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return errorType(failure.value)
  return Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "_OTHER"
}

/** Why an exchange was sent, from what came before it in the call. */
const reasonOf = (trace: Trace, attempt: number): string => {
  if (trace.sends === 0) return "initial"
  if (attempt > 1) return "retry"
  const last = trace.lastStatus
  if (last === 401 || last === 407) return "auth"
  if (last !== undefined && last >= 300 && last < 400) return "redirect"
  return "resend"
}

const inject = (
  request: PreparedRequest.PreparedRequest,
  span: Tracer.AnySpan,
  propagation: Config["propagation"]
): PreparedRequest.PreparedRequest => {
  let out = request
  if (propagation === "w3c" || propagation === "both") {
    out = out.setHeader("traceparent", `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`)
  }
  if (propagation === "b3" || propagation === "both") {
    out = out.setHeader("b3", `${span.traceId}-${span.spanId}-${span.sampled ? "1" : "0"}`)
  }
  return out
}

/**
 * Observe one exchange (attempt `attempt` of sending `request`): its span when tracing, the
 * trace-context headers when propagation is on. `send` gets the request to put on the wire.
 *
 * @since 0.1.0
 * @category tracing
 */
export const exchange = <R>(
  request: PreparedRequest.PreparedRequest,
  attempt: number,
  trace: Trace,
  config: Config,
  send: (
    request: PreparedRequest.PreparedRequest
  ) => Effect.Effect<Response.StreamingResponse, RequestError.RequestError, R>
): Effect.Effect<Response.StreamingResponse, RequestError.RequestError, R> => {
  if (trace.tracing === false && config.propagation === "none") return send(request)
  return Effect.withFiberRuntime((fiber) => {
    if (trace.tracing === undefined) trace.tracing = tracingOn(fiber, config.tracing)
    if (!trace.tracing) {
      if (config.propagation === "none") return send(request)
      const parent = Context.getOption(fiber.getFiberRef(FiberRef.currentContext), Tracer.ParentSpan)
      return send(parent._tag === "Some" ? inject(request, parent.value, config.propagation) : request)
    }
    const reason = reasonOf(trace, attempt)
    const attributes = requestAttributes(request, config, true)
    attributes["effect_requests.send.reason"] = reason
    if (trace.sends > 0) attributes["http.resend_count"] = trace.sends
    if (attempt > 1) attributes["effect_requests.retry.attempt"] = attempt
    trace.sends++
    return Effect.useSpan(request.method, spanOptions(attributes, "client"), (span) => {
      const wire = config.propagation === "none" ? request : inject(request, span, config.propagation)
      return Effect.withParentSpan(send(wire), span).pipe(
        Effect.tapBoth({
          onFailure: (error) =>
            Effect.sync(() => {
              trace.lastStatus = undefined
              span.attribute("error.type", errorType(error))
            }),
          onSuccess: (response) =>
            Effect.sync(() => {
              trace.lastStatus = response.status
              span.attribute("http.response.status_code", response.status)
              if (response.status >= 400) span.attribute("error.type", String(response.status))
              if (config.headers) {
                const extra = [...SENSITIVE_RESPONSE_HEADERS, ...request.chain.sensitive]
                const attributes = headerAttributes(
                  "http.response.header.",
                  response.headers,
                  extra,
                  config.sensitiveQueryParams
                )
                for (const [key, value] of Object.entries(attributes)) {
                  span.attribute(key, value)
                }
              }
              const timings = response.timings
              if (timings !== undefined) {
                for (const phase of ["wait", "connect", "tls", "firstByte"] as const) {
                  const value = timings[phase]
                  if (value !== undefined) span.attribute(`effect_requests.timing.${phase}_ms`, value)
                }
                if (timings.reused !== undefined) span.attribute("effect_requests.connection.reused", timings.reused)
              }
            })
        })
      )
    })
  })
}

/**
 * Count one retry in the metrics (tagged with the status class of what was retried, or `error`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const countRetry = (
  request: PreparedRequest.PreparedRequest,
  attempt: RequestError.RetryAttempt,
  config: Config
): Effect.Effect<void> =>
  config.metrics
    ? Effect.withFiberRuntime((fiber) => {
      const status = attempt.status === undefined ? "error" : statusClass(attempt.status)
      const tags = tagsFor(request.method, status, targetOf(request.url).host, undefined)
      retryCount.unsafeUpdate(1, withFiberLabels(fiber.getFiberRef(FiberRef.currentMetricLabels), tags))
      return Effect.void
    })
    : Effect.void
