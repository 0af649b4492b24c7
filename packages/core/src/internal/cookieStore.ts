/**
 * The cookie jar's engine, synchronous and free of Effect: `CookieJar.make` wraps it in a service
 * and feeds it the time from Effect's `Clock`.
 *
 * tough-cookie parses each `Set-Cookie` line and decides whether RFC 6265 lets the host set it
 * (`setCookieSync` into a `MemoryCookieStore`). Everything else is done here on the store's index:
 * - lookups (tough-cookie's throw on special-use hosts such as `localhost` when
 *   `allowSpecialUseDomain` is off, judge expiry by the wall clock, and leave sorting off);
 * - expiry (`Max-Age` is made absolute on arrival: tough-cookie counts it from the last access);
 * - the Secure-shadowing guard, the bounds, and requests' any-host cookies (domain `""`).
 *
 * @internal
 */
import * as tough from "tough-cookie"
import type { Cookie, Rejected } from "../CookieJar.js"

/** Bytes on the wire: names, values and headers are Latin-1 (no character beyond U+00FF is accepted). */
const byteLength = (s: string): number => s.length

// Latin-1 only (what an HTTP header can carry), no controls, no `;` (and no `=` in a name).
// eslint-disable-next-line no-control-regex
export const BAD_NAME = /[\x00-\x1f\x7f;=\u0100-\uffff]/
// eslint-disable-next-line no-control-regex
export const BAD_VALUE = /[\x00-\x1f\x7f;\u0100-\uffff]/
export const DOMAIN = /^[a-z0-9._:-]*$/
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/
/** RFC 6265bis caps attribute values at 1024 bytes. */
const MAX_ATTRIBUTE = 1024

const isIP = (host: string): boolean => IPV4.test(host) || host.includes(":")

/** A domain as stored: lower case, no leading dot. */
export const canonical = (domain: string): string => domain.replace(/^\./, "").toLowerCase()

const isLocal = (host: string): boolean =>
  host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host)

/** Whether a cookie has expired at `now` (milliseconds). */
export const isExpired = (c: { readonly expires: Date | undefined }, now: number): boolean =>
  c.expires !== undefined && c.expires.getTime() <= now

const hostOf = (u: URL): string => tough.canonicalDomain(u.hostname) ?? u.hostname.toLowerCase()

