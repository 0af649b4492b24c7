/**
 * Record real exchanges with httpbin to a cassette file, stop the server, and replay them: the
 * same responses come back without the network, and no secret ever reached the file.
 */
import { Cassette, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeAdapter, NodeSession } from "@effect-requests/node"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { emptyEnv } from "./utils/layers.js"

const PASSWORD = "hunter2-correct-horse"
const BASIC = Buffer.from(`user:${PASSWORD}`).toString("base64")
const COOKIE = "s3cr3t-v4lue-42"
const TOKEN = "tok-987654321"

const withTemp = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(tmpdir(), "effect-requests-cassette-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** The calls recorded, then replayed: each gives status, reason, content type and text. */
const calls = (origin: string) =>
  Effect.gen(function*() {
    const out: Array<readonly [number, string, string | undefined, string]> = []
    const keep = (
      r: { status: number; reason: string; headers: { get(n: string): string | undefined }; text: string }
    ) => out.push([r.status, r.reason, r.headers.get("content-type"), r.text])
    keep(yield* Session.get(`${origin}/get?page=1&access_token=${TOKEN}`))
    keep(yield* Session.get(`${origin}/cookies/set?session=${COOKIE}`))
    keep(yield* Session.post(`${origin}/post`, { json: { order: 1 } }))
    keep(yield* Session.post(`${origin}/post`, { json: { order: 2 } }))
    keep(yield* Session.get(`${origin}/status/418`))
    keep(yield* Session.get(`${origin}/gzip`))
    keep(yield* Session.get(`${origin}/redirect/2`))
    return out
  })

/** What the cassette does to a body: each secret value sent or set, longest first, becomes `<redacted>`. */
const scrub = (text: string) =>
  [`Basic ${BASIC}`, `session=${COOKIE}`, BASIC, PASSWORD, COOKIE, TOKEN].reduce(
    (t, secret) => t.split(secret).join("<redacted>"),
    text
  )

describe("record and replay against httpbin", () => {
  it.live("a recorded cassette replayed with the server closed gives the same responses", () =>
    Effect.gen(function*() {
      const dir = yield* withTemp
      const file = path.join(dir, "httpbin.json")

      // Record against a live httpbin, then close it.
      const serverScope = yield* Scope.make()
      const httpbin = yield* Httpbin.make({}).pipe(Scope.extend(serverScope))
      const origin = httpbin.origin
      const recording = Session.layer({ auth: ["user", PASSWORD] }).pipe(
        // `session` travels in a query string here: name it so the file hides its value too.
        Layer.provide(Cassette.layerRecord({ path: file, redactQueryParams: ["session"] })),
        Layer.provide(NodeAdapter.layer()),
        Layer.provide(NodeFileSystem.layer),
        Layer.provide(emptyEnv()),
        Layer.orDie
      )
      const recorded = yield* Effect.provide(calls(origin), recording)
      assert.strictEqual(recorded[0]![0], 200)
      assert.include(recorded[0]![3], BASIC)
      yield* Scope.close(serverScope, Exit.void)

      // The network is off: the origin no longer answers.
      const live = yield* Effect.flip(
        Session.get(`${origin}/get`).pipe(
          Effect.provide(NodeSession.layer().pipe(Layer.provide(emptyEnv()), Layer.orDie))
        )
      )
      assert.strictEqual(live._tag, "ConnectionError")

      // No secret reached the file.
      const text = readFileSync(file, "utf8")
      for (const secret of [PASSWORD, BASIC, COOKIE, TOKEN]) assert.notInclude(text, secret)
      const cassette = JSON.parse(text) as Cassette.File
      assert.strictEqual(cassette.exchanges.length, 10)

      // Replay: the same responses, secrets scrubbed.
      const replaying = Session.layer({ auth: ["user", PASSWORD] }).pipe(
        Layer.provide(Cassette.layerReplay({ path: file, redactQueryParams: ["session"] })),
        Layer.provide(NodeFileSystem.layer),
        Layer.provide(emptyEnv()),
        Layer.orDie
      )
      const replayed = yield* Effect.provide(calls(origin), replaying)
      assert.deepStrictEqual(replayed, recorded.map(([s, r, c, t]) => [s, r, c, scrub(t)] as const))
      assert.deepStrictEqual(JSON.parse(replayed[1]![3]), { cookies: { session: "<redacted>" } })

      // A request the cassette never saw fails typed.
      const unknown = yield* Effect.flip(Effect.provide(Session.get(`${origin}/anything`), replaying))
      assert.strictEqual(unknown._tag, "UnrecordedRequest")
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("Cassette.layer records when the file is missing, replays when it exists", () =>
    Effect.gen(function*() {
      const dir = yield* withTemp
      const file = path.join(dir, "auto.json")
      const auto = Session.layer().pipe(
        Layer.provide(Cassette.layer({ path: file })),
        Layer.provide(NodeAdapter.layer()),
        Layer.provide(NodeFileSystem.layer),
        Layer.provide(emptyEnv()),
        Layer.orDie
      )
      const serverScope = yield* Scope.make()
      const httpbin = yield* Httpbin.make({}).pipe(Scope.extend(serverScope))
      const first = yield* Effect.provide(Session.get(httpbin.url("/uuid")), auto)
      yield* Scope.close(serverScope, Exit.void)
      const second = yield* Effect.provide(Session.get(httpbin.url("/uuid")), auto)
      assert.strictEqual(second.text, first.text)
    }).pipe(Effect.scoped), { timeout: 30_000 })
})
