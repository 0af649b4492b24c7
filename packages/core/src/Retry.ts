/**
 * Retries as a policy, with urllib3's `Retry` semantics (requests' `HTTPAdapter(max_retries=...)`):
 *
 * - counters: `total`, and per cause `connect` (nothing reached the server), `read` (the request
 *   may have reached it: a read timeout, a connection broken before the response), `status`
 *   (a `statusForcelist` status, or a `Retry-After` on 413/429/503), `other` (TLS failures), and
 *   `redirect` (redirects followed in one chain); a counter below zero ends the retries;
 * - `allowedMethods`: read and status retries only for idempotent methods by default (DELETE GET
 *   HEAD OPTIONS PUT TRACE): a POST is never resent unless asked; connection failures are retried
 *   for any method, since nothing was sent; a one-shot body is never sent twice;
 * - backoff: no wait before the first retry, then `backoffFactor × 2^(n-1)` seconds, plus up to
 *   `backoffJitter`, capped at `backoffMax`; a `Retry-After` (seconds or an HTTP date) replaces
 *   it, capped at `retryAfterMax`;
 * - `raiseOnStatus`: when retries of a `statusForcelist` status run out, fail with `RetryError`
 *   (with every attempt and the last response) or return the last response; a response retried
 *   only for its `Retry-After` is returned once retries run out (urllib3's `is_retry`). Other
 *   failures keep their own error once retries run out (`ConnectTimeout`, `ConnectionError`, ...),
 *   as in requests.
 *
 * The waits come from an Effect `Schedule` (`policy.schedule`, by default `backoff(...)`) that
 * users can replace or compose; `schedule(policy)` is the whole policy as a `Schedule` for
 * `Effect.retry` around any call. Each hop of a redirect chain has its own budget; the session's
 * total deadline bounds the whole: a wait that would pass it fails at once with `Timeout`.
 *
 * Set a policy on the session (`retry`) or on one mount (`Adapter.withRetry(transport, policy)`,
 * like requests' `session.mount(prefix, HTTPAdapter(max_retries=Retry(...)))`).
 *
 * @since 0.1.0
 */
import {
  Clock,
  Duration,
  Effect,
  Option,
  Schedule,
  ScheduleDecision,
  ScheduleInterval,
  ScheduleIntervals
} from "effect"
import * as Body from "./Body.js"
import type * as Headers from "./Headers.js"
import * as url from "./internal/url.js"
import type * as PreparedRequest from "./PreparedRequest.js"
import * as RequestError from "./RequestError.js"
import type * as Response from "./Response.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Most retries in all (default 3). */
  readonly total?: number | undefined
  /** Most retries after a connection failure (default: `total`); `false` raises the first one. */
  readonly connect?: number | false | undefined
  /** Most retries after a read failure (default: `total`); `false` raises the first one. */
  readonly read?: number | false | undefined
  /** Most retries on a retryable status (default: `total`); `false` returns the first such response. */
  readonly status?: number | false | undefined
  /** Most retries after any other failure (TLS) (default: `total`); `false` raises the first one. */
  readonly other?: number | false | undefined
  /**
   * Most redirects followed in one chain (default: no limit besides the session's `maxRedirects`);
   * `false` follows none. Past it: `RetryError`, or the redirect response when `raiseOnRedirect` is false.
   */
  readonly redirect?: number | false | undefined
  /** urllib3's `backoff_factor`: the n-th retry (n ≥ 2) waits `factor × 2^(n-1)` seconds (default 0). */
  readonly backoffFactor?: number | undefined
  /** Largest backoff between attempts (default 120 s). */
  readonly backoffMax?: Duration.DurationInput | undefined
  /** Random extra wait up to this much (default none). */
  readonly backoffJitter?: Duration.DurationInput | undefined
  /** Statuses that are retried (default none). */
  readonly statusForcelist?: ReadonlyArray<number> | undefined
  /** Methods whose read failures and statuses may be retried; `"all"` for any (default: the idempotent ones). */
  readonly allowedMethods?: ReadonlyArray<string> | "all" | undefined
  /** Retry 413, 429 and 503 answers that carry `Retry-After`, and wait what it says (default true). */
  readonly respectRetryAfter?: boolean | undefined
  /** Longest `Retry-After` wait: a longer one is cut to this (default 120 s). */
  readonly retryAfterMax?: Duration.DurationInput | undefined
  /** Fail with `RetryError` when status retries run out (default true); false returns the last response. */
  readonly raiseOnStatus?: boolean | undefined
  /** Fail with `RetryError` past the `redirect` counter (default true); false returns the redirect. */
  readonly raiseOnRedirect?: boolean | undefined
  /** Replace the backoff: its delays are the waits between attempts; when it ends, retries end. */
  readonly schedule?: Schedule.Schedule<unknown, Attempt> | undefined
}

