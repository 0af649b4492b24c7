/**
 * Retry policies (urllib3's `Retry` semantics) over the in-memory adapter, under TestClock.
 */
import { Adapter, Body, RequestError, Response, Retry, Session } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import {
  Duration,
  Effect,
  Fiber,
  Option,
  Ref,
  Schedule,
  ScheduleDecision,
  ScheduleIntervals,
  Stream,
  TestClock
} from "effect"
import { sessionWith } from "./utils/memory.js"

/** Answers in order; the last answer repeats. */
const script = (...answers: ReadonlyArray<Adapter.MemoryResponse | RequestError.RequestError>) => {
  let i = 0
  return (): Effect.Effect<Adapter.MemoryResponse, RequestError.RequestError> => {
    const answer = answers[Math.min(i++, answers.length - 1)]!
    return "_tag" in answer ? Effect.fail(answer) : Effect.succeed(answer)
  }
}

const seen = Effect.flatMap(Adapter.MemoryRecorder, (r) => r.requests)
const count = Effect.map(seen, (all) => all.length)

const unavailable = { status: 503, headers: { "retry-after": "1" }, body: "busy" }

/** Steps a schedule: the delays it asks for, in ms, for these inputs. */
const delays = (schedule: Schedule.Schedule<unknown, Retry.Attempt>, inputs: ReadonlyArray<Retry.Attempt>) =>
  Effect.gen(function*() {
    let state = schedule.initial
    const out: Array<number> = []
    for (const input of inputs) {
      const [next, , decision] = yield* schedule.step(0, input, state)
      state = next
      out.push(ScheduleDecision.isDone(decision) ? -1 : ScheduleIntervals.start(decision.intervals))
    }
    return out
  })

const attempt = (n: number): Retry.Attempt => ({ attempt: n, cause: "status", status: 503 })

describe("Retry policy", () => {
  it.effect("backoff follows urllib3: no wait first, then factor × 2^(n-1), capped", () =>
    Effect.gen(function*() {
      const schedule = Retry.backoff({ factor: 0.1, max: "500 millis" })
      assert.deepStrictEqual(yield* delays(schedule, [1, 2, 3, 4, 5].map(attempt)), [0, 200, 400, 500, 500])
      const jittered = Retry.backoff({ factor: 1, jitter: "250 millis" })
      const [first, second] = yield* delays(jittered, [1, 2].map(attempt))
      assert.strictEqual(first, 0)
      assert.isAtLeast(second!, 2000)
      assert.isBelow(second!, 2250)
    }))

  it("make: a number is Retry(total=n); counters default to total; methods are idempotent ones", () => {
    const policy = Retry.make(2)
    assert.deepStrictEqual([policy.total, policy.connect, policy.read, policy.status, policy.other], [2, 2, 2, 2, 2])
    assert.isTrue(Retry.isMethodAllowed(policy, "get"))
    assert.isFalse(Retry.isMethodAllowed(policy, "POST"))
    assert.isTrue(Retry.isMethodAllowed(Retry.make({ allowedMethods: "all" }), "POST"))
    assert.isTrue(Retry.isRetryableStatus(policy, "GET", 429, true))
    assert.isFalse(Retry.isRetryableStatus(policy, "GET", 429, false))
    assert.isFalse(Retry.isRetryableStatus(policy, "GET", 500, true))
    assert.isFalse(Retry.isRetryableStatus(Retry.make(0), "GET", 503, true))
  })

  it("classifies failures: connect before anything was sent, read after, other for TLS", () => {
    const error = (tag: string, extra: object = {}) =>
      ({ _tag: tag, message: "x", ...extra }) as RequestError.RequestError
    assert.strictEqual(Retry.classify(error("ConnectTimeout", { phase: "connect" })), "connect")
    assert.strictEqual(Retry.classify(error("ConnectionError", { code: "ECONNREFUSED" })), "connect")
    assert.strictEqual(Retry.classify(error("ConnectionError", { code: "ECONNRESET" })), "read")
    assert.strictEqual(Retry.classify(error("ConnectionError", { code: "UND_ERR_SOCKET" })), "read")
    assert.strictEqual(Retry.classify(error("ConnectionError", { code: "UND_ERR_CLOSED" })), undefined)
    assert.strictEqual(Retry.classify(error("ReadTimeout", { phase: "headers" })), "read")
    assert.strictEqual(Retry.classify(error("SSLError", { reason: "x" })), "other")
    assert.strictEqual(Retry.classify(error("Timeout", { phase: "total" })), undefined)
    assert.strictEqual(Retry.classify(error("InvalidURL", { url: "x" })), undefined)
  })

  it("parses Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z")
    assert.deepStrictEqual(Retry.parseRetryAfter("7", now), Option.some(Duration.seconds(7)))
    assert.deepStrictEqual(
      Retry.parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now),
      Option.some(Duration.millis(30_000))
    )
    assert.deepStrictEqual(Retry.parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), Option.some(Duration.zero))
    assert.isTrue(Option.isNone(Retry.parseRetryAfter("soon", now)))
    assert.isTrue(Option.isNone(Retry.parseRetryAfter(undefined, now)))
  })
})

