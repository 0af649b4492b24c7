/**
 * The session's cookie jar (requests' `Session.cookies`), on tough-cookie's RFC 6265 rules.
 *
 * - Storing: every `Set-Cookie` line of every response is offered to the jar against the URL that
 *   answered. A malformed or rejected line (public suffix, foreign domain, bad prefix, too large) is
 *   skipped and logged at debug level; it never fails the response.
 * - Sending: the `Cookie` header for a URL holds the cookies whose domain, path, Secure flag and
 *   expiry allow it, most specific path first, bounded in size.
 * - Safer than tough-cookie's defaults: `localhost` and loopback are not secure contexts unless
 *   `allowSecureOnLocal` is set, a plain-http response cannot replace a `Secure` cookie, and sizes
 *   are bounded (per cookie, per domain, per header).
 * - requests' dict-like API in Effect form: `get` (failing with `CookieConflictError` when a name
 *   is ambiguous), `set`, `delete`, `clear`, `list`, `toRecord`, `update`. Cookies set without a
 *   domain behave as requests' do: they are sent to every host.
 *
 * Expiry is judged with Effect's `Clock`, so tests can move time with `TestClock`.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Option } from "effect"
import * as tough from "tough-cookie"
import * as RequestError from "./RequestError.js"

/**
 * A cookie as the jar holds it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cookie {
  readonly name: string
  readonly value: string
  /** The domain; `""` means any host (cookies set by the user without a domain, as in requests). */
  readonly domain: string
  readonly path: string
  /** Sent only to exactly `domain` (no Domain attribute was given). */
  readonly hostOnly: boolean
  readonly secure: boolean
  readonly httpOnly: boolean
  /** Expiry; `undefined` for a session cookie. */
  readonly expires: Date | undefined
  readonly sameSite?: string | undefined
}

/**
 * Bounds and policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Treat `localhost` and loopback addresses as secure contexts over plain http. Default `false`. */
  readonly allowSecureOnLocal?: boolean | undefined
  /** Largest `name=value` accepted, in bytes. Default 4096 (browsers and curl). */
  readonly maxCookieSize?: number | undefined
  /** Most cookies kept per domain; the least recently set are evicted. Default 180. */
  readonly maxCookiesPerDomain?: number | undefined
  /** Largest `Cookie` header sent, in bytes; cookies that do not fit are left out. Default 8190 (curl). */
  readonly maxHeaderSize?: number | undefined
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
 * What `set` accepts besides name and value.
 *
 * @since 0.1.0
 * @category models
 */
export interface SetOptions {
  readonly domain?: string | undefined
  readonly path?: string | undefined
  readonly secure?: boolean | undefined
  readonly httpOnly?: boolean | undefined
  readonly expires?: Date | undefined
  /** Seconds from now; wins over `expires`. */
  readonly maxAge?: number | undefined
  readonly sameSite?: string | undefined
}

/**
 * Cookies as users give them in options: a record (`null` skips) or a list of cookies.
 *
 * @since 0.1.0
 * @category models
 */
export type Input = Readonly<Record<string, string | null | undefined>> | ReadonlyArray<Cookie>

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
  /** Set a cookie (requests' `set`); `null` removes every cookie of that name. */
  readonly set: (name: string, value: string | null, options?: SetOptions) => Effect.Effect<void>
  /** Remove cookies by name, optionally only under a domain/path. */
  readonly delete: (name: string, filter?: Filter) => Effect.Effect<void>
  /** Remove everything, or every cookie of a domain, or of a domain and path (requests' `clear`). */
  readonly clear: (filter?: Filter) => Effect.Effect<void>
  /** Every cookie that has not expired. */
  readonly list: Effect.Effect<ReadonlyArray<Cookie>>
  /** `dict(jar)`: name → value, failing with `CookieConflictError` on a repeated name. */
  readonly toRecord: (filter?: Filter) => Effect.Effect<Record<string, string>, RequestError.CookieConflictError>
  /** `merge_cookies`: add cookies (a record adds any-host cookies; cookies keep their scope). */
  readonly update: (input: Input, options?: { readonly overwrite?: boolean | undefined }) => Effect.Effect<void>
  /** Put cookies back exactly (restoring a saved jar). */
  readonly restore: (cookies: ReadonlyArray<Cookie>) => Effect.Effect<void>
  /** Whether the jar holds no cookie at all. */
  readonly isEmpty: Effect.Effect<boolean>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CookieJar extends Context.Tag("@effect-requests/core/CookieJar")<CookieJar, Service>() {}

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
  maxHeaderSize: 8190
} as const

