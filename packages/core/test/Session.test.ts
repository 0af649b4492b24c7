import { Adapter, Auth, Body, Response, Session } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import { decode, memorySession } from "./utils/memory.js"

const echo: Adapter.Handler = (request) => {
  const path = new URL(request.url).pathname
  const redirect = /^\/status\/(\d+)$/.exec(path)
  if (redirect) {
    return Effect.succeed({ status: Number(redirect[1]), headers: { location: "/landed" } })
  }
  if (path === "/loop") return Effect.succeed({ status: 302, headers: { location: "/loop" } })
  return Effect.succeed({ status: 200, headers: { "content-type": "application/json" }, body: "{}" })
}

const run = <A, E>(effect: Effect.Effect<A, E, Session.Session>, options?: Session.LayerOptions, handler = echo) => {
  const { layer, requests } = memorySession(handler, options)
  return Effect.provide(Effect.zip(effect, requests), layer)
}

describe("Session preparation", () => {
  it.effect("sends requests' default headers", () =>
    Effect.gen(function*() {
      const [, seen] = yield* run(Session.get("http://h/x"))
      const h = seen[0]!.request.headers
      assert.strictEqual(h.get("user-agent"), "effect-requests/0.1.0")
      assert.strictEqual(h.get("accept-encoding"), "gzip, deflate, br")
      assert.strictEqual(h.get("accept"), "*/*")
      assert.isFalse(h.has("content-length"))
    }))

  it.effect("merges session headers and lets a request remove one with null", () =>
    Effect.gen(function*() {
      const [, seen] = yield* run(
        Effect.zip(
          Session.get("http://h/a"),
          Session.get("http://h/b", { headers: { "X-App": null, Accept: "text/plain" } })
        ),
        { headers: { "x-app": "demo" } }
      )
      assert.strictEqual(seen[0]!.request.headers.get("x-app"), "demo")
      assert.isFalse(seen[1]!.request.headers.has("x-app"))
      assert.strictEqual(seen[1]!.request.headers.get("accept"), "text/plain")
    }))

  it.effect("applies Content-Length rules", () =>
    Effect.gen(function*() {
      const [, seen] = yield* run(Effect.all([
        Session.post("http://h/empty"),
        Session.request("OPTIONS", "http://h/opt"),
        Session.post("http://h/text", { data: "☃" }),
        Session.post("http://h/form", { data: { a: "1 2", b: ["x", "y"], skip: null } }),
        Session.post("http://h/json", { json: { e: "é", n: 1 } }),
        Session.post("http://h/both", { data: "d", json: { ignored: true } }),
        Session.post("http://h/ct", { data: "x", headers: { "content-type": "text/custom" } }),
        Session.post("http://h/own", { headers: { "content-length": "7" } })
      ]))
      const h = seen.map((s) => s.request.headers)
      assert.strictEqual(h[0]!.get("content-length"), "0")
      assert.strictEqual(h[1]!.get("content-length"), "0")
      assert.strictEqual(h[2]!.get("content-length"), "3")
      assert.strictEqual(h[3]!.get("content-type"), "application/x-www-form-urlencoded")
      assert.strictEqual(decode(seen[3]!.body), "a=1+2&b=x&b=y")
      assert.strictEqual(h[4]!.get("content-type"), "application/json")
      assert.deepStrictEqual(JSON.parse(decode(seen[4]!.body)), { e: "é", n: 1 })
      assert.strictEqual(decode(seen[5]!.body), "d")
      assert.strictEqual(h[6]!.get("content-type"), "text/custom")
      assert.strictEqual(h[7]!.get("content-length"), "7")
    }))

  it.effect("streams a one-shot body chunked", () =>
    Effect.gen(function*() {
      const [, seen] = yield* run(
        Session.post("http://h/s", { data: Stream.make(new Uint8Array([1, 2]), new Uint8Array([3])) })
      )
      assert.strictEqual(seen[0]!.request.headers.get("transfer-encoding"), "chunked")
      assert.isFalse(seen[0]!.request.headers.has("content-length"))
      assert.deepStrictEqual(Array.from(seen[0]!.body), [1, 2, 3])
    }))

  it.effect("refuses JSON that JSON cannot represent", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(run(Session.post("http://h/", { json: { x: NaN } })))
      assert.strictEqual(error._tag, "InvalidJSONError")
    }))

  it.effect("auth precedence: request > session > URL userinfo; null sends none", () =>
    Effect.gen(function*() {
      const [, seen] = yield* run(Effect.all([
        Session.get("http://u:p@h/1"),
        Session.get("http://u:p@h/2", { auth: Auth.bearer("tok") }),
        Session.get("http://u:p@h/3", { auth: null })
      ]))
      assert.strictEqual(seen[0]!.request.headers.get("authorization"), Auth.basicAuthHeader("u", "p"))
      assert.strictEqual(seen[0]!.request.url, "http://h/1")
      assert.strictEqual(seen[1]!.request.headers.get("authorization"), "Bearer tok")
      assert.isFalse(seen[2]!.request.headers.has("authorization"))
      const [, withSession] = yield* run(Session.get("http://x:y@h/"), { auth: Auth.basic("s", "t") })
      assert.strictEqual(withSession[0]!.request.headers.get("authorization"), Auth.basicAuthHeader("s", "t"))
    }))

  it.effect("fails with InvalidSchema for a URL no adapter serves, InvalidHeader for CR/LF", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* Effect.flip(run(Session.get("ftp://h/x"))))._tag, "InvalidSchema")
      assert.strictEqual((yield* Effect.flip(run(Session.get("localhost:3128"))))._tag, "InvalidSchema")
      const header = yield* Effect.flip(run(Session.get("http://h/", { headers: { a: "x\r\nInjected: 1" } })))
      assert.strictEqual(header._tag, "InvalidHeader")
      assert.notInclude(header.message, "Injected")
      assert.strictEqual(
        (yield* Effect.flip(run(Session.get("http://h/", { headers: { " a": "x" } }))))._tag,
        "InvalidHeader"
      )
      assert.strictEqual((yield* Effect.flip(run(Session.request("GE T", "http://h/"))))._tag, "InvalidRequest")
    }))
})

