/**
 * Retries: a policy with urllib3's `Retry` semantics, set on the session or on one mount, and the
 * same policy as an Effect `Schedule` around any call. Runs against an embedded httpbin.
 *
 *   pnpm tsx examples/src/retries.ts
 */
import { Adapter, RequestError, Response, Retry, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeSession } from "@effect-requests/node"
import { NodeRuntime } from "@effect/platform-node"
import { ConfigProvider, Console, Effect, Layer, Schedule } from "effect"

/** A Node session with an empty environment (the demo never reads the machine's proxies or netrc). */
const sessionWith = (options: NodeSession.Options) =>
  NodeSession.layer(options).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))),
    Layer.orDie
  )

const title = (text: string) => Console.log(`\n== ${text}`)
const show = (label: string, value: unknown) =>
  Console.log(`  ${label.padEnd(40)} ${typeof value === "string" ? value : JSON.stringify(value)}`)

/** A transport that refuses the first `n` connections, then hands over: a flaky network, on purpose. */
const flaky = (inner: Adapter.Transport, n: number): Adapter.Transport => {
  let refused = 0
  return {
    send: (request, options) =>
      refused++ < n
        ? Effect.fail(
          new RequestError.ConnectionError({ message: "Connection refused", code: "ECONNREFUSED", request })
        )
        : inner.send(request, options),
    close: inner.close
  }
}

const sessionPolicy = Effect.gen(function*() {
  yield* title("A policy on the session: Retry-After honoured, then RetryError with the history")
  const httpbin = yield* Httpbin.Httpbin
  const started = Date.now()
  const error = yield* Effect.flip(Session.get(httpbin.url("/fault/body?status=503&h=Retry-After:1")))
  yield* show("error", error._tag)
  if (error._tag === "RetryError") {
    yield* show("attempts (status, waited ms)", error.attempts.map((a) => [a.status, a.delayMillis]))
  }
  yield* show("took about", `${Math.round((Date.now() - started) / 100) / 10} s`)

  const post = yield* Session.post(httpbin.url("/status/503"), { json: { order: 1 } })
  yield* show("a POST answered 503 is not resent", post.status)
})

const perMount = Effect.gen(function*() {
  yield* title("A policy per mount (requests' HTTPAdapter(max_retries=...))")
  const httpbin = yield* Httpbin.Httpbin
  const base = yield* Session.getAdapter(httpbin.url("/"))
  // Requests under /anything go through a network that refuses twice, with a policy of their own.
  yield* Session.mount(
    httpbin.url("/anything"),
    Adapter.withRetry(flaky(base, 2), Retry.make({ total: 5, backoffFactor: 0.05 }))
  )
  const response = yield* Session.get(httpbin.url("/anything/orders"))
  yield* show("two refused connections, then", response.status)
})

const asSchedule = Effect.gen(function*() {
  yield* title("The policy as a Schedule around a whole call")
  const httpbin = yield* Httpbin.Httpbin
  const policy = Retry.make({ total: 2, statusForcelist: [500], backoffFactor: 0.05 })
  let calls = 0
  const result = yield* Session.get(httpbin.url("/status/500")).pipe(
    Effect.tap(() => Effect.sync(() => calls++)),
    Effect.flatMap(Response.raiseForStatus),
    Effect.retry(Retry.schedule(policy)),
    Effect.either
  )
  yield* show("raiseForStatus, retried by the policy", `${calls} calls, then ${result._tag}`)
  // Policies compose with any Schedule: here at most 2 retries, 100 ms apart.
  const custom = Retry.make({
    total: 10,
    statusForcelist: [500],
    schedule: Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(2)))
  })
  const error = yield* Effect.flip(
    Session.get(httpbin.url("/status/500")).pipe(Effect.provide(sessionWith({ retry: custom })))
  )
  yield* show("a custom schedule ends the retries", error._tag === "RetryError" ? error.attempts.length : error._tag)
})

const staleSocket = Effect.gen(function*() {
  yield* title("A kept-alive socket the server closed")
  const httpbin = yield* Httpbin.Httpbin
  yield* Session.get(httpbin.url("/fault/close-on-next"))
  const response = yield* Session.get(httpbin.url("/get"))
  yield* show("the GET is resent once on a new socket", response.status)
  yield* Session.get(httpbin.url("/fault/close-on-next"))
  const post = yield* Effect.flip(Session.post(httpbin.url("/post"), { json: { once: true } }))
  yield* show("a POST is never resent", post._tag)
}).pipe(Effect.provide(sessionWith({ adapter: { connections: 1 } })))

const program = Effect.gen(function*() {
  yield* sessionPolicy
  yield* perMount
  yield* asSchedule
  yield* staleSocket
})

program.pipe(
  Effect.provide(Layer.mergeAll(
    Httpbin.layer,
    sessionWith({ retry: Retry.make({ total: 2, statusForcelist: [502, 503], retryAfterMax: "1 second" }) })
  )),
  NodeRuntime.runMain
)
