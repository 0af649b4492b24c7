/**
 * The state of one call (a request and its redirect chain): its total deadline, started at the
 * first send (at the call's start when the chain runs hooks or auth flows, see `bounded`); what telemetry keeps between exchanges; and the retry policy that applied (for its
 * `redirect` counter). Plus the deadline's enforcement for transports that do not enforce it
 * themselves: the exchange and its body are bounded by Effect timeouts on the `Clock`.
 *
 * @internal
 */
import { Clock, Effect, Stream } from "effect"
import type * as Adapter from "../Adapter.js"
import type * as PreparedRequest from "../PreparedRequest.js"
import * as RequestError from "../RequestError.js"
import type * as Response from "../Response.js"
import type * as Retry from "../Retry.js"
import type * as Telemetry from "../Telemetry.js"
import * as url from "./url.js"

/** One call's state. */
export interface Call extends Telemetry.Trace {
  deadline: Retry.Deadline | undefined
  policy: Retry.Policy | undefined
}

/** A fresh call. */
export const make = (): Call => ({
  tracing: undefined,
  sends: 0,
  lastStatus: undefined,
  deadline: undefined,
  policy: undefined
})

const PHASES: Record<RequestError.TimeoutPhase, string> = {
  connect: "while connecting",
  tls: "during the TLS handshake",
  headers: "while waiting for the response headers",
  body: "while reading the response body",
  total: "between exchanges",
  pool: "while waiting for a connection"
}

/**
 * How long after the total deadline the whole-call bound (`bounded`) fires: an exchange in flight
 * then fails first, with the phase it was in.
 */
const BACKSTOP_GRACE_MILLIS = 5

/**
 * The total deadline over a whole call whose chain runs code between its exchanges (hooks, auth
 * flows): starts the deadline now if no exchange has, and fails with `Timeout` (phase `total`,
 * "between exchanges") when it passes while none is in flight, interrupting whatever runs then.
 * The exchanges keep enforcing it themselves.
 */
export const bounded = <A>(
  effect: Effect.Effect<A, RequestError.RequestError>,
  call: Call,
  total: number,
  request: PreparedRequest.PreparedRequest
): Effect.Effect<A, RequestError.RequestError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const deadline = call.deadline ??= { at: now + total, total }
    return Effect.timeoutFail(effect, {
      duration: Math.max(0, deadline.at - now) + BACKSTOP_GRACE_MILLIS,
      onTimeout: () => timeoutError(deadline.total, request, "total")
    })
  })

/** The total-deadline error for `request`, hit in `phase`. */
export const timeoutError = (
  total: number,
  request: PreparedRequest.PreparedRequest,
  phase: RequestError.TimeoutPhase
): RequestError.Timeout =>
  new RequestError.Timeout({
    message: `The total deadline of ${total} ms passed for ${request.method} ${url.displayUrl(request.url)} (${
      PHASES[phase]
    })`,
    phase,
    request
  })

/**
 * Send one exchange within the call's total deadline (`total` ms, started at the call's first
 * send): the transport gets what is left in `options.timeout.total`, and is bounded here unless
 * it enforces it itself. Past the deadline, fails with `Timeout` before sending.
 */
export const send = (
  transport: Adapter.Transport,
  request: PreparedRequest.PreparedRequest,
  options: Adapter.SendOptions,
  call: Call,
  total: number | undefined,
  /** The current time (the `Clock`'s, in ms) when the caller already has it. */
  nowMillis?: number
): Effect.Effect<Adapter.RawResponse, RequestError.RequestError> => {
  if (total === undefined) return transport.send(request, options)
  if (nowMillis !== undefined) return sendBy(transport, request, options, call, total, nowMillis)
  return Effect.flatMap(Clock.currentTimeMillis, (now) => sendBy(transport, request, options, call, total, now))
}

const sendBy = (
  transport: Adapter.Transport,
  request: PreparedRequest.PreparedRequest,
  options: Adapter.SendOptions,
  call: Call,
  total: number,
  now: number
): Effect.Effect<Adapter.RawResponse, RequestError.RequestError> => {
  const deadline = call.deadline ??= { at: now + total, total }
  const left = deadline.at - now
  if (left <= 0) return Effect.fail(timeoutError(deadline.total, request, "total"))
  const bounded: Adapter.SendOptions = { ...options, timeout: { ...options.timeout, total: left } }
  if (transport.enforcesDeadline === true) return transport.send(request, bounded)
  return transport.send(request, bounded).pipe(
    Effect.timeoutFail({ duration: left, onTimeout: () => timeoutError(deadline.total, request, "headers") }),
    Effect.map((raw) => ({ ...raw, body: boundBody(raw.body, deadline, request) }))
  )
}

/** A body that fails with `Timeout` when the deadline passes while it is read. */
const boundBody = (
  body: Response.BodySource,
  deadline: Retry.Deadline,
  request: PreparedRequest.PreparedRequest
): Response.BodySource => {
  const expired = timeoutError(deadline.total, request, "body")
  const left = Effect.map(Clock.currentTimeMillis, (now) => Math.max(0, deadline.at - now))
  return {
    stream: Stream.interruptWhen(
      body.stream,
      Effect.flatMap(left, (millis) => Effect.zipRight(Effect.sleep(millis), Effect.fail(expired)))
    ),
    readAll: Effect.flatMap(left, (millis) =>
      millis <= 0
        ? Effect.zipRight(body.close, Effect.fail(expired))
        : Effect.timeoutFail(body.readAll, { duration: millis, onTimeout: () => expired })),
    close: body.close
  }
}

/** How the retry loop reads and releases a session response. */
export const responseExchange: Retry.Exchange<Response.StreamingResponse> = {
  status: (response) => response.status,
  headers: (response) => response.headers,
  close: (response) => response.close
}
