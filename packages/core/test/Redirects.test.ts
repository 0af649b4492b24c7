import { type Adapter, Auth, Body, Headers, PreparedRequest, Redirects, Response, Session } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option, Stream } from "effect"
import * as fc from "fast-check"
import { memorySessionWithFiles } from "./utils/fixtures.js"
import { decode } from "./utils/memory.js"

const head = (status: number, headers: Headers.Input) =>
  Response.make({
    status,
    reason: "",
    url: "http://a.test/",
    headers: Headers.fromInput(headers),
    history: [],
    elapsed: Duration.zero,
    request: PreparedRequest.make({ method: "GET", url: "http://a.test/" }),
    next: Option.none(),
    content: new Uint8Array()
  })

/** The origin of a URL built from parts, computed without the URL parser. */
const referenceOrigin = (scheme: string, host: string, port: number | undefined) => {
  const s = scheme.toLowerCase()
  return `${s}|${host.toLowerCase()}|${port ?? (s === "https" ? 443 : 80)}`
}

const METHOD_TABLE: Record<number, Record<string, string>> = {
  301: { GET: "GET", HEAD: "HEAD", POST: "GET", PUT: "PUT", DELETE: "DELETE", PATCH: "PATCH", OPTIONS: "OPTIONS" },
  302: { GET: "GET", HEAD: "HEAD", POST: "GET", PUT: "GET", DELETE: "GET", PATCH: "GET", OPTIONS: "GET" },
  303: { GET: "GET", HEAD: "HEAD", POST: "GET", PUT: "GET", DELETE: "GET", PATCH: "GET", OPTIONS: "GET" },
  307: { GET: "GET", HEAD: "HEAD", POST: "POST", PUT: "PUT", DELETE: "DELETE", PATCH: "PATCH", OPTIONS: "OPTIONS" },
  308: { GET: "GET", HEAD: "HEAD", POST: "POST", PUT: "PUT", DELETE: "DELETE", PATCH: "PATCH", OPTIONS: "OPTIONS" }
}

describe("Redirects.shouldStripAuth and rebuildMethod (property tests)", () => {
  const scheme = fc.constantFrom("http", "https", "HTTP", "Https")
  const host = fc.constantFrom("a.test", "A.TEST", "b.test", "127.0.0.1", "127.0.0.2", "localhost")
  const port = fc.option(fc.constantFrom(80, 443, 8080, 8443, 1), { nil: undefined })
  const path = fc.constantFrom("/", "/x", "/x?y=1", "/#f")
  const endpoint = fc.tuple(scheme, host, port, path)
  const render = ([s, h, p, rest]: readonly [string, string, number | undefined, string]) =>
    `${s}://${h}${p === undefined ? "" : `:${p}`}${rest}`

  it("strips exactly when scheme, host or port (default ports normalised) differ", () => {
    fc.assert(
      fc.property(endpoint, endpoint, (from, to) => {
        const expected = referenceOrigin(from[0], from[1], from[2]) !== referenceOrigin(to[0], to[1], to[2])
        assert.strictEqual(
          Redirects.shouldStripAuth(render(from), render(to)),
          expected,
          `${render(from)} → ${render(to)}`
        )
      }),
      { numRuns: 2000 }
    )
  })

  it("strips on requests' own test cases, including the http→https upgrade requests keeps", () => {
    assert.isTrue(Redirects.shouldStripAuth("http://example.com/foo", "https://example.com/bar"))
    assert.isTrue(Redirects.shouldStripAuth("https://example.com:443/foo", "http://example.com:80/bar"))
    assert.isTrue(Redirects.shouldStripAuth("http://example.com:8080/foo", "https://example.com/bar"))
    assert.isTrue(Redirects.shouldStripAuth("http://example.com/foo", "http://example.com:8080/bar"))
    assert.isFalse(Redirects.shouldStripAuth("https://example.com:443/foo", "https://example.com/bar"))
    assert.isFalse(Redirects.shouldStripAuth("http://example.com:80/foo", "http://EXAMPLE.com/bar"))
    assert.isTrue(Redirects.shouldStripAuth("not a url", "http://example.com/"))
  })

  it("rebuilds the method by requests' table for every status and method", () => {
    const method = fc.oneof(
      fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
      fc.stringMatching(/^[A-Z]{1,8}$/)
    )
    fc.assert(
      fc.property(method, fc.constantFrom(300, 301, 302, 303, 304, 305, 307, 308, 200), (m, status) => {
        const row = METHOD_TABLE[status]
        const expected = row === undefined
          ? m
          : row[m] ?? (m === "HEAD" ? "HEAD" : status === 302 || status === 303 ? "GET" : m)
        assert.strictEqual(Redirects.rebuildMethod(m, status), expected, `${m} ${status}`)
      }),
      { numRuns: 1000 }
    )
  })
})