const encoder = new TextEncoder()
const byteLength = (s: string): number => encoder.encode(s).length

const sync = <A>(run: (callback: (error: Error | null, value?: A) => void) => unknown): A => {
  let result: A | undefined
  let failure: Error | null = null
  run((error, value) => {
    failure = error
    result = value
  })
  if (failure !== null) throw failure
  return result as A
}

const fromTough = (c: tough.Cookie): Cookie => ({
  name: c.key,
  value: c.value,
  domain: c.domain ?? "",
  path: c.path ?? "/",
  hostOnly: c.hostOnly === true,
  secure: c.secure,
  httpOnly: c.httpOnly,
  expires: c.expires instanceof Date ? c.expires : undefined,
  sameSite: c.sameSite === "none" && c.extensions === null ? undefined : c.sameSite
})

const toTough = (c: Cookie, now: Date): tough.Cookie =>
  new tough.Cookie({
    key: c.name,
    value: c.value,
    domain: c.domain,
    path: c.path,
    hostOnly: c.hostOnly,
    secure: c.secure,
    httpOnly: c.httpOnly,
    expires: c.expires ?? "Infinity",
    creation: now,
    lastAccessed: now,
    ...(c.sameSite !== undefined ? { sameSite: c.sameSite } : {})
  })

const isExpired = (c: Cookie, now: number): boolean => c.expires !== undefined && c.expires.getTime() <= now

