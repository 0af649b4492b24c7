/**
 * Observability on real sockets: phase timings measured by the Node adapter, spans (with an
 * in-memory tracer) and metrics for a redirect chain against httpbin, over http and https.
 */
import { Session, Telemetry } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { makePki } from "@effect-requests/httpbin/TestCertificates"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, MetricLabel, Option, Stream, Tracer } from "effect"
import { nodeSession as session } from "./utils/layers.js"

const pki = await makePki()

interface Recorded {
  readonly name: string
  readonly kind: Tracer.SpanKind
  readonly parent: Option.Option<Tracer.AnySpan>
  readonly spanId: string
  readonly attributes: Map<string, unknown>
}

/** An in-memory tracer. */
const memoryTracer = () => {
  const spans: Array<Recorded> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span & Recorded = {
        _tag: "Span",
        name,
        kind,
        parent,
        context,
        links: Array.from(links),
        spanId: (spans.length + 1).toString(16).padStart(16, "0"),
        traceId: parent._tag === "Some" ? parent.value.traceId : "4bf92f3577b34da6a3ce929d0e0e4736",
        sampled: true,
        get status() {
          return status
        },
        attributes,
        attribute: (key, value) => void attributes.set(key, value),
        event: () => {},
        addLinks: () => {},
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
        }
      }
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  return { tracer, spans }
}

describe("timings", () => {
  it.live("a new connection has connect timings; a kept-alive one is marked reused", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const first = yield* Session.get(httpbin.url("/bytes/20000"))
      const t = first.timings!
      assert.isFalse(t.reused)
      for (const phase of ["wait", "connect", "firstByte", "body", "total"] as const) {
        assert.isAtLeast(t[phase]!, 0, phase)
      }
      assert.isUndefined(t.tls)
      assert.isAtLeast(t.total!, t.firstByte!)
      const second = yield* Session.get(httpbin.url("/get"))
      assert.isTrue(second.timings!.reused)
      assert.isUndefined(second.timings!.connect)
      // A streamed body: `body` and `total` are filled in once it has been read to its end.
      const streamed = yield* Effect.scoped(Effect.gen(function*() {
        const response = yield* Session.stream("GET", httpbin.url("/stream-bytes/100000"))
        const before = response.timings!.total
        yield* Stream.runDrain(response.body)
        return [before, response.timings!.total] as const
      }))
      assert.isUndefined(streamed[0])
      assert.isAtLeast(streamed[1]!, 0)
    }).pipe(Effect.provide(Layer.merge(Httpbin.layer, session({ adapter: { connections: 1 } })))))

  it.live("over https, the TLS handshake is timed apart from the TCP connect", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
      const response = yield* Session.get(httpbin.url("/get")).pipe(Effect.provide(session({ verify: pki.caCert })))
      const t = response.timings!
      assert.isFalse(t.reused)
      assert.isAtLeast(t.connect!, 0)
      assert.isAbove(t.tls!, 0)
    }).pipe(Effect.scoped))
})

describe("spans and metrics on real exchanges", () => {
  it.live("a redirect chain: a call span with one client span per hop, OpenTelemetry attributes", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const { spans, tracer } = memoryTracer()
      const response = yield* Session.get(httpbin.url("/redirect/2?api_key=abcdef"), {
        auth: ["user", "pass"]
      }).pipe(Effect.withTracer(tracer))
      assert.strictEqual(response.status, 200)
      const [call, ...sends] = spans
      assert.strictEqual(call!.name, "http.client GET")
      assert.deepStrictEqual(sends.map((s) => s.attributes.get("effect_requests.send.reason")), [
        "initial",
        "redirect",
        "redirect"
      ])
      assert.isTrue(sends.every((s) => s.kind === "client" && Option.getOrThrow(s.parent).spanId === call!.spanId))
      const first = sends[0]!.attributes
      assert.strictEqual(first.get("url.full"), `${httpbin.origin}/redirect/2?api_key=REDACTED`)
      assert.strictEqual(first.get("server.address"), "127.0.0.1")
      assert.strictEqual(first.get("server.port"), httpbin.port)
      assert.strictEqual(first.get("http.response.status_code"), 302)
      assert.deepStrictEqual(first.get("http.request.header.authorization"), ["<redacted>"])
      assert.strictEqual(typeof first.get("effect_requests.timing.firstByte_ms"), "number")
      assert.strictEqual(typeof first.get("effect_requests.connection.reused"), "boolean")
      assert.strictEqual(sends[2]!.attributes.get("http.resend_count"), 2)
      const recorded = yield* httpbin.requests
      assert.isTrue(recorded.every((r) => r.rawHeaders.every(([n]) => !/^(traceparent|b3)$/i.test(n))))

      const ok = yield* Metric.value(Metric.taggedWithLabels(Telemetry.requestCount, [
        MetricLabel.make("http.request.method", "GET"),
        MetricLabel.make("http.response.status_class", "2xx"),
        MetricLabel.make("server.address", "127.0.0.1")
      ]))
      assert.isAtLeast(ok.count, 1)
    }).pipe(Effect.provide(Layer.merge(Httpbin.layer, session()))))
})