describe("Redirects.getRedirectTarget and resolveLocation", () => {
  it("re-reads a latin-1 Location as UTF-8, keeps invalid UTF-8 as is", () => {
    const utf8AsLatin1 = Array.from(new TextEncoder().encode("/é/ü?q=ß"), (b) => String.fromCharCode(b)).join("")
    assert.deepStrictEqual(Redirects.getRedirectTarget(head(302, { location: utf8AsLatin1 })), Option.some("/é/ü?q=ß"))
    assert.deepStrictEqual(
      Redirects.getRedirectTarget(head(302, { location: "/caf\u00e9" })),
      Option.some("/caf\u00e9")
    )
  })

  it("follows only 301/302/303/307/308 with one non-empty Location", () => {
    assert.isTrue(Option.isNone(Redirects.getRedirectTarget(head(200, { location: "/x" }))))
    assert.isTrue(Option.isNone(Redirects.getRedirectTarget(head(304, { location: "/x" }))))
    assert.isTrue(Option.isNone(Redirects.getRedirectTarget(head(302, {}))))
    assert.isTrue(Option.isNone(Redirects.getRedirectTarget(head(302, { location: "  " }))))
    assert.isTrue(Option.isNone(Redirects.getRedirectTarget(head(302, [["location", "/a"], ["location", "/b"]]))))
    assert.deepStrictEqual(
      Redirects.getRedirectTarget(head(308, [["location", "/a"], ["location", "/a"]])),
      Option.some("/a")
    )
  })

  it.effect("resolves relative, scheme-relative and absolute targets and carries the fragment", () =>
    Effect.gen(function*() {
      const r = (location: string, previous: string) => Redirects.resolveLocation(location, previous)
      assert.strictEqual(yield* r("b?x=1", "http://a.test/dir/page#frag"), "http://a.test/dir/b?x=1#frag")
      assert.strictEqual(yield* r("/root", "https://a.test:8443/dir/"), "https://a.test:8443/root")
      assert.strictEqual(yield* r("//b.test:81/x", "https://a.test/"), "https://b.test:81/x")
      assert.strictEqual(yield* r("HTTP://B.TEST/y#own", "http://a.test/#old"), "http://b.test/y#own")
      assert.strictEqual(yield* r("/with space/é", "http://a.test/"), "http://a.test/with%20space/%C3%A9")
      // A backslash is percent-encoded first (requests' requote_uri), so it stays a path.
      assert.strictEqual(yield* r("/\\evil.test/x", "http://a.test/"), "http://a.test/%5Cevil.test/x")
      // Credentials in a Location are never used.
      assert.strictEqual(yield* r("http://user:pw@b.test/", "http://a.test/"), "http://b.test/")
    }))

  it.effect("refuses targets other than http(s) and unparseable ones", () =>
    Effect.gen(function*() {
      for (const location of ["ftp://a.test/x", "file:///etc/passwd", "javascript:alert(1)", "data:text/plain,x"]) {
        const error = yield* Effect.flip(Redirects.resolveLocation(location, "http://a.test/"))
        assert.strictEqual(error._tag, "InvalidSchema", location)
      }
      const bad = yield* Effect.flip(Redirects.resolveLocation("http://:1", "http://a.test/"))
      assert.strictEqual(bad._tag, "InvalidURL")
    }))
})

const STATUSES = [301, 302, 303, 307, 308] as const
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"] as const

