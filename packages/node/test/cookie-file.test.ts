import { CookieJar, Session } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { NodeCookieJar, NodeSession } from "@effect-requests/node"
import { Error as PlatformError, FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { emptyEnv } from "./utils/layers.js"

const here = NodePath.dirname(new URL(import.meta.url).pathname)

/** A temporary directory for the test (removed with its scope). */
const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "er-cookies-" }))

/** Run `use` with a file jar open in a scope of its own; the jar is saved when that scope closes. */
const withJar = <A, E>(
  options: NodeCookieJar.Options,
  use: (jar: NodeCookieJar.FileJar) => Effect.Effect<A, E>
) => Effect.scoped(Effect.flatMap(NodeCookieJar.make(options), use))

const seed = (jar: CookieJar.Service) =>
  Effect.gen(function*() {
    yield* jar.extract("https://a.example.com/app", [
      "sid=s1; Secure; HttpOnly; Path=/",
      "dom=d; Domain=example.com; Max-Age=86400"
    ])
    yield* jar.set("any", "where")
  })

const simulated = (method: string) =>
  new PlatformError.SystemError({ reason: "Unknown", module: "FileSystem", method, description: "simulated crash" })

/** Node's file system, except that `rename` fails, or that a write stops half way and fails. */
const crashing = (at: "rename" | "write") =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
      ...fs,
      rename: (from, to) => at === "rename" ? Effect.fail(simulated("rename")) : fs.rename(from, to),
      open: (path, options) =>
        Effect.map(fs.open(path, options), (file) =>
          at !== "write" ? file : Object.assign(Object.create(file) as FileSystem.File, {
            writeAll: (bytes: Uint8Array) =>
              Effect.zipRight(file.writeAll(bytes.subarray(0, bytes.length >> 1)), Effect.fail(simulated("write")))
          }))
    }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

describe("NodeCookieJar: a jar kept in a file", () => {
  it.scoped("loads on acquire, saves on release, and round-trips every cookie through JSON", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "jar.json")
      const before = yield* withJar({ path }, (jar) =>
        Effect.gen(function*() {
          assert.isTrue(yield* jar.isEmpty)
          yield* seed(jar)
          return yield* jar.list
        }))
      const text = NodeFs.readFileSync(path, "utf8")
      assert.strictEqual(JSON.parse(text).format, "effect-requests/cookie-jar")
      assert.strictEqual(NodeFs.statSync(path).mode & 0o777, 0o600)
      const after = yield* withJar({ path }, (jar) => jar.list)
      assert.deepStrictEqual(after, before)
      // Nothing changed: closing does not rewrite the file.
      const mtime = NodeFs.statSync(path).mtimeMs
      yield* withJar({ path }, (jar) => jar.header("https://a.example.com/"))
      assert.strictEqual(NodeFs.statSync(path).mtimeMs, mtime)
      assert.deepStrictEqual(NodeFs.readdirSync(dir), ["jar.json"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("saveOnChange writes after each change, before the scope closes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "jar.json")
      const scope = yield* Scope.make()
      const jar = yield* Scope.extend(NodeCookieJar.make({ path, saveOnChange: true }), scope)
      yield* jar.extract("http://h.example.com/", ["a=1"])
      assert.deepStrictEqual(
        (yield* CookieJar.decodeJSON(NodeFs.readFileSync(path, "utf8"))).map((c) => c.name),
        ["a"]
      )
      yield* jar.set("b", "2")
      assert.strictEqual((yield* CookieJar.decodeJSON(NodeFs.readFileSync(path, "utf8"))).length, 2)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a file that cannot be decoded fails with CookieJarError and is left alone", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "jar.json")
      NodeFs.writeFileSync(path, "{\"format\":\"effect-requests/cookie-jar\",\"version\":7,\"cookies\":[]}")
      const error = yield* Effect.flip(withJar({ path }, (jar) => jar.set("a", "1")))
      assert.strictEqual(error._tag, "CookieJarError")
      assert.strictEqual(error.reason, "Decode")
      assert.include(error.message, "version")
      assert.include(NodeFs.readFileSync(path, "utf8"), "\"version\":7")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  for (const at of ["write", "rename"] as const) {
    it.scoped(`a save that fails at ${at} leaves the old file intact, and no temporary file`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const path = NodePath.join(dir, "jar.json")
        yield* withJar({ path }, seed)
        const old = NodeFs.readFileSync(path, "utf8")
        const error = yield* Effect.flip(
          withJar({ path }, (jar) =>
            Effect.gen(function*() {
              yield* jar.set("new", "1")
              return yield* jar.save
            })).pipe(Effect.provide(crashing(at)))
        )
        assert.strictEqual(error.reason, "Write")
        assert.strictEqual(NodeFs.readFileSync(path, "utf8"), old)
        assert.deepStrictEqual(NodeFs.readdirSync(dir), ["jar.json"])
        // The old file still loads, with every cookie.
        const loaded = yield* withJar({ path }, (jar) => jar.toRecord())
        assert.deepStrictEqual(loaded, { sid: "s1", dom: "d", any: "where" })
      }).pipe(Effect.provide(NodeFileSystem.layer)))
  }

  it.live("a process killed in the middle of a save leaves the old file whole", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "jar.json")
      const v1 = Array.from({ length: 2000 }, (_, i): CookieJar.Cookie => ({
        name: `c${i}`,
        value: `v1-${"x".repeat(500)}`,
        domain: "example.com",
        path: "/",
        hostOnly: true,
        secure: false,
        httpOnly: false,
        expires: undefined
      }))
      yield* withJar({ path, jar: { maxCookiesPerDomain: 5000, maxCookies: 5000 } }, (jar) => jar.update(v1))
      const old = NodeFs.readFileSync(path, "utf8")
      // The child rewrites every value to v2 and is SIGKILLed once half of the new file is on disk.
      const temp = yield* Effect.async<string>((resume) => {
        const child = ChildProcess.spawn(
          process.execPath,
          ["--import", "tsx", NodePath.join(here, "fixtures", "hang-mid-save.ts"), path],
          { cwd: NodePath.resolve(here, "..", "..", ".."), stdio: ["ignore", "pipe", "inherit"] }
        )
        let output = ""
        child.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString()
          const match = /half-written (\S+)\n/.exec(output)
          if (match !== null) {
            child.kill("SIGKILL")
            child.on("exit", () => resume(Effect.succeed(match[1]!)))
          }
        })
        return Effect.sync(() => child.kill("SIGKILL"))
      })
      // The crash left a half-written temporary file beside the jar, and the jar itself untouched.
      assert.strictEqual(NodePath.dirname(temp), dir)
      const partial = NodeFs.readFileSync(temp, "utf8")
      assert.isAbove(partial.length, 0)
      assert.include(partial, "v2-")
      assert.isTrue((yield* Effect.either(CookieJar.decodeJSON(partial)))._tag === "Left")
      assert.strictEqual(NodeFs.readFileSync(path, "utf8"), old)
      const loaded = yield* withJar({ path, jar: { maxCookiesPerDomain: 5000, maxCookies: 5000 } }, (jar) => jar.list)
      assert.strictEqual(loaded.length, 2000)
      assert.isTrue(loaded.every((c) => c.value.startsWith("v1-")))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)), 60_000)
})

