/**
 * Proxy selection: requests' proxies mapping, `select_proxy` and `should_bypass_proxies`, and the
 * proxy URL rules every adapter shares.
 *
 * The mapping's keys are `http`, `https`, `all`, `scheme://host` and `all://host` (lower case).
 * For a URL, the keys are tried in requests' order: `scheme://host`, `scheme`, `all://host`, `all`;
 * the first key present wins. A key whose value is the empty string means "go direct" (requests'
 * idiom `proxies={"https": ""}`): it stops the search, so the environment cannot fill it in. In
 * options, `null` removes a key inherited from the session.
 *
 * `NO_PROXY` entries are host names (matched exactly or as a suffix at a label boundary, leading
 * dots and a leading `*.` optional), `host:port` (the port counts, default ports included), `*`
 * (everything), IPv4 and IPv6 literals (`::1`, `[::1]`, `[::1]:8080`) and CIDR ranges (`10.0.0.0/8`,
 * `fd00::/8`).
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import * as RequestError from "./RequestError.js"

/**
 * A proxies mapping, as in requests (`null` in options removes an inherited key).
 *
 * @since 0.1.0
 * @category models
 */
export type Proxies = Readonly<Record<string, string>>

const parseUrl = (url: string): URL | undefined => {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}

/**
 * The entry of `proxies` that applies to `url`, if any: `found` is false when no key matched
 * (lower layers, such as the environment, may then be consulted). A found empty value means
 * "no proxy". `key` is the key that matched, or the URL's scheme.
 *
 * @since 0.1.0
 * @category selection
 */
export const lookup = (
  url: string,
  proxies: Proxies
): { readonly found: boolean; readonly proxy: string | undefined; readonly key: string | undefined } => {
  const parsed = parseUrl(url)
  if (parsed === undefined) return { found: false, proxy: undefined, key: undefined }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase()
  const host = parsed.hostname.toLowerCase()
  const keys = host === "" ? [scheme, "all"] : [`${scheme}://${host}`, scheme, `all://${host}`, "all"]
  for (const key of keys) {
    const value = proxies[key]
    if (value !== undefined) return { found: true, proxy: value === "" ? undefined : value, key }
  }
  return { found: false, proxy: undefined, key: scheme }
}

/**
 * requests' `select_proxy`: try `scheme://host`, `scheme`, `all://host`, `all`, in that order;
 * the first key present wins (an empty value: no proxy).
 *
 * @since 0.1.0
 * @category selection
 */
export const selectProxy = (url: string, proxies: Proxies): string | undefined => lookup(url, proxies).proxy

const stripBrackets = (host: string): string => host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host

const parseIPv4 = (s: string): number | undefined => {
  const parts = s.split(".")
  if (parts.length !== 4) return undefined
  let n = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined
    const v = Number(part)
    if (v > 255) return undefined
    n = n * 256 + v
  }
  return n
}

const parseIPv6 = (s: string): Array<number> | undefined => {
  let text = stripBrackets(s)
  if (text.includes("%")) return undefined // zone ids never match (CVE-2025-22870)
  // An embedded IPv4 tail (::ffff:1.2.3.4).
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const n = parseIPv4(v4[1]!)
    if (n === undefined) return undefined
    text = text.slice(0, -v4[1]!.length) + `${((n >>> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}`
  }
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const head = halves[0] === "" ? [] : halves[0]!.split(":")
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1]!.split(":")) : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail]
  const out: Array<number> = []
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
    out.push(parseInt(g, 16))
  }
  return out.length === 8 ? out : undefined
}

const inIPv4Cidr = (ip: number, entry: string): boolean => {
  const [net, bits] = entry.split("/")
  const base = parseIPv4(net!)
  const n = Number(bits)
  if (base === undefined || !/^\d+$/.test(bits!) || n < 1 || n > 32) return false
  const mask = n === 32 ? 0xffffffff : (~((1 << (32 - n)) - 1)) >>> 0
  return ((ip & mask) >>> 0) === ((base & mask) >>> 0)
}

