/**
 * The test layers users get: the in-memory adapter and its recorder, an `HttpApp` in process, any
 * `@effect/platform` `HttpClient`, and record/replay cassettes (on an in-memory file system).
 */
import { Adapter, Auth, Cassette, RequestError, Retry, Session } from "@effect-requests/core"
import {
  FileSystem,
  HttpClient,
  type HttpClientRequest,
  HttpClientResponse,
  HttpRouter,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { SystemError } from "@effect/platform/Error"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Layer, Option, Stream, TestClock } from "effect"
import { noEnv } from "./utils/memory.js"

/**
 * The in-process app answers through real promises: wait (in real time, bounded) until the client
 * sleeps until `now + millis` on the TestClock, before moving the clock.
 */
const sleepingFor = (millis: number) =>
  Effect.gen(function*() {
    const now = yield* TestClock.currentTimeMillis
    for (let i = 0; i < 400; i++) {
      if (Chunk.some(yield* TestClock.sleeps(), (at) => at === now + millis)) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
  })

const session = (transport: Layer.Layer<Adapter.DefaultTransport, unknown, never>, options?: Session.LayerOptions) =>
  Session.layer(options).pipe(Layer.provide(transport), Layer.provide(noEnv), Layer.orDie)

describe("Adapter.layerMemory", () => {
  it.effect("answers from the handler and records each request with its body", () =>
    Effect.gen(function*() {
      const recorder = yield* Adapter.MemoryRecorder
      assert.isTrue(Option.isNone(yield* recorder.last))
      const response = yield* Session.post("http://api.test/items", { json: { name: "x" } })
      assert.strictEqual(response.status, 201)
      assert.strictEqual(response.reason, "Created")
      assert.strictEqual(response.headers.get("x-handler"), "yes")
      const last = Option.getOrThrow(yield* recorder.last)
      assert.strictEqual(last.request.method, "POST")
      assert.strictEqual(new TextDecoder().decode(last.body), "{\"name\":\"x\"}")
      assert.strictEqual(last.request.headers.get("content-type"), "application/json")
      yield* recorder.clear
      assert.strictEqual((yield* recorder.requests).length, 0)
    }).pipe(Effect.provide(
      Session.layer().pipe(
        Layer.provideMerge(Adapter.layerMemory(() => Effect.succeed({ status: 201, headers: { "x-handler": "yes" } }))),
        Layer.provide(noEnv),
        Layer.orDie
      )
    )))
})

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/hello", HttpServerResponse.unsafeJson({ hello: "world" })),
  HttpRouter.post(
    "/echo",
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* request.text
      return HttpServerResponse.unsafeJson({ body, type: request.headers["content-type"], method: request.method })
    })
  ),
  HttpRouter.get(
    "/login",
    Effect.succeed(
      HttpServerResponse.redirect("/whoami", { status: 302 }).pipe(
        HttpServerResponse.unsafeSetCookie("sid", "abc123", { path: "/" })
      )
    )
  ),
  HttpRouter.get(
    "/whoami",
    Effect.map(
      HttpServerRequest.HttpServerRequest,
      (request) => HttpServerResponse.unsafeJson({ cookies: request.cookies })
    )
  ),
  HttpRouter.get(
    "/busy",
    Effect.succeed(HttpServerResponse.text("busy", { status: 503, headers: { "retry-after": "2" } }))
  ),
  HttpRouter.get("/slow", Effect.as(Effect.sleep("5 seconds"), HttpServerResponse.text("late"))),
  HttpRouter.get(
    "/lines",
    Effect.succeed(HttpServerResponse.stream(Stream.make("a\n", "b\n", "c\n").pipe(Stream.encodeText)))
  )
)

