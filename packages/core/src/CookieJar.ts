/**
 * The session's cookie jar (requests' `Session.cookies`), on tough-cookie's RFC 6265 rules.
 *
 * - Storing: every `Set-Cookie` line of every response is offered to the jar against the URL that
 *   answered. tough-cookie parses it and applies RFC 6265: the Domain attribute must domain-match
 *   the host and must not be a public suffix (`Domain=co.uk` is refused), a host without Domain
 *   gets a host-only cookie, the default path is the request's directory, and the `__Host-` /
 *   `__Secure-` prefixes are enforced. `Max-Age` wins over `Expires` and is turned into an
 *   absolute expiry when the cookie arrives; an expiry in the past (`Max-Age=0`) deletes.
 * - A malformed or rejected line is skipped and reported (`onRejected`, a debug log by default);
 *   it never fails the response.
 * - Sending: the `Cookie` header for a URL holds the cookies whose domain, path, Secure flag and
 *   expiry allow it, longest path first, then oldest first.
 * - Safer than tough-cookie's defaults: `localhost` and loopback are not secure contexts unless
 *   `allowSecureOnLocal` is set (a Secure cookie goes over https only), a plain-http response cannot
 *   replace or shadow a `Secure` cookie (RFC 6265bis 5.7), `Domain=localhost` and other special-use
 *   names are refused, and sizes are bounded: per cookie, per domain, in total, and per header.
 * - requests' dict-like API in Effect form: `get` (failing with `CookieConflictError` when a name
 *   is ambiguous), `set`, `delete`, `clear`, `list`, `toRecord`, `update`, and the module
 *   functions `fromRecord` (`cookiejar_from_dict`) and `merge` (`merge_cookies`). Cookies set
 *   without a domain behave as requests' do: they are sent to every host (domain `""`).
 * - Persistence: `toJSON` / `fromJSON` through a versioned Schema, and the Netscape `cookies.txt`
 *   format (`toNetscape` / `fromNetscape`). Loaded cookies pass the same checks as received ones.
 *
 * Expiry is judged with Effect's `Clock`, so tests can move time with `TestClock`.
 *
 * @since 0.1.0
 */
import { Clock, Context, Data, Effect, Layer, Option, type ParseResult, Schema } from "effect"
import * as codec from "./internal/cookieCodec.js"
import * as store from "./internal/cookieStore.js"
import * as netscape from "./internal/netscape.js"
import * as RequestError from "./RequestError.js"

/**
 * A cookie as the jar holds it. The value is a secret: the jar never puts it in a message or log.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cookie {
  readonly name: string
  readonly value: string
  /** The domain, lower case, without a leading dot; `""` means any host (requests' dict cookies). */
  readonly domain: string
  readonly path: string
  /** Sent only to exactly `domain` (the server gave no Domain attribute). */
  readonly hostOnly: boolean
  readonly secure: boolean
  readonly httpOnly: boolean
  /** Expiry; `undefined` for a session cookie. */
  readonly expires: Date | undefined
  readonly sameSite?: string | undefined
}

/**
 * A `Set-Cookie` line the jar did not take, as reported to `onRejected` (no value, ever).
 *
 * @since 0.1.0
 * @category models
 */
export interface Rejected {
  /** The URL that answered, without its query. */
  readonly url: string
  /** The cookie's name as far as it could be read (at most 64 characters). */
  readonly name: string
  readonly reason: string
}

/**
 * Bounds and policy. requests has no bounds at all; the defaults are what browsers and curl allow,
 * so a server that works with them works here, and a hostile one cannot grow the jar or the
 * `Cookie` header without limit (curl CVE-2022-32205).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Treat `localhost` and loopback addresses as secure contexts over plain http. Default `false`. */
  readonly allowSecureOnLocal?: boolean | undefined
  /** Largest `name` + `value` accepted, in bytes. Default 4096 (RFC 6265 §6.1, browsers). */
  readonly maxCookieSize?: number | undefined
  /** Most cookies kept per domain; the oldest are evicted. Default 180 (Chrome keeps 180). */
  readonly maxCookiesPerDomain?: number | undefined
  /** Most cookies kept in all; the oldest are evicted. Default 3000 (Chrome). */
  readonly maxCookies?: number | undefined
  /** Largest `Cookie` header sent, in bytes; cookies that do not fit are left out. Default 8190 (curl). */
  readonly maxHeaderSize?: number | undefined
  /** Called for each `Set-Cookie` line the jar skips. Default: a debug-level log. */
  readonly onRejected?: ((rejected: Rejected) => Effect.Effect<void>) | undefined
}