describe("Session redirects", () => {
  const methodAfter = (method: string, status: number, data?: string) =>
    Effect.map(
      run(Session.request(method, `http://h/status/${status}`, data === undefined ? {} : { data })),
      ([response, seen]) => ({ response, seen })
    )

  it.effect("303 after POST lands as GET without the body or Content-* headers", () =>
    Effect.gen(function*() {
      const { response, seen } = yield* methodAfter("POST", 303, "payload")
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.url, "http://h/landed")
      assert.strictEqual(seen[1]!.request.method, "GET")
      assert.strictEqual(seen[1]!.body.length, 0)
      assert.isFalse(seen[1]!.request.headers.has("content-length"))
      assert.isFalse(seen[1]!.request.headers.has("content-type"))
      assert.deepStrictEqual(response.history.map((r) => r.status), [303])
    }))

  it.effect("rebuilds the method by requests' table", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, number, string]> = [
        ["POST", 301, "GET"],
        ["PUT", 301, "PUT"],
        ["DELETE", 302, "GET"],
        ["HEAD", 302, "HEAD"],
        ["HEAD", 303, "HEAD"],
        ["PATCH", 303, "GET"],
        ["POST", 307, "POST"],
        ["PUT", 308, "PUT"]
      ]
      for (const [method, status, expected] of cases) {
        const { seen } = yield* Effect.map(
          run(Session.request(method, `http://h/status/${status}`, { allowRedirects: true })),
          ([, seen]) => ({ seen })
        )
        assert.strictEqual(seen[1]!.request.method, expected, `${method} ${status}`)
      }
    }))

  it.effect("307 keeps the method and body; a one-shot body cannot be replayed", () =>
    Effect.gen(function*() {
      const { seen } = yield* methodAfter("POST", 307, "payload")
      assert.strictEqual(decode(seen[1]!.body), "payload")
      assert.strictEqual(seen[1]!.request.headers.get("content-length"), "7")
      const error = yield* Effect.flip(run(Session.post("http://h/status/307", {
        data: Stream.make(new Uint8Array([1]))
      })))
      assert.strictEqual(error._tag, "UnrewindableBodyError")
      const replayable = yield* run(Session.post("http://h/status/308", {
        data: Body.replayable(() => Stream.make(new Uint8Array([7, 8])), { length: 2 })
      }))
      assert.deepStrictEqual(Array.from(replayable[1][1]!.body), [7, 8])
    }))

  it.effect("301 PUT keeps PUT but sends no body (requests' purge)", () =>
    Effect.gen(function*() {
      const { seen } = yield* methodAfter("PUT", 301, "payload")
      assert.strictEqual(seen[1]!.request.method, "PUT")
      assert.strictEqual(seen[1]!.body.length, 0)
    }))

  it.effect("fails with TooManyRedirects after maxRedirects, with the history", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(run(Session.get("http://h/loop"), { maxRedirects: 5 }))
      assert.strictEqual(error._tag, "TooManyRedirects")
      assert.strictEqual(error.message, "Exceeded 5 redirects.")
      assert.strictEqual(error.response?.history.length, 5)
    }))

  it.effect("allowRedirects: false gives the 3xx with next", () =>
    Effect.gen(function*() {
      const [response, seen] = yield* run(Session.post("http://h/status/302", { allowRedirects: false, data: "x" }))
      assert.strictEqual(response.status, 302)
      assert.strictEqual(seen.length, 1)
      const next = Option.getOrThrow(response.next)
      assert.strictEqual(next.method, "GET")
      assert.strictEqual(next.url, "http://h/landed")
      assert.isTrue(response.isRedirect)
    }))

  it.effect("head does not follow redirects by default", () =>
    Effect.gen(function*() {
      const [response] = yield* run(Session.head("http://h/status/301"))
      assert.strictEqual(response.status, 301)
      assert.isTrue(response.isPermanentRedirect)
    }))

  it.effect("resolves relative, scheme-relative and absolute Locations, carrying the fragment", () =>
    Effect.gen(function*() {
      const handler: Adapter.Handler = (request) => {
        const u = new URL(request.url)
        if (u.pathname === "/a") return Effect.succeed({ status: 302, headers: { location: "b/c?q=1" } })
        if (u.pathname === "/b/c") return Effect.succeed({ status: 302, headers: { location: "//other:81/d" } })
        if (u.pathname === "/d") return Effect.succeed({ status: 302, headers: { location: "https://third/e#new" } })
        if (u.pathname === "/e") return Effect.succeed({ status: 302, headers: { location: "/f" } })
        return Effect.succeed({ status: 200 })
      }
      const [response, seen] = yield* run(Session.get("http://h/a#orig"), undefined, handler)
      assert.deepStrictEqual(seen.map((s) => s.request.url), [
        "http://h/a#orig",
        "http://h/b/c?q=1#orig",
        "http://other:81/d#orig",
        "https://third/e#new",
        "https://third/f#new"
      ])
      assert.strictEqual(response.url, "https://third/f#new")
    }))

  it.effect("refuses to follow a redirect to a scheme other than http(s)", () =>
    Effect.gen(function*() {
      const handler: Adapter.Handler = () =>
        Effect.succeed({ status: 302, headers: { location: "file:///etc/passwd" } })
      const error = yield* Effect.flip(run(Session.get("http://h/"), undefined, handler))
      assert.strictEqual(error._tag, "InvalidSchema")
    }))

  it.effect("Set-Cookie on a 302 reaches the next hop", () =>
    Effect.gen(function*() {
      const handler: Adapter.Handler = (request) =>
        new URL(request.url).pathname === "/set"
          ? Effect.succeed({
            status: 302,
            headers: [["location", "/next"], ["set-cookie", "a=1"], ["set-cookie", "b=2; Path=/"]]
          })
          : Effect.succeed({ status: 200 })
      const [response, seen] = yield* run(Session.get("http://h/set"), undefined, handler)
      assert.strictEqual(seen[1]!.request.headers.get("cookie"), "a=1; b=2")
      assert.deepStrictEqual(response.history[0]!.cookies, { a: "1", b: "2" })
      assert.deepStrictEqual(response.cookies, {})
    }))
})

