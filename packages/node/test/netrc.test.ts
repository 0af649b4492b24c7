import { Auth, Session } from "@effect-requests/core"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { clearAll, hops, originsLayer, OriginsTag, redirectTo, tempFiles, withSession } from "./utils/origins.js"

const NETRC = [
  "machine 127.0.0.1 login alice password alicepw",
  "machine 127.0.0.2",
  "  login bob",
  "  password bobpw",
  "machine example.com login ex password expw"
].join("\n")

const alice = Auth.basicAuthHeader("alice", "alicepw")
const bob = Auth.basicAuthHeader("bob", "bobpw")

layer(originsLayer, { timeout: 60_000 })("netrc from a file given through ConfigProvider", (it) => {
  it.effect("NETRC: each hop gets the entry of its own host (looked up again per hop)", () =>
    Effect.gen(function*() {
      const { a, b, c } = yield* OriginsTag
      yield* clearAll
      const dir = yield* tempFiles({ "my-netrc": NETRC })
      const env = { NETRC: path.join(dir, "my-netrc") }
      const response = yield* withSession(
        Session.get(redirectTo(a, redirectTo(b, c.url("/basic-auth/alice/alicepw")))),
        {},
        env
      )
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual((yield* hops(a)).map((h) => h.headers.authorization), [alice])
      assert.deepStrictEqual((yield* hops(b)).map((h) => h.headers.authorization), [bob])
      // netrc entries are per host name: another port of 127.0.0.1 gets alice's entry again.
      assert.deepStrictEqual((yield* hops(c)).map((h) => h.headers.authorization), [alice])
    }).pipe(Effect.scoped))

  it.effect("HOME/.netrc, a default entry, and nothing when no entry applies", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      yield* clearAll
      const home = yield* tempFiles({
        ".netrc": "machine 127.0.0.2 login bob password bobpw\ndefault login anon password anonpw"
      })
      yield* withSession(Session.get(redirectTo(b, a.url("/get"))), {}, { HOME: home })
      assert.deepStrictEqual((yield* hops(b)).map((h) => h.headers.authorization), [bob])
      assert.deepStrictEqual((yield* hops(a)).map((h) => h.headers.authorization), [
        Auth.basicAuthHeader("anon", "anonpw")
      ])
      yield* clearAll
      const noDefault = yield* tempFiles({ ".netrc": "machine 127.0.0.2 login bob password bobpw" })
      yield* withSession(Session.get(redirectTo(b, a.url("/get"))), {}, { HOME: noDefault })
      assert.deepStrictEqual((yield* hops(a)).map((h) => h.headers.authorization), [undefined])
    }).pipe(Effect.scoped))

  it.effect("explicit auth, auth: null and trustEnv: false keep netrc out; Auth.netrc() brings it back", () =>
    Effect.gen(function*() {
      const { a, b } = yield* OriginsTag
      const dir = yield* tempFiles({ netrc: NETRC })
      const env = { NETRC: path.join(dir, "netrc") }
      const run = (options: Session.RequestOptions, session = {}) =>
        Effect.gen(function*() {
          yield* clearAll
          yield* withSession(Session.get(redirectTo(a, b.url("/get")), options), session, env)
          return [...(yield* hops(a)), ...(yield* hops(b))].map((h) => h.headers.authorization)
        })
      assert.deepStrictEqual(yield* run({ auth: Auth.bearer("t") }), ["Bearer t", undefined])
      assert.deepStrictEqual(yield* run({ auth: null }), [undefined, undefined])
      assert.deepStrictEqual(yield* run({}, { trustEnv: false }), [undefined, undefined])
      assert.deepStrictEqual(yield* run({ auth: Auth.netrc() }, { trustEnv: false }), [alice, bob])
      assert.deepStrictEqual(yield* run({}, { auth: Auth.netrc(), trustEnv: false }), [alice, bob])
    }).pipe(Effect.scoped))

  it.effect("looks up the parsed host, never the userinfo (CVE-2024-47081); netrc beats userinfo", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      yield* clearAll
      const dir = yield* tempFiles({ netrc: NETRC.replace("machine 127.0.0.1 login alice password alicepw", "") })
      const env = { NETRC: path.join(dir, "netrc") }
      yield* withSession(Session.get(a.url("/get").replace("://", "://example.com:@")), {}, env)
      const [sent] = (yield* hops(a)).map((h) => h.headers.authorization)
      assert.notStrictEqual(sent, Auth.basicAuthHeader("ex", "expw"))
      assert.strictEqual(sent, Auth.basicAuthHeader("example.com", ""))
      yield* clearAll
      const full = yield* tempFiles({ netrc: NETRC })
      yield* withSession(Session.get(a.url("/get").replace("://", "://x:y@")), {}, { NETRC: path.join(full, "netrc") })
      assert.deepStrictEqual((yield* hops(a)).map((h) => h.headers.authorization), [alice])
    }).pipe(Effect.scoped))

  it.effect("a malformed or missing netrc is ignored, never fatal", () =>
    Effect.gen(function*() {
      const { a } = yield* OriginsTag
      const dir = yield* tempFiles({ bad: "machine 127.0.0.1 login alice password \"unterminated", dir: "" })
      for (const file of [path.join(dir, "bad"), path.join(dir, "missing"), dir]) {
        yield* clearAll
        const response = yield* withSession(Session.get(a.url("/get")), {}, { NETRC: file })
        assert.strictEqual(response.status, 200, file)
        assert.deepStrictEqual((yield* hops(a)).map((h) => h.headers.authorization), [undefined], file)
      }
    }).pipe(Effect.scoped))
})
