/**
 * Observability: a span per call with a child span per exchange (redirect hops, retries, auth
 * round trips) using OpenTelemetry's attribute names, Effect metrics, phase timings on every
 * response, and trace-context propagation only when asked. Here a small console tracer stands in
 * for `@effect/opentelemetry`. Runs against an embedded httpbin.
 *
 *   pnpm tsx examples/src/telemetry.ts
 */
import { Auth, Retry, Session, Telemetry } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeSession } from "@effect-requests/node"
import { NodeRuntime } from "@effect/platform-node"
import { ConfigProvider, Console, Duration, Effect, Layer, Metric, MetricLabel, Option, Tracer } from "effect"

/** An empty environment: the demo never reads the machine's proxies or netrc. */
const noEnv = Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))

const title = (text: string) => Console.log(`\n== ${text}`)
const show = (label: string, value: unknown) =>
  Console.log(`  ${label.padEnd(36)} ${typeof value === "string" ? value : JSON.stringify(value)}`)

interface Finished {
  readonly name: string
  readonly id: string
  readonly parent: string | undefined
  readonly attributes: ReadonlyMap<string, unknown>
  readonly millis: number
}

/** A tracer that keeps finished spans in memory (an exporter would send them somewhere). */
const makeTracer = () => {
  const finished: Array<Finished> = []
  let next = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const id = (++next).toString(16).padStart(16, "0")
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: id,
        traceId: Option.match(parent, { onNone: () => "5c1c63257de34c67a2a1c2c7e8f7a1b0", onSome: (p) => p.traceId }),
        parent,
        context,
        links: Array.from(links),
        sampled: true,
        kind,
        get status() {
          return status
        },
        attributes,
        attribute: (key, value) => void attributes.set(key, value),
        event: () => {},
        addLinks: () => {},
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
          finished.push({
            name,
            id,
            parent: Option.getOrUndefined(Option.map(parent, (p) => p.spanId)),
            attributes,
            millis: Number(endTime - startTime) / 1e6
          })
        }
      }
      return span
    },
    context: (f) => f()
  })
  return { tracer, finished }
}

const printTree = (spans: ReadonlyArray<Finished>) =>
  Effect.forEach(
    spans.filter((s) => s.parent === undefined || !spans.some((p) => p.id === s.parent)),
    (root) =>
      Effect.gen(function*() {
        yield* Console.log(
          `  ${root.name}  ${root.attributes.get("url.full")}  → ${root.attributes.get("http.response.status_code")}`
        )
        for (const child of spans.filter((s) => s.parent === root.id)) {
          const a = child.attributes
          yield* Console.log(
            `    └ ${child.name} ${String(a.get("effect_requests.send.reason")).padEnd(8)} ${a.get("url.full")} → ${
              a.get("http.response.status_code")
            }${a.has("http.resend_count") ? `  (resend ${a.get("http.resend_count")})` : ""}`
          )
        }
      }),
    { discard: true }
  )

const spans = Effect.gen(function*() {
  yield* title("Spans: one per call, one per exchange")
  const httpbin = yield* Httpbin.Httpbin
  const { finished, tracer } = makeTracer()
  yield* Session.get(httpbin.url("/redirect/2?access_token=abc123")).pipe(Effect.withTracer(tracer))
  yield* Session.get(httpbin.url("/digest-auth/auth/user/passwd"), { auth: Auth.digest("user", "passwd") }).pipe(
    Effect.withTracer(tracer)
  )
  yield* printTree(finished)
  const exchange = finished.find((s) => s.name === "GET")!
  yield* show("attributes of the first exchange", Array.from(exchange.attributes.keys()).slice(0, 8))
  const authorization = finished.map((s) => s.attributes.get("http.request.header.authorization")).find((v) => v)
  yield* show("Authorization, as a span shows it", authorization ?? "(not sent)")
})

const propagation = Effect.gen(function*() {
  yield* title("Propagation: off unless asked")
  const httpbin = yield* Httpbin.Httpbin
  const { tracer } = makeTracer()
  const quiet = yield* Session.get(httpbin.url("/headers")).pipe(Effect.withTracer(tracer))
  yield* show("default: traceparent sent", "Traceparent" in ((yield* quiet.json) as { headers: object }).headers)
  const loud = yield* Session.get(httpbin.url("/headers")).pipe(
    Effect.withTracer(tracer),
    Effect.provide(NodeSession.layer({ telemetry: { propagation: "w3c" } }).pipe(Layer.provide(noEnv), Layer.orDie))
  )
  yield* show("propagation: 'w3c'", ((yield* loud.json) as { headers: Record<string, string> }).headers["Traceparent"])
})

const timings = Effect.gen(function*() {
  yield* title("Phase timings on every response (ms)")
  const httpbin = yield* Httpbin.Httpbin
  const round = (t: object | undefined) =>
    Object.fromEntries(
      Object.entries(t ?? {}).map(([k, v]) => [k, typeof v === "number" ? Math.round(v * 100) / 100 : v])
    )
  const first = yield* Session.get(httpbin.url("/bytes/200000"))
  yield* show("a new connection", round(first.timings))
  const second = yield* Session.get(httpbin.url("/bytes/200000"))
  yield* show("a kept-alive one", round(second.timings))
  yield* show(
    "elapsed (to the headers, as requests)",
    `${Math.round(Duration.toMillis(second.elapsed) * 100) / 100} ms`
  )
}).pipe(Effect.provide(NodeSession.layer({ adapter: { connections: 1 } }).pipe(Layer.provide(noEnv), Layer.orDie)))

const metrics = Effect.gen(function*() {
  yield* title("Metrics (Effect Metric)")
  const httpbin = yield* Httpbin.Httpbin
  yield* Session.get(httpbin.url("/status/404"))
  yield* Effect.ignore(Session.get(httpbin.url("/fault/body?status=503&h=Retry-After:0")))
  const tags = (statusClass: string) => [
    MetricLabel.make("http.request.method", "GET"),
    MetricLabel.make("http.response.status_class", statusClass),
    MetricLabel.make("server.address", "127.0.0.1")
  ]
  for (const statusClass of ["2xx", "4xx"]) {
    const count = yield* Metric.value(Metric.taggedWithLabels(Telemetry.requestCount, tags(statusClass)))
    const duration = yield* Metric.value(Metric.taggedWithLabels(Telemetry.requestDuration, tags(statusClass)))
    yield* show(
      `http.client.requests GET ${statusClass}`,
      `${count.count} calls, slowest ${Math.round(duration.max * 1000)} ms`
    )
  }
  const retries = yield* Metric.value(Metric.taggedWithLabels(Telemetry.retryCount, tags("5xx")))
  yield* show("http.client.retries GET 5xx", retries.count)
})

const program = Effect.gen(function*() {
  yield* spans
  yield* propagation
  yield* timings
  yield* metrics
})

program.pipe(
  Effect.provide(Layer.mergeAll(
    Httpbin.layer,
    NodeSession.layer({ retry: Retry.make({ total: 2, statusForcelist: [503] }) }).pipe(Layer.provide(noEnv))
  )),
  NodeRuntime.runMain
)