describe("Session hooks", () => {
  it.effect("response hooks run on every hop; request hooks replace the session's", () =>
    Effect.gen(function*() {
      const seenBySession: Array<number> = []
      const seenByRequest: Array<number> = []
      const [response] = yield* run(
        Effect.zip(
          Session.get("http://h/status/302"),
          Session.get("http://h/status/302", {
            hooks: { response: (r) => Effect.sync(() => void seenByRequest.push(r.status)) }
          })
        ),
        { hooks: { response: (r) => Effect.sync(() => void seenBySession.push(r.status)) } }
      )
      assert.strictEqual(response[0].status, 200)
      assert.deepStrictEqual(seenBySession, [302, 200])
      assert.deepStrictEqual(seenByRequest, [302, 200])
    }))

  it.effect("a response hook can replace the response; a redirect hook can stop the chain", () =>
    Effect.gen(function*() {
      const [replaced] = yield* run(Session.get("http://h/x", {
        hooks: {
          response: (r) =>
            Effect.succeed(
              Response.make({ ...(r as Response.Response).fields, status: 418, content: new Uint8Array() })
            )
        }
      }))
      assert.strictEqual(replaced.status, 418)
      const [stopped, seen] = yield* run(Session.get("http://h/status/302", {
        hooks: { redirect: () => Effect.succeed(false) }
      }))
      assert.strictEqual(stopped.status, 302)
      assert.strictEqual(seen.length, 1)
    }))

  it.effect("a request hook changes the prepared request; an error hook observes failures", () =>
    Effect.gen(function*() {
      const errors: Array<string> = []
      const [, seen] = yield* run(Session.get("http://h/x", {
        hooks: { request: (r) => Effect.succeed(r.setHeader("X-Signed", "yes")) }
      }))
      assert.strictEqual(seen[0]!.request.headers.get("x-signed"), "yes")
      yield* Effect.flip(run(Session.get("ftp://h/x", {
        hooks: { error: (e) => Effect.sync(() => void errors.push(e._tag)) }
      })))
      assert.deepStrictEqual(errors, ["InvalidSchema"])
    }))
})