describe("Adapter.fromHttpApp: your server, in process", () => {
  const layer = session(Adapter.layerHttpApp(app))

  it.effect("JSON in and out, cookies through a redirect, a streamed body, a 404", () =>
    Effect.gen(function*() {
      const hello = yield* Session.get("http://app.local/hello")
      assert.deepStrictEqual(yield* hello.json, { hello: "world" })
      const echo = yield* Session.post("http://app.local/echo", { data: { a: "1" } })
      assert.deepStrictEqual(yield* echo.json, {
        body: "a=1",
        type: "application/x-www-form-urlencoded",
        method: "POST"
      })
      const me = yield* Session.get("http://app.local/login")
      assert.deepStrictEqual(me.history.map((r) => r.status), [302])
      assert.deepStrictEqual(yield* me.json, { cookies: { sid: "abc123" } })
      const lines = yield* Effect.scoped(Effect.flatMap(
        Session.stream("GET", "http://app.local/lines"),
        (response) => Stream.runCollect(response.iterLines())
      ))
      assert.deepStrictEqual(Array.from(lines), ["a", "b", "c"])
      assert.strictEqual((yield* Session.get("http://app.local/nothing")).status, 404)
      const head = yield* Session.head("http://app.local/hello")
      assert.strictEqual(head.content.length, 0)
    }).pipe(Effect.provide(layer)))

  it.effect("retries and timeouts run under TestClock", () =>
    Effect.gen(function*() {
      const slow = yield* Effect.fork(Effect.flip(Session.get("http://app.local/slow", { timeout: [1000, 1000] })))
      yield* sleepingFor(1000)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(slow)
      assert.strictEqual(error._tag, "ReadTimeout")
      const busy = yield* Effect.fork(Effect.flip(Session.get("http://app.local/busy")))
      yield* sleepingFor(2000)
      yield* TestClock.adjust("1999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(busy)))
      yield* TestClock.adjust("1 millis")
      const exhausted = yield* Fiber.join(busy)
      assert.strictEqual(exhausted._tag, "RetryError")
    }).pipe(
      Effect.provide(
        session(Adapter.layerHttpApp(app), { retry: Retry.make({ total: 1, read: false, statusForcelist: [503] }) })
      )
    ))

  it.effect("a GET with a body cannot go into a web Request: InvalidRequest", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Session.get("http://app.local/hello", { data: "x" }))
      assert.strictEqual(error._tag, "InvalidRequest")
    }).pipe(Effect.provide(layer)))
})

describe("Adapter.fromHttpClient", () => {
  const sent: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request, url) => {
    sent.push(request)
    const body = request.body._tag === "Raw" ? new TextDecoder().decode(request.body.body as Uint8Array) : ""
    return Effect.succeed(HttpClientResponse.fromWeb(
      request,
      new Response(JSON.stringify({ url: url.href, body, method: request.method }), {
        status: 200,
        headers: [["content-type", "application/json"], ["set-cookie", "a=1; Path=/"], ["set-cookie", "b=2; Path=/"]]
      })
    ))
  })
  const layer = session(Layer.succeed(Adapter.DefaultTransport, Adapter.fromHttpClient(client)))

  it.effect("sends the prepared request through the client and keeps every Set-Cookie", () =>
    Effect.gen(function*() {
      const response = yield* Session.put("http://client.test/x?q=1", { data: "payload", headers: { "x-a": "b" } })
      assert.deepStrictEqual(yield* response.json, { url: "http://client.test/x?q=1", body: "payload", method: "PUT" })
      assert.deepStrictEqual(response.headers.getAll("set-cookie").length, 2)
      const request = sent[sent.length - 1]!
      assert.strictEqual(request.headers["x-a"], "b")
      assert.isUndefined(request.headers["traceparent"])
      const jar = yield* Session.Session
      assert.deepStrictEqual(yield* jar.cookies.get("b"), Option.some("2"))
    }).pipe(Effect.provide(layer)))

  it.effect("a proxy, verify or cert it cannot honour fails typed", () =>
    Effect.gen(function*() {
      const proxied = yield* Effect.flip(
        Session.get("http://client.test/x", { proxies: { http: "http://proxy:3128" } })
      )
      assert.strictEqual(proxied._tag, "InvalidRequest")
      assert.include(proxied.message, "proxy")
      const unverified = yield* Effect.flip(Session.get("https://client.test/x", { verify: false }))
      assert.strictEqual(unverified._tag, "InvalidRequest")
    }).pipe(Effect.provide(layer)))
})

/** An in-memory file system holding `files`. */
const memoryFs = (files: Map<string, string>) =>
  FileSystem.layerNoop({
    exists: (path) => Effect.succeed(files.has(path)),
    readFileString: (path) =>
      files.has(path)
        ? Effect.succeed(files.get(path)!)
        : Effect.fail(
          new SystemError({
            reason: "NotFound",
            module: "FileSystem",
            method: "readFileString",
            pathOrDescriptor: path
          })
        ),
    writeFileString: (path, data) => Effect.sync(() => void files.set(path, data)),
    rename: (from, to) =>
      Effect.sync(() => {
        files.set(to, files.get(from)!)
        files.delete(from)
      })
  })

