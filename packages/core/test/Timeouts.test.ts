/**
 * Timeouts over the in-memory adapter, under TestClock: the session default and per-request
 * overrides as the transport sees them, read timeouts (headers, between body chunks, streamed),
 * and the total deadline across retries, redirects, auth round trips and streamed bodies.
 */
import { Adapter, Auth, RequestError, Retry, Session, SessionConfig } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, type Duration, Effect, Exit, Fiber, Stream, TestClock } from "effect"
import { sessionWith } from "./utils/memory.js"

const seen = Effect.flatMap(Adapter.MemoryRecorder, (r) => r.requests)

const ok: Adapter.Handler = () => Effect.succeed({ body: "ok" })

/** A body of `n` one-byte chunks, each `gap` after the previous one. */
const slowBody = (n: number, gap: Duration.DurationInput) =>
  Stream.range(1, n).pipe(
    Stream.mapEffect(() => Effect.as(Effect.sleep(gap), new Uint8Array([42])))
  )

/** Run `effect` in a fiber, move the TestClock by `by`, and give its exit. */
const after = <A, E>(effect: Effect.Effect<A, E, Session.Session>, by: Duration.DurationInput) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(by)
    return yield* Fiber.await(fiber)
  })

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (error === undefined) throw new Error(`expected a failure, got ${exit.cause._tag}`)
  return error
}

describe("timeouts as the transport sees them", () => {
  it.effect("the session default is 10 s to connect and 30 s to read, with no total deadline", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(SessionConfig.defaultTimeout, { connect: 10_000, read: 30_000, total: undefined })
      yield* Session.get("http://h/default")
      yield* Session.get("http://h/pair", { timeout: [1000, "2 seconds"] })
      yield* Session.get("http://h/one", { timeout: 5 })
      yield* Session.get("http://h/none", { timeout: null })
      yield* Session.get("http://h/object", { timeout: { read: 700 } })
      const timeouts = (yield* seen).map((r) => r.options.timeout)
      assert.deepStrictEqual(timeouts[0], { connect: 10_000, read: 30_000 })
      assert.deepStrictEqual(timeouts[1], { connect: 1000, read: 2000 })
      assert.deepStrictEqual(timeouts[2], { connect: 5, read: 5 })
      assert.deepStrictEqual(timeouts[3], { connect: undefined, read: undefined })
      assert.deepStrictEqual(timeouts[4], { connect: 10_000, read: 700 })
    }).pipe(Effect.provide(sessionWith(ok))))

  it.effect("a total deadline reaches the transport as the time left", () =>
    Effect.gen(function*() {
      yield* Session.get("http://h/a")
      yield* Session.get("http://h/b", { timeout: { total: "1 second" } })
      const [a, b] = (yield* seen).map((r) => r.options.timeout)
      assert.deepStrictEqual(a, { connect: 2000, read: 3000, total: 5000 })
      assert.deepStrictEqual(b, { connect: 2000, read: 3000, total: 1000 })
    }).pipe(Effect.provide(sessionWith(ok, { timeout: { connect: 2000, read: 3000, total: "5 seconds" } }))))

  it.effect("a bad timeout fails with InvalidRequest before anything is sent", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Session.get("http://h/x", { timeout: [1, 2, 3] as never }))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.strictEqual((yield* seen).length, 0)
    }).pipe(Effect.provide(sessionWith(ok))))
})

describe("read timeouts (TestClock)", () => {
  it.effect("no headers within the read timeout: ReadTimeout, phase headers", () =>
    Effect.gen(function*() {
      const exit = yield* after(Session.get("http://h/slow", { timeout: [1000, 1000] }), "1 second")
      const error = failure(exit)
      assert.strictEqual(error._tag, "ReadTimeout")
      assert.strictEqual((error as RequestError.ReadTimeout).phase, "headers")
      assert.isTrue(RequestError.isTimeout(error))
    }).pipe(Effect.provide(sessionWith(() => Effect.as(Effect.sleep("5 seconds"), { body: "late" })))))

  it.effect("a gap between body chunks longer than the read timeout: ReadTimeout, phase body", () =>
    Effect.gen(function*() {
      const exit = yield* after(Session.get("http://h/drip", { timeout: [1000, 500] }), "2 seconds")
      const error = failure(exit)
      assert.strictEqual(error._tag, "ReadTimeout")
      assert.strictEqual((error as RequestError.ReadTimeout).phase, "body")
      const quick = yield* after(Session.get("http://h/drip", { timeout: [1000, 2000] }), "10 seconds")
      assert.isTrue(Exit.isSuccess(quick))
    }).pipe(Effect.provide(sessionWith(() => Effect.succeed({ body: slowBody(3, "1 second") })))))

  it.effect("the read timeout holds on the streamed path too", () =>
    Effect.gen(function*() {
      const exit = yield* after(
        Effect.scoped(Effect.flatMap(
          Session.stream("GET", "http://h/drip", { timeout: [1000, 500] }),
          (response) => Stream.runCollect(response.body)
        )),
        "2 seconds"
      )
      const error = failure(exit)
      assert.strictEqual(error._tag, "ReadTimeout")
      assert.strictEqual((error as RequestError.ReadTimeout).phase, "body")
    }).pipe(Effect.provide(sessionWith(() => Effect.succeed({ body: slowBody(3, "1 second") })))))
})

