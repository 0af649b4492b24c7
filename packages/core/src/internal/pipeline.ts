/**
 * The pipeline of one call: for each hop, send through the adapter mounted for the URL (inside
 * the auth flow, with the retry policy), store `Set-Cookie`, run `response` hooks, then follow
 * redirects with `Redirects.nextRequest`; finally read the body (buffered) or hand it over
 * (streamed). Also `resolveRedirects` as a Stream of hops.
 *
 * The common call (buffered, no hooks, no auth flow, no retry policy, no tracing) takes a lean
 * path: one transport call and one `Response`, with no intermediate response objects. At the
 * first thing it does not handle (a redirect, say) it hands the exchange to the general loop, so
 * both paths have the same behaviour.
 *
 * @internal
 */
import { Clock, Context, DefaultServices, Duration, Effect, Option, Stream } from "effect"
import type * as Adapter from "../Adapter.js"
import * as Auth from "../Auth.js"
import type * as CookieJar from "../CookieJar.js"
import * as Environment from "../Environment.js"
import * as Hooks from "../Hooks.js"
import type * as PreparedRequest from "../PreparedRequest.js"
import type * as Progress from "../Progress.js"
import * as Proxies from "../Proxies.js"
import * as Redirects from "../Redirects.js"
import * as RequestError from "../RequestError.js"
import * as Response from "../Response.js"
import * as Retry from "../Retry.js"
import type * as Session from "../Session.js"
import * as SessionConfig from "../SessionConfig.js"
import * as Telemetry from "../Telemetry.js"
import { concatBytes } from "./bytes.js"
import * as Call from "./call.js"

/** Settings resolved for one call. */
export interface Resolved {
  readonly config: SessionConfig.Config
  readonly timeout: SessionConfig.Timeout
  readonly allowRedirects: boolean
  /** Session and request proxies (the environment is added per hop). */
  readonly proxies: Proxies.Proxies
  readonly verify: boolean | string
  readonly cert: Adapter.Cert | undefined
  readonly policy: Redirects.Policy
  readonly onDownloadProgress: Progress.Handler | undefined
  /** This call's state: its total deadline, telemetry and retry policy (see `internal/call`). */
  readonly call: Call.Call
}

/** What the pipeline needs from the session. */
export interface Parts {
  readonly registry: Adapter.Registry
  readonly jar: CookieJar.Service
  readonly environment: Environment.Settings
  readonly netrc: (host: string) => Effect.Effect<Option.Option<readonly [string, string]>>
  readonly netrcMayMatch: () => boolean
}

/** Most bytes read from an intermediate (redirect, auth) response before it is released. */
const DRAIN_LIMIT = 1024 * 1024

const REDIRECT_STATI = new Set([301, 302, 303, 307, 308])

const noHistory: ReadonlyArray<Response.Response> = []

/** Merged redirect policies, per settings value. */
const policies = new WeakMap<SessionConfig.Config, Redirects.Policy>()
const policyOf = (config: SessionConfig.Config): Redirects.Policy => {
  let policy = policies.get(config)
  if (policy === undefined) {
    const custom = config.redirects
    policy = custom.getRedirectTarget === undefined && custom.rebuildMethod === undefined &&
        custom.shouldStripAuth === undefined
      ? Redirects.defaultPolicy
      : { ...Redirects.defaultPolicy, ...custom }
    policies.set(config, policy)
  }
  return policy
}

