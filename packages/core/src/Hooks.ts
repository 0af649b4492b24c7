/**
 * Hooks: requests' `response` hook, plus Effect-native `request`, `redirect` and `error` hooks.
 *
 * - `response` runs on every hop's response (each redirect, and the final one, after its auth
 *   round trips: a digest 401 answered on the way is not seen, as in requests) and may return a
 *   replacement. As in requests, per-request `response` hooks **replace** the session's (they are
 *   not appended), so a request can silence a session hook by passing its own non-empty list.
 * - `request` runs on every hop's prepared request just before it is sent (the first request and
 *   each redirect, as httpx's event hooks) and may return a changed one. On a hop to another origin
 *   the credentials are already gone: a hook that adds them back decides that on its own (see
 *   `request.chain`).
 * - `redirect` sees each hop (the redirect response and the request about to follow it) and may
 *   stop the chain by returning `false`: the redirect response is then the result.
 * - `error` observes every failure of a request (logging, metrics); it cannot recover.
 *
 * The Effect-native hooks (`request`, `redirect`, `error`) are appended: session hooks first, then
 * the request's. A hook that dies (throws inside `Effect.sync`) fails the request with `HookError`;
 * an `error` hook that dies is ignored.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type * as PreparedRequest from "./PreparedRequest.js"
import * as RequestError from "./RequestError.js"
import type * as Response from "./Response.js"

/**
 * @since 0.1.0
 * @category models
 */
export type ResponseHook = (
  response: Response.Head
) => Effect.Effect<Response.Head | void, RequestError.RequestError>

/**
 * @since 0.1.0
 * @category models
 */
export type RequestHook = (
  request: PreparedRequest.PreparedRequest
) => Effect.Effect<PreparedRequest.PreparedRequest | void, RequestError.RequestError>

/**
 * What a redirect hook sees: the 3xx response and the request that would follow it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedirectHop {
  readonly response: Response.Head
  readonly next: PreparedRequest.PreparedRequest
}

/**
 * Return `false` to stop following; anything else follows.
 *
 * @since 0.1.0
 * @category models
 */
export type RedirectHook = (hop: RedirectHop) => Effect.Effect<boolean | void, RequestError.RequestError>

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorHook = (
  error: RequestError.RequestError,
  request: PreparedRequest.PreparedRequest | undefined
) => Effect.Effect<void>

/**
 * @since 0.1.0
 * @category models
 */
export interface Hooks {
  readonly response: ReadonlyArray<ResponseHook>
  readonly request: ReadonlyArray<RequestHook>
  readonly redirect: ReadonlyArray<RedirectHook>
  readonly error: ReadonlyArray<ErrorHook>
}

type OneOrMany<A> = A | ReadonlyArray<A>

/**
 * Hooks as users give them: one function or a list per event.
 *
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly response?: OneOrMany<ResponseHook> | undefined
  readonly request?: OneOrMany<RequestHook> | undefined
  readonly redirect?: OneOrMany<RedirectHook> | undefined
  readonly error?: OneOrMany<ErrorHook> | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const empty: Hooks = { response: [], request: [], redirect: [], error: [] }

const list = <A>(value: OneOrMany<A> | undefined): ReadonlyArray<A> =>
  value === undefined ? [] : Array.isArray(value) ? value : [value as A]

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: Input | Hooks | undefined): Hooks =>
  input === undefined
    ? empty
    : {
      response: list(input.response),
      request: list(input.request),
      redirect: list(input.redirect),
      error: list(input.error)
    }

/**
 * Merge request hooks over session hooks: `response` hooks of the request replace the session's
 * when the request gives any (requests' `merge_hooks`); the other events append.
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (request: Hooks, session: Hooks): Hooks => ({
  response: request.response.length > 0 ? request.response : session.response,
  request: [...session.request, ...request.request],
  redirect: [...session.redirect, ...request.redirect],
  error: [...session.error, ...request.error]
})

/**
 * Whether there is nothing to run.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isEmpty = (hooks: Hooks): boolean =>
  hooks.response.length === 0 && hooks.request.length === 0 && hooks.redirect.length === 0 &&
  hooks.error.length === 0

const guard = <A>(
  hook: string,
  effect: Effect.Effect<A, RequestError.RequestError>
): Effect.Effect<A, RequestError.RequestError> =>
  Effect.catchAllDefect(effect, (cause) =>
    Effect.fail(
      new RequestError.HookError({
        message: `A ${hook} hook died (the defect is in \`cause\`)`,
        hook,
        cause
      })
    ))

/** Run hooks in order, each seeing what the one before returned (`undefined` keeps the value). */
const replacing = <A>(
  kind: "request" | "response",
  hooks: ReadonlyArray<(value: A) => Effect.Effect<A | void, RequestError.RequestError>>,
  value: A
): Effect.Effect<A, RequestError.RequestError> =>
  hooks.length === 0
    ? Effect.succeed(value)
    : Effect.reduce(hooks, value, (current, hook) =>
      Effect.map(
        guard(kind, Effect.suspend(() => hook(current))),
        (next) => (next === undefined ? current : next as A)
      ))

/**
 * Run `response` hooks in order; a returned value replaces the response for the hooks after it
 * (requests' `dispatch_hook`).
 *
 * @since 0.1.0
 * @category running
 */
export const dispatchResponse = (
  hooks: Hooks,
  response: Response.Head
): Effect.Effect<Response.Head, RequestError.RequestError> => replacing("response", hooks.response, response)

/**
 * Run `request` hooks in order; a returned request replaces the current one.
 *
 * @since 0.1.0
 * @category running
 */
export const dispatchRequest = (
  hooks: Hooks,
  request: PreparedRequest.PreparedRequest
): Effect.Effect<PreparedRequest.PreparedRequest, RequestError.RequestError> =>
  replacing("request", hooks.request, request)

/**
 * Run `redirect` hooks; `false` from any of them stops the chain.
 *
 * @since 0.1.0
 * @category running
 */
export const dispatchRedirect = (
  hooks: Hooks,
  hop: RedirectHop
): Effect.Effect<boolean, RequestError.RequestError> =>
  hooks.redirect.length === 0
    ? Effect.succeed(true)
    : Effect.reduce(hooks.redirect, true, (follow, hook) =>
      follow
        ? Effect.map(guard("redirect", Effect.suspend(() => hook(hop))), (answer) => answer !== false)
        : Effect.succeed(false))

/**
 * Run `error` hooks; they observe and cannot fail.
 *
 * @since 0.1.0
 * @category running
 */
export const dispatchError = (
  hooks: Hooks,
  error: RequestError.RequestError,
  request: PreparedRequest.PreparedRequest | undefined
): Effect.Effect<void> =>
  hooks.error.length === 0 ? Effect.void : Effect.forEach(
    hooks.error,
    (hook) => Effect.catchAllDefect(Effect.suspend(() => hook(error, request)), () => Effect.void),
    { discard: true }
  )