/**
 * Where `get`, `delete`, `clear` and `toRecord` look.
 *
 * @since 0.1.0
 * @category models
 */
export interface Filter {
  readonly domain?: string | undefined
  readonly path?: string | undefined
}

/**
 * What `set` accepts besides name and value (requests' `create_cookie` keywords).
 *
 * @since 0.1.0
 * @category models
 */
export interface SetOptions {
  /** Without a domain the cookie is sent to every host, as in requests. */
  readonly domain?: string | undefined
  /** With a domain: send to exactly that host, not its subdomains. Default `false`. */
  readonly hostOnly?: boolean | undefined
  readonly path?: string | undefined
  readonly secure?: boolean | undefined
  readonly httpOnly?: boolean | undefined
  readonly expires?: Date | undefined
  /** Seconds from now; wins over `expires`. `0` or less deletes. */
  readonly maxAge?: number | undefined
  readonly sameSite?: string | undefined
}

/**
 * Cookies as users give them: a record (any-host cookies; `null` skips) or a list of cookies.
 *
 * @since 0.1.0
 * @category models
 */
export type Input = Readonly<Record<string, string | null | undefined>> | ReadonlyArray<Cookie>

/**
 * How many cookies a load took and how many it skipped (invalid, expired, over a bound).
 *
 * @since 0.1.0
 * @category models
 */
