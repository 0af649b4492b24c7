import { type Adapter, Hooks, Session } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import { memorySessionWithFiles } from "./utils/fixtures.js"

// /1 → /2 → /3 (200), on one host
const chain: Adapter.Handler = (request) => {
  const n = Number(new URL(request.url).pathname.slice(1))
  return Effect.succeed(n < 3 ? { status: 302, headers: { location: `/${n + 1}` } } : { status: 200, body: "end" })
}

const run = <A, E>(effect: Effect.Effect<A, E, Session.Session>, options?: Session.LayerOptions) =>
  Effect.gen(function*() {
    const { layer, requests } = memorySessionWithFiles(chain, options)
    const result = yield* Effect.provide(effect, layer)
    return [result, yield* Effect.provide(requests, layer)] as const
  })

describe("hooks", () => {
  it.effect("request hooks run on every hop, session first then the request's", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const [, seen] = yield* run(
        Session.get("http://h/1", {
          hooks: {
            request: (r) => Effect.sync(() => void order.push(`request ${r.pathUrl}`))
          }
        }),
        {
          hooks: {
            request: (r) =>
              Effect.sync(() => {
                order.push(`session ${r.pathUrl}`)
                return r.setHeader("X-Hop", r.pathUrl)
              })
          }
        }
      )
      assert.deepStrictEqual(order, [
        "session /1",
        "request /1",
        "session /2",
        "request /2",
        "session /3",
        "request /3"
      ])
      assert.deepStrictEqual(seen.map((s) => s.request.headers.get("x-hop")), ["/1", "/2", "/3"])
    }))

  it.effect("response hooks: the request's replace the session's; an empty list does not", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const session = (r: { status: number }) => Effect.sync(() => void calls.push(`session ${r.status}`))
      yield* run(
        Effect.all([
          Session.get("http://h/1"),
          Session.get("http://h/2", {
            hooks: { response: (r) => Effect.sync(() => void calls.push(`own ${r.status}`)) }
          }),
          Session.get("http://h/3", { hooks: { response: [] } })
        ]),
        { hooks: { response: session } }
      )
      assert.deepStrictEqual(calls, ["session 302", "session 302", "session 200", "own 302", "own 200", "session 200"])
      assert.deepStrictEqual(Hooks.merge(Hooks.make({ redirect: [() => Effect.void] }), Hooks.empty).redirect.length, 1)
    }))

  it.effect("a redirect hook sees each hop and can stop the chain", () =>
    Effect.gen(function*() {
      const hops: Array<string> = []
      const [response, seen] = yield* run(Session.get("http://h/1", {
        hooks: {
          redirect: ({ next, response }) =>
            Effect.sync(() => {
              hops.push(`${response.status} → ${next.pathUrl}`)
              return next.pathUrl !== "/3"
            })
        }
      }))
      assert.deepStrictEqual(hops, ["302 → /2", "302 → /3"])
      assert.strictEqual(response.status, 302)
      assert.strictEqual(response.url, "http://h/2")
      assert.deepStrictEqual(response.history.map((r) => r.url), ["http://h/1"])
      assert.strictEqual(seen.length, 2)
    }))

  it.effect("a hook that dies fails the request with HookError; error hooks observe it", () =>
    Effect.gen(function*() {
      const observed: Array<string> = []
      const [error] = yield* run(Effect.flip(Session.get("http://h/1", {
        hooks: {
          response: () =>
            Effect.sync(() => {
              throw new Error("hook bug")
            }),
          error: [
            (e) => Effect.sync(() => void observed.push(e._tag)),
            () => Effect.die("an error hook that dies is ignored")
          ]
        }
      })))
      assert.strictEqual(error._tag, "HookError")
      assert.deepStrictEqual(observed, ["HookError"])
    }))
})

describe("Session.resolveRedirects", () => {
  it.effect("streams the hops of a response obtained with allowRedirects: false", () =>
    Effect.gen(function*() {
      const statuses: Array<number> = []
      const [[first, hops], seen] = yield* run(Effect.gen(function*() {
        const first = yield* Session.get("http://h/1", {
          allowRedirects: false,
          hooks: { response: (r) => Effect.sync(() => void statuses.push(r.status)) }
        })
        const hops = yield* Stream.runCollect(Session.resolveRedirects(first, first.request))
        return [first, Array.from(hops)] as const
      }))
      assert.strictEqual(first.status, 302)
      assert.strictEqual(Option.getOrThrow(first.next).url, "http://h/2")
      assert.deepStrictEqual(hops.map((r) => [r.status, r.url]), [[302, "http://h/2"], [200, "http://h/3"]])
      assert.deepStrictEqual(hops[1]!.history.map((r) => r.url), ["http://h/1", "http://h/2"])
      assert.strictEqual(hops[1]!.text, "end")
      // Response hooks ran for the first response and for each hop.
      assert.deepStrictEqual(statuses, [302, 302, 200])
      assert.strictEqual(seen.length, 3)
    }))

  it.effect("fails with TooManyRedirects past maxRedirects, and stops on a non-redirect", () =>
    Effect.gen(function*() {
      const [error] = yield* run(
        Effect.gen(function*() {
          const first = yield* Session.get("http://h/1", { allowRedirects: false })
          return yield* Effect.flip(Stream.runCollect(Session.resolveRedirects(first, first.request)))
        }),
        { maxRedirects: 1 }
      )
      assert.strictEqual(error._tag, "TooManyRedirects")
      assert.strictEqual(error.response?.history.length, 1)
      const [none] = yield* run(Effect.gen(function*() {
        const last = yield* Session.get("http://h/3")
        return yield* Stream.runCollect(Session.resolveRedirects(last, last.request))
      }))
      assert.strictEqual(none.length, 0)
    }))
})