/** Build the pipeline of one session. */
export const make = (parts: Parts) => {
  const { environment, jar, netrc, netrcMayMatch, registry } = parts
  const envHasProxies = Object.keys(environment.proxies).length > 0

  /** The settings of one call (requests' `merge_environment_settings` for verify and cert). */
  const resolve = (
    config: SessionConfig.Config,
    options: Session.SendOptions
  ): Resolved | RequestError.InvalidRequest => {
    const timeout = SessionConfig.normalizeTimeoutSync(options.timeout, config.timeout)
    if (timeout instanceof RequestError.InvalidRequest) return timeout
    return {
      config,
      timeout,
      allowRedirects: options.allowRedirects ?? true,
      proxies: options.proxies === undefined ? config.proxies : Proxies.merge(config.proxies, options.proxies),
      verify: Environment.resolveVerify(options.verify ?? config.verify, config.trustEnv, environment),
      cert: options.cert === null ? undefined : options.cert ?? config.cert,
      policy: policyOf(config),
      onDownloadProgress: options.onDownloadProgress,
      call: Call.make()
    }
  }

  /** The proxy for one hop (explicit proxies, then the environment's), with `Auth.proxy` credentials. */
  const proxyFor = (request: PreparedRequest.PreparedRequest, resolved: Resolved): string | undefined => {
    if ((!resolved.config.trustEnv || !envHasProxies) && isEmptyRecord(resolved.proxies)) return undefined
    const proxy = Environment.proxyFor(request.url, resolved.proxies, resolved.config.trustEnv, environment)
    return proxy === undefined ? undefined : Auth.proxyUrl(proxy, request.auth)
  }

  const sendOptionsFor = (request: PreparedRequest.PreparedRequest, resolved: Resolved): Adapter.SendOptions => ({
    timeout: { connect: resolved.timeout.connect, read: resolved.timeout.read },
    verify: resolved.verify,
    cert: resolved.cert,
    proxy: proxyFor(request, resolved),
    limits: resolved.config.limits
  })

  const noAdapter = (url: string) =>
    new RequestError.InvalidSchema({ message: `No connection adapters were found for ${JSON.stringify(url)}`, url })

  /** Store a response's cookies in the jar (nothing to do without `Set-Cookie`). */
  const storeCookies = (url: string, raw: Adapter.RawResponse): Effect.Effect<void> => {
    const lines = raw.headers.getAll("set-cookie")
    return lines.length === 0 ? Effect.void : jar.extract(url, lines)
  }

  const headFields = (
    wire: PreparedRequest.PreparedRequest,
    raw: Adapter.RawResponse,
    elapsedNanos: bigint
  ): Response.HeadFields => ({
    status: raw.status,
    reason: raw.reason,
    url: wire.url,
    headers: raw.headers,
    history: noHistory,
    elapsed: Duration.nanos(elapsedNanos),
    timings: raw.timings,
    request: wire,
    next: Option.none()
  })

  /** Send one request through the adapter (no auth flow, no redirects), with retries; store its cookies. */
  const sendRaw = (
    request: PreparedRequest.PreparedRequest,
    resolved: Resolved
  ): Effect.Effect<Response.StreamingResponse, RequestError.RequestError> =>
    Effect.suspend(() => {
      const mounted = registry.lookup(request.url)
      if (mounted === undefined) return Effect.fail(noAdapter(request.url))
      // `Adapter.withRetry`: the mount's policy replaces the session's, and the loop runs here.
      const transport = mounted.retry?.transport ?? mounted
      const options = sendOptionsFor(request, resolved)
      const { call, config } = resolved
      const once = (attempt: number) =>
        Telemetry.exchange(request, attempt, call, config.telemetry, (wire) =>
          Effect.clockWith((clock) => {
            const start = clock.unsafeCurrentTimeNanos()
            return Effect.flatMap(Call.send(transport, wire, options, call, resolved.timeout.total), (raw) => {
              const response = new Response.StreamingResponse({
                ...headFields(wire, raw, clock.unsafeCurrentTimeNanos() - start),
                source: raw.body
              })
              return Effect.as(storeCookies(wire.url, raw), response)
            })
          }))
      const policy = mounted.retry?.policy ?? config.retry
      if (policy === undefined) return once(1)
      call.policy = policy
      return Retry.retrying(policy, request, once, Call.responseExchange, {
        deadline: () => call.deadline,
        onRetry: (attempt) => Telemetry.countRetry(request, attempt, config.telemetry)
      })
    })

  /** Read at most DRAIN_LIMIT bytes of an intermediate response, then release it. */
  const drain = (
    response: Response.StreamingResponse,
    history: ReadonlyArray<Response.Response>
  ): Effect.Effect<Response.Response> => {
    const finish = (content: Uint8Array) =>
      new Response.Response({ ...response.fields, history: history.length === 0 ? noHistory : [...history], content })
    const declared = Number(response.headers.get("content-length"))
    // A body of known, bounded size is read whole (no Stream machinery); any failure leaves it empty.
    if (response.headers.get("content-length") !== undefined && declared >= 0 && declared <= DRAIN_LIMIT) {
      return response.bytes.pipe(
        Effect.map(finish),
        Effect.catchAll(() => Effect.as(response.close, finish(new Uint8Array(0))))
      )
    }
    return Effect.gen(function*() {
      let size = 0
      let complete = true
      const chunks: Array<Uint8Array> = []
      yield* response.body.pipe(
        Stream.takeWhile((chunk) => {
          size += chunk.length
          if (size > DRAIN_LIMIT) {
            complete = false
            return false
          }
          chunks.push(chunk)
          return true
        }),
        Stream.runDrain,
        Effect.catchAll(() => Effect.sync(() => (complete = false)))
      )
      yield* response.close
      return finish(complete && chunks.length > 0 ? concatBytes(chunks, size) : new Uint8Array(0))
    })
  }

  /** One hop: the auth flow (if any) around `sendRaw`. Responses the flow does not return go to `extra`. */
  const sendHop = (
    request: PreparedRequest.PreparedRequest,
    resolved: Resolved,
    extra: Array<Response.Response>
  ): Effect.Effect<Response.StreamingResponse, RequestError.RequestError> => {
    const flow = request.auth?.flow
    if (flow === undefined || request.chain.stripped.has("authorization")) return sendRaw(request, resolved)
    return Effect.gen(function*() {
      const created: Array<Response.StreamingResponse> = []
      // A response is drained (bounded) and released before the flow's next send, so a retry
      // can reuse its connection; the drained copy goes to history.
      const drained = new Map<Response.StreamingResponse, Response.Response>()
      const settle = Effect.forEach(
        created,
        (r) => drained.has(r) ? Effect.void : Effect.map(drain(r, []), (d) => void drained.set(r, d)),
        { discard: true }
      )
      const send: Auth.Send = (req) =>
        Effect.gen(function*() {
          yield* settle
          const withCookies = created.length === 0 ? req : yield* Redirects.rebuildCookies(req, jar)
          const response = yield* sendRaw(withCookies, resolved)
          created.push(response)
          return response
        })
      const result = yield* flow(request, send).pipe(
        Effect.onError(() => Effect.forEach(created, (r) => r.close, { discard: true }))
      )
      for (const response of created) {
        if (response !== result) extra.push(drained.get(response) ?? (yield* drain(response, extra)))
      }
      const settled = drained.get(result)
      return settled === undefined ? result : Response.toStreaming(settled)
    })
  }

  const rebuildContext = (resolved: Resolved): Redirects.Context => ({
    jar,
    trustEnv: resolved.config.trustEnv,
    netrc,
    netrcMayMatch,
    env: resolved.config.trustEnv ? environment : Environment.empty,
    proxies: resolved.proxies
  })

  const finalFields = (head: Response.Head): Response.HeadFields => ({
    status: head.status,
    reason: head.reason,
    url: head.url,
    headers: head.headers,
    history: head.history,
    elapsed: head.elapsed,
    timings: head.timings,
    request: head.request,
    next: head.next,
    encoding: head.encoding
  })

  /**
   * The general loop. In buffered mode the result is a `Response`; in stream mode the final hop is
   * returned unread (its release is the caller's), every other hop is drained and released here.
   * `first`, when given, is the first hop's response, already sent (by the lean path).
   */
  const general = <Mode extends "buffered" | "stream">(
    initial: PreparedRequest.PreparedRequest,
    resolved: Resolved,
    mode: Mode,
    tracked: { current: Response.StreamingResponse | undefined },
    first: Response.StreamingResponse | undefined
  ): Effect.Effect<Response.Head, RequestError.RequestError> =>
    Effect.gen(function*() {
      let request = initial
      let pending = first
      const history: Array<Response.Response> = []
      while (true) {
        let current: Response.StreamingResponse
        if (pending !== undefined) {
          current = pending
          pending = undefined
        } else {
          // `request` hooks run on every hop's request, before its auth flow (httpx's event hooks).
          if (request.hooks.request.length > 0) request = yield* Hooks.dispatchRequest(request.hooks, request)
          const extra: Array<Response.Response> = []
          current = yield* sendHop(request, resolved, extra)
          for (const r of extra) {
            history.push(new Response.Response({ ...r.fields, history: [...history], content: r.content }))
          }
        }
        tracked.current = current
        const target = resolved.allowRedirects ? resolved.policy.getRedirectTarget(current) : Option.none()
        // Buffer before hooks: a hop to follow is drained (bounded); a buffered final hop is read whole.
        let drained: Response.Response | undefined
        /** The final hop's body, read without a `Response` when no hook needs one. */
        let content: Uint8Array | undefined
        let head: Response.Head
        if (Option.isSome(target)) {
          head = drained = yield* drain(current, history)
        } else {
          const tracked = Response.trackProgress(current, resolved.onDownloadProgress)
          if (mode === "stream") head = tracked
          else if (request.hooks.response.length === 0) [head, content] = [tracked, yield* tracked.bytes]
          else head = yield* tracked.buffer
        }
        if (request.hooks.response.length > 0) head = yield* Hooks.dispatchResponse(request.hooks, head)
        const follow = resolved.allowRedirects ? resolved.policy.getRedirectTarget(head) : Option.none()
        if (Option.isSome(follow)) {
          const buffered = Response.isResponse(head)
            ? head
            : yield* drain(head as Response.StreamingResponse, history)
          if (history.length >= resolved.config.maxRedirects) {
            return yield* new RequestError.TooManyRedirects({
              message: `Exceeded ${resolved.config.maxRedirects} redirects.`,
              request,
              response: new Response.Response({ ...buffered.fields, history: [...history], content: buffered.content })
            })
          }
          // A retry policy's `redirect` counter (urllib3): follow, return this redirect, or fail.
          const byPolicy = Retry.onRedirect(resolved.call.policy, history.length)
          if (byPolicy === "raise") return yield* Retry.redirectError(request, history, buffered)
          const next = byPolicy === "return"
            ? Option.none()
            : yield* Redirects.nextRequest(buffered, request, rebuildContext(resolved), resolved.policy)
          if (Option.isSome(next)) {
            const proceed = request.hooks.redirect.length === 0 || (yield* Hooks.dispatchRedirect(request.hooks, {
              response: buffered,
              next: next.value.request
            }))
            if (proceed) {
              history.push(
                buffered === drained
                  ? buffered
                  : new Response.Response({ ...buffered.fields, history: [...history], content: buffered.content })
              )
              request = next.value.request
              continue
            }
          }
          head = buffered
        }
        // The final response: attach history, and `next` when redirects were not followed.
        let nextRequest = Option.none<PreparedRequest.PreparedRequest>()
        if (!resolved.allowRedirects && head.isRedirect) {
          const next = yield* Redirects.nextRequest(head, request, rebuildContext(resolved), resolved.policy).pipe(
            Effect.catchAll(() => Effect.succeed(Option.none()))
          )
          nextRequest = Option.map(next, (n) => n.request)
        }
        const fields = {
          ...finalFields(head),
          history: history.length === 0 ? noHistory : [...history],
          next: nextRequest
        }
        if (mode === "buffered") {
          const bytes = Response.isResponse(head)
            ? head.content
            : content ?? (yield* (head as Response.StreamingResponse).bytes)
          return new Response.Response({ ...fields, content: bytes })
        }
        if (Response.isStreamingResponse(head)) return head.withFields(fields)
        return Response.toStreaming(new Response.Response({ ...fields, content: (head as Response.Response).content }))
      }
    })

  /** Whether the lean path may take this call (checked again once tracing is known). */
  const lean = (initial: PreparedRequest.PreparedRequest, resolved: Resolved): boolean =>
    Hooks.isEmpty(initial.hooks) && initial.auth?.flow === undefined && resolved.onDownloadProgress === undefined &&
    resolved.policy === Redirects.defaultPolicy

  /** How the retry loop reads and releases a raw exchange. */
  const rawExchange: Retry.Exchange<Adapter.RawResponse> = {
    status: (raw) => raw.status,
    headers: (raw) => raw.headers,
    close: (raw) => raw.body.close
  }

  /**
   * The lean path: each hop is one raw exchange (with the retry policy, if any); redirects are
   * followed here with the same rules as `general` (history snapshots, `maxRedirects`, the retry
   * policy's redirect counter), intermediate bodies drained as there, and the final body read
   * whole into the one `Response` returned. It hands over to `general` when the tracing state asks
   * for spans, or for a redirect that is not followed (`next`).
   */
  const leanChain = (
    initial: PreparedRequest.PreparedRequest,
    resolved: Resolved,
    tracked: { current: Response.StreamingResponse | undefined },
    release: (
      effect: Effect.Effect<Response.Head, RequestError.RequestError>
    ) => Effect.Effect<Response.Head, RequestError.RequestError>
  ): Effect.Effect<Response.Head, RequestError.RequestError> =>
    Effect.withFiberRuntime((fiber) => {
      const { call, config } = resolved
      if (call.tracing !== false || config.telemetry.propagation !== "none") {
        return release(general(initial, resolved, "buffered", tracked, undefined))
      }
      const clock = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Clock.Clock)
      const total = resolved.timeout.total
      const history: Array<Response.Response> = []

      const hop = (
        request: PreparedRequest.PreparedRequest
      ): Effect.Effect<Response.Head, RequestError.RequestError> => {
        const mounted = registry.lookup(request.url)
        if (mounted === undefined) return Effect.fail(noAdapter(request.url))
        const transport = mounted.retry?.transport ?? mounted
        const options = sendOptionsFor(request, resolved)
        let start = clock.unsafeCurrentTimeNanos()
        let elapsed = BigInt(0)
        const once = (attempt: number): Effect.Effect<Adapter.RawResponse, RequestError.RequestError> => {
          if (attempt > 1) start = clock.unsafeCurrentTimeNanos()
          const now = total === undefined ? undefined : clock.unsafeCurrentTimeMillis()
          return Effect.flatMap(Call.send(transport, request, options, call, total, now), (raw) => {
            elapsed = clock.unsafeCurrentTimeNanos() - start
            return raw.headers.has("set-cookie") ? Effect.as(storeCookies(request.url, raw), raw) : Effect.succeed(raw)
          })
        }
        const policy = mounted.retry?.policy ?? config.retry
        let sent: Effect.Effect<Adapter.RawResponse, RequestError.RequestError>
        if (policy === undefined) {
          sent = once(1)
        } else {
          call.policy = policy
          sent = Retry.retrying(policy, request, once, rawExchange, {
            deadline: () => call.deadline,
            onRetry: (attempt) => Telemetry.countRetry(request, attempt, config.telemetry)
          })
        }
        return Effect.flatMap(sent, (raw) => {
          const isRedirect = REDIRECT_STATI.has(raw.status) && raw.headers.has("location")
          if (isRedirect && !resolved.allowRedirects) {
            // `next` is computed by the general loop: continue there with this exchange.
            const first = new Response.StreamingResponse({ ...headFields(request, raw, elapsed), source: raw.body })
            tracked.current = first
            return release(general(request, resolved, "buffered", tracked, first))
          }
          const done = (content: Uint8Array) =>
            new Response.Response({
              status: raw.status,
              reason: raw.reason,
              url: request.url,
              headers: raw.headers,
              history: history.length === 0 ? noHistory : [...history],
              elapsed: Duration.nanos(elapsed),
              timings: raw.timings,
              request,
              next: Option.none(),
              content
            })
          if (isRedirect) {
            return Effect.flatMap(drainRaw(raw, request, elapsed, done), (entry) => follow(request, entry))
          }
          // A small body usually arrives with the headers: then no Effect is needed to read it.
          const ready = raw.body.unsafeReadIfDone?.()
          if (ready !== undefined) return Effect.succeed(done(ready))
          return Effect.onError(Effect.map(raw.body.readAll, done), () => raw.body.close)
        })
      }

      /** After a redirect response (`entry`, drained): follow it, or end the chain with it. */
      const follow = (
        request: PreparedRequest.PreparedRequest,
        entry: Response.Response
      ): Effect.Effect<Response.Head, RequestError.RequestError> => {
        if (history.length >= config.maxRedirects) {
          return Effect.fail(
            new RequestError.TooManyRedirects({
              message: `Exceeded ${config.maxRedirects} redirects.`,
              request,
              response: entry
            })
          )
        }
        const byPolicy = Retry.onRedirect(call.policy, history.length)
        if (byPolicy === "raise") return Retry.redirectError(request, history, entry)
        if (byPolicy === "return") return Effect.succeed(entry)
        return Effect.flatMap(
          Redirects.nextRequest(entry, request, rebuildContext(resolved), resolved.policy),
          (next) => {
            if (Option.isNone(next)) return Effect.succeed(entry)
            history.push(entry)
            return hop(next.value.request)
          }
        )
      }

      return hop(initial)
    })

  /** Drain an intermediate response's body (bounded, as `drain`) into its history entry. */
  const drainRaw = (
    raw: Adapter.RawResponse,
    request: PreparedRequest.PreparedRequest,
    elapsed: bigint,
    entry: (content: Uint8Array) => Response.Response
  ): Effect.Effect<Response.Response> => {
    const ready = raw.body.unsafeReadIfDone?.()
    if (ready !== undefined) return Effect.succeed(entry(ready))
    const length = raw.headers.get("content-length")
    const declared = Number(length)
    if (length !== undefined && declared >= 0 && declared <= DRAIN_LIMIT) {
      return raw.body.readAll.pipe(
        Effect.map(entry),
        Effect.catchAll(() => Effect.as(raw.body.close, entry(new Uint8Array(0)))),
        Effect.onInterrupt(() => raw.body.close)
      )
    }
    const streaming = new Response.StreamingResponse({ ...headFields(request, raw, elapsed), source: raw.body })
    return Effect.map(drain(streaming, []), (drained) => entry(drained.content)).pipe(
      Effect.onInterrupt(() => raw.body.close)
    )
  }

  /** The whole call (see the module docs). */
  const execute = <Mode extends "buffered" | "stream">(
    initial: PreparedRequest.PreparedRequest,
    resolved: Resolved,
    mode: Mode
  ): Effect.Effect<
    Mode extends "buffered" ? Response.Response : Response.StreamingResponse,
    RequestError.RequestError
  > => {
    const tracked: { current: Response.StreamingResponse | undefined } = { current: undefined }
    // Release the last hop the general loop saw on failure (and, buffered, always: a no-op once
    // its body was read). The lean path releases its own exchanges.
    const release = (effect: Effect.Effect<Response.Head, RequestError.RequestError>) =>
      Effect.onExit(effect, (exit) =>
        (exit._tag === "Failure" || mode === "buffered") && tracked.current !== undefined
          ? tracked.current.close
          : Effect.void)
    const total = resolved.timeout.total
    const chain = mode === "buffered" && lean(initial, resolved)
      ? leanChain(initial, resolved, tracked, release)
      : total === undefined
      ? release(general(initial, resolved, mode, tracked, undefined))
      : Call.bounded(release(general(initial, resolved, mode, tracked, undefined)), resolved.call, total, initial)
    // The total deadline is enforced per exchange (see `internal/call`); spans and metrics wrap the call.
    const released = Telemetry.call(initial, resolved.call, resolved.config.telemetry, chain)
    const result = initial.hooks.error.length === 0
      ? released
      : Effect.tapError(released, (error) => Hooks.dispatchError(initial.hooks, error, initial))
    return result as any
  }

  /** requests' `resolve_redirects`: each hop as `execute` runs it, as a Stream of buffered responses. */
  const resolveRedirects = (
    response: Response.Head,
    prepared: PreparedRequest.PreparedRequest,
    resolved: Resolved
  ): Stream.Stream<Response.Response, RequestError.RequestError> =>
    Stream.unwrap(Effect.gen(function*() {
      const config = resolved.config
      const context = rebuildContext(resolved)
      const first = Response.isStreamingResponse(response)
        ? yield* drain(response, [])
        : response as Response.Response
      type State = {
        readonly response: Response.Response
        readonly request: PreparedRequest.PreparedRequest
        readonly history: ReadonlyArray<Response.Response>
      }
      return Stream.unfoldEffect<State | undefined, Response.Response, RequestError.RequestError, never>(
        { response: first, request: prepared, history: [] },
        (state) =>
          Effect.gen(function*() {
            if (state === undefined) return Option.none()
            if (Option.isNone(resolved.policy.getRedirectTarget(state.response))) return Option.none()
            if (state.history.length >= config.maxRedirects) {
              return yield* new RequestError.TooManyRedirects({
                message: `Exceeded ${config.maxRedirects} redirects.`,
                request: state.request,
                response: new Response.Response({
                  ...state.response.fields,
                  history: state.history,
                  content: state.response.content
                })
              })
            }
            const byPolicy = Retry.onRedirect(resolved.call.policy ?? config.retry, state.history.length)
            if (byPolicy === "raise") return yield* Retry.redirectError(state.request, state.history, state.response)
            if (byPolicy === "return") return Option.none()
            const next = yield* Redirects.nextRequest(state.response, state.request, context, resolved.policy)
            if (Option.isNone(next)) return Option.none()
            const proceed = yield* Hooks.dispatchRedirect(state.request.hooks, {
              response: state.response,
              next: next.value.request
            })
            if (!proceed) return Option.none()
            const history = [
              ...state.history,
              new Response.Response({
                ...state.response.fields,
                history: state.history,
                content: state.response.content
              })
            ]
            const request = yield* Hooks.dispatchRequest(next.value.request.hooks, next.value.request)
            const extra: Array<Response.Response> = []
            const hop = yield* sendHop(request, resolved, extra)
            for (const r of extra) {
              history.push(new Response.Response({ ...r.fields, history: [...history], content: r.content }))
            }
            const hooked = yield* Hooks.dispatchResponse(request.hooks, yield* drainOrBuffer(hop, resolved))
            const buffered: Response.Response = Response.isStreamingResponse(hooked)
              ? yield* drainOrBuffer(hooked, resolved)
              : hooked as Response.Response
            const result = new Response.Response({ ...buffered.fields, history, content: buffered.content })
            return Option.some([result, { response: result, request, history }])
          })
      )
    }))

  const drainOrBuffer = (response: Response.StreamingResponse, resolved: Resolved) =>
    Option.isSome(resolved.policy.getRedirectTarget(response)) ? drain(response, []) : response.buffer

  return { resolve, execute, resolveRedirects }
}

const isEmptyRecord = (record: Readonly<Record<string, unknown>>): boolean => {
  for (const _ in record) return false
  return true
}
