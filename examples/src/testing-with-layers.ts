/**
 * Testing code that uses a session, without mocks of our own: swap the transport layer.
 * - `Adapter.layerMemory(handler)`: answers from a function, records what it saw;
 * - virtual time: retries and timeouts under `TestClock` (30 seconds of Retry-After, instantly);
 * - `Adapter.layerHttpApp(app)`: your @effect/platform server, in process, no socket;
 * - `Cassette`: record real exchanges once (here from an embedded httpbin), replay them offline.
 *
 *   pnpm tsx examples/src/testing-with-layers.ts
 */
import { Adapter, Cassette, Retry, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeAdapter } from "@effect-requests/node"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { ConfigProvider, Console, Effect, Fiber, Layer, Option, TestClock, TestContext } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

const title = (text: string) => Console.log(`\n== ${text}`)
const show = (label: string, value: unknown) =>
  Console.log(`  ${label.padEnd(40)} ${typeof value === "string" ? value : JSON.stringify(value)}`)

/** An empty environment: the demo never reads the machine's proxies or netrc. */
const noEnv = Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))

/** The code under test: a tiny API client written against `Session`. */
const getUser = (id: number) => Effect.flatMap(Session.get(`https://api.example.com/users/${id}`), (r) => r.json)

const inMemory = Effect.gen(function*() {
  yield* title("Adapter.layerMemory: a handler and a record of the requests")
  const user = yield* getUser(7)
  yield* show("the client got", user)
  const recorder = yield* Adapter.MemoryRecorder
  const last = Option.getOrThrow(yield* recorder.last)
  yield* show("the handler saw", `${last.request.method} ${last.request.url}`)
  yield* show("with headers", last.request.headers.get("user-agent"))
}).pipe(Effect.provide(
  Session.layer().pipe(
    Layer.provideMerge(Adapter.layerMemory((request) =>
      Effect.succeed({
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: Number(request.url.split("/").pop()), name: "Ada" })
      })
    )),
    Layer.provide(noEnv),
    Layer.orDie
  )
))

const virtualTime = Effect.gen(function*() {
  yield* title("Retries under TestClock: 30 s of Retry-After, instantly")
  let calls = 0
  const handler: Adapter.Handler = () =>
    Effect.succeed(
      ++calls === 1 ? { status: 503, headers: { "retry-after": "30" } } : { body: JSON.stringify({ id: 7 }) }
    )
  const started = Date.now()
  const user = yield* Effect.gen(function*() {
    const fiber = yield* Effect.fork(getUser(7))
    yield* TestClock.adjust("30 seconds")
    return yield* Fiber.join(fiber)
  }).pipe(
    Effect.provide(
      Session.layer({ retry: Retry.make(2) }).pipe(
        Layer.provide(Adapter.layerMemory(handler)),
        Layer.provide(noEnv),
        Layer.orDie
      )
    ),
    Effect.provide(TestContext.TestContext)
  )
  yield* show("after one 503 and a 30 s wait", `${JSON.stringify(user)} in ${Date.now() - started} ms of real time`)
})

const app = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/login",
    Effect.succeed(
      HttpServerResponse.redirect("/me", { status: 303 }).pipe(
        HttpServerResponse.unsafeSetCookie("sid", "s-1", { path: "/" })
      )
    )
  ),
  HttpRouter.get(
    "/me",
    Effect.map(
      HttpServerRequest.HttpServerRequest,
      (r) => HttpServerResponse.unsafeJson({ sid: r.cookies["sid"] ?? null })
    )
  )
)

const inProcess = Effect.gen(function*() {
  yield* title("Adapter.layerHttpApp: your server in process")
  const me = yield* Session.post("http://app.internal/login")
  yield* show("POST /login → 303 → GET /me", `${me.history.map((r) => r.status)} → ${me.status} ${me.text}`)
}).pipe(
  Effect.provide(Session.layer().pipe(Layer.provide(Adapter.layerHttpApp(app)), Layer.provide(noEnv), Layer.orDie))
)

const cassette = Effect.gen(function*() {
  yield* title("Cassette: record once, replay offline")
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "cassette-demo-"))),
    (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
  )
  const file = path.join(dir, "httpbin.json")
  const calls = (origin: string) =>
    Effect.gen(function*() {
      const uuid = yield* Session.get(`${origin}/uuid`)
      const echo = yield* Session.post(`${origin}/post`, { json: { n: 1 } })
      return [((yield* uuid.json) as { uuid: string }).uuid, echo.status] as const
    })
  const recording = Session.layer({ auth: ["user", "secret-password"] }).pipe(
    Layer.provide(Cassette.layerRecord({ path: file })),
    Layer.provide(NodeAdapter.layer()),
    Layer.provide(NodeFileSystem.layer),
    Layer.provide(noEnv),
    Layer.orDie
  )
  const replaying = Session.layer({ auth: ["user", "secret-password"] }).pipe(
    Layer.provide(Cassette.layerReplay({ path: file })),
    Layer.provide(NodeFileSystem.layer),
    Layer.provide(noEnv),
    Layer.orDie
  )
  const origin = yield* Effect.scoped(Effect.gen(function*() {
    const httpbin = yield* Httpbin.make()
    const recorded = yield* Effect.provide(calls(httpbin.origin), recording)
    yield* show("recorded (live)", recorded)
    return httpbin.origin
  }))
  const replayed = yield* Effect.provide(calls(origin), replaying)
  yield* show("replayed (server stopped)", replayed)
  const text = yield* Effect.promise(() => fs.readFile(file, "utf8"))
  yield* show("the password is in the file", text.includes("secret-password") || text.includes("c2VjcmV0"))
  const missing = yield* Effect.flip(Effect.provide(Session.get(`${origin}/get`), replaying))
  yield* show("a request never recorded", missing._tag)
}).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  yield* inMemory
  yield* virtualTime
  yield* inProcess
  yield* cassette
})

program.pipe(NodeRuntime.runMain)