describe("the total deadline (TestClock)", () => {
  it.effect("covers retries: a wait that would pass it fails at once with Timeout", () =>
    Effect.gen(function*() {
      const exit = yield* after(Session.get("http://h/busy"), "1 second")
      const error = failure(exit)
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual((error as RequestError.Timeout).phase, "total")
      assert.strictEqual((yield* seen).length, 2)
      assert.strictEqual(yield* TestClock.currentTimeMillis, 1000)
    }).pipe(Effect.provide(sessionWith(
      () => Effect.succeed({ status: 503, headers: { "retry-after": "1" } }),
      { retry: Retry.make(5), timeout: { total: "1500 millis" } }
    ))))

  it.effect("covers redirects: hops that together take too long", () =>
    Effect.gen(function*() {
      const exit = yield* after(Session.get("http://h/1", { timeout: { total: "1 second" } }), "1 second")
      const error = failure(exit)
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual((error as RequestError.Timeout).phase, "headers")
      assert.deepStrictEqual((yield* seen).map((r) => new URL(r.request.url).pathname), ["/1", "/2", "/3"])
    }).pipe(Effect.provide(sessionWith((request) => {
      const n = Number(new URL(request.url).pathname.slice(1))
      return Effect.as(
        Effect.sleep("400 millis"),
        n < 5 ? { status: 302, headers: { location: `/${n + 1}` } } : { body: "end" }
      )
    }))))

  it.effect("covers auth round trips", () =>
    Effect.gen(function*() {
      const exit = yield* after(
        Session.get("http://h/private", { auth: Auth.digest("user", "pass"), timeout: { total: "1 second" } }),
        "1 second"
      )
      const error = failure(exit)
      assert.strictEqual(error._tag, "Timeout")
      const requests = yield* seen
      assert.strictEqual(requests.length, 2)
      assert.isTrue(requests[1]!.request.headers.get("authorization")?.startsWith("Digest ") ?? false)
    }).pipe(Effect.provide(sessionWith((request) =>
      Effect.as(
        Effect.sleep("600 millis"),
        request.headers.has("authorization")
          ? { body: "welcome" }
          : { status: 401, headers: { "www-authenticate": "Digest realm=\"r\", nonce=\"abc\", qop=\"auth\"" } }
      )
    ))))

  it.effect("covers hooks: one that hangs between exchanges is interrupted at the deadline", () =>
    Effect.gen(function*() {
      const interrupted: Array<string> = []
      const hang = (name: string) => Effect.onInterrupt(Effect.never, () => Effect.sync(() => interrupted.push(name)))
      const response = yield* after(
        Session.get("http://h/a", { timeout: { total: "1 second" }, hooks: { response: () => hang("response") } }),
        "2 seconds"
      )
      const error = failure(response)
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual((error as RequestError.Timeout).phase, "total")
      assert.strictEqual((yield* seen).length, 1)
      const before = failure(
        yield* after(
          Session.get("http://h/b", { timeout: { total: "1 second" }, hooks: { request: () => hang("request") } }),
          "2 seconds"
        )
      )
      assert.strictEqual(before._tag, "Timeout")
      assert.strictEqual((yield* seen).length, 1, "the request hook never let the request out")
      assert.deepStrictEqual(interrupted, ["response", "request"])
      // The deadline runs from the start of the call: a slow request hook leaves less for the exchange.
      const slow = failure(
        yield* after(
          Session.get("http://h/slow", {
            timeout: { total: "1 second" },
            hooks: { request: () => Effect.sleep("800 millis") }
          }),
          "2 seconds"
        )
      )
      assert.strictEqual(slow._tag, "Timeout")
      assert.strictEqual((slow as RequestError.Timeout).phase, "headers")
    }).pipe(
      Effect.provide(
        sessionWith((request) =>
          request.url.endsWith("/slow") ? Effect.as(Effect.sleep("500 millis"), { body: "late" }) : Effect.succeed({})
        )
      )
    ))

  it.effect("bounds a streamed body read after the response came back", () =>
    Effect.gen(function*() {
      const exit = yield* after(
        Effect.scoped(Effect.gen(function*() {
          const response = yield* Session.stream("GET", "http://h/drip", { timeout: { total: "1 second" } })
          assert.strictEqual(response.status, 200)
          return yield* Stream.runCollect(response.body)
        })),
        "5 seconds"
      )
      const error = failure(exit)
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual((error as RequestError.Timeout).phase, "body")
      const buffered = failure(
        yield* after(Session.get("http://h/drip", { timeout: { total: "1 second" } }), "5 seconds")
      )
      assert.strictEqual(buffered._tag, "Timeout")
      const enough = yield* after(Session.get("http://h/drip", { timeout: { total: "10 seconds" } }), "10 seconds")
      assert.isTrue(Exit.isSuccess(enough))
    }).pipe(Effect.provide(sessionWith(() => Effect.succeed({ body: slowBody(10, "300 millis") })))))

  it.effect("bounds Session.resolveRedirects streams", () =>
    Effect.gen(function*() {
      const first = yield* Session.get("http://h/1", { allowRedirects: false })
      const exit = yield* after(
        Stream.runCollect(Session.resolveRedirects(first, first.request, { timeout: { total: "1 second" } })),
        "5 seconds"
      )
      const error = failure(exit)
      assert.strictEqual(error._tag, "Timeout")
      const all = yield* after(Stream.runCollect(Session.resolveRedirects(first, first.request)), "5 seconds")
      assert.isTrue(Exit.isSuccess(all))
      if (Exit.isSuccess(all)) {
        assert.deepStrictEqual(Chunk.toArray(all.value).map((r) => r.status), [302, 302, 302, 200])
      }
    }).pipe(Effect.provide(sessionWith((request) => {
      const n = Number(new URL(request.url).pathname.slice(1))
      return Effect.as(
        Effect.sleep(n === 1 ? "0 millis" : "400 millis"),
        n < 5 ? { status: 302, headers: { location: `/${n + 1}` } } : { body: "end" }
      )
    }))))
})
