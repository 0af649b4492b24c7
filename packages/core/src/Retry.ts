/**
 * Retries as a policy, with urllib3's `Retry` semantics: counters for the total and per cause
 * (connect, read, status, other), exponential backoff with jitter and a cap, `statusForcelist`,
 * `allowedMethods` (idempotent methods by default: a POST is never retried unless asked),
 * `Retry-After` honoured on 413/429/503 (and capped), and `raiseOnStatus`.
 *
 * The delay between attempts is an Effect `Schedule` (`policy.schedule`), so users can compose or
 * replace it; a server's `Retry-After` wins over the schedule when `respectRetryAfter` is on.
 * Exhausted retries fail with `RetryError`, which carries every attempt.
 *
 * A policy is set on the session (`retry`) or per adapter mount (`Adapter.withRetry`), like
 * requests' `HTTPAdapter(max_retries=Retry(...))`.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option, Schedule } from "effect"
import type * as PreparedRequest from "./PreparedRequest.js"
import * as RequestError from "./RequestError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Most retries in all (default 3). */
  readonly total?: number | undefined
  /** Most retries after a connection failure (default: `total`). */
  readonly connect?: number | undefined
  /** Most retries after a read failure (default: `total`). */
  readonly read?: number | undefined
  /** Most retries on a `statusForcelist` status (default: `total`). */
  readonly status?: number | undefined
  /** Most retries after any other transient failure (default: `total`). */
  readonly other?: number | undefined
  /** urllib3's `backoff_factor`: the n-th retry waits `factor × 2^(n-1)` (default 0: no wait). */
  readonly backoffFactor?: number | undefined
  /** Largest wait between attempts (default 120 s). */
  readonly backoffMax?: Duration.DurationInput | undefined
  /** Random extra wait up to this much (default none). */
  readonly backoffJitter?: Duration.DurationInput | undefined
  /** Statuses that are retried (default none). */
  readonly statusForcelist?: ReadonlyArray<number> | undefined
  /** Methods that may be retried; `"all"` for any (default: DELETE GET HEAD OPTIONS PUT TRACE). */
  readonly allowedMethods?: ReadonlyArray<string> | "all" | undefined
  /** Wait what `Retry-After` says on 413, 429 and 503 (default true). */
  readonly respectRetryAfter?: boolean | undefined
  /** Longest `Retry-After` honoured (default 120 s); a longer one gives up instead of waiting. */
  readonly retryAfterMax?: Duration.DurationInput | undefined
  /** Fail with `RetryError` when status retries run out (default true); false returns the last response. */
  readonly raiseOnStatus?: boolean | undefined
  /** Replace the backoff: the schedule's delays are the waits between attempts; when it ends, retries end. */
  readonly schedule?: Schedule.Schedule<unknown, Attempt> | undefined
}

/**
 * What the schedule sees for each failed attempt.
 *
 * @since 0.1.0
 * @category models
 */
export interface Attempt {
  readonly attempt: number
  readonly cause: "connect" | "read" | "status" | "other"
  readonly status?: number | undefined
  readonly error?: RequestError.RequestError | undefined
}

/**
 * A resolved policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  readonly _tag: "RetryPolicy"
  readonly total: number
  readonly connect: number
  readonly read: number
  readonly status: number
  readonly other: number
  readonly statusForcelist: ReadonlySet<number>
  readonly allowedMethods: ReadonlySet<string> | "all"
  readonly respectRetryAfter: boolean
  readonly retryAfterMax: Duration.Duration
  readonly raiseOnStatus: boolean
  readonly schedule: Schedule.Schedule<unknown, Attempt>
}

/**
 * urllib3's default allowed methods.
 *
 * @since 0.1.0
 * @category constants
 */
export const idempotentMethods: ReadonlyArray<string> = ["DELETE", "GET", "HEAD", "OPTIONS", "PUT", "TRACE"]

/**
 * Exponential backoff as urllib3 computes it: the n-th retry waits `factor × 2^(n-1)` seconds,
 * plus a random jitter, capped at `max`. The delay is the schedule's interval (its output is unused).
 *
 * @since 0.1.0
 * @category schedules
 */