export interface Loaded {
  readonly restored: number
  readonly skipped: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The `Cookie` header for a URL, `undefined` when no cookie applies. `extra` pairs win by name. */
  readonly header: (
    url: string,
    extra?: ReadonlyArray<readonly [string, string]>
  ) => Effect.Effect<string | undefined>
  /** Offer a response's `Set-Cookie` lines, as received from `url`. Bad lines are skipped. */
  readonly extract: (url: string, lines: ReadonlyArray<string>) => Effect.Effect<void>
  /** The value of the one cookie named `name` (requests' `get`). */
  readonly get: (
    name: string,
    filter?: Filter
  ) => Effect.Effect<Option.Option<string>, RequestError.CookieConflictError>
  /** Set a cookie (requests' `set`); `null` removes every cookie of that name (under `domain`/`path` if given). */
  readonly set: (name: string, value: string | null, options?: SetOptions) => Effect.Effect<void, CookieJarError>
  /** Remove cookies by name, optionally only under a domain/path. */
  readonly delete: (name: string, filter?: Filter) => Effect.Effect<void>
  /** Remove everything, or every cookie of a domain, or of a domain and path (requests' `clear`). */
  readonly clear: (filter?: Filter) => Effect.Effect<void>
  /** Every cookie that has not expired: server and scoped ones oldest first, then any-host ones. */
  readonly list: Effect.Effect<ReadonlyArray<Cookie>>
  /** `dict(jar)`: name → value, failing with `CookieConflictError` on a repeated name. */
  readonly toRecord: (filter?: Filter) => Effect.Effect<Record<string, string>, RequestError.CookieConflictError>
  /** requests' `update`: add cookies (a record adds any-host cookies); `overwrite: false` keeps names already present. */
  readonly update: (
    input: Input,
    options?: { readonly overwrite?: boolean | undefined }
  ) => Effect.Effect<void, CookieJarError>
  /** Put saved cookies back; each passes the jar's checks, and those that fail are skipped and counted. */
  readonly restore: (cookies: ReadonlyArray<Cookie>) => Effect.Effect<Loaded>
  /** Whether the jar holds no cookie at all. */
  readonly isEmpty: Effect.Effect<boolean>
  /** `isEmpty` without the Effect, for the request hot path (optional for other jars). */
  readonly unsafeIsEmpty?: (() => boolean) | undefined
  /** A counter that grows with every change (to tell whether there is anything new to save). */
  readonly revision: Effect.Effect<number>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CookieJar extends Context.Tag("@effect-requests/core/CookieJar")<CookieJar, Service>() {}

/**
 * A cookie that cannot be stored (`InvalidCookie`), or a saved jar that cannot be read or written.
 * Messages never hold a cookie's value.
 *
 * @since 0.1.0
 * @category errors
 */
export class CookieJarError extends Data.TaggedError("CookieJarError")<{
  readonly reason: "InvalidCookie" | "Decode" | "Read" | "Write"
  readonly message: string
  readonly path?: string | undefined
  readonly cause?: unknown
}> {}

const noHeader: Effect.Effect<string | undefined> = Effect.succeed(undefined)

/**
 * Default bounds.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  allowSecureOnLocal: false,
  maxCookieSize: 4096,
  maxCookiesPerDomain: 180,
  maxCookies: 3000,
  maxHeaderSize: 8190
} as const

const matchesFilter = (c: Cookie, filter: Filter | undefined): boolean =>
  (filter?.domain === undefined || c.domain === store.canonical(filter.domain)) &&
  (filter?.path === undefined || c.path === filter.path)

const conflict = (name: string) =>
  new RequestError.CookieConflictError({
    message: `There are multiple cookies with name, ${JSON.stringify(name)}`,
    name
  })

const logRejected = (r: Rejected) =>
  Effect.logDebug("effect-requests: Set-Cookie skipped").pipe(
    Effect.annotateLogs({ cookie: r.name, reason: r.reason, url: r.url })
  )

/**
 * Why per-request cookie pairs cannot go into a `Cookie` header (a control character, `;`, a
 * character beyond Latin-1, `=` in a name), or `undefined` when they can. The message names the
 * cookie, never its value.
 *
 * @since 0.1.0
 * @category validation
 */
export const invalidPair: (pairs: ReadonlyArray<readonly [string, string]>) => string | undefined = codec.invalidPair

/**
 * Build a jar service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Service> =>
  Effect.sync(() => {
    const maxCookieSize = options?.maxCookieSize ?? defaults.maxCookieSize
    const onRejected = options?.onRejected ?? logRejected
    const engine = store.make({
      allowSecureOnLocal: options?.allowSecureOnLocal ?? defaults.allowSecureOnLocal,
      maxCookieSize,
      maxCookiesPerDomain: options?.maxCookiesPerDomain ?? defaults.maxCookiesPerDomain,
      maxCookies: options?.maxCookies ?? defaults.maxCookies,
      maxHeaderSize: options?.maxHeaderSize ?? defaults.maxHeaderSize
    })
    const live = (now: number) => engine.all().filter((c) => !store.isExpired(c, now))

    const add = (cookies: ReadonlyArray<Cookie>, overwrite: boolean) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        for (const c of cookies) {
          const reason = store.problem(c, maxCookieSize)
          if (reason !== undefined) {
            return Effect.fail(
              new CookieJarError({
                reason: "InvalidCookie",
                message: `Cannot store cookie ${JSON.stringify(c.name.slice(0, 64))}: ${reason}`
              })
            )
          }
        }
        return Effect.sync(() => {
          const existing = new Set(live(now).map((c) => c.name))
          for (const c of cookies) {
            if (!overwrite && existing.has(c.name)) continue
            if (store.isExpired(c, now)) engine.remove(c)
            else engine.put(c, now)
          }
        })
      })

    const service: Service = {
      header: (href, extra) =>
        // The common case (an empty jar, no per-request cookies) costs no clock read.
        engine.isEmpty() && (extra === undefined || extra.length === 0)
          ? noHeader
          : Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => engine.header(href, extra, now))),
      extract: (href, lines) =>
        lines.length === 0 ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const rejected = engine.extract(href, lines, now)
          return rejected.length === 0 ? Effect.void : Effect.forEach(rejected, onRejected, { discard: true })
        }),
      get: (name, filter) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const found = live(now).filter((c) => c.name === name && matchesFilter(c, filter))
          if (found.length > 1) return Effect.fail(conflict(name))
          return Effect.succeed(found.length === 1 ? Option.some(found[0]!.value) : Option.none())
        }),
      set: (name, value, opts) => {
        if (value === null) return service.delete(name, opts)
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const domain = store.canonical(opts?.domain ?? "")
          return add([{
            name,
            value,
            domain,
            path: opts?.path ?? "/",
            hostOnly: domain !== "" && (opts?.hostOnly ?? false),
            secure: opts?.secure ?? false,
            httpOnly: opts?.httpOnly ?? false,
            expires: opts?.maxAge !== undefined ? new Date(now + opts.maxAge * 1000) : opts?.expires,
            ...(opts?.sameSite !== undefined ? { sameSite: opts.sameSite } : {})
          }], true)
        })
      },
      delete: (name, filter) =>
        Effect.sync(() => {
          for (const c of engine.all()) if (c.name === name && matchesFilter(c, filter)) engine.remove(c)
        }),
      clear: (filter) =>
        Effect.sync(() => {
          if (filter?.domain === undefined && filter?.path === undefined) return engine.removeAll()
          for (const c of engine.all()) if (matchesFilter(c, filter)) engine.remove(c)
        }),
      list: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          for (const c of engine.all()) if (store.isExpired(c, now)) engine.remove(c)
          return engine.all()
        })),
      toRecord: (filter) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const out: Record<string, string> = {}
          for (const c of live(now)) {
            if (!matchesFilter(c, filter)) continue
            if (Object.prototype.hasOwnProperty.call(out, c.name)) return Effect.fail(conflict(c.name))
            out[c.name] = c.value
          }
          return Effect.succeed(out)
        }),
      update: (input, opts) =>
        add(
          Array.isArray(input) ? input as ReadonlyArray<Cookie> : codec.fromRecord(input as Record<string, string>),
          opts?.overwrite ?? true
        ),
      restore: (cookies) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            let restored = 0
            for (const c of cookies) {
              if (store.problem(c, maxCookieSize) !== undefined || store.isExpired(c, now)) continue
              engine.put(c, now)
              restored++
            }
            return { restored, skipped: cookies.length - restored }
          })),
      isEmpty: Effect.sync(engine.isEmpty),
      unsafeIsEmpty: engine.isEmpty,
      revision: Effect.sync(engine.revision)
    }
    return service
  })

/**
 * An in-memory jar.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: Options): Layer.Layer<CookieJar> => Layer.effect(CookieJar, make(options))

const isService = (u: unknown): u is Service =>
  typeof u === "object" && u !== null && !Array.isArray(u) && "header" in u && typeof u.header === "function"

/**
 * requests' `cookiejar_from_dict`: a jar holding a record's cookies (any host, path `/`). With
 * `jar`, they are added to that jar instead; `overwrite: false` keeps names already there.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromRecord = (
  record: Readonly<Record<string, string | null | undefined>>,
  options?: {
    readonly jar?: Service | undefined
    readonly overwrite?: boolean | undefined
    readonly options?: Options | undefined
  }
): Effect.Effect<Service, CookieJarError> =>
  Effect.gen(function*() {
    const jar = options?.jar ?? (yield* make(options?.options))
    yield* jar.update(record, { overwrite: options?.overwrite ?? true })
    return jar
  })

/**
 * requests' `merge_cookies`: add `cookies` to `jar` and return it. A record adds any-host cookies
 * without replacing names already in the jar; a list of cookies or another jar replaces
 * cookies with the same domain, path and name.
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (jar: Service, cookies: Input | Service): Effect.Effect<Service, CookieJarError> =>
  Effect.gen(function*() {
    if (isService(cookies)) {
      yield* jar.update(yield* cookies.list)
    } else if (Array.isArray(cookies)) {
      yield* jar.update(cookies as ReadonlyArray<Cookie>)
    } else {
      yield* jar.update(cookies, { overwrite: false })
    }
    return jar
  })

/**
 * One cookie in the saved form (`expires` as an ISO date, `null` for a session cookie).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CookieSchema = codec.CookieSchema

/**
 * A saved jar: `{ format: "effect-requests/cookie-jar", version: 1, cookies: [...] }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const JarSchema = Schema.Struct({
  format: Schema.Literal("effect-requests/cookie-jar"),
  version: Schema.Literal(1),
  cookies: Schema.Array(CookieSchema)
})

/**
 * The JSON form of a jar, as `toJSON` writes it.
 *
 * @since 0.1.0
 * @category models
 */
export type Json = typeof JarSchema.Encoded

/**
 * Describe a decoding failure by where it is, never by the offending value (it may be a secret);
 * only `format` and `version` mismatches say what was found.
 *
 * @since 0.1.0
 * @category errors
 */
export const describeParseError: (error: ParseResult.ParseError) => string = codec.describeParseError

/**
 * The jar's cookies in the saved form (every cookie not yet expired, session cookies included).
 *
 * @since 0.1.0
 * @category persistence
 */
export const toJSON = (jar: Service): Effect.Effect<Json> =>
  Effect.flatMap(jar.list, (cookies) =>
    // Every stored cookie passed the same checks the schema makes, so encoding cannot fail.
    Effect.orDie(Schema.encode(JarSchema)({ format: "effect-requests/cookie-jar", version: 1, cookies })))

/**
 * Read the saved form (an object or its JSON text) into cookies; `Decode` error when it is not one.
 *
 * @since 0.1.0
 * @category persistence
 */
export const decodeJSON = (input: unknown): Effect.Effect<ReadonlyArray<Cookie>, CookieJarError> =>
  Effect.gen(function*() {
    let value = input
    if (typeof input === "string") {
      value = yield* Effect.try({
        try: () => JSON.parse(input) as unknown,
        catch: (cause) => new CookieJarError({ reason: "Decode", message: "The saved jar is not JSON", cause })
      })
    }
    const decoded = yield* Schema.decodeUnknown(JarSchema)(value).pipe(
      Effect.mapError((e) =>
        new CookieJarError({ reason: "Decode", message: `The saved jar is not valid: ${describeParseError(e)}` })
      )
    )
    return decoded.cookies
  })

/**
 * A new jar holding the cookies of a saved form. Cookies that fail the jar's checks (expired, a
 * public-suffix domain, too large) are skipped.
 *
 * @since 0.1.0
 * @category persistence
 */
export const fromJSON = (input: unknown, options?: Options): Effect.Effect<Service, CookieJarError> =>
  Effect.gen(function*() {
    const cookies = yield* decodeJSON(input)
    const jar = yield* make(options)
    yield* jar.restore(cookies)
    return jar
  })

/**
 * The jar as a Netscape `cookies.txt` file, as curl writes it (`#HttpOnly_` prefix, `TRUE`/`FALSE`
 * flags, expiry `0` for session cookies). Any-host cookies (set without a domain) have no form in
 * this format and are left out.
 *
 * @since 0.1.0
 * @category persistence
 */
export const toNetscape = (jar: Service): Effect.Effect<string> => Effect.map(jar.list, netscape.format)

/**
 * Read a Netscape `cookies.txt` file's text. Comments are ignored; malformed lines are skipped and
 * listed (line number and reason).
 *
 * @since 0.1.0
 * @category persistence
 */
export const parseNetscape = (
  text: string
): { readonly cookies: ReadonlyArray<Cookie>; readonly skipped: ReadonlyArray<netscape.Skipped> } =>
  netscape.parse(text)

/**
 * A new jar holding the cookies of a Netscape `cookies.txt` file. Malformed lines, and cookies
 * that fail the jar's checks, are skipped (logged at debug level).
 *
 * @since 0.1.0
 * @category persistence
 */
export const fromNetscape = (text: string, options?: Options): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const { cookies, skipped } = netscape.parse(text)
    const jar = yield* make(options)
    const loaded = yield* jar.restore(cookies)
    if (skipped.length > 0 || loaded.skipped > 0) {
      yield* Effect.logDebug("effect-requests: cookies.txt lines skipped").pipe(
        Effect.annotateLogs({
          lines: skipped.map((s) => `${s.line}: ${s.reason}`).join(", "),
          rejected: loaded.skipped
        })
      )
    }
    return jar
  })