const pathMatches = (requestPath: string, cookiePath: string): boolean =>
  requestPath === cookiePath ||
  (requestPath.startsWith(cookiePath) && (cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/"))

const isLocal = (hostname: string): boolean =>
  hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "[::1]" ||
  /^127\.\d+\.\d+\.\d+$/.test(hostname)

const matchesFilter = (c: Cookie, filter: Filter | undefined): boolean =>
  (filter?.domain === undefined || c.domain === filter.domain.replace(/^\./, "").toLowerCase()) &&
  (filter?.path === undefined || c.path === filter.path)

/**
 * Build a jar service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Service> =>
  Effect.sync(() => {
    const allowSecureOnLocal = options?.allowSecureOnLocal ?? defaults.allowSecureOnLocal
    const maxCookieSize = options?.maxCookieSize ?? defaults.maxCookieSize
    const maxPerDomain = options?.maxCookiesPerDomain ?? defaults.maxCookiesPerDomain
    const maxHeaderSize = options?.maxHeaderSize ?? defaults.maxHeaderSize
    const store = new tough.MemoryCookieStore()
    const jar = new tough.CookieJar(store, {
      allowSecureOnLocal,
      rejectPublicSuffixes: true,
      looseMode: false,
      prefixSecurity: "strict",
      allowSpecialUseDomain: false
    })
    // requests' dict cookies (domain ""): sent to every host, kept beside tough-cookie's store.
    let anyHost: Array<Cookie> = []

    const all = (): Array<Cookie> => [
      ...sync<Array<tough.Cookie>>((cb) => store.getAllCookies(cb)).map(fromTough),
      ...anyHost
    ]
    const remove = (c: Cookie) => {
      if (c.domain === "") {
        anyHost = anyHost.filter((x) => !(x.name === c.name && x.path === c.path))
      } else {
        sync((cb) => store.removeCookie(c.domain, c.path, c.name, cb))
      }
    }
    const put = (c: Cookie, now: Date) => {
      if (c.domain === "") {
        anyHost = [...anyHost.filter((x) => !(x.name === c.name && x.path === c.path)), c]
      } else {
        sync((cb) => store.putCookie(toTough(c, now), cb))
      }
    }
    const purgeExpired = (now: number) => {
      for (const c of all()) if (isExpired(c, now)) remove(c)
    }
    const isEmpty = () => anyHost.length === 0 && Object.keys(store.idx).length === 0

    const secureContext = (u: URL) => u.protocol === "https:" || (allowSecureOnLocal && isLocal(u.hostname))

    const extractOne = (u: URL, href: string, line: string, now: Date): string | undefined => {
      const parsed = tough.Cookie.parse(line, { loose: false })
      if (parsed === undefined) return "malformed"
      if (byteLength(parsed.key) + byteLength(parsed.value) > maxCookieSize) return "too large"
      // A plain-http response must not replace (or shadow) a Secure cookie (RFC 6265bis 5.7).
      if (!parsed.secure && !secureContext(u)) {
        const domain = (parsed.domain ?? u.hostname).replace(/^\./, "").toLowerCase()
        const shadowed = all().some((c) =>
          c.secure && c.name === parsed.key &&
          (c.domain === domain || c.domain.endsWith(`.${domain}`) || domain.endsWith(`.${c.domain}`)) &&
          pathMatches(parsed.path ?? "/", c.path)
        )
        if (shadowed) return "would overwrite a Secure cookie from an insecure origin"
      }
      try {
        const stored = jar.setCookieSync(parsed, href, { now, ignoreError: false, http: true })
        if (stored === undefined) return "rejected"
      } catch (e) {
        return e instanceof Error ? e.message : "rejected"
      }
      // Bound the cookies per domain: evict the least recently set.
      const domain = (parsed.domain ?? u.hostname).replace(/^\./, "").toLowerCase()
      const forDomain = sync<Array<tough.Cookie>>((cb) => store.getAllCookies(cb)).filter((c) => c.domain === domain)
      if (forDomain.length > maxPerDomain) {
        for (const c of forDomain.slice(0, forDomain.length - maxPerDomain)) {
          sync((cb) => store.removeCookie(c.domain!, c.path!, c.key, cb))
        }
      }
      return undefined
    }

    const service: Service = {
      header: (href, extra) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            if (isEmpty() && (extra === undefined || extra.length === 0)) return undefined
            let u: URL
            try {
              u = new URL(href)
            } catch {
              return undefined
            }
            const pairs: Array<readonly [string, string]> = []
            if (!isEmpty()) {
              const secure = secureContext(u)
              const matched = jar.getCookiesSync(href, { expire: false, http: true, allPaths: false })
              for (const c of matched) {
                const cookie = fromTough(c)
                if (isExpired(cookie, now)) {
                  remove(cookie)
                  continue
                }
                if (cookie.secure && !secure) continue
                pairs.push([cookie.name, cookie.value])
              }
              for (const c of anyHost) {
                if (isExpired(c, now) || (c.secure && !secure) || !pathMatches(u.pathname, c.path)) continue
                pairs.push([c.name, c.value])
              }
            }
            let chosen = pairs
            if (extra !== undefined && extra.length > 0) {
              const names = new Set(extra.map(([name]) => name))
              chosen = [...pairs.filter(([name]) => !names.has(name)), ...extra]
            }
            let header = ""
            let size = 0
            for (const [name, value] of chosen) {
              const piece = `${name}=${value}`
              const added = byteLength(piece) + (header === "" ? 0 : 2)
              if (size + added > maxHeaderSize) continue
              header = header === "" ? piece : `${header}; ${piece}`
              size += added
            }
            return header === "" ? undefined : header
          })),
      extract: (href, lines) =>
        lines.length === 0 ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (millis) => {
          let u: URL
          try {
            u = new URL(href)
          } catch {
            return Effect.void
          }
          const now = new Date(millis)
          const rejected: Array<{ readonly name: string; readonly reason: string }> = []
          for (const line of lines) {
            const reason = extractOne(u, href, line, now)
            if (reason !== undefined) rejected.push({ name: line.split("=", 1)[0]!.trim().slice(0, 64), reason })
          }
          return rejected.length === 0 ?
            Effect.void :
            Effect.forEach(rejected, ({ name, reason }) =>
              Effect.logDebug("effect-requests: Set-Cookie skipped").pipe(
                Effect.annotateLogs({ cookie: name, reason, url: `${u.origin}${u.pathname}` })
              ), { discard: true })
        }),
      get: (name, filter) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const found = all().filter((c) => c.name === name && !isExpired(c, now) && matchesFilter(c, filter))
          if (found.length > 1) {
            return Effect.fail(
              new RequestError.CookieConflictError({
                message: `There are multiple cookies with name, ${JSON.stringify(name)}`,
                name
              })
            )
          }
          return Effect.succeed(found.length === 1 ? Option.some(found[0]!.value) : Option.none())
        }),
      set: (name, value, opts) =>
        Effect.flatMap(Clock.currentTimeMillis, (millis) =>
          Effect.sync(() => {
            if (value === null) {
              for (const c of all()) if (c.name === name && matchesFilter(c, opts)) remove(c)
              return
            }
            const domain = (opts?.domain ?? "").replace(/^\./, "").toLowerCase()
            const expires = opts?.maxAge !== undefined
              ? new Date(millis + opts.maxAge * 1000)
              : opts?.expires
            put({
              name,
              value,
              domain,
              path: opts?.path ?? "/",
              hostOnly: false,
              secure: opts?.secure ?? false,
              httpOnly: opts?.httpOnly ?? false,
              expires,
              sameSite: opts?.sameSite
            }, new Date(millis))
          })),
      delete: (name, filter) =>
        Effect.sync(() => {
          for (const c of all()) if (c.name === name && matchesFilter(c, filter)) remove(c)
        }),
      clear: (filter) =>
        Effect.sync(() => {
          if (filter?.domain === undefined && filter?.path === undefined) {
            sync((cb) => store.removeAllCookies(cb))
            anyHost = []
            return
          }
          for (const c of all()) if (matchesFilter(c, filter)) remove(c)
        }),
      list: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          purgeExpired(now)
          return all()
        })),
      toRecord: (filter) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const out: Record<string, string> = {}
          for (const c of all()) {
            if (isExpired(c, now) || !matchesFilter(c, filter)) continue
            if (Object.prototype.hasOwnProperty.call(out, c.name)) {
              return Effect.fail(
                new RequestError.CookieConflictError({
                  message: `There are multiple cookies with name, ${JSON.stringify(c.name)}`,
                  name: c.name
                })
              )
            }
            out[c.name] = c.value
          }
          return Effect.succeed(out)
        }),
      update: (input, opts) =>
        Effect.flatMap(Clock.currentTimeMillis, (millis) =>
          Effect.sync(() => {
            const now = new Date(millis)
            const overwrite = opts?.overwrite ?? true
            const existing = new Set(all().map((c) => c.name))
            const cookies: ReadonlyArray<Cookie> = Array.isArray(input)
              ? input as ReadonlyArray<Cookie>
              : Object.entries(input as Record<string, string | null | undefined>).flatMap(([name, value]) =>
                value === null || value === undefined
                  ? []
                  : [{
                    name,
                    value,
                    domain: "",
                    path: "/",
                    hostOnly: false,
                    secure: false,
                    httpOnly: false,
                    expires: undefined
                  }]
              )
            for (const c of cookies) {
              if (!overwrite && existing.has(c.name)) continue
              put(c, now)
            }
          })),
      restore: (cookies) =>
        Effect.flatMap(Clock.currentTimeMillis, (millis) =>
          Effect.sync(() => {
            for (const c of cookies) put(c, new Date(millis))
          })),
      isEmpty: Effect.sync(isEmpty)
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
export const set = (name: string, value: string | null, options?: SetOptions): Effect.Effect<void, never, CookieJar> =>
  Effect.flatMap(CookieJar, (jar) => jar.set(name, value, options))

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