describe("nextRequest (in memory)", () => {
  const handler: Adapter.Handler = (request) => {
    const u = new URL(request.url)
    const status = /^\/s\/(\d+)$/.exec(u.pathname)
    if (status) return Effect.succeed({ status: Number(status[1]), headers: { location: "/done" } })
    return Effect.succeed({ status: 200 })
  }

  it.effect("drops the body and Content-*/Transfer-Encoding unless 307/308 keep the method", () =>
    Effect.gen(function*() {
      for (const status of STATUSES) {
        for (const method of METHODS) {
          const { layer, requests } = memorySessionWithFiles(handler)
          const seen = yield* Effect.zipRight(
            Session.request(method, `http://a.test/s/${status}`, {
              data: method === "GET" || method === "HEAD" ? undefined : "payload",
              headers: { "Content-Type": "text/plain", "Content-Language": "en" },
              allowRedirects: true
            }),
            requests
          ).pipe(Effect.provide(layer))
          const hop = seen[1]!
          const expectedMethod = METHOD_TABLE[status]![method]!
          const label = `${method} ${status}`
          assert.strictEqual(hop.request.method, expectedMethod, label)
          const keeps = (status === 307 || status === 308) && expectedMethod === method
          const hadBody = method !== "GET" && method !== "HEAD"
          assert.strictEqual(decode(hop.body), keeps && hadBody ? "payload" : "", label)
          assert.strictEqual(hop.request.headers.has("content-type"), keeps, label)
          assert.strictEqual(hop.request.headers.has("content-language"), keeps, label)
          const length = hop.request.headers.get("content-length")
          if (keeps) assert.strictEqual(length, hadBody ? "7" : undefined, label)
          else {assert.strictEqual(
              length,
              expectedMethod === "GET" || expectedMethod === "HEAD" ? undefined : "0",
              label
            )}
        }
      }
    }))

  it.effect("fails with UnrewindableBodyError for a one-shot body on 307/308, replays a replayable one", () =>
    Effect.gen(function*() {
      for (const status of [307, 308]) {
        const { layer } = memorySessionWithFiles(handler)
        const error = yield* Effect.flip(
          Session.post(`http://a.test/s/${status}`, { data: Stream.make(new Uint8Array([1, 2])) }).pipe(
            Effect.provide(layer)
          )
        )
        assert.strictEqual(error._tag, "UnrewindableBodyError")
        assert.strictEqual(error.response?.status, status)
        const again = memorySessionWithFiles(handler)
        const seen = yield* Effect.zipRight(
          Session.post(`http://a.test/s/${status}`, {
            data: Body.replayable(() => Stream.make(new Uint8Array([1, 2])), { length: 2 })
          }),
          again.requests
        ).pipe(Effect.provide(again.layer))
        assert.deepStrictEqual(Array.from(seen[1]!.body), [1, 2])
      }
      // A one-shot body on a 303 is simply dropped.
      const { layer, requests } = memorySessionWithFiles(handler)
      const seen = yield* Effect.zipRight(
        Session.post("http://a.test/s/303", { data: Stream.make(new Uint8Array([1])) }),
        requests
      ).pipe(Effect.provide(layer))
      assert.strictEqual(seen[1]!.request.method, "GET")
    }))
})