const inIPv6Cidr = (ip: Array<number>, entry: string): boolean => {
  const slash = entry.lastIndexOf("/")
  const base = parseIPv6(entry.slice(0, slash))
  const bits = entry.slice(slash + 1)
  const n = Number(bits)
  if (base === undefined || !/^\d+$/.test(bits) || n < 1 || n > 128) return false
  for (let i = 0; i < 8; i++) {
    const remaining = n - i * 16
    if (remaining <= 0) break
    const mask = remaining >= 16 ? 0xffff : (0xffff << (16 - remaining)) & 0xffff
    if ((ip[i]! & mask) !== (base[i]! & mask)) return false
  }
  return true
}

const sameIPv6 = (a: Array<number>, b: Array<number>): boolean => a.every((v, i) => v === b[i])

const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  "http:": "80",
  "https:": "443",
  "ws:": "80",
  "wss:": "443",
  "ftp:": "21"
}

/**
 * The entries of a `NO_PROXY` value: spaces removed, split on commas, empties dropped, lower case.
 *
 * @since 0.1.0
 * @category selection
 */
export const parseNoProxy = (value: string): ReadonlyArray<string> =>
  value.replace(/\s+/g, "").split(",").filter((e) => e !== "").map((e) => e.toLowerCase())

/**
 * requests' `should_bypass_proxies`: whether `url` matches a `NO_PROXY` value. A URL without a
 * host is always bypassed; an unparseable URL never is.
 *
 * @since 0.1.0
 * @category selection
 */
export const shouldBypassProxies = (url: string, noProxy: string | undefined): boolean => {
  const parsed = parseUrl(url)
  if (parsed === undefined) return false
  const hostname = stripBrackets(parsed.hostname.toLowerCase()).replace(/\.$/, "")
  if (hostname === "") return true
  if (noProxy === undefined || noProxy === "") return false
  const entries = parseNoProxy(noProxy)
  const ipv4 = parseIPv4(hostname)
  const ipv6 = ipv4 === undefined ? parseIPv6(hostname) : undefined
  const port = parsed.port === "" ? DEFAULT_PORTS[parsed.protocol] : parsed.port
  const withPort = port === undefined ? undefined : `${hostname}:${port}`
  for (const raw of entries) {
    if (raw === "*") return true
    if (ipv4 !== undefined) {
      if (raw.includes("/") ? inIPv4Cidr(ipv4, raw) : raw === hostname || raw === withPort) return true
      continue
    }
    if (ipv6 !== undefined) {
      if (raw.includes("/") && !raw.startsWith("[")) {
        if (inIPv6Cidr(ipv6, raw)) return true
        continue
      }
      const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(raw)
      const entryHost = bracketed ? bracketed[1]! : raw
      const entryPort = bracketed ? bracketed[2] : undefined
      const entryIp = parseIPv6(entryHost)
      if (entryIp !== undefined && sameIPv6(entryIp, ipv6) && (entryPort === undefined || entryPort === port)) {
        return true
      }
      continue
    }
    const entry = raw.replace(/^\*\./, "").replace(/^\.+/, "").replace(/\.$/, "")
    if (entry === "") continue
    if (hostname === entry || withPort === entry) return true
    if (hostname.endsWith(`.${entry}`) || (withPort !== undefined && withPort.endsWith(`.${entry}`))) return true
  }
  return false
}

/**
 * The proxy for `url`: the explicit mapping (session and request, merged) first, then, when an
 * environment is given (`trustEnv`), the environment's proxies.
 *
 * - A `no_proxy` key in the explicit mapping bypasses every proxy for the URLs it matches.
 * - The environment's `NO_PROXY` (or the explicit `no_proxy`, which replaces it, as in requests)
 *   bypasses the environment's proxies only: an explicit proxy is never undone by the environment.
 * - An explicit key with an empty value means "no proxy" and hides the environment.
 *
 * @since 0.1.0
 * @category selection
 */