/** Why a cookie given by the user or read from a file cannot be kept, or `undefined` when it can. */
export const problem = (c: Cookie, maxCookieSize: number): string | undefined => {
  if (c.name === "" || c.name.trim() !== c.name || BAD_NAME.test(c.name)) return "invalid name"
  if (BAD_VALUE.test(c.value)) return "invalid value"
  if (byteLength(c.name) + byteLength(c.value) > maxCookieSize) return "larger than maxCookieSize"
  if (!c.path.startsWith("/") || c.path.length > MAX_ATTRIBUTE || BAD_VALUE.test(c.path)) return "invalid path"
  if (c.domain.length > 255 || !DOMAIN.test(c.domain) || c.domain.includes("..")) return "invalid domain"
  if (c.expires !== undefined && !(c.expires instanceof Date && Number.isFinite(c.expires.getTime()))) {
    return "invalid expiry"
  }
  const lower = c.name.toLowerCase()
  if (lower.startsWith("__secure-") && !c.secure) return "__Secure- prefix without Secure"
  if (lower.startsWith("__host-") && !(c.secure && c.hostOnly && c.path === "/" && c.domain !== "")) {
    return "__Host- prefix needs Secure, a host-only domain and Path=/"
  }
  if (c.domain !== "" && !c.hostOnly && !isIP(c.domain)) {
    let suffix: string | undefined
    try {
      suffix = tough.getPublicSuffix(c.domain, { allowSpecialUseDomain: true }) ?? undefined
    } catch {
      suffix = undefined
    }
    if (suffix === undefined) return "domain is a public suffix"
  }
  return undefined
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
  ...(c.sameSite !== undefined ? { sameSite: c.sameSite } : {})
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

const expiryOf = (c: tough.Cookie, now: number): boolean => c.expires instanceof Date && c.expires.getTime() <= now

const byCreation = (a: tough.Cookie, b: tough.Cookie) => (a.creationIndex ?? 0) - (b.creationIndex ?? 0)

/** Resolved bounds and policy. */
export interface Settings {
  readonly allowSecureOnLocal: boolean
  readonly maxCookieSize: number
  readonly maxCookiesPerDomain: number
  readonly maxCookies: number
  readonly maxHeaderSize: number
}

/** The engine's operations; `now` is milliseconds since the epoch. */
export interface Store {
  readonly header: (
    href: string,
    extra: ReadonlyArray<readonly [string, string]> | undefined,
    now: number
  ) => string | undefined
  readonly extract: (href: string, lines: ReadonlyArray<string>, now: number) => Array<Rejected>
  /** Every cookie, oldest first (tough-cookie's, then any-host ones); expired ones included. */
  readonly all: () => Array<Cookie>
  readonly put: (c: Cookie, now: number) => void
  readonly remove: (c: Cookie) => void
  readonly removeAll: () => void
  readonly isEmpty: () => boolean
  readonly revision: () => number
}

/** Build an engine. */
export const make = (settings: Settings): Store => {
  const { allowSecureOnLocal, maxCookieSize, maxCookies, maxCookiesPerDomain, maxHeaderSize } = settings
  const store = new tough.MemoryCookieStore()
  const jar = new tough.CookieJar(store, {
    allowSecureOnLocal,
    rejectPublicSuffixes: true,
    looseMode: false,
    prefixSecurity: "strict",
    allowSpecialUseDomain: false
  })
  let anyHost: Array<Cookie> = []
  let count = 0
  /** Cookies stored per domain (kept beside the index so that bounds cost no scan). */
  const perDomain = new Map<string, number>()
  const added = (domain: string) => {
    count++
    perDomain.set(domain, (perDomain.get(domain) ?? 0) + 1)
  }
  let revision = 0

  const find = (domain: string, path: string, name: string): tough.Cookie | undefined =>
    store.idx[domain]?.[path]?.[name]
  const cookiesOf = (domain: string): Array<tough.Cookie> => {
    const out: Array<tough.Cookie> = []
    const paths = store.idx[domain]
    if (paths !== undefined) { for (const p in paths) for (const n in paths[p]!) out.push(paths[p]![n]!) }
    return out
  }
  const everyStored = (): Array<tough.Cookie> => Object.keys(store.idx).flatMap(cookiesOf)
  const storedAll = (): Array<tough.Cookie> => everyStored().sort(byCreation)
  const all = (): Array<Cookie> => [...storedAll().map(fromTough), ...anyHost]

  const removeStored = (domain: string, path: string, name: string) => {
    const paths = store.idx[domain]
    const names = paths?.[path]
    if (names?.[name] === undefined) return
    delete names[name]
    count--
    // Emptied path entries stay until their domain empties (checking them would cost a scan each time).
    const left = (perDomain.get(domain) ?? 1) - 1
    if (left === 0) {
      perDomain.delete(domain)
      delete store.idx[domain]
    } else {
      perDomain.set(domain, left)
    }
    revision++
  }

  /** Evict expired, then the oldest cookies past the bounds (per domain, then in all); never `kept`. */
  const enforceBounds = (kept: tough.Cookie, now: number) => {
    const evict = (all: () => Array<tough.Cookie>, size: number, limit: number, target: number) => {
      if (size <= limit) return
      const cookies = all().sort(byCreation)
      const ordered = [...cookies.filter((c) => expiryOf(c, now)), ...cookies.filter((c) => !expiryOf(c, now))]
      let excess = cookies.length - target
      for (const c of ordered) {
        if (excess <= 0) break
        if (c === kept) continue
        removeStored(c.domain!, c.path!, c.key)
        excess--
      }
    }
    const domain = kept.domain!
    evict(() => cookiesOf(domain), perDomain.get(domain) ?? 0, maxCookiesPerDomain, maxCookiesPerDomain)
    // Past the total bound, free a tenth at once so that a flood does not re-sort the jar per line.
    evict(everyStored, count, maxCookies, Math.floor(maxCookies * 0.9))
  }

  const put = (c: Cookie, now: number) => {
    revision++
    if (c.domain === "") {
      // Replacing keeps the cookie's place, as tough-cookie keeps a replaced cookie's creation time.
      const at = anyHost.findIndex((x) => x.name === c.name && x.path === c.path)
      anyHost = at === -1 ? [...anyHost, c] : anyHost.map((x, i) => (i === at ? c : x))
      return
    }
    if (find(c.domain, c.path, c.name) === undefined) added(c.domain)
    const cookie = toTough(c, new Date(now))
    store.putCookie(cookie, () => {})
    enforceBounds(cookie, now)
  }

  const remove = (c: Cookie) => {
    if (c.domain !== "") return removeStored(c.domain, c.path, c.name)
    const before = anyHost.length
    anyHost = anyHost.filter((x) => !(x.name === c.name && x.path === c.path))
    if (anyHost.length !== before) revision++
  }

  const isEmpty = () => anyHost.length === 0 && count === 0
  const removeAll = () => {
    if (isEmpty()) return
    store.idx = Object.create(null)
    anyHost = []
    count = 0
    perDomain.clear()
    revision++
  }
  const secureContext = (u: URL, host: string) => u.protocol === "https:" || (allowSecureOnLocal && isLocal(host))

  /** RFC 6265bis 5.7 step 16: an insecure response may not set a cookie that would shadow a Secure one. */
  const shadowsSecure = (name: string, domain: string, path: string): boolean => {
    for (const d in store.idx) {
      if (
        d !== domain && tough.domainMatch(d, domain, false) !== true && tough.domainMatch(domain, d, false) !== true
      ) {
        continue
      }
      for (const p in store.idx[d]) {
        const c = store.idx[d]![p]![name]
        if (c !== undefined && c.secure && tough.pathMatch(path, p)) return true
      }
    }
    return false
  }

  const extractOne = (u: URL, host: string, line: string, now: number): string | undefined => {
    const parsed = tough.Cookie.parse(line, { loose: false })
    if (parsed === undefined || parsed.key === "" || BAD_NAME.test(parsed.key) || BAD_VALUE.test(parsed.value)) {
      return "malformed"
    }
    if (byteLength(parsed.key) + byteLength(parsed.value) > maxCookieSize) return "larger than maxCookieSize"
    if ((parsed.path?.length ?? 0) > MAX_ATTRIBUTE || (parsed.domain?.length ?? 0) > 255) return "attribute too long"
    // The prefixes match whatever the letter case (RFC 6265bis); tough-cookie checks the exact case only.
    const lower = parsed.key.toLowerCase()
    if (lower.startsWith("__secure-") && !parsed.secure) return "__Secure- prefix without Secure"
    if (lower.startsWith("__host-") && !(parsed.secure && !parsed.domain && parsed.path === "/")) {
      return "__Host- prefix needs Secure, no Domain and Path=/"
    }
    // Max-Age wins over Expires and counts from now.
    if (typeof parsed.maxAge === "number" || parsed.maxAge === "-Infinity") {
      const age = typeof parsed.maxAge === "number" ? parsed.maxAge : -Infinity
      parsed.expires = new Date(age <= 0 ? 0 : Math.min(now + age * 1000, 8.64e15))
    } else if (parsed.maxAge === "Infinity") {
      parsed.expires = "Infinity"
    }
    parsed.maxAge = null
    const domain = parsed.domain ? parsed.cdomain() ?? canonical(parsed.domain) : host
    const path = parsed.path?.startsWith("/") ? parsed.path : tough.defaultPath(u.pathname)
    if (!parsed.secure && !secureContext(u, host) && shadowsSecure(parsed.key, domain, path)) {
      return "would shadow a Secure cookie from an insecure origin"
    }
    const existed = find(domain, path, parsed.key) !== undefined
    let stored: tough.Cookie | undefined
    try {
      stored = jar.setCookieSync(parsed, u.href, { now: new Date(now), http: true, ignoreError: false })
    } catch (e) {
      return e instanceof Error ? e.message : "rejected"
    }
    if (stored === undefined) return "rejected"
    if (!existed && find(stored.domain!, stored.path!, stored.key) !== undefined) added(stored.domain!)
    revision++
    if (expiryOf(stored, now)) {
      removeStored(stored.domain!, stored.path!, stored.key)
      return undefined
    }
    enforceBounds(stored, now)
    return undefined
  }

  const extract = (href: string, lines: ReadonlyArray<string>, now: number): Array<Rejected> => {
    let u: URL
    try {
      u = new URL(href)
    } catch {
      return []
    }
    const host = hostOf(u)
    const rejected: Array<Rejected> = []
    for (const line of lines) {
      let reason: string | undefined
      try {
        reason = extractOne(u, host, line, now)
      } catch {
        // tough-cookie is not expected to throw here; if it does, the line is skipped like any bad one.
        reason = "rejected"
      }
      if (reason !== undefined) {
        // A pair without `=` is all value (RFC 6265bis): report no name rather than the value.
        const pair = line.split(";", 1)[0]!
        const eq = pair.indexOf("=")
        const name = eq === -1 ? "" : pair.slice(0, eq).trim().slice(0, 64)
        rejected.push({ url: `${u.origin}${u.pathname}`, name, reason })
      }
    }
    return rejected
  }

  const header = (href: string, extra: ReadonlyArray<readonly [string, string]> | undefined, now: number) => {
    if (isEmpty() && (extra === undefined || extra.length === 0)) return undefined
    let u: URL
    try {
      u = new URL(href)
    } catch {
      return undefined
    }
    const host = hostOf(u)
    const secure = secureContext(u, host)
    const matched: Array<tough.Cookie> = []
    const labels = host.split(".")
    const domains = isIP(host) ? [host] : labels.map((_, i) => labels.slice(i).join("."))
    for (const c of domains.flatMap(cookiesOf)) {
      if (c.hostOnly ? c.domain !== host : !tough.domainMatch(host, c.domain, false)) continue
      if (!tough.pathMatch(u.pathname, c.path ?? "/")) continue
      if (expiryOf(c, now)) {
        removeStored(c.domain!, c.path!, c.key)
        continue
      }
      if (c.secure && !secure) continue
      matched.push(c)
    }
    const pairs: Array<readonly [string, string]> = matched.sort(tough.cookieCompare).map((c) => [c.key, c.value])
    const any = anyHost
      .filter((c) => !isExpired(c, now) && !(c.secure && !secure) && tough.pathMatch(u.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
    for (const c of any) pairs.push([c.name, c.value])
    let chosen = pairs
    if (extra !== undefined && extra.length > 0) {
      const names = new Set(extra.map(([name]) => name))
      chosen = [...pairs.filter(([name]) => !names.has(name)), ...extra]
    }
    const fitting: Array<string> = []
    let size = 0
    for (const [name, value] of chosen) {
      const added = byteLength(name) + 1 + byteLength(value) + (fitting.length === 0 ? 0 : 2)
      if (size + added > maxHeaderSize) continue
      fitting.push(`${name}=${value}`)
      size += added
    }
    return fitting.length === 0 ? undefined : fitting.join("; ")
  }

  return { header, extract, all, put, remove, removeAll, isEmpty, revision: () => revision }
}
