/**
 * A cookie jar kept in a file: loaded when acquired, saved when released (and, optionally, after
 * every change), so a program's cookies outlive the process, as with curl's `-b file -c file`.
 *
 * ```ts
 * const session = NodeSession.layer({ cookieFile: "./cookies.json" })
 * // or, as a jar of its own:
 * const jar = NodeCookieJar.layer({ path: "./cookies.txt" }) // Netscape format, from the extension
 * ```
 *
 * - Formats: `"json"` (`CookieJar.toJSON`, versioned, every cookie kept) or `"netscape"` (curl's
 *   and browsers' `cookies.txt`; any-host cookies, which that format cannot express, are not
 *   written). By default a path ending in `.txt` is Netscape, anything else JSON.
 * - Loading: a missing file is an empty jar; a file that cannot be read or decoded fails with
 *   `CookieJarError` (the file is left alone rather than overwritten with an empty jar). Cookies
 *   in the file pass the jar's checks (expired, public-suffix or oversized ones are dropped).
 * - Saving is atomic: the text goes to a temporary file in the same directory, is flushed to disk
 *   (`fsync`), then renamed over the old file, and the directory is synced. A crash at any moment
 *   leaves either the old file or the new one, never a mix (a stray `.<name>.<random>.tmp` may be
 *   left behind by a crash). New files are written with mode `0600`: cookies are credentials.
 * - Saves happen only when the jar changed, one at a time. A failed save on release or after a
 *   change is logged as a warning (it cannot fail the response or the scope); call `save` to see
 *   the error. Two processes sharing one file: the last to save wins.
 *
 * @since 0.1.0
 */
import { CookieJar } from "@effect-requests/core"
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import type { Scope } from "effect"
import * as crypto from "node:crypto"
import * as NodePath from "node:path"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly path: string
  /** `"json"` or `"netscape"`; by default `.txt` files are Netscape, others JSON. */
  readonly format?: "json" | "netscape" | undefined
  /** Also save after every change (each response that set a cookie costs a write and an fsync). Default `false`. */
  readonly saveOnChange?: boolean | undefined
  /** Mode of the written file. Default `0o600`. */
  readonly mode?: number | undefined
  /** The jar's bounds and policy. */
  readonly jar?: CookieJar.Options | undefined
}

/**
 * A jar service that also knows its file.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileJar extends CookieJar.Service {
  readonly path: string
  /** Write the jar to its file now (atomically), whether or not it changed. */
  readonly save: Effect.Effect<void, CookieJar.CookieJarError>
}

const formatOf = (options: Options): "json" | "netscape" =>
  options.format ?? (options.path.toLowerCase().endsWith(".txt") ? "netscape" : "json")

const encode = (jar: CookieJar.Service, format: "json" | "netscape"): Effect.Effect<string> =>
  format === "netscape"
    ? CookieJar.toNetscape(jar)
    : Effect.map(CookieJar.toJSON(jar), (json) => `${JSON.stringify(json, null, 2)}\n`)

/**
 * Write `text` to `path` atomically: a temporary file in the same directory, `fsync`, `rename`,
 * then an `fsync` of the directory. On failure the temporary file is removed and `path` is untouched.
 *
 * @since 0.1.0
 * @category persistence
 */
export const writeAtomic = (
  path: string,
  text: string,
  mode = 0o600
): Effect.Effect<void, CookieJar.CookieJarError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = NodePath.dirname(path)
    const temp = NodePath.join(dir, `.${NodePath.basename(path)}.${crypto.randomBytes(6).toString("hex")}.tmp`)
    const bytes = new TextEncoder().encode(text)
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(temp, { flag: "wx", mode })
      yield* file.writeAll(bytes)
      yield* file.sync
    })).pipe(
      Effect.zipRight(fs.rename(temp, path)),
      Effect.onError(() => Effect.ignore(fs.remove(temp)))
    )
    // Make the rename itself durable (best effort: not every platform can sync a directory).
    yield* Effect.ignore(Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (d) => d.sync)))
  }).pipe(
    Effect.mapError((cause) =>
      new CookieJar.CookieJarError({ reason: "Write", message: `Cannot save the cookie jar to ${path}`, path, cause })
    )
  )

/**
 * Read a jar file (a missing file gives an empty jar).
 *
 * @since 0.1.0
 * @category persistence
 */
export const load = (
  options: Options
): Effect.Effect<CookieJar.Service, CookieJar.CookieJarError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const { path } = options
    const readError = (cause: unknown) =>
      new CookieJar.CookieJarError({ reason: "Read", message: `Cannot read the cookie jar ${path}`, path, cause })
    const exists = yield* Effect.mapError(fs.exists(path), readError)
    if (!exists) return yield* CookieJar.make(options.jar)
    const text = yield* Effect.mapError(fs.readFileString(path), readError)
    if (formatOf(options) === "netscape") return yield* CookieJar.fromNetscape(text, options.jar)
    return yield* CookieJar.fromJSON(text, options.jar).pipe(
      Effect.mapError((e) => new CookieJar.CookieJarError({ ...e, message: `${path}: ${e.message}`, path }))
    )
  })

/**
 * A file-backed jar for the life of the scope: loaded now, saved when the scope closes (and after
 * each change with `saveOnChange`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<FileJar, CookieJar.CookieJarError, Scope.Scope | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const jar = yield* load(options)
    const format = formatOf(options)
    const lock = yield* Effect.makeSemaphore(1)
    let saved = yield* jar.revision
    const write = lock.withPermits(1)(
      Effect.gen(function*() {
        const revision = yield* jar.revision
        yield* writeAtomic(options.path, yield* encode(jar, format), options.mode ?? 0o600)
        saved = revision
      }).pipe(Effect.provideService(FileSystem.FileSystem, fs))
    )
    const saveIfChanged = Effect.flatMap(jar.revision, (revision) => revision === saved ? Effect.void : write).pipe(
      Effect.catchAll((error) =>
        Effect.logWarning("effect-requests: the cookie jar was not saved").pipe(
          Effect.annotateLogs({ path: options.path, cause: String(error.cause) })
        )
      )
    )
    yield* Effect.addFinalizer(() => saveIfChanged)
    const after = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      options.saveOnChange === true ? Effect.tap(effect, () => saveIfChanged) : effect
    return {
      ...jar,
      extract: (url, lines) => after(jar.extract(url, lines)),
      set: (name, value, opts) => after(jar.set(name, value, opts)),
      delete: (name, filter) => after(jar.delete(name, filter)),
      clear: (filter) => after(jar.clear(filter)),
      update: (input, opts) => after(jar.update(input, opts)),
      restore: (cookies) => after(jar.restore(cookies)),
      path: options.path,
      save: write
    }
  })

/**
 * The `CookieJar` service kept in a file, with Node's file system.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<CookieJar.CookieJar, CookieJar.CookieJarError> =>
  Layer.scoped(CookieJar.CookieJar, make(options)).pipe(Layer.provide(NodeFileSystem.layer))