export const backoff = (options: {
  readonly factor: number
  readonly max: Duration.DurationInput
  readonly jitter?: Duration.DurationInput | undefined
}): Schedule.Schedule<unknown, Attempt> => {
  const maxMillis = Duration.toMillis(options.max)
  const jitterMillis = options.jitter === undefined ? 0 : Duration.toMillis(options.jitter)
  return Schedule.identity<Attempt>().pipe(
    Schedule.addDelayEffect((attempt) => {
      const base = options.factor * 1000 * 2 ** (attempt.attempt - 1)
      if (jitterMillis <= 0) return Effect.succeed(Duration.millis(Math.min(maxMillis, Math.max(0, base))))
      return Effect.map(
        Effect.randomWith((random) => random.nextRange(0, jitterMillis)),
        (jitter) => Duration.millis(Math.min(maxMillis, Math.max(0, base + jitter)))
      )
    })
  )
}

/**
 * Build a policy (requests: `HTTPAdapter(max_retries=Retry(...))`; a number is `Retry(total=n)`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options | number = {}): Policy => {
  const o: Options = typeof options === "number" ? { total: options } : options
  const total = o.total ?? 3
  return {
    _tag: "RetryPolicy",
    total,
    connect: o.connect ?? total,
    read: o.read ?? total,
    status: o.status ?? total,
    other: o.other ?? total,
    statusForcelist: new Set(o.statusForcelist ?? []),
    allowedMethods: o.allowedMethods === "all"
      ? "all"
      : new Set((o.allowedMethods ?? idempotentMethods).map((m) => m.toUpperCase())),
    respectRetryAfter: o.respectRetryAfter ?? true,
    retryAfterMax: Duration.decode(o.retryAfterMax ?? "120 seconds"),
    raiseOnStatus: o.raiseOnStatus ?? true,
    schedule: o.schedule ?? backoff({
      factor: o.backoffFactor ?? 0,
      max: o.backoffMax ?? "120 seconds",
      jitter: o.backoffJitter
    })
  }
}

/**
 * Whether the policy allows retrying this method.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isMethodAllowed = (policy: Policy, method: string): boolean =>
  policy.allowedMethods === "all" || policy.allowedMethods.has(method.toUpperCase())

/**
 * Parse `Retry-After`: seconds, or an HTTP date relative to `now`. `None` when unparseable.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseRetryAfter = (value: string | undefined, now: number): Option.Option<Duration.Duration> => {
  if (value === undefined) return Option.none()
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Option.some(Duration.seconds(Number(trimmed)))
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return Option.none()
  return Option.some(Duration.millis(Math.max(0, date - now)))
}

/**
 * The cause of a failure, for the per-cause counters; `undefined` when it is not retryable.
 *
 * @since 0.1.0
 * @category utils
 */
export const classify = (error: RequestError.RequestError): Attempt["cause"] | undefined => {
  switch (error._tag) {
    case "ConnectionError":
    case "ConnectTimeout":
    case "ProxyError":
      return "connect"
    case "ReadTimeout":
    case "ChunkedEncodingError":
      return "read"
    default:
      return undefined
  }
}

/**
 * The input of `RetryError` messages.
 *
 * @internal
 */
export const describeRequest = (request: PreparedRequest.PreparedRequest): string =>
  `${request.method} ${request.toString().replace(/^<PreparedRequest \[\w+\] (.*)>$/, "$1")}`

/**
 * A `RetryError` for a request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const retryError = (
  request: PreparedRequest.PreparedRequest,
  attempts: ReadonlyArray<RequestError.RetryAttempt>,
  reason: string,
  extra?: { readonly response?: RequestError.RetryError["response"]; readonly cause?: unknown }
): RequestError.RetryError =>
  new RequestError.RetryError({
    message: `Max retries exceeded for ${describeRequest(request)} (${reason}) after ${attempts.length} attempts`,
    request,
    attempts,
    response: extra?.response,
    cause: extra?.cause
  })
