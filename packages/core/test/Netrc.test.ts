import { type Adapter, Auth, Netrc, Session } from "@effect-requests/core"
import { FileSystem } from "@effect/platform"
import { SystemError } from "@effect/platform/Error"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as util from "node:util"
import { memorySessionWithFiles } from "./utils/fixtures.js"

const NETRC = `
# a comment
machine a.test login alice password "pa ss"
machine B.TEST
  login bob
  password bobpw
machine only-account.test account acct password x
machine a.test login alice2 password later-wins
macdef init
  cd /pub
  ls

default login anon password anonpw
`

describe("Netrc.parse and lookup", () => {
  it("reads machines, quoted values, macdef and default; a later entry wins", () => {
    const netrc = Netrc.parse(NETRC)!
    assert.deepStrictEqual(Netrc.lookup(netrc, "a.test"), Option.some(["alice2", "later-wins"] as const))
    assert.deepStrictEqual(Netrc.lookup(netrc, "b.test"), Option.some(["bob", "bobpw"] as const))
    assert.deepStrictEqual(Netrc.lookup(netrc, "only-account.test"), Option.some(["acct", "x"] as const))
    assert.deepStrictEqual(Netrc.lookup(netrc, "elsewhere.test"), Option.some(["anon", "anonpw"] as const))
    assert.deepStrictEqual(
      Netrc.lookup(Netrc.parse("machine a login \"q\\\"x\" password p")!, "a"),
      Option.some(["q\"x", "p"] as const)
    )
  })

  it("ignores an empty default entry and answers nothing without one", () => {
    assert.isTrue(Option.isNone(Netrc.lookup(Netrc.parse("machine a login u password p\ndefault")!, "b")))
    assert.isTrue(Option.isNone(Netrc.lookup(Netrc.parse("machine a login u password p")!, "b")))
  })

  it("says a malformed file is malformed instead of failing", () => {
    assert.isUndefined(Netrc.parse("machine"))
    assert.isUndefined(Netrc.parse("machine a login"))
    assert.isUndefined(Netrc.parse("machine a frobnicate x"))
    assert.isUndefined(Netrc.parse("machine a password \"unterminated"))
    assert.isUndefined(Netrc.parse("login u password p"))
  })

  it("looks hosts up by the parsed hostname (CVE-2024-47081)", () => {
    assert.strictEqual(Netrc.hostOf("http://a.test:@evil.test/"), "evil.test")
    assert.strictEqual(Netrc.hostOf("http://A.Test:8080/x"), "a.test")
    assert.strictEqual(Netrc.hostOf("http://[::1]:8080/"), "::1")
    assert.isUndefined(Netrc.hostOf("not a url"))
  })

  it("never shows passwords when inspected or serialised", () => {
    const netrc = Netrc.parse(NETRC)!
    assert.notInclude(util.inspect(netrc, { depth: 10 }), "bobpw")
    assert.notInclude(JSON.stringify({ entry: netrc.machines.get("b.test") }), "bobpw")
    assert.notInclude(String(Auth.netrc({ netrc })), "bobpw")
  })
})

describe("Netrc.load", () => {
  const fs = (files: Record<string, string>, unreadable: ReadonlyArray<string> = []) =>
    FileSystem.layerNoop({
      exists: (path) => Effect.succeed(path in files || unreadable.includes(path)),
      readFileString: (path) =>
        path in files
          ? Effect.succeed(files[path]!)
          : Effect.fail(
            new SystemError({
              reason: "PermissionDenied",
              module: "FileSystem",
              method: "read",
              pathOrDescriptor: path
            })
          )
    })

  it.effect("reads NETRC alone, else ~/.netrc then ~/_netrc; any failure means empty", () =>
    Effect.gen(function*() {
      const files = {
        "/custom": "machine a login custom password c",
        "/home/u/.netrc": "machine a login dot password d",
        "/home/v/_netrc": "machine a login underscore password u",
        "/home/w/.netrc": "machine"
      }
      const load = (options: { path?: string; home?: string }, unreadable: ReadonlyArray<string> = []) =>
        Netrc.load(options).pipe(Effect.provide(fs(files, unreadable)), Effect.map((n) => Netrc.lookup(n, "a")))
      assert.deepStrictEqual(yield* load({ path: "/custom", home: "/home/u" }), Option.some(["custom", "c"] as const))
      assert.deepStrictEqual(yield* load({ path: "/missing", home: "/home/u" }), Option.none())
      assert.deepStrictEqual(yield* load({ path: "~/.netrc", home: "/home/u" }), Option.some(["dot", "d"] as const))
      assert.deepStrictEqual(yield* load({ home: "/home/u" }), Option.some(["dot", "d"] as const))
      assert.deepStrictEqual(yield* load({ home: "/home/v" }), Option.some(["underscore", "u"] as const))
      assert.deepStrictEqual(yield* load({ home: "/home/w" }), Option.none())
      assert.deepStrictEqual(yield* load({}), Option.none())
      assert.deepStrictEqual(yield* load({ home: "/home/x" }, ["/home/x/.netrc"]), Option.none())
    }))
})