describe("retries in a session (TestClock)", () => {
  it.effect("503 with Retry-After: 1 twice, then 200: each wait is the server's second", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Session.get("http://api.test/items"))
      yield* TestClock.adjust("0 millis")
      assert.strictEqual(yield* count, 1)
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(yield* count, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* count, 2)
      yield* TestClock.adjust("1 second")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.text, "ok")
      assert.strictEqual(yield* count, 3)
      assert.strictEqual(yield* TestClock.currentTimeMillis, 2000)
    }).pipe(Effect.provide(sessionWith(script(unavailable, unavailable, { body: "ok" }), { retry: Retry.make(3) }))))

  it.effect("a POST is not retried: neither on a listed status nor on a broken connection", () =>
    Effect.gen(function*() {
      const response = yield* Session.post("http://api.test/orders", { json: { n: 1 } })
      assert.strictEqual(response.status, 503)
      assert.strictEqual(yield* count, 1)
    }).pipe(
      Effect.provide(
        sessionWith(script(unavailable, { body: "ok" }), { retry: Retry.make({ statusForcelist: [503] }) })
      )
    ))

  it.effect("a POST whose connection broke after sending is not resent; a refused one is", () =>
    Effect.gen(function*() {
      const reset = yield* Effect.flip(Session.post("http://api.test/a", { data: "x" }))
      assert.strictEqual(reset._tag, "ConnectionError")
      assert.strictEqual(yield* count, 1)
      const refused = yield* Session.post("http://api.test/b", { data: "x" })
      assert.strictEqual(refused.status, 200)
      assert.strictEqual(yield* count, 3)
    }).pipe(Effect.provide(sessionWith(
      (() => {
        const answers = script(
          new RequestError.ConnectionError({ message: "socket hang up", code: "ECONNRESET" }),
          new RequestError.ConnectionError({ message: "refused", code: "ECONNREFUSED" }),
          { body: "ok" }
        )
        return answers
      })(),
      { retry: Retry.make(3) }
    ))))

  it.effect("allowedMethods: 'all' retries a POST", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Session.post("http://api.test/orders", { json: { n: 1 } }))
      yield* TestClock.adjust("1 second")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(yield* count, 2)
      const bodies = (yield* seen).map((r) => new TextDecoder().decode(r.body))
      assert.deepStrictEqual(bodies, ["{\"n\":1}", "{\"n\":1}"])
    }).pipe(Effect.provide(sessionWith(script(unavailable, { body: "ok" }), {
      retry: Retry.make({ allowedMethods: "all" })
    }))))

  it.effect("status retries run out: RetryError with every attempt and the last response", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.flip(Session.get("http://api.test/x")))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "RetryError")
      if (error._tag !== "RetryError") return
      assert.deepStrictEqual(error.attempts.map((a) => [a.attempt, a.cause, a.status, a.delayMillis]), [
        [1, "status", 500, 0],
        [2, "status", 500, 200],
        [3, "status", 500, 0]
      ])
      assert.strictEqual(error.response?.status, 500)
      assert.include(error.message, "too many 500 error responses")
      assert.strictEqual(yield* count, 3)
    }).pipe(Effect.provide(sessionWith(script({ status: 500 }), {
      retry: Retry.make({ total: 2, statusForcelist: [500], backoffFactor: 0.1 })
    }))))

  it.effect("a Retry-After alone (no statusForcelist): once retries run out, the last answer is returned", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Session.get("http://api.test/x"))
      yield* TestClock.adjust("10 seconds")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.status, 503)
      assert.strictEqual(response.text, "busy")
      assert.strictEqual(yield* count, 3)
    }).pipe(Effect.provide(sessionWith(script(unavailable), { retry: Retry.make(2) }))))

  it.effect("raiseOnStatus: false returns the last response instead", () =>
    Effect.gen(function*() {
      const response = yield* Session.get("http://api.test/x")
      assert.strictEqual(response.status, 502)
      assert.strictEqual(response.text, "third")
      assert.strictEqual(yield* count, 3)
    }).pipe(Effect.provide(sessionWith(
      script({ status: 502, body: "first" }, { status: 502, body: "second" }, { status: 502, body: "third" }),
      { retry: Retry.make({ total: 2, statusForcelist: [502], raiseOnStatus: false }) }
    ))))

  it.effect("a Retry-After longer than retryAfterMax is cut to it", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Session.get("http://api.test/x"))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* Fiber.join(fiber)).status, 200)
      assert.strictEqual(yield* TestClock.currentTimeMillis, 5000)
    }).pipe(Effect.provide(sessionWith(
      script({ status: 429, headers: { "retry-after": "3600" } }, {}),
      { retry: Retry.make({ retryAfterMax: "5 seconds" }) }
    ))))

  it.effect("counters: connect failures past `connect` keep their own error; read: false raises at once", () =>
    Effect.gen(function*() {
      const refused = new RequestError.ConnectionError({ message: "refused", code: "ECONNREFUSED" })
      const timeout = new RequestError.ReadTimeout({ message: "slow", phase: "headers" })
      const connect = yield* Effect.flip(
        Session.get("http://api.test/x").pipe(Effect.provide(sessionWith(script(refused), {
          retry: Retry.make({ total: 5, connect: 1 })
        })))
      )
      assert.strictEqual(connect._tag, "ConnectionError")
      const read = yield* Effect.flip(
        Effect.zip(Session.get("http://api.test/x"), count).pipe(
          Effect.provide(sessionWith(script(timeout), { retry: Retry.make({ read: false }) }))
        )
      )
      assert.strictEqual(read._tag, "ReadTimeout")
      const counted = yield* Effect.gen(function*() {
        yield* Effect.flip(Session.get("http://api.test/x"))
        return yield* count
      }).pipe(Effect.provide(sessionWith(script(refused), { retry: Retry.make({ total: 5, connect: 1 }) })))
      assert.strictEqual(counted, 2)
    }))

  it.effect("a one-shot body is never sent twice", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Session.put("http://api.test/x", { data: Stream.make(new Uint8Array([1, 2])) })
      )
      assert.strictEqual(error._tag, "RetryError")
      assert.strictEqual(yield* count, 1)
      const again = yield* Session.put("http://api.test/x", {
        data: Body.replayable(() => Stream.make(new Uint8Array([1, 2])))
      })
      assert.strictEqual(again.status, 200)
    }).pipe(Effect.provide(sessionWith(
      script({ status: 503 }, { status: 503 }, {}),
      { retry: Retry.make({ statusForcelist: [503] }) }
    ))))

  it.effect("the policy's schedule can be replaced: when it ends, retries end", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.flip(Session.get("http://api.test/x")))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "RetryError")
      assert.strictEqual(yield* count, 3)
      assert.strictEqual(yield* TestClock.currentTimeMillis, 10_000)
    }).pipe(Effect.provide(sessionWith(script({ status: 503 }), {
      retry: Retry.make({
        total: 10,
        statusForcelist: [503],
        schedule: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(2)))
      })
    }))))

  it.effect("retries count per hop: each redirect hop has its own budget", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Session.get("http://api.test/a"))
      yield* TestClock.adjust("10 seconds")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(response.history.map((r) => r.status), [302])
      assert.deepStrictEqual((yield* seen).map((r) => new URL(r.request.url).pathname), ["/a", "/a", "/b", "/b", "/b"])
    }).pipe(Effect.provide(sessionWith(
      (() => {
        const a = script(unavailable, { status: 302, headers: { location: "/b" } })
        const b = script(unavailable, unavailable, { body: "done" })
        return (request) => new URL(request.url).pathname === "/a" ? a() : b()
      })() satisfies Adapter.Handler,
      { retry: Retry.make(2) }
    ))))

  it.effect("the redirect counter: past it, RetryError, or the redirect itself with raiseOnRedirect: false", () =>
    Effect.gen(function*() {
      const hop: Adapter.Handler = (request) => {
        const n = Number(new URL(request.url).pathname.slice(1))
        return Effect.succeed(n < 5 ? { status: 302, headers: { location: `/${n + 1}` } } : { body: "end" })
      }
      const error = yield* Effect.flip(
        Session.get("http://api.test/1").pipe(Effect.provide(sessionWith(hop, { retry: Retry.make({ redirect: 2 }) })))
      )
      assert.strictEqual(error._tag, "RetryError")
      if (error._tag === "RetryError") {
        assert.deepStrictEqual(error.attempts.map((a) => [a.cause, a.status]), [["redirect", 302], ["redirect", 302], [
          "redirect",
          302
        ]])
      }
      const kept = yield* Session.get("http://api.test/1").pipe(
        Effect.provide(sessionWith(hop, { retry: Retry.make({ redirect: 2, raiseOnRedirect: false }) }))
      )
      assert.strictEqual(kept.status, 302)
      assert.strictEqual(kept.url, "http://api.test/3")
      assert.strictEqual(kept.history.length, 2)
      const unlimited = yield* Session.get("http://api.test/1").pipe(
        Effect.provide(sessionWith(hop, { retry: Retry.make(1) }))
      )
      assert.strictEqual(unlimited.text, "end")
    }))
})

