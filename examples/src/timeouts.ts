/**
 * Timeouts: requests' (connect, read) pair with a finite session default, per-request overrides,
 * and a total deadline that covers redirects, auth round trips, retries and the body. Each
 * timeout error says which phase it hit. Runs against an embedded httpbin.
 *
 *   pnpm tsx examples/src/timeouts.ts
 */
import { RequestError, Retry, Session, SessionConfig } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeSession } from "@effect-requests/node"
import { NodeRuntime } from "@effect/platform-node"
import { ConfigProvider, Console, Effect, Layer, Stream } from "effect"

const title = (text: string) => Console.log(`\n== ${text}`)
const show = (label: string, value: unknown) =>
  Console.log(`  ${label.padEnd(44)} ${typeof value === "string" ? value : JSON.stringify(value)}`)

const describe = (error: RequestError.RequestError) =>
  RequestError.isTimeout(error) ? `${error._tag} (phase ${error.phase})` : error._tag

const defaults = Effect.gen(function*() {
  yield* title("The session default (requests waits forever)")
  const render = (t: SessionConfig.Timeout) =>
    `connect ${t.connect ?? "∞"} ms, read ${t.read ?? "∞"} ms, total ${t.total ?? "none"}`
  yield* show("SessionConfig.defaultTimeout", render(SessionConfig.defaultTimeout))
  const config = yield* SessionConfig.get
  yield* show("this session", render(config.timeout))
})

const readTimeouts = Effect.gen(function*() {
  yield* title("Read timeouts: no byte for that long")
  const httpbin = yield* Httpbin.Httpbin
  const headers = yield* Effect.flip(Session.get(httpbin.url("/fault/stall-headers?ms=3000")))
  yield* show("headers that never come", describe(headers))
  const body = yield* Effect.flip(Session.get(httpbin.url("/fault/stall-body?ms=3000")))
  yield* show("a body that stalls after the headers", describe(body))
  const streamed = yield* Effect.scoped(
    Effect.flatMap(
      Session.stream("GET", httpbin.url("/fault/stall-body?ms=3000")),
      (r) => Effect.flip(Stream.runDrain(r.body))
    )
  )
  yield* show("the same, streamed", describe(streamed))
  const patient = yield* Session.get(httpbin.url("/fault/stall-body?ms=600"), { timeout: [1000, 2000] })
  yield* show("a per-request (connect, read) override", patient.status)
})

const totalDeadline = Effect.gen(function*() {
  yield* title("A total deadline")
  const httpbin = yield* Httpbin.Httpbin
  const drip = httpbin.url("/fault/drip-body?chunks=30&interval_ms=100")
  const started = Date.now()
  const slow = yield* Effect.flip(Session.get(drip, { timeout: { read: 1000, total: 800 } }))
  yield* show("a slow drip (each chunk in time, 3 s in all)", `${describe(slow)} after ~${Date.now() - started} ms`)
  const retried = yield* Effect.flip(
    Session.get(httpbin.url("/fault/body?status=503&h=Retry-After:5"), { timeout: { total: "2 seconds" } }).pipe(
      SessionConfig.locally({ retry: Retry.make(3) })
    )
  )
  yield* show("a Retry-After wait that would pass it", describe(retried))
  const hops = httpbin.url("/redirect/3")
  const ok = yield* Session.get(hops, { timeout: { total: "5 seconds" } })
  yield* show("three redirects well within 5 s", `${ok.status}, ${ok.history.length} hops`)
})

const program = Effect.gen(function*() {
  yield* defaults
  yield* readTimeouts
  yield* totalDeadline
})

program.pipe(
  Effect.provide(Layer.mergeAll(
    Httpbin.layer,
    NodeSession.layer({ timeout: { connect: "2 seconds", read: "500 millis" } }).pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
    )
  )),
  NodeRuntime.runMain
)