describe("netrc in a session (in memory)", () => {
  const files = { "/netrc": "machine a.test login alice password apw\nmachine b.test login bob password bpw" }
  const env = { NETRC: "/netrc" }
  // a.test/start → b.test/mid → c.test/end
  const handler: Adapter.Handler = (request) => {
    const u = new URL(request.url)
    if (u.pathname === "/start") return Effect.succeed({ status: 302, headers: { location: "http://b.test/mid" } })
    if (u.pathname === "/mid") return Effect.succeed({ status: 302, headers: { location: "http://c.test/end" } })
    return Effect.succeed({ status: 200 })
  }
  const authHeaders = (
    options: Session.RequestOptions,
    layerOptions: Session.LayerOptions = {},
    url = "http://a.test/start"
  ) =>
    Effect.gen(function*() {
      const { layer, requests } = memorySessionWithFiles(handler, layerOptions, files, env)
      yield* Session.get(url, options).pipe(Effect.provide(layer))
      const seen = yield* requests.pipe(Effect.provide(layer))
      return seen.map((r) => r.request.headers.get("authorization"))
    })

  it.effect("trustEnv and no auth: each hop gets its own host's entry, or none", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* authHeaders({}), [
        Auth.basicAuthHeader("alice", "apw"),
        Auth.basicAuthHeader("bob", "bpw"),
        undefined
      ])
    }))

  it.effect("netrc beats URL userinfo; explicit auth beats netrc on every hop", () =>
    Effect.gen(function*() {
      const [first] = yield* authHeaders({}, {}, "http://x:y@a.test/start")
      assert.strictEqual(first, Auth.basicAuthHeader("alice", "apw"))
      assert.deepStrictEqual(yield* authHeaders({ auth: Auth.bearer("t") }), ["Bearer t", undefined, undefined])
    }))

  it.effect("auth: null and trustEnv: false send nothing on any hop", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* authHeaders({ auth: null }), [undefined, undefined, undefined])
      assert.deepStrictEqual(yield* authHeaders({}, { trustEnv: false }), [undefined, undefined, undefined])
    }))

  it.effect("Auth.netrc() uses the netrc file per hop even when trustEnv is off", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* authHeaders({ auth: Auth.netrc() }, { trustEnv: false }), [
        Auth.basicAuthHeader("alice", "apw"),
        Auth.basicAuthHeader("bob", "bpw"),
        undefined
      ])
      const own = Netrc.parse("machine c.test login carol password cpw")!
      assert.deepStrictEqual(yield* authHeaders({ auth: Auth.netrc({ netrc: own }) }), [
        undefined,
        undefined,
        Auth.basicAuthHeader("carol", "cpw")
      ])
    }))

  it.effect("a malformed netrc is ignored", () =>
    Effect.gen(function*() {
      const { layer, requests } = memorySessionWithFiles(handler, {}, { "/netrc": "machine a.test login" }, env)
      const response = yield* Session.get("http://c.test/x").pipe(Effect.provide(layer))
      assert.strictEqual(response.status, 200)
      assert.isFalse((yield* requests.pipe(Effect.provide(layer)))[0]!.request.headers.has("authorization"))
    }))
})
