/**
 * Cookies and session state (`tsx examples/src/cookies.ts`): the jar's scoping rules, requests'
 * jar API, per-request cookies, saving the jar (JSON, curl's cookies.txt, a file-backed jar) and
 * a session snapshot restored into another session. Runs against an embedded httpbin on
 * 127.0.0.1; no network.
 */
import { CookieJar, Session, SessionState } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeSession } from "@effect-requests/node"
import { FileSystem } from "@effect/platform"
import { NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { Console, Context, Effect, Layer, Option } from "effect"
import * as NodePath from "node:path"

const title = (text: string) => Console.log(`\n\x1b[1m== ${text}\x1b[0m`)
const show = (label: string, value: unknown) =>
  Console.log(`  ${label.padEnd(30)} ${typeof value === "string" ? value : JSON.stringify(value)}`)

const cookiesSeen = (url: string, options?: Session.RequestOptions) =>
  Effect.flatMap(Session.get(url, options), (r) => Effect.map(r.json, (j) => (j as { cookies: unknown }).cookies))

/** What the server sets is kept and sent back by RFC 6265's rules: host-only cookies go to their host only. */
const scoping = Effect.gen(function*() {
  yield* title("The jar keeps what servers set, scoped by host and path")
  const httpbin = yield* Httpbin.Httpbin
  yield* show("127.0.0.1 sets flavour=oat", yield* cookiesSeen(httpbin.url("/cookies/set?flavour=oat")))
  yield* show("127.0.0.1 gets", yield* cookiesSeen(httpbin.url("/cookies")))
  yield* show("localhost (same server) gets", yield* cookiesSeen(`http://localhost:${httpbin.port}/cookies`))
  // A line the jar refuses is skipped; the response and the other cookies are kept.
  const lines = ["good=1; Path=/", "bad=1; Domain=example.org; Path=/"].map((l) => `c=${encodeURIComponent(l)}`)
  yield* Session.get(httpbin.url(`/fault/set-cookies?${lines.join("&")}`))
  yield* show("after a refused Set-Cookie", yield* cookiesSeen(httpbin.url("/cookies")))
})

/** requests' jar API: get (one value, or CookieConflictError), set, delete, dict(). */
const jarApi = Effect.gen(function*() {
  yield* title("requests' jar API")
  const httpbin = yield* Httpbin.Httpbin
  const session = yield* Session.Session
  const jar = session.cookies
  yield* jar.set("theme", "dark") // no domain: sent to every host, as requests' dict cookies are
  yield* jar.set("scoped", "1", { domain: "127.0.0.1", path: "/cookies", maxAge: 3600 })
  yield* show("jar.get(\"flavour\")", Option.getOrElse(yield* jar.get("flavour"), () => "(none)"))
  yield* show("dict(jar)", yield* jar.toRecord())
  yield* show("sent to /cookies", yield* cookiesSeen(httpbin.url("/cookies")))
  yield* jar.delete("scoped")
  const list = yield* jar.list
  yield* show("jar.list", list.map((c) => `${c.name}@${c.domain === "" ? "(any host)" : c.domain}${c.path}`))
})

/** Per-request cookies ride along for that request only (and only to its first origin). */
const perRequest = Effect.gen(function*() {
  yield* title("Per-request cookies are not stored")
  const httpbin = yield* Httpbin.Httpbin
  yield* show("with cookies: { once: \"1\" }", yield* cookiesSeen(httpbin.url("/cookies"), { cookies: { once: "1" } }))
  yield* show("next request", yield* cookiesSeen(httpbin.url("/cookies")))
})

/** The jar as JSON (versioned Schema) and as curl's cookies.txt; a session whose jar lives in a file. */
const persistence = Effect.gen(function*() {
  yield* title("Saving the jar")
  const httpbin = yield* Httpbin.Httpbin
  const session = yield* Session.Session
  const json = yield* CookieJar.toJSON(session.cookies)
  yield* show("toJSON", `${json.format} v${json.version}, ${json.cookies.length} cookies`)
  const restored = yield* CookieJar.fromJSON(JSON.stringify(json))
  yield* show("fromJSON → header", yield* restored.header(httpbin.url("/cookies")))
  const txt = yield* CookieJar.toNetscape(session.cookies)
  for (const line of txt.split("\n").filter((l) => l !== "" && !l.startsWith("# "))) yield* show("cookies.txt", line)

  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-requests-example-" })
  const cookieFile = NodePath.join(dir, "cookies.txt")
  const fileSession = NodeSession.layer({ cookieFile })
  yield* Session.get(httpbin.url("/cookies/set?saved=yes")).pipe(Effect.provide(fileSession))
  yield* show("file after the first session", (yield* fs.readFileString(cookieFile)).trim().split("\n").at(-1)!)
  yield* show("a second session sends", yield* cookiesSeen(httpbin.url("/cookies")).pipe(Effect.provide(fileSession)))
})

/** requests' pickling: a snapshot of the session's state, restored into a brand new session. */
const snapshot = Effect.gen(function*() {
  yield* title("Session snapshot and restore (__getstate__ / __setstate__)")
  const httpbin = yield* Httpbin.Httpbin
  const session = yield* Session.Session
  yield* session.config.set({ headers: { "X-App": "demo" }, auth: ["demo", "s3cret"] })
  const state = yield* Session.snapshot() // secrets left out unless { secrets: true }
  const encoded = yield* SessionState.encode(state)
  yield* show("omitted", encoded.omitted)
  yield* show("auth in the snapshot", encoded.auth)
  const fresh = yield* Layer.build(NodeSession.layer({ auth: ["demo", "s3cret"] }))
  const other = Context.get(fresh, Session.Session)
  const restored = yield* other.restore(yield* SessionState.decode(JSON.stringify(encoded)))
  yield* show("kept from the new session", restored.kept)
  const echoed = yield* Effect.flatMap(other.get(httpbin.url("/anything")), (r) => r.json)
  const headers = (echoed as { headers: Record<string, string> }).headers
  yield* show("restored session sends X-App", headers["X-App"])
  yield* show("restored session sends Cookie", headers["Cookie"])
})

const program = Effect.gen(function*() {
  yield* scoping
  yield* jarApi
  yield* perRequest
  yield* persistence
  yield* snapshot
})

program.pipe(
  Effect.scoped,
  Effect.provide(Layer.mergeAll(Httpbin.layer, NodeSession.layer(), NodeFileSystem.layer)),
  NodeRuntime.runMain
)