describe("credentials never cross an origin (in memory)", () => {
  // a.test:80 → b.test:80 → a.test:80 (the chain comes back) → a.test/end
  const chain: Adapter.Handler = (request) => {
    const u = new URL(request.url)
    if (u.host === "a.test" && u.pathname === "/start") {
      return Effect.succeed({ status: 302, headers: [["location", "http://b.test/mid"], ["set-cookie", "jar=a"]] })
    }
    if (u.host === "b.test") return Effect.succeed({ status: 302, headers: { location: "http://a.test/back" } })
    if (u.pathname === "/back") return Effect.succeed({ status: 302, headers: { location: "/end" } })
    return Effect.succeed({ status: 200 })
  }

  it.effect("strips every kind of credential on the first origin change and never restores it", () =>
    Effect.gen(function*() {
      const { layer, requests } = memorySessionWithFiles(chain, {
        sensitiveHeaders: ["X-Api-Key"],
        auth: Auth.bearer("session-token")
      })
      const response = yield* Session.get("http://a.test/start", {
        headers: {
          "x-API-key": "k",
          "PROXY-AUTHORIZATION": "Basic cHJveHk6cHc=",
          "cookie": "user=1",
          "HOST": "a.test",
          "X-Plain": "kept"
        },
        cookies: { per: "request" }
      }).pipe(Effect.provide(layer))
      const seen = yield* requests.pipe(Effect.provide(layer))
      assert.strictEqual(response.status, 200)
      const first = seen[0]!.request.headers
      assert.strictEqual(first.get("authorization"), "Bearer session-token")
      assert.strictEqual(first.get("x-api-key"), "k")
      assert.strictEqual(first.get("cookie"), "user=1")
      for (const hop of seen.slice(1)) {
        const h = hop.request.headers
        assert.isFalse(h.has("authorization"), hop.request.url)
        assert.isFalse(h.has("proxy-authorization"), hop.request.url)
        assert.isFalse(h.has("x-api-key"), hop.request.url)
        assert.isFalse(h.has("host"), hop.request.url)
        assert.strictEqual(h.get("x-plain"), "kept")
      }
      // b.test sees no cookie; back on a.test only the jar's own cookie comes back.
      assert.isFalse(seen[1]!.request.headers.has("cookie"))
      assert.strictEqual(seen[2]!.request.headers.get("cookie"), "jar=a")
      assert.strictEqual(seen[3]!.request.headers.get("cookie"), "jar=a")
    }))

  it.effect("keeps credentials on same-origin hops", () =>
    Effect.gen(function*() {
      const { layer, requests } = memorySessionWithFiles((request) =>
        new URL(request.url).pathname === "/one"
          ? Effect.succeed({ status: 301, headers: { location: "http://A.TEST:80/two" } })
          : Effect.succeed({ status: 200 })
      )
      yield* Session.get("http://a.test/one", {
        auth: ["u", "p"],
        headers: { Cookie: "user=1", Host: "a.test" },
        cookies: { per: "r" }
      }).pipe(Effect.provide(layer))
      const seen = yield* requests.pipe(Effect.provide(layer))
      const h = seen[1]!.request.headers
      assert.strictEqual(h.get("authorization"), Auth.basicAuthHeader("u", "p"))
      assert.strictEqual(h.get("cookie"), "user=1")
      assert.strictEqual(h.get("host"), "a.test")
    }))

  it.effect("headers an auth value adds become credentials: redacted and stripped", () =>
    Effect.gen(function*() {
      const signer = Auth.custom({
        name: "signer",
        apply: (request) => Effect.succeed(request.setHeader("X-Signature", `sig:${request.method}:${request.pathUrl}`))
      })
      const { layer, requests } = memorySessionWithFiles(chain)
      const response = yield* Session.get("http://a.test/start", { auth: signer }).pipe(Effect.provide(layer))
      const seen = yield* requests.pipe(Effect.provide(layer))
      assert.strictEqual(seen[0]!.request.headers.get("x-signature"), "sig:GET:/start")
      assert.isFalse(seen[1]!.request.headers.has("x-signature"))
      assert.notInclude(JSON.stringify(response.history[0]!.request), "sig:GET")
    }))

  it.effect("a replaced shouldStripAuth decides for every credential", () =>
    Effect.gen(function*() {
      const { layer, requests } = memorySessionWithFiles(chain, {
        redirects: {
          shouldStripAuth: (_from, to) => new URL(to).hostname !== "a.test" && new URL(to).hostname !== "b.test"
        }
      })
      yield* Session.get("http://a.test/start", { auth: ["u", "p"], headers: { Cookie: "user=1" } }).pipe(
        Effect.provide(layer)
      )
      const seen = yield* requests.pipe(Effect.provide(layer))
      assert.strictEqual(seen[1]!.request.headers.get("authorization"), Auth.basicAuthHeader("u", "p"))
      assert.strictEqual(seen[1]!.request.headers.get("cookie"), "user=1")
    }))

  it.effect("stripCredentials removes any letter case and remembers what it removed", () =>
    Effect.sync(() => {
      const request = PreparedRequest.make({
        method: "GET",
        url: "http://a.test/",
        headers: Headers.fromInput([["AUTHORIZATION", "x"], ["authorization", "y"], ["X-Token", "t"], [
          "Accept",
          "*/*"
        ]]),
        chain: { origin: "http://a.test:80", stripped: new Set(), sensitive: ["x-token"] }
      })
      const stripped = Redirects.stripCredentials(request)
      assert.deepStrictEqual(stripped.headers.toRecord(), { Accept: "*/*" })
      assert.isTrue(stripped.chain.stripped.has("authorization"))
      assert.isTrue(stripped.chain.stripped.has("x-token"))
      assert.isTrue(stripped.chain.stripped.has("cookie"))
    }))
})
