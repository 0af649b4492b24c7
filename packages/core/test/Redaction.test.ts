import { type Adapter, Auth, Netrc, Response, Session } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Logger, Stream } from "effect"
import * as util from "node:util"
import { memorySessionWithFiles } from "./utils/fixtures.js"

const SECRETS = ["s3cret-pass", "b3arer-token", "c00kie-value", "jar-c00kie", "k3y-value", "dig3st-pw", "netrc-pw"]

/** Every way a value can be shown. */
const renderings = (value: unknown): Array<string> => [
  JSON.stringify(value),
  String(value),
  util.inspect(value, { depth: 20 }),
  util.format("%o", value)
]

const assertClean = (label: string, texts: ReadonlyArray<string>, secrets = SECRETS) => {
  for (const text of texts) {
    for (const secret of secrets) assert.notInclude(text, secret, `${label} shows ${secret}`)
  }
}

/** Run `effect`, capturing what every built-in logger would print. */
const captureLogs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const collect = <M>(logger: Logger.Logger<M, unknown>) =>
      Logger.map(logger, (out) => void lines.push(typeof out === "string" ? out : util.inspect(out, { depth: 20 })))
    const loggers = Logger.zip(
      Logger.zip(collect(Logger.stringLogger), collect(Logger.logfmtLogger)),
      Logger.zip(collect(Logger.jsonLogger), collect(Logger.structuredLogger))
    )
    yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, loggers)))
    return lines
  })

const handler: Adapter.Handler = (request) => {
  const path = new URL(request.url).pathname
  if (path === "/redirect") {
    return Effect.succeed({
      status: 307,
      headers: [["location", "/final"], ["set-cookie", "jar=jar-c00kie; Path=/"]]
    })
  }
  if (path === "/loop") return Effect.succeed({ status: 302, headers: { location: "/loop" } })
  return Effect.succeed({ status: 500, headers: [["set-cookie", "jar=jar-c00kie"]], body: "boom" })
}

describe("secrets never show", () => {
  it.effect("in requests, responses, errors and auth values, however they are rendered or logged", () =>
    Effect.gen(function*() {
      const netrc = Netrc.parse("machine h login u password netrc-pw")!
      const { layer } = memorySessionWithFiles(handler, { sensitiveHeaders: ["X-Key"], maxRedirects: 2 })
      const values = yield* Effect.gen(function*() {
        const response = yield* Session.get("http://h/redirect", {
          auth: Auth.basic("user", "s3cret-pass"),
          headers: { Cookie: "c=c00kie-value", "x-key": "k3y-value" }
        })
        const bearer = yield* Session.get("http://h/x", { auth: Auth.bearer("b3arer-token") })
        const httpError = yield* Effect.flip(Response.raiseForStatus(bearer))
        const tooMany = yield* Effect.flip(Session.get("http://h/loop", { auth: ["u", "s3cret-pass"] }))
        const unrewindable = yield* Effect.flip(
          Session.post("http://h/redirect", { auth: ["u", "s3cret-pass"], data: Stream.make(new Uint8Array([1])) })
        )
        const stream = yield* Effect.scoped(
          Effect.map(
            Session.stream("GET", "http://h/x", { headers: { authorization: "Bearer b3arer-token" } }),
            (r) => renderings(r)
          )
        )
        return { response, bearer, httpError, tooMany, unrewindable, stream }
      }).pipe(Effect.provide(layer))
      const { bearer, httpError, response, stream, tooMany, unrewindable } = values
      assert.strictEqual(response.status, 500)
      assert.strictEqual(httpError._tag, "HTTPError")
      assert.strictEqual(tooMany._tag, "TooManyRedirects")
      assert.strictEqual(unrewindable._tag, "UnrewindableBodyError")
      // The secrets were really sent, so a leak would show.
      assert.strictEqual(response.request.headers.get("x-key"), "k3y-value")
      assert.include(response.history[0]!.headers.get("set-cookie")!, "jar-c00kie")
      const shown: Record<string, unknown> = {
        response,
        history: response.history[0],
        request: response.request,
        bearer,
        httpError,
        tooMany,
        unrewindable,
        basic: Auth.basic("u", "s3cret-pass"),
        bearerAuth: Auth.bearer("b3arer-token"),
        digest: Auth.digest("u", "dig3st-pw"),
        netrcAuth: Auth.netrc({ netrc }),
        netrc
      }
      for (const [label, value] of Object.entries(shown)) assertClean(label, renderings(value))
      assertClean("streaming response", stream)
      // Headers alone know only the built-in names (the session's sensitiveHeaders live on the request).
      assertClean("headers", renderings(response.request.headers), SECRETS.filter((s) => s !== "k3y-value"))
      for (const error of [httpError, tooMany, unrewindable]) {
        assertClean(`${error._tag} message`, [error.message, error.stack ?? "", Cause.pretty(Cause.fail(error))])
      }
      const logs = yield* captureLogs(Effect.gen(function*() {
        for (const value of Object.values(shown)) yield* Effect.log(value)
        yield* Effect.logError(Cause.fail(httpError))
        yield* Effect.logWarning("request", response.request, tooMany)
      }))
      assert.isAbove(logs.length, 10)
      // The values were rendered (with their redaction marks), not skipped.
      assert.include(logs.join("\n"), "<redacted>")
      assertClean("logs", logs)
    }))
})
