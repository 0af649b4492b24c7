/**
 * The environment, read through the ConfigProvider when the session layer is built: proxies (HTTP
 * and SOCKS), NETRC, and the `trustEnv` switch, changed at run time and per region of code.
 */
import { Session, SessionConfig } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { type NodeSession } from "@effect-requests/node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { inSession } from "./utils/layers.js"
import { httpProxy, socksProxy } from "./utils/proxies.js"

const inEnv = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  env: ReadonlyArray<readonly [string, string]>,
  options: NodeSession.Options = {}
) => inSession(effect, options, env)

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(tmpdir(), "effect-requests-env-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("environment", () => {
  it.scoped("turns environment proxies off and on with trustEnv, at run time and locally", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const proxy = yield* httpProxy()
      const url = httpbin.url("/get")
      yield* inEnv(
        Effect.gen(function*() {
          yield* Session.get(url)
          yield* SessionConfig.locally(Session.get(url), { trustEnv: false })
          yield* SessionConfig.set({ trustEnv: false })
          yield* Session.get(url)
          yield* SessionConfig.locally(Session.get(url), { trustEnv: true })
        }),
        [["http_proxy", proxy.url]]
      )
      assert.lengthOf(proxy.log(), 2)
      assert.lengthOf(yield* httpbin.requests, 4)
    }))

  it.scoped("takes ALL_PROXY as a SOCKS5 proxy, with NO_PROXY applied", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const socks = yield* socksProxy()
      const env = [["ALL_PROXY", `socks5h://127.0.0.1:${socks.port}`], ["NO_PROXY", "localhost"]] as const
      yield* inEnv(
        Effect.zip(
          Session.get(httpbin.url("/get")),
          Session.get(`http://localhost:${httpbin.port}/get`)
        ),
        env
      )
      assert.deepStrictEqual(socks.log(), [{ host: "127.0.0.1", port: httpbin.port }])
      assert.lengthOf(yield* httpbin.requests, 2)
    }))

  it.scoped("reads NETRC for credentials, and only while trustEnv is on", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const dir = yield* tempDir
      const netrc = path.join(dir, "netrc")
      writeFileSync(netrc, "machine 127.0.0.1 login alice password s3cret\n")
      const url = httpbin.url("/basic-auth/alice/s3cret")
      const [trusted, untrusted] = yield* inEnv(
        Effect.all([Session.get(url), SessionConfig.locally(Session.get(url), { trustEnv: false })]),
        [["NETRC", netrc]]
      )
      assert.deepStrictEqual([trusted.status, untrusted.status], [200, 401])
    }))

  it.scoped("reads ~/.netrc from HOME (a temporary one here)", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const home = yield* tempDir
      writeFileSync(path.join(home, ".netrc"), "machine 127.0.0.1 login bob password pw\n")
      const response = yield* inEnv(Session.get(httpbin.url("/basic-auth/bob/pw")), [["HOME", home]])
      assert.strictEqual(response.status, 200)
    }))

  it.scoped("answers Session.mergeEnvironmentSettings from the environment the session read", () =>
    Effect.gen(function*() {
      const merged = yield* inEnv(
        Effect.all([
          Session.mergeEnvironmentSettings("https://api.test/"),
          Session.mergeEnvironmentSettings("https://internal.test/"),
          Session.mergeEnvironmentSettings("https://api.test/", { verify: false, proxies: { https: "" } })
        ]),
        [["HTTPS_PROXY", "http://proxy.test:3128"], ["NO_PROXY", ".internal.test"], ["REQUESTS_CA_BUNDLE", "/ca.pem"]]
      )
      assert.deepStrictEqual(merged.map((m) => [m.proxies["https"], m.verify]), [
        ["http://proxy.test:3128", "/ca.pem"],
        [undefined, "/ca.pem"],
        ["", false]
      ])
    }))
})