describe("Session adapters", () => {
  it("orders mounts like requests (longest prefix first, stable)", () => {
    let order: ReadonlyArray<readonly [string, number]> = []
    for (
      const [prefix, i] of [["http://", 0], ["https://", 1], ["http://a", 2], ["http://b", 3], [
        "https://a/b",
        4
      ]] as const
    ) {
      order = Adapter.mountOrder(order, prefix, i)
    }
    // requests' test_transport_adapter_ordering: equal lengths keep mount order.
    assert.deepStrictEqual(order.map(([p]) => p), ["https://a/b", "https://", "http://a", "http://b", "http://"])
    order = Adapter.mountOrder(order, "http://a", 9)
    assert.deepStrictEqual(order.map(([p]) => p), ["https://a/b", "https://", "http://a", "http://b", "http://"])
    assert.strictEqual(order.find(([p]) => p === "http://a")?.[1], 9)
  })

  it.effect("getAdapter matches case-insensitively by prefix; mount routes a prefix elsewhere", () =>
    Effect.gen(function*() {
      const other = yield* Adapter.memory(() => Effect.succeed({ status: 202 }))
      const [[first, second, missing]] = yield* run(Effect.gen(function*() {
        yield* Session.mount("http://API.internal/", other.transport)
        const a = yield* Session.get("http://api.internal/x")
        const b = yield* Session.get("http://api.internal.evil/x")
        const m = yield* Effect.flip(Session.getAdapter("gopher://x"))
        return [a.status, b.status, m] as const
      }))
      assert.strictEqual(first, 202)
      assert.strictEqual(second, 200)
      assert.strictEqual(missing._tag, "InvalidSchema")
      assert.strictEqual(missing.message, "No connection adapters were found for \"gopher://x\"")
    }))
})

describe("the lean path and the general loop agree", () => {
  // A no-op response hook sends a call through the general loop; without hooks it takes the lean path.
  const viaGeneral = { hooks: { response: () => Effect.void } }
  const chain: Adapter.Handler = (request) => {
    const u = new URL(request.url)
    switch (u.pathname) {
      case "/start":
        return Effect.succeed({
          status: 303,
          headers: [["location", "/two"], ["set-cookie", "a=1"]],
          body: "see other"
        })
      case "/two":
        return Effect.succeed({ status: 307, headers: { location: "//other.test/three?x=1" } })
      case "/three":
        return Effect.succeed({ status: 302, headers: { location: "/four#frag" }, body: "x".repeat(10) })
      case "/loop":
        return Effect.succeed({ status: 302, headers: { location: "/loop" } })
      default:
        return Effect.succeed({ status: 200, headers: { "content-type": "text/plain" }, body: "done" })
    }
  }
  const observe = (options: Session.RequestOptions) =>
    Effect.map(
      run(
        Session.post("http://h/start#orig", { data: "payload", auth: Auth.bearer("tok"), ...options }),
        undefined,
        chain
      ),
      ([response, seen]) => ({
        status: response.status,
        url: response.url,
        text: response.text,
        history: response.history.map((r) => ({
          status: r.status,
          url: r.url,
          content: r.text,
          previous: r.history.map((h) => h.url)
        })),
        sent: seen.map((s) => ({
          method: s.request.method,
          url: s.request.url,
          body: decode(s.body),
          authorization: s.request.headers.get("authorization"),
          cookie: s.request.headers.get("cookie")
        }))
      })
    )

  it.effect("redirect chains give the same responses, history and requests", () =>
    Effect.gen(function*() {
      const lean = yield* observe({})
      const general = yield* observe(viaGeneral)
      assert.deepStrictEqual(lean, general)
      assert.deepStrictEqual(lean.history.map((h) => h.status), [303, 307, 302])
      assert.deepStrictEqual(lean.history[2]!.previous, [lean.history[0]!.url, lean.history[1]!.url])
      assert.strictEqual(lean.sent[1]!.method, "GET")
      assert.strictEqual(lean.sent[1]!.cookie, "a=1")
      assert.isUndefined(lean.sent[2]!.authorization)
      assert.strictEqual(lean.url, "http://other.test/four#frag")
    }))

  it.effect("too many redirects fail the same way", () =>
    Effect.gen(function*() {
      const [lean, general] = yield* Effect.all([
        Effect.flip(run(Session.get("http://h/loop"), { maxRedirects: 3 }, chain)),
        Effect.flip(run(Session.get("http://h/loop", viaGeneral), { maxRedirects: 3 }, chain))
      ])
      assert.strictEqual(lean._tag, "TooManyRedirects")
      assert.strictEqual(general._tag, "TooManyRedirects")
      assert.strictEqual(lean.message, general.message)
      assert.strictEqual(lean.response?.history.length, general.response?.history.length)
    }))
})