export const resolveProxy = (
  url: string,
  explicit: Proxies,
  env: { readonly proxies: Proxies; readonly noProxy: string | undefined } | undefined
): string | undefined => {
  const explicitNoProxy = explicit["no_proxy"]
  if (explicitNoProxy !== undefined && shouldBypassProxies(url, explicitNoProxy)) return undefined
  const hit = lookup(url, explicit)
  if (hit.found) return hit.proxy
  if (env === undefined) return undefined
  if (shouldBypassProxies(url, explicitNoProxy ?? env.noProxy)) return undefined
  return selectProxy(url, env.proxies)
}

/**
 * requests' `resolve_proxies` (environment part): the environment's proxies, or none when
 * `NO_PROXY` matches `url`.
 *
 * @since 0.1.0
 * @category selection
 */
export const environmentProxiesFor = (
  url: string,
  env: Proxies,
  noProxy: string | undefined
): Proxies => shouldBypassProxies(url, noProxy) ? {} : env

/**
 * Merge proxies mappings: later mappings win key by key; a `null` value removes the key.
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (
  ...layers: ReadonlyArray<Readonly<Record<string, string | null | undefined>> | undefined>
): Proxies => {
  const out: Record<string, string> = {}
  for (const layer of layers) {
    if (layer === undefined) continue
    for (const key of Object.keys(layer)) {
      const value = layer[key]
      if (value === null) delete out[key.toLowerCase()]
      else if (value !== undefined) out[key.toLowerCase()] = value
    }
  }
  return out
}

/**
 * The schemes a proxy URL may have.
 *
 * @since 0.1.0
 * @category constants
 */
export const supportedSchemes: ReadonlyArray<string> = ["http", "https", "socks5", "socks5h", "socks"]

/**
 * A proxy URL for messages and logs: the credentials replaced by `***`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const redact = (proxy: string): string => {
  const parsed = parseUrl(proxy)
  if (parsed === undefined) {
    // Never echo what might hold a password.
    return proxy.includes("@") ? "<proxy URL with credentials>" : proxy
  }
  const hasCredentials = parsed.username !== "" || parsed.password !== ""
  parsed.username = ""
  parsed.password = ""
  const href = parsed.href
  return hasCredentials ? href.replace("//", "//***@") : href
}

/**
 * A proxy URL checked as requests does: `http://` is assumed when there is no scheme, the host must
 * be present (`InvalidProxyURL` otherwise, requests' "Please check proxy URL"), the scheme must be
 * one of `supportedSchemes`, and CR, LF or other control characters are refused. Returns the URL
 * with a scheme.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (proxy: string): Either.Either<string, RequestError.InvalidProxyURL> => {
  const invalid = (why: string) =>
    Either.left(
      new RequestError.InvalidProxyURL({
        message: `Please check proxy URL. It is malformed and could be missing the host (${why}).`,
        url: redact(proxy)
      })
    )
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(proxy)) return invalid("control characters or spaces")
  const explicit = /^([a-z][a-z0-9+.-]*):\/\//i.exec(proxy)
  if (explicit === null && /^(https?|socks5h?|socks):/i.test(proxy)) return invalid("no authority")
  const withScheme = explicit === null ? `http://${proxy}` : proxy
  const scheme = withScheme.slice(0, withScheme.indexOf(":")).toLowerCase()
  if (!supportedSchemes.includes(scheme)) return invalid(`unsupported scheme ${scheme}`)
  if (withScheme.slice(scheme.length + 3).startsWith("/")) return invalid("empty host")
  const parsed = parseUrl(withScheme)
  if (parsed === undefined) return invalid("unparseable")
  if (parsed.hostname === "") return invalid("no host")
  return Either.right(withScheme)
}

/**
 * Put credentials into a proxy URL that has none (used for `Auth.proxy`). A URL that already has
 * credentials keeps its own.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withCredentials = (proxy: string, username: string, password: string): string => {
  const valid = validate(proxy)
  if (Either.isLeft(valid)) return proxy
  const parsed = new URL(valid.right)
  if (parsed.username !== "" || parsed.password !== "") return valid.right
  parsed.username = encodeURIComponent(username)
  parsed.password = encodeURIComponent(password)
  return parsed.href
}
