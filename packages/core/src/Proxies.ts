/**
 * Proxy selection: requests' proxies mapping, `select_proxy` and `should_bypass_proxies`.
 *
 * The mapping's keys are `http`, `https`, `all`, `scheme://host` and `all://host` (lower case);
 * the most specific key wins. `NO_PROXY` entries are host names (matched exactly or as a suffix
 * at a label boundary, a leading dot optional), `host:port`, `*` (everything), IPv4/IPv6 literals
 * and CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
 *
 * @since 0.1.0
 */

/**
 * A proxies mapping, as in requests (`null` in options removes an inherited key).
 *
 * @since 0.1.0
 * @category models
 */
export type Proxies = Readonly<Record<string, string>>

/**
 * requests' `select_proxy`: try `scheme://host`, `scheme`, `all://host`, `all`, in that order.
 *
 * @since 0.1.0
 * @category selection
 */
export const selectProxy = (url: string, proxies: Proxies): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase()
  const host = parsed.hostname.toLowerCase()
  if (host === "") return proxies[scheme] ?? proxies["all"]
  const keys = [`${scheme}://${host}`, scheme, `all://${host}`, "all"]
  for (const key of keys) {
    const value = proxies[key]
    if (value !== undefined && value !== "") return value
  }
  return undefined
}

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

/**
 * The entries of a `NO_PROXY` value: spaces removed, split on commas, empties dropped.
 *
 * @since 0.1.0
 * @category selection
 */
export const parseNoProxy = (value: string): ReadonlyArray<string> =>
  value.replace(/\s+/g, "").split(",").filter((e) => e !== "").map((e) => e.toLowerCase())

/**
 * requests' `should_bypass_proxies`: whether `url` matches a `NO_PROXY` value.
 *
 * @since 0.1.0
 * @category selection
 */
export const shouldBypassProxies = (url: string, noProxy: string | undefined): boolean => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  const hostname = stripBrackets(parsed.hostname.toLowerCase())
  if (hostname === "") return true
  if (noProxy === undefined || noProxy === "") return false
  const entries = parseNoProxy(noProxy)
  const ipv4 = parseIPv4(hostname)
  const ipv6 = ipv4 === undefined ? parseIPv6(hostname) : undefined
  const withPort = parsed.port === "" ? undefined : `${hostname}:${parsed.port}`
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
      if (entryIp !== undefined && sameIPv6(entryIp, ipv6) && (entryPort === undefined || entryPort === parsed.port)) {
        return true
      }
      continue
    }
    const entry = raw.replace(/^\.+/, "").replace(/^\*\./, "")
    if (entry === "") continue
    if (hostname === entry || withPort === entry) return true
    if (hostname.endsWith(`.${entry}`) || (withPort !== undefined && withPort.endsWith(`.${entry}`))) return true
  }
  return false
}

/**
 * requests' `resolve_proxies` (environment part): the proxy for `url` from environment proxies,
 * unless `NO_PROXY` says to bypass it. Keyed under the URL's scheme.
 *
 * @since 0.1.0
 * @category selection
 */
export const environmentProxiesFor = (
  url: string,
  env: Proxies,
  noProxy: string | undefined
): Proxies => {
  if (shouldBypassProxies(url, noProxy)) return {}
  return env
}

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
