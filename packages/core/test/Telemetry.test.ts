/**
 * Spans (with an in-memory tracer), metrics and trace propagation, over the in-memory adapter.
 */
import { Adapter, Auth, RequestError, Retry, Session, Telemetry } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { type Context, Effect, Fiber, Metric, MetricLabel, Option, TestClock, Tracer } from "effect"
import type { Exit } from "effect"
import { sessionWith } from "./utils/memory.js"

const seen = Effect.flatMap(Adapter.MemoryRecorder, (r) => r.requests)

/** A span that keeps everything it is told. */
class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink> = []
  readonly events: Array<string> = []
  exit: Exit.Exit<unknown, unknown> | undefined

  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    readonly kind: Tracer.SpanKind,
    startTime: bigint,
    id: number
  ) {
    this.status = { _tag: "Started", startTime }
    this.traceId = parent._tag === "Some" ? parent.value.traceId : "0af7651916cd43dd8448eb211c80319c"
    this.spanId = id.toString(16).padStart(16, "0")
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    this.exit = exit
  }

  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }

  event(name: string): void {
    this.events.push(name)
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
}

/** An in-memory tracer: every span it made, in order. */
const memoryTracer = () => {
  const spans: Array<RecordedSpan> = []
  const tracer = Tracer.make({
    span: (name, parent, context, _links, startTime, kind) => {
      const span = new RecordedSpan(name, parent, context, kind, startTime, spans.length + 1)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  return { tracer, spans }
}

const path = (request: { readonly url: string }) => new URL(request.url).pathname

/** /start redirects to /private?token=…; /private answers 503 once, then a digest challenge, then 200. */
const chain = (): Adapter.Handler => {
  let calls = 0
  return (request) => {
    if (path(request) === "/start") {
      return Effect.succeed({ status: 302, headers: { location: "/private?token=s3cret&page=2" } })
    }
    calls++
    if (calls === 1) return Effect.succeed({ status: 503, headers: { "retry-after": "1" } })
    if (!request.headers.has("authorization")) {
      return Effect.succeed({
        status: 401,
        headers: { "www-authenticate": "Digest realm=\"r\", nonce=\"abc\", qop=\"auth\"" }
      })
    }
    return Effect.succeed({ headers: { "set-cookie": "sid=secret-session; Path=/", "x-served-by": "memory" } })
  }
}

describe("spans", () => {
  it.effect("one span per call, a child per exchange: first send, redirect hop, retry, auth round trip", () =>
    Effect.gen(function*() {
      const { spans, tracer } = memoryTracer()
      const fiber = yield* Effect.fork(
        Session.get("http://api.test/start", { auth: Auth.digest("user", "pass") }).pipe(Effect.withTracer(tracer))
      )
      yield* TestClock.adjust("1 second")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.status, 200)

      const [call, ...sends] = spans
      assert.strictEqual(call!.name, "http.client GET")
      assert.strictEqual(call!.kind, "internal")
      assert.strictEqual(call!.attributes.get("http.response.status_code"), 200)
      assert.strictEqual(call!.attributes.get("http.resend_count"), 3)
      assert.strictEqual(call!.attributes.get("url.full"), "http://api.test/private?token=REDACTED&page=2")
      assert.strictEqual(call!.status._tag, "Ended")

      assert.deepStrictEqual(sends.map((s) => s.name), ["GET", "GET", "GET", "GET"])
      assert.isTrue(sends.every((s) => s.kind === "client" && Option.getOrThrow(s.parent).spanId === call!.spanId))
      assert.deepStrictEqual(sends.map((s) => s.attributes.get("effect_requests.send.reason")), [
        "initial",
        "redirect",
        "retry",
        "auth"
      ])
      assert.deepStrictEqual(sends.map((s) => s.attributes.get("http.resend_count")), [undefined, 1, 2, 3])
      assert.deepStrictEqual(sends.map((s) => s.attributes.get("http.response.status_code")), [302, 503, 401, 200])
      assert.deepStrictEqual(sends.map((s) => s.attributes.get("error.type")), [undefined, "503", "401", undefined])
      const last = sends[3]!.attributes
      assert.strictEqual(last.get("http.request.method"), "GET")
      assert.strictEqual(last.get("url.full"), "http://api.test/private?token=REDACTED&page=2")
      assert.strictEqual(last.get("server.address"), "api.test")
      assert.strictEqual(last.get("server.port"), 80)
      assert.deepStrictEqual(last.get("http.request.header.authorization"), ["<redacted>"])
      assert.deepStrictEqual(last.get("http.response.header.set-cookie"), ["<redacted>"])
      assert.deepStrictEqual(last.get("http.response.header.x-served-by"), ["memory"])
      for (const span of spans) {
        for (const value of span.attributes.values()) {
          assert.notInclude(JSON.stringify(value), "s3cret")
          assert.notInclude(JSON.stringify(value), "secret-session")
        }
      }
    }).pipe(Effect.provide(sessionWith(chain(), { retry: Retry.make(2) }))))

  it.effect("a failed call: error.type on the call and the exchange", () =>
    Effect.gen(function*() {
      const { spans, tracer } = memoryTracer()
      const error = yield* Effect.flip(Session.post("http://api.test/x").pipe(Effect.withTracer(tracer)))
      assert.strictEqual(error._tag, "ConnectionError")
      assert.deepStrictEqual(spans.map((s) => [s.name, s.attributes.get("error.type")]), [
        ["http.client POST", "ConnectionError"],
        ["POST", "ConnectionError"]
      ])
    }).pipe(Effect.provide(sessionWith(() =>
      Effect.fail(new RequestError.ConnectionError({ message: "refused", code: "ECONNREFUSED" }))
    ))))

  it.effect("no span without a tracer, with tracing: false, or with tracing disabled", () =>
    Effect.gen(function*() {
      assert.isFalse(yield* Telemetry.isTracing())
      const { spans, tracer } = memoryTracer()
      assert.isTrue(yield* Telemetry.isTracing().pipe(Effect.withTracer(tracer)))
      yield* Session.get("http://api.test/a").pipe(Effect.withTracer(tracer), Effect.withTracerEnabled(false))
      assert.strictEqual(spans.length, 0)
      yield* Session.get("http://api.test/b", {}).pipe(
        Effect.withTracer(tracer),
        Effect.provide(sessionWith(() => Effect.succeed({}), { telemetry: { tracing: false } }))
      )
      assert.strictEqual(spans.length, 0)
      yield* Session.get("http://api.test/c").pipe(Effect.withTracer(tracer))
      assert.strictEqual(spans.length, 2)
    }).pipe(Effect.provide(sessionWith(() => Effect.succeed({})))))
})

describe("propagation", () => {
  it.effect("no traceparent or b3 header leaves by default, even with a tracer and a parent span", () =>
    Effect.gen(function*() {
      const { tracer } = memoryTracer()
      yield* Session.get("http://api.test/x").pipe(Effect.withSpan("parent"), Effect.withTracer(tracer))
      yield* Session.get("http://api.test/y").pipe(Effect.withSpan("parent"))
      for (const recorded of yield* seen) {
        assert.isFalse(recorded.request.headers.has("traceparent"))
        assert.isFalse(recorded.request.headers.has("b3"))
      }
    }).pipe(Effect.provide(sessionWith(() => Effect.succeed({})))))

  it.effect("propagation: 'w3c' sends the exchange span's traceparent; 'b3' its b3", () =>
    Effect.gen(function*() {
      const { spans, tracer } = memoryTracer()
      yield* Session.get("http://api.test/x").pipe(Effect.withTracer(tracer))
      const send = spans[1]!
      const [w3c] = yield* seen
      assert.strictEqual(w3c!.request.headers.get("traceparent"), `00-${send.traceId}-${send.spanId}-01`)
      assert.isFalse(w3c!.request.headers.has("b3"))
      yield* Session.get("http://api.test/y", {}).pipe(
        Effect.withTracer(tracer),
        Effect.provide(sessionWith(() => Effect.succeed({}), { telemetry: { propagation: "b3" } })),
        Effect.flatMap(() => Effect.void)
      )
    }).pipe(Effect.provide(sessionWith(() => Effect.succeed({}), { telemetry: { propagation: "w3c" } }))))

  it.effect("b3, and propagation without tracing uses the current span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = memoryTracer()
      yield* Session.get("http://api.test/x").pipe(Effect.withTracer(tracer))
      const send = spans[1]!
      yield* Session.get("http://api.test/y").pipe(Effect.withSpan("mine"))
      const [traced, untraced] = yield* seen
      assert.strictEqual(traced!.request.headers.get("b3"), `${send.traceId}-${send.spanId}-1`)
      assert.isFalse(traced!.request.headers.has("traceparent"))
      const b3 = untraced!.request.headers.get("b3") ?? ""
      assert.match(b3, /^[0-9a-f]{32}-[0-9a-f]{16}-1$/)
    }).pipe(Effect.provide(sessionWith(() => Effect.succeed({}), { telemetry: { propagation: "b3" } }))))
})

