import { Auth, Headers, Hooks, SessionConfig } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const headers = (session: SessionConfig.HeadersInput, request: SessionConfig.HeadersInput) =>
  Headers.merge(SessionConfig.headerPairs(session), SessionConfig.headerPairs(request))

describe("merge rules (requests' merge_setting)", () => {
  const table: ReadonlyArray<{
    readonly name: string
    readonly session: SessionConfig.HeadersInput
    readonly request: SessionConfig.HeadersInput
    readonly expected: ReadonlyArray<readonly [string, string]>
  }> = [
    { name: "request adds a key", session: { a: "1" }, request: { b: "2" }, expected: [["a", "1"], ["b", "2"]] },
    { name: "request wins", session: { a: "1" }, request: { a: "2" }, expected: [["a", "2"]] },
    {
      name: "case-insensitive: request spelling wins, session position kept",
      session: { b: "2", c: "3" },
      request: { B: "1" },
      expected: [["B", "1"], ["c", "3"]]
    },
    {
      name: "null removes the inherited key",
      session: { a: "1", foo: "x" },
      request: { FOO: null },
      expected: [["a", "1"]]
    },
    {
      name: "null in the session suppresses a header",
      session: { "Accept-Encoding": null },
      request: {},
      expected: []
    },
    { name: "empty request leaves the session", session: { x: "1" }, request: {}, expected: [["x", "1"]] }
  ]
  for (const row of table) {
    it(`headers: ${row.name}`, () => {
      assert.deepStrictEqual(headers(row.session, row.request), row.expected)
    })
  }

  it("params merge case-sensitively; null removes; lists replace per key", () => {
    assert.deepStrictEqual(SessionConfig.mergeParams({ FOO: "1" }, { foo: "0" }), [["foo", "0"], ["FOO", "1"]])
    assert.deepStrictEqual(SessionConfig.mergeParams({ a: null }, { a: "1", b: "2" }), [["b", "2"]])
    assert.deepStrictEqual(SessionConfig.mergeParams({ a: ["x", "y"] }, { a: ["z"] }), [["a", ["x", "y"]]])
    assert.deepStrictEqual(SessionConfig.mergeParams({}, { a: "1" }), { a: "1" })
    assert.deepStrictEqual(SessionConfig.mergeParams("raw=1", { a: "1" }), "raw=1")
    assert.deepStrictEqual(SessionConfig.mergeParams(undefined, { a: "1" }), { a: "1" })
  })

  it("hooks: request response hooks replace the session's, other events append", () => {
    const s = () => Effect.void
    const r = () => Effect.void
    const merged = Hooks.merge(Hooks.make({ response: r, request: r }), Hooks.make({ response: s, request: s }))
    assert.deepStrictEqual(merged.response, [r])
    assert.deepStrictEqual(merged.request, [s, r])
    assert.deepStrictEqual(Hooks.merge(Hooks.empty, Hooks.make({ response: s })).response, [s])
  })

  it.effect("apply: scalars replace, mappings merge, null clears auth", () =>
    Effect.gen(function*() {
      const base = yield* SessionConfig.apply(SessionConfig.defaults, {
        auth: ["u", "p"],
        proxies: { http: "http://p:1", https: "http://p:2" },
        verify: "/ca.pem",
        maxRedirects: 5
      })
      assert.strictEqual(base.auth?._tag, "Basic")
      const next = yield* SessionConfig.apply(base, { auth: null, proxies: { https: null }, verify: false })
      assert.strictEqual(next.auth, undefined)
      assert.deepStrictEqual(next.proxies, { http: "http://p:1" })
      assert.strictEqual(next.verify, false)
      assert.strictEqual(next.maxRedirects, 5)
    }))

  it.effect("timeouts: one value, a (connect, read) pair, an object; bad values fail", () =>
    Effect.gen(function*() {
      const d = SessionConfig.defaultTimeout
      assert.deepStrictEqual(yield* SessionConfig.normalizeTimeout(500, d), {
        connect: 500,
        read: 500,
        total: undefined
      })
      assert.deepStrictEqual(yield* SessionConfig.normalizeTimeout(["1 second", null], d), {
        connect: 1000,
        read: undefined,
        total: undefined
      })
      assert.deepStrictEqual(yield* SessionConfig.normalizeTimeout({ total: "2 seconds" }, d), {
        connect: d.connect,
        read: d.read,
        total: 2000
      })
      assert.deepStrictEqual(yield* SessionConfig.normalizeTimeout(null, d), {
        connect: undefined,
        read: undefined,
        total: undefined
      })
      const bad = yield* Effect.flip(SessionConfig.normalizeTimeout("foo" as never, d))
      assert.strictEqual(bad._tag, "InvalidRequest")
      assert.strictEqual((yield* Effect.flip(SessionConfig.normalizeTimeout(-1, d)))._tag, "InvalidRequest")
    }))

  it.effect("locally overrides settings for a region only", () =>
    Effect.gen(function*() {
      const service = yield* SessionConfig.make({ headers: { a: "1" } })
      const inside = yield* SessionConfig.locally(service.get, { headers: { a: "2" }, maxRedirects: 3 })
      const outside = yield* service.get
      assert.deepStrictEqual(inside.headers.find(([k]) => k === "a"), ["a", "2"])
      assert.strictEqual(inside.maxRedirects, 3)
      assert.deepStrictEqual(outside.headers.find(([k]) => k === "a"), ["a", "1"])
      assert.strictEqual(outside.maxRedirects, 30)
    }))

  it("auth pairs become basic auth with requests' encoding", () => {
    assert.strictEqual(Auth.basicAuthHeader("test", "test"), "Basic dGVzdDp0ZXN0")
    const utf8 = new TextEncoder()
    assert.strictEqual(
      Auth.basicAuthHeader(utf8.encode("имя"), utf8.encode("пароль")),
      "Basic 0LjQvNGPOtC/0LDRgNC+0LvRjA=="
    )
    assert.strictEqual(Auth.basicAuthHeader("é", "x"), `Basic ${Buffer.from([0xe9, 0x3a, 0x78]).toString("base64")}`)
  })
})