/**
 * The value of the one cookie named `name` in the jar in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const get = (
  name: string,
  filter?: Filter
): Effect.Effect<Option.Option<string>, RequestError.CookieConflictError, CookieJar> =>
  Effect.flatMap(CookieJar, (jar) => jar.get(name, filter))

/**
 * Set a cookie in the jar in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const set = (
  name: string,
  value: string | null,
  options?: SetOptions
): Effect.Effect<void, CookieJarError, CookieJar> => Effect.flatMap(CookieJar, (jar) => jar.set(name, value, options))

/**
 * Remove cookies by name from the jar in context (`delete` is a reserved word for a module function).
 *
 * @since 0.1.0
 * @category accessors
 */
export const del = (name: string, filter?: Filter): Effect.Effect<void, never, CookieJar> =>
  Effect.flatMap(CookieJar, (jar) => jar.delete(name, filter))

/**
 * Clear the jar in context (all, a domain, or a domain and path).
 *
 * @since 0.1.0
 * @category accessors
 */
export const clear = (filter?: Filter): Effect.Effect<void, never, CookieJar> =>
  Effect.flatMap(CookieJar, (jar) => jar.clear(filter))

/**
 * Every cookie in the jar in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const list: Effect.Effect<ReadonlyArray<Cookie>, never, CookieJar> = Effect.flatMap(
  CookieJar,
  (jar) => jar.list
)

/**
 * `dict(session.cookies)` for the jar in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const toRecord = (
  filter?: Filter
): Effect.Effect<Record<string, string>, RequestError.CookieConflictError, CookieJar> =>
  Effect.flatMap(CookieJar, (jar) => jar.toRecord(filter))

/**
 * requests' `session.cookies.update(...)` for the jar in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const update = (
  input: Input,
  options?: { readonly overwrite?: boolean | undefined }
): Effect.Effect<void, CookieJarError, CookieJar> => Effect.flatMap(CookieJar, (jar) => jar.update(input, options))