const tags = (method: string, statusClass: string, host: string, errorType?: string) => [
  MetricLabel.make("http.request.method", method),
  MetricLabel.make("http.response.status_class", statusClass),
  MetricLabel.make("server.address", host),
  ...(errorType === undefined ? [] : [MetricLabel.make("error.type", errorType)])
]

describe("metrics", () => {
  it.effect("count and time calls by method, status class and host; count retries", () =>
    Effect.gen(function*() {
      yield* Session.get("http://metrics.test/ok")
      yield* Session.get("http://metrics.test/ok")
      yield* Session.post("http://metrics.test/missing")
      yield* Effect.flip(Session.get("http://metrics.test/down"))
      const fiber = yield* Effect.fork(Session.get("http://metrics.test/busy"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const counter = (t: ReturnType<typeof tags>) =>
        Effect.map(Metric.value(Metric.taggedWithLabels(Telemetry.requestCount, t)), (s) => s.count)
      assert.strictEqual(yield* counter(tags("GET", "2xx", "metrics.test")), 3)
      assert.strictEqual(yield* counter(tags("POST", "4xx", "metrics.test")), 1)
      assert.strictEqual(yield* counter(tags("GET", "error", "metrics.test", "ConnectionError")), 1)
      const duration = yield* Metric.value(
        Metric.taggedWithLabels(Telemetry.requestDuration, tags("GET", "2xx", "metrics.test"))
      )
      assert.strictEqual(duration.count, 3)
      assert.isAtLeast(duration.max, 1)
      const retries = yield* Metric.value(
        Metric.taggedWithLabels(Telemetry.retryCount, tags("GET", "5xx", "metrics.test"))
      )
      assert.strictEqual(retries.count, 1)
    }).pipe(Effect.provide(sessionWith(
      (() => {
        let busy = 0
        return (request) => {
          const p = path(request)
          if (p === "/missing") return Effect.succeed({ status: 404 })
          if (p === "/down") {
            return Effect.fail(new RequestError.ConnectionError({ message: "refused", code: "ECONNREFUSED" }))
          }
          if (p === "/busy" && busy++ === 0) return Effect.succeed({ status: 503, headers: { "retry-after": "1" } })
          return Effect.succeed({})
        }
      })() satisfies Adapter.Handler,
      { retry: Retry.make({ total: 1, connect: 0 }) }
    ))))

  it.effect("metrics: false records nothing", () =>
    Effect.gen(function*() {
      yield* Session.get("http://quiet.test/ok")
      const count = yield* Metric.value(
        Metric.taggedWithLabels(Telemetry.requestCount, tags("GET", "2xx", "quiet.test"))
      )
      assert.strictEqual(count.count, 0)
    }).pipe(Effect.provide(sessionWith(() => Effect.succeed({}), { telemetry: { metrics: false } }))))
})

describe("redactUrl", () => {
  it("removes credentials and the fragment, hides sensitive query values, keeps the rest", () => {
    assert.strictEqual(
      Telemetry.redactUrl("https://u:p@example.com:8443/a/b?q=1&access_token=xyz&Signature=abc#frag"),
      "https://example.com:8443/a/b?q=1&access_token=REDACTED&Signature=REDACTED"
    )
    assert.strictEqual(Telemetry.redactUrl("http://h/x?token"), "http://h/x?token")
    assert.strictEqual(
      Telemetry.redactUrl("http://h/x?session=1", new Set(["session"])),
      "http://h/x?session=REDACTED"
    )
  })
})