/**
 * What the cause of a retry is, for the per-cause counters.
 *
 * @since 0.1.0
 * @category models
 */
export type Cause = "connect" | "read" | "status" | "other"

/**
 * What the schedule sees for each failed attempt.
 *
 * @since 0.1.0
 * @category models
 */
export interface Attempt {
  /** The failed attempts so far (1 for the first failure). */
  readonly attempt: number
  readonly cause: Cause
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
  readonly connect: number | false
  readonly read: number | false
  readonly status: number | false
  readonly other: number | false
  readonly redirect: number | false | undefined
  readonly statusForcelist: ReadonlySet<number>
  readonly allowedMethods: ReadonlySet<string> | "all"
  readonly respectRetryAfter: boolean
  readonly retryAfterMax: Duration.Duration
  readonly raiseOnStatus: boolean
  readonly raiseOnRedirect: boolean
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
 * The statuses on which a `Retry-After` header alone makes a response retryable.
 *
 * @since 0.1.0
 * @category constants
 */
export const retryAfterStatuses: ReadonlySet<number> = new Set([413, 429, 503])

/**
 * Exponential backoff as urllib3 computes it: no wait before the first retry, then
 * `factor × 2^(n-1)` seconds before the n-th, plus a random jitter up to `jitter`, capped at
 * `max`. The delay is the schedule's interval; it never ends by itself (the counters do).
 *
 * @since 0.1.0
 * @category schedules
 */
export const backoff = (options: {
  readonly factor: number
  readonly max?: Duration.DurationInput | undefined
  readonly jitter?: Duration.DurationInput | undefined
}): Schedule.Schedule<Attempt, Attempt> => {
  const maxMillis = Duration.toMillis(options.max ?? "120 seconds")
  const jitterMillis = options.jitter === undefined ? 0 : Duration.toMillis(options.jitter)
  const delay = (attempt: number, jitter: number) =>
    Duration.millis(Math.max(0, Math.min(maxMillis, options.factor * 1000 * 2 ** (attempt - 1) + jitter)))
  return Schedule.identity<Attempt>().pipe(
    Schedule.addDelayEffect((attempt) => {
      if (attempt.attempt <= 1) return Effect.succeed(Duration.zero)
      if (jitterMillis <= 0) return Effect.succeed(delay(attempt.attempt, 0))
      return Effect.map(
        Effect.randomWith((random) => random.nextRange(0, jitterMillis)),
        (j) => delay(attempt.attempt, j)
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
    redirect: o.redirect,
    statusForcelist: new Set(o.statusForcelist ?? []),
    allowedMethods: o.allowedMethods === "all"
      ? "all"
      : new Set((o.allowedMethods ?? idempotentMethods).map((m) => m.toUpperCase())),
    respectRetryAfter: o.respectRetryAfter ?? true,
    retryAfterMax: Duration.decode(o.retryAfterMax ?? "120 seconds"),
    raiseOnStatus: o.raiseOnStatus ?? true,
    raiseOnRedirect: o.raiseOnRedirect ?? true,
    schedule: o.schedule ?? backoff({
      factor: o.backoffFactor ?? 0,
      max: o.backoffMax ?? "120 seconds",
      jitter: o.backoffJitter
    })
  }
}

/**
 * Whether the policy allows retrying this method's read failures and statuses.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isMethodAllowed = (policy: Policy, method: string): boolean =>
  policy.allowedMethods === "all" || policy.allowedMethods.has(method.toUpperCase())

/**
 * urllib3's `is_retry`: whether a response with this status is retried for this method. A
 * `Retry-After` alone makes 413, 429 and 503 retryable only while retries are left (`total`, by
 * default the policy's): when they run out, that response is returned rather than an error.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryableStatus = (
  policy: Policy,
  method: string,
  status: number,
  hasRetryAfter: boolean,
  total: number = policy.total
): boolean =>
  isMethodAllowed(policy, method) &&
  (policy.statusForcelist.has(status) ||
    (total > 0 && policy.respectRetryAfter && hasRetryAfter && retryAfterStatuses.has(status)))

/**
 * Parse `Retry-After`: seconds, or an HTTP date relative to `now` (ms). `None` when unparseable.
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

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT",
  "UND_ERR_MAX_ORIGINS_REACHED",
  "POOL_FULL"
])

/**
 * The cause of a failure, for the per-cause counters; `undefined` when it is never retried (a
 * bad request, a closed pool, the total deadline). A connection that broke without saying that
 * nothing was sent counts as a read failure: the request may have reached the server.
 *
 * @since 0.1.0
 * @category utils
 */
export const classify = (error: RequestError.RequestError): Cause | undefined => {
  switch (error._tag) {
    case "ConnectTimeout":
    case "ProxyError":
      return "connect"
    case "ConnectionError":
      if (error.code === "UND_ERR_CLOSED" || error.code === "UND_ERR_DESTROYED") return undefined
      return error.code !== undefined && CONNECT_CODES.has(error.code) ? "connect" : "read"
    case "ReadTimeout":
    case "ChunkedEncodingError":
      return "read"
    case "SSLError":
      return "other"
    default:
      return undefined
  }
}

/**
 * What one attempt ended with, as the policy judges it.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Failure"; readonly error: RequestError.RequestError }
  | { readonly _tag: "Status"; readonly status: number; readonly headers: Headers.Headers }

/**
 * The policy's answer to one outcome: `Stop` (not retryable: fail or return as is), `Exhausted`
 * (retryable but the budget, the schedule or the body does not allow another attempt), or `Retry`
 * after `delay`.
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict =
  | { readonly _tag: "Stop" }
  | { readonly _tag: "Exhausted"; readonly cause: Cause }
  | { readonly _tag: "Retry"; readonly cause: Cause; readonly delay: Duration.Duration }

/**
 * The budget left while retrying one request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Budget {
  readonly total: number
  readonly connect: number
  readonly read: number
  readonly status: number
  readonly other: number
  /** Failed attempts so far. */
  readonly failures: number
  readonly scheduleState: unknown
}

/**
 * The budget a policy starts with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initialBudget = (policy: Policy): Budget => ({
  total: policy.total,
  connect: policy.connect === false ? 0 : policy.connect,
  read: policy.read === false ? 0 : policy.read,
  status: policy.status === false ? 0 : policy.status,
  other: policy.other === false ? 0 : policy.other,
  failures: 0,
  scheduleState: policy.schedule.initial
})

/**
 * Judge one outcome of sending `request` (urllib3's `increment` + `is_exhausted` + `sleep`):
 * the verdict and the budget left. `now` is the clock's time in ms.
 *
 * @since 0.1.0
 * @category combinators
 */
export const judge = (
  policy: Policy,
  budget: Budget,
  outcome: Outcome,
  request: Pick<PreparedRequest.PreparedRequest, "method" | "body"> | undefined,
  now: number
): Effect.Effect<readonly [Budget, Verdict]> => {
  const method = request?.method ?? "GET"
  let cause: Cause | undefined
  let retryAfter: Option.Option<Duration.Duration> = Option.none()
  if (outcome._tag === "Failure") {
    cause = classify(outcome.error)
    if (cause === undefined || policy[cause] === false) return Effect.succeed([budget, stop])
    if (cause === "read" && !isMethodAllowed(policy, method)) return Effect.succeed([budget, stop])
  } else {
    const header = outcome.headers.get("retry-after")
    const retryable = isRetryableStatus(policy, method, outcome.status, header !== undefined, budget.total)
    if (!retryable || policy.status === false) {
      return Effect.succeed([budget, stop])
    }
    cause = "status"
    if (policy.respectRetryAfter) retryAfter = parseRetryAfter(header, now)
  }
  const next: Budget = {
    ...budget,
    total: budget.total - 1,
    [cause]: budget[cause] - 1,
    failures: budget.failures + 1
  }
  const exhausted = next.total < 0 || next[cause] < 0 || (request !== undefined && !Body.isReplayable(request.body))
  if (exhausted) return Effect.succeed([next, { _tag: "Exhausted", cause }])
  const input: Attempt = {
    attempt: next.failures,
    cause,
    status: outcome._tag === "Status" ? outcome.status : undefined,
    error: outcome._tag === "Failure" ? outcome.error : undefined
  }
  return Effect.map(policy.schedule.step(now, input, budget.scheduleState), ([state, , decision]) => {
    const stepped = { ...next, scheduleState: state }
    if (ScheduleDecision.isDone(decision)) return [stepped, { _tag: "Exhausted", cause }] as const
    let delay = Duration.millis(Math.max(0, ScheduleIntervals.start(decision.intervals) - now))
    if (Option.isSome(retryAfter) && Duration.greaterThan(retryAfter.value, Duration.zero)) {
      delay = Duration.min(retryAfter.value, policy.retryAfterMax)
    }
    return [stepped, { _tag: "Retry", cause, delay }] as const
  })
}

const stop: Verdict = { _tag: "Stop" }

/**
 * The total deadline of a call, as the retry loop sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Deadline {
  /** When it passes, in the clock's ms. */
  readonly at: number
  /** Its length in ms (for messages). */
  readonly total: number
}

/**
 * How the retry loop reads and releases a response.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exchange<A> {
  readonly status: (response: A) => number
  readonly headers: (response: A) => Headers.Headers
  readonly close: (response: A) => Effect.Effect<void>
}

/**
 * Options of `retrying`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryingOptions {
  /** The call's total deadline (read before each wait): a wait that would pass it fails at once with `Timeout`. */
  readonly deadline?: (() => Deadline | undefined) | undefined
  /** Runs before each wait (metrics, logs). */
  readonly onRetry?: ((attempt: RequestError.RetryAttempt) => Effect.Effect<void>) | undefined
}

/**
 * Send `request` by the policy: `send(attempt)` is one attempt (1-based). A response to retry is
 * released before the wait. `deadline`: a wait that would pass it fails at once with `Timeout`.
 * `onRetry` runs before each wait (metrics, logs).
 *
 * @since 0.1.0
 * @category combinators
 */
export const retrying = <A>(
  policy: Policy,
  request: PreparedRequest.PreparedRequest,
  send: (attempt: number) => Effect.Effect<A, RequestError.RequestError>,
  exchange: Exchange<A>,
  options?: RetryingOptions
): Effect.Effect<A, RequestError.RequestError> => {
  const methodAllowed = isMethodAllowed(policy, request.method)
  // The fast path: a first attempt whose response is not retryable costs one check.
  const first = send(1)
  const maybeRetry = (response: A): boolean => {
    if (!methodAllowed) return false
    const status = exchange.status(response)
    return policy.statusForcelist.has(status) ||
      (retryAfterStatuses.has(status) && exchange.headers(response).has("retry-after"))
  }
  return Effect.matchEffect(first, {
    onFailure: (error) =>
      classify(error) === undefined ? Effect.fail(error) : loop(policy, request, send, exchange, options, {
        _tag: "Failure",
        error
      }),
    onSuccess: (response) =>
      maybeRetry(response)
        ? loop(policy, request, send, exchange, options, { _tag: "Response", response })
        : Effect.succeed(response)
  })
}

type Result<A> =
  | { readonly _tag: "Failure"; readonly error: RequestError.RequestError }
  | { readonly _tag: "Response"; readonly response: A }

const loop = <A>(
  policy: Policy,
  request: PreparedRequest.PreparedRequest,
  send: (attempt: number) => Effect.Effect<A, RequestError.RequestError>,
  exchange: Exchange<A>,
  options: RetryingOptions | undefined,
  firstResult: Result<A>
): Effect.Effect<A, RequestError.RequestError> =>
  Effect.gen(function*() {
    const attempts: Array<RequestError.RetryAttempt> = []
    let budget = initialBudget(policy)
    let result = firstResult
    for (let attempt = 1;; attempt++) {
      const outcome: Outcome = result._tag === "Failure"
        ? result
        : { _tag: "Status", status: exchange.status(result.response), headers: exchange.headers(result.response) }
      const now = yield* Clock.currentTimeMillis
      const [next, verdict] = yield* judge(policy, budget, outcome, request, now)
      budget = next
      if (verdict._tag === "Stop") {
        return result._tag === "Failure" ? yield* Effect.fail(result.error) : result.response
      }
      const record: RequestError.RetryAttempt = {
        attempt,
        cause: verdict.cause,
        status: outcome._tag === "Status" ? outcome.status : undefined,
        error: result._tag === "Failure" ? result.error.message : undefined,
        delayMillis: verdict._tag === "Retry" ? Duration.toMillis(verdict.delay) : 0
      }
      attempts.push(record)
      if (verdict._tag === "Exhausted") {
        if (result._tag === "Failure") return yield* Effect.fail(result.error)
        if (!policy.raiseOnStatus) return result.response
        yield* exchange.close(result.response)
        return yield* retryError(
          request,
          attempts,
          `too many ${outcome._tag === "Status" ? outcome.status : ""} error responses`,
          {
            response: result.response as RequestError.RetryError["response"]
          }
        )
      }
      if (result._tag === "Response") yield* exchange.close(result.response)
      const deadline = options?.deadline?.()
      if (deadline !== undefined && now + Duration.toMillis(verdict.delay) >= deadline.at) {
        return yield* new RequestError.Timeout({
          message: `The total deadline of ${deadline.total} ms would pass before retry ${attempt} of ${
            describeRequest(request)
          } (in ${Duration.toMillis(verdict.delay)} ms)`,
          phase: "total",
          request,
          cause: result._tag === "Failure" ? result.error : undefined
        })
      }
      if (options?.onRetry !== undefined) yield* options.onRetry(record)
      if (Duration.greaterThan(verdict.delay, Duration.zero)) yield* Effect.sleep(verdict.delay)
      result = yield* Effect.match(send(attempt + 1), {
        onFailure: (error): Result<A> => ({ _tag: "Failure", error }),
        onSuccess: (response): Result<A> => ({ _tag: "Response", response })
      })
    }
  })

/**
 * What to do with a redirect when `followed` redirects were already followed in the chain:
 * follow it, return it (the `redirect` counter ran out and `raiseOnRedirect` is off), or fail.
 *
 * @since 0.1.0
 * @category combinators
 */
export const onRedirect = (policy: Policy | undefined, followed: number): "follow" | "return" | "raise" => {
  if (policy === undefined || policy.redirect === undefined) return "follow"
  if (policy.redirect !== false && followed < policy.redirect) return "follow"
  return policy.redirect === false || !policy.raiseOnRedirect ? "return" : "raise"
}

/**
 * The `RetryError` for a chain whose `redirect` counter ran out: one attempt per redirect, the
 * last redirect attached.
 *
 * @since 0.1.0
 * @category constructors
 */
export const redirectError = (
  request: PreparedRequest.PreparedRequest,
  history: ReadonlyArray<Response.Head>,
  response: Response.Head
): RequestError.RetryError =>
  retryError(
    request,
    [...history, response].map((hop, i) => ({ attempt: i + 1, cause: "redirect", status: hop.status, delayMillis: 0 })),
    "too many redirects",
    { response }
  )

/**
 * The whole policy as a `Schedule` over failures, for `Effect.retry` around any call (a whole
 * `Session.post(...)` chain, `raiseForStatus` included): the counters, the allowed methods (from the
 * failure's request), `Retry-After` from a failure's response (`HTTPError`, `RetryError`) and the
 * backoff. Its output is the last attempt judged.
 *
 * @since 0.1.0
 * @category schedules
 */
export const schedule = (policy: Policy): Schedule.Schedule<Attempt, RequestError.RequestError> =>
  Schedule.makeWithState<Budget, RequestError.RequestError, Attempt>(
    initialBudget(policy),
    (now, error, budget) => {
      const response = error.response
      const outcome: Outcome = (error._tag === "HTTPError" || error._tag === "RetryError") && response !== undefined
        ? { _tag: "Status", status: response.status, headers: response.headers }
        : { _tag: "Failure", error }
      return Effect.map(judge(policy, budget, outcome, error.request, now), ([next, verdict]) => {
        const attempt: Attempt = {
          attempt: next.failures,
          cause: verdict._tag === "Stop" ? "other" : verdict.cause,
          status: outcome._tag === "Status" ? outcome.status : undefined,
          error
        }
        return [
          next,
          attempt,
          verdict._tag === "Retry"
            ? ScheduleDecision.continueWith(ScheduleInterval.after(now + Duration.toMillis(verdict.delay)))
            : ScheduleDecision.done
        ] as const
      })
    }
  )

/**
 * A request as `RetryError` messages name it (credentials hidden).
 *
 * @internal
 */
export const describeRequest = (request: PreparedRequest.PreparedRequest): string =>
  `${request.method} ${url.displayUrl(request.url)}`

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