describe("Cassette: record and replay", () => {
  const origin: Adapter.Handler = (request) => {
    const path = new URL(request.url).pathname
    if (path === "/login") {
      return Effect.succeed({
        status: 200,
        headers: { "set-cookie": "session=topsecret42; Path=/; HttpOnly" },
        body: "in"
      })
    }
    return Effect.succeed({
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        path,
        authorization: request.headers.get("authorization") ?? null,
        cookie: request.headers.get("cookie") ?? null
      })
    })
  }

  it.effect("records without secrets, then replays the same responses without the origin", () =>
    Effect.gen(function*() {
      const files = new Map<string, string>()
      const path = "/cassettes/api.json"
      const calls = Effect.gen(function*() {
        const login = yield* Session.get("http://api.test/login")
        const me = yield* Session.get("http://api.test/me?api_key=k-123456&page=1")
        const posted = yield* Session.post("http://api.test/items", { json: { name: "x" } })
        return [login.status, login.text, me.text, posted.text] as const
      })
      // The session's own sensitive header is kept out of the file too.
      const settings = {
        auth: Auth.basic("user", "hunter22"),
        headers: { "X-Api-Secret": "zzz-private-zzz" },
        sensitiveHeaders: ["x-api-secret"]
      }
      const recording = Session.layer(settings).pipe(
        Layer.provide(Cassette.layerRecord({ path })),
        Layer.provide(Adapter.layerMemory(origin)),
        Layer.provide(memoryFs(files)),
        Layer.provide(noEnv),
        Layer.orDie
      )
      const recorded = yield* Effect.provide(calls, recording)
      const text = files.get(path)!
      assert.isDefined(text)
      for (const secret of ["hunter22", "dXNlcjpodW50ZXIyMg==", "topsecret42", "k-123456", "zzz-private-zzz"]) {
        assert.notInclude(text, secret)
      }
      const file = JSON.parse(text) as Cassette.File
      assert.strictEqual(file.exchanges.length, 3)
      assert.strictEqual(
        file.exchanges[0]!.response.headers.find(([n]) => n === "set-cookie")?.[1],
        "session=<redacted>; Path=/; HttpOnly"
      )
      assert.strictEqual(file.exchanges[1]!.request.url, "http://api.test/me?api_key=REDACTED&page=1")
      assert.include(file.exchanges[1]!.request.headers.map(([, v]) => v), "<redacted>")

      const replaying = Session.layer(settings).pipe(
        Layer.provide(Cassette.layerReplay({ path })),
        Layer.provide(memoryFs(files)),
        Layer.provide(noEnv),
        Layer.orDie
      )
      const replayed = yield* Effect.provide(calls, replaying)
      assert.deepStrictEqual(replayed[0], recorded[0])
      assert.deepStrictEqual(replayed[1], recorded[1])
      // The live answer echoed the credentials; the recorded one holds them scrubbed.
      assert.strictEqual(JSON.parse(recorded[3]).authorization, "Basic dXNlcjpodW50ZXIyMg==")
      assert.deepStrictEqual(JSON.parse(replayed[3]), {
        path: "/items",
        authorization: "<redacted>",
        cookie: "<redacted>"
      })
      assert.strictEqual(JSON.parse(replayed[2]).path, "/me")

      const missing = yield* Effect.flip(Effect.provide(Session.get("http://api.test/other"), replaying))
      assert.strictEqual(missing._tag, "UnrecordedRequest")
      assert.include(missing.message, "holds no exchange for GET http://api.test/other")
      const otherBody = yield* Effect.flip(
        Effect.provide(Session.post("http://api.test/items", { json: { n: 2 } }), replaying)
      )
      assert.strictEqual(otherBody._tag, "UnrecordedRequest")
      const twice = yield* Effect.flip(Effect.provide(
        Effect.zipRight(Session.get("http://api.test/login"), Session.get("http://api.test/login")),
        replaying
      ))
      assert.strictEqual(twice._tag, "UnrecordedRequest")
      assert.isTrue(RequestError.isRequestError(twice))
    }))

  it.effect("a file that is not a cassette fails the layer with CassetteError", () =>
    Effect.gen(function*() {
      const files = new Map([["/bad.json", "{\"version\": 7}"]])
      const exit = yield* Effect.exit(
        Layer.build(
          Cassette.layerReplay({ path: "/bad.json" }).pipe(
            Layer.provide(memoryFs(files))
          )
        ).pipe(Effect.scoped)
      )
      assert.isTrue(Exit.isFailure(exit))
      const missing = yield* Effect.exit(
        Layer.build(
          Cassette.layerReplay({ path: "/none.json" }).pipe(
            Layer.provide(memoryFs(files))
          )
        ).pipe(Effect.scoped)
      )
      assert.isTrue(Exit.isFailure(missing))
    }))
})