describe("NodeCookieJar: Netscape cookies.txt", () => {
  it.scoped("a .txt path is written in curl's format and read back", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "cookies.txt")
      yield* withJar({ path }, seed)
      const text = NodeFs.readFileSync(path, "utf8")
      assert.isTrue(text.startsWith("# Netscape HTTP Cookie File\n"))
      assert.include(text, "#HttpOnly_a.example.com\tFALSE\t/\tTRUE\t0\tsid\ts1\n")
      assert.match(text, /\n\.example\.com\tTRUE\t\/\tFALSE\t\d+\tdom\td\n/)
      const back = yield* withJar({ path }, (jar) => jar.list)
      assert.deepStrictEqual(back.map((c) => [c.name, c.domain, c.hostOnly, c.secure, c.httpOnly]), [
        ["sid", "a.example.com", true, true, true],
        ["dom", "example.com", false, false, false]
      ])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("a session started from a hand-written curl cookies.txt sends its cookies, and saves new ones", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const httpbin = yield* Httpbin.make()
      const path = NodePath.join(dir, "cookies.txt")
      NodeFs.writeFileSync(
        path,
        [
          "# Netscape HTTP Cookie File",
          "# https://curl.se/docs/http-cookies.html",
          "# This file was generated by libcurl! Edit at your own risk.",
          "",
          "127.0.0.1\tFALSE\t/\tFALSE\t0\tfrom_curl\tyes",
          "#HttpOnly_127.0.0.1\tFALSE\t/cookies\tFALSE\t4102444800\ttoken\tabc",
          "127.0.0.1\tFALSE\t/\tTRUE\t0\tsecure_only\tno",
          "127.0.0.2\tFALSE\t/\tFALSE\t0\tother_host\tno",
          "not a cookie line",
          ""
        ].join("\n")
      )
      const session = NodeSession.layer({ cookieFile: path }).pipe(Layer.provide(emptyEnv()))
      const first = yield* Effect.flatMap(Session.get(httpbin.url("/cookies/set?fresh=1")), (r) => r.json).pipe(
        Effect.provide(session)
      )
      assert.deepStrictEqual(first, { cookies: { token: "abc", from_curl: "yes", fresh: "1" } })
      const saved = NodeFs.readFileSync(path, "utf8")
      assert.include(saved, "127.0.0.1\tFALSE\t/\tFALSE\t0\tfresh\t1")
      const again = yield* Effect.flatMap(Session.get(httpbin.url("/cookies")), (r) => r.json).pipe(
        Effect.provide(session)
      )
      assert.deepStrictEqual(again, { cookies: { token: "abc", from_curl: "yes", fresh: "1" } })
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.scoped("NodeSession's cookieFile keeps cookies across sessions (JSON)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const httpbin = yield* Httpbin.make()
      const path = NodePath.join(dir, "session.json")
      const session = NodeSession.layer({ cookieFile: { path } }).pipe(Layer.provide(emptyEnv()))
      yield* Session.get(httpbin.url("/cookies/set?kept=1")).pipe(Effect.provide(session))
      const body = yield* Effect.flatMap(Session.get(httpbin.url("/cookies")), (r) => r.json).pipe(
        Effect.provide(session)
      )
      assert.deepStrictEqual(body, { cookies: { kept: "1" } })
      // A jar whose directory does not exist fails its explicit save with a typed error.
      const missing = NodePath.join(dir, "missing-dir", "jar.json")
      const error = yield* Effect.flip(
        withJar({ path: missing }, (jar) => Effect.zipRight(jar.set("a", "1"), jar.save))
      )
      assert.strictEqual(error.reason, "Write")
      assert.strictEqual(error._tag, "CookieJarError")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