describe("Adapter.withRetry: a policy per mount", () => {
  it.effect("requests under the prefix follow the mount's policy, the others the session's (none)", () =>
    Effect.gen(function*() {
      const base = yield* Session.getAdapter("http://")
      yield* Session.mount("http://api.test/", Adapter.withRetry(base, Retry.make({ statusForcelist: [503] })))
      const fiber = yield* Effect.fork(Session.get("http://api.test/x"))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(fiber)).status, 200)
      assert.strictEqual(yield* count, 2)
      const other = yield* Session.get("http://other.test/x")
      assert.strictEqual(other.status, 503)
      assert.strictEqual(yield* count, 3)
    }).pipe(Effect.provide(sessionWith(
      (() => {
        const api = script(unavailable, { body: "ok" })
        return (request) => new URL(request.url).host === "api.test" ? api() : Effect.succeed(unavailable)
      })() satisfies Adapter.Handler
    ))))

  it.effect("used alone, the wrapped transport retries by itself", () =>
    Effect.gen(function*() {
      const memory = yield* Adapter.memory(script({ status: 502 }, { status: 200 }))
      const transport = Adapter.withRetry(memory.transport, { statusForcelist: [502] })
      assert.strictEqual(transport.retry?.transport, memory.transport)
      const raw = yield* transport.send(
        yield* Session.prepareRequest({ method: "GET", url: "http://api.test/" }),
        {
          timeout: { connect: undefined, read: undefined },
          verify: true,
          cert: undefined,
          proxy: undefined,
          limits: { maxBodySize: 1e6, maxDecompressionRatio: 100, maxEncodings: 5 }
        }
      )
      assert.strictEqual(raw.status, 200)
      assert.strictEqual((yield* memory.requests).length, 2)
    }).pipe(Effect.provide(sessionWith(() => Effect.succeed({})))))
})

describe("Retry.schedule: the policy around any call", () => {
  it.effect("Effect.retry with raiseForStatus: GET retried by the policy, POST left alone", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const policy = Retry.make({ total: 3, statusForcelist: [503] })
      const fiber = yield* Effect.fork(
        Session.get("http://api.test/x").pipe(
          Effect.tap(() => Ref.update(calls, (n) => n + 1)),
          Effect.flatMap(Response.raiseForStatus),
          Effect.retry(Retry.schedule(policy))
        )
      )
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* Fiber.join(fiber)).status, 200)
      assert.strictEqual(yield* Ref.get(calls), 3)
      const post = yield* Effect.flip(
        Session.post("http://api.test/y").pipe(
          Effect.flatMap(Response.raiseForStatus),
          Effect.retry(Retry.schedule(policy))
        )
      )
      assert.strictEqual(post._tag, "HTTPError")
    }).pipe(Effect.provide(sessionWith(script(unavailable, unavailable, {}, unavailable)))))
})
