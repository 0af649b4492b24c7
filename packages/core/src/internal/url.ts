/**
 * URL preparation as requests does it (`prepare_url`, `requote_uri`, `_encode_params`), with one
 * canonical parse: the authority of a prepared URL is WHATWG's, so every later decision (origin
 * comparison, cookies, netrc, NO_PROXY) reads the same host the socket connects to.
 *
 * @internal
 */

/** A value in `params` or a form body. `null`/`undefined` values are skipped, as requests skips `None`. */
export type ParamValue = string | number | boolean | bigint | null | undefined

/** `params` / form `data` input: a record (array values repeat the key), a list of pairs, or a ready string. */
export type ParamsInput =
  | string
  | URLSearchParams
  | Readonly<Record<string, ParamValue | ReadonlyArray<ParamValue>>>
  | ReadonlyArray<readonly [string, ParamValue | ReadonlyArray<ParamValue>]>

const HEX = "0123456789ABCDEF"
const encoder = new TextEncoder()

const isAlnum = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)

const makeSafeTable = (safe: string): Uint8Array => {
  const table = new Uint8Array(128)
  for (let c = 0; c < 128; c++) if (isAlnum(c)) table[c] = 1
  for (const ch of "_.-~" + safe) table[ch.charCodeAt(0)] = 1
  return table
}

const REQUOTE_SAFE = makeSafeTable("!#$%&'()*+,/:;=?@[]~")
const REQUOTE_SAFE_NO_PERCENT = makeSafeTable("!#$&'()*+,/:;=?@[]~")
const FORM_SAFE = makeSafeTable("")

/** Python's `quote` over UTF-8 bytes with the given safe table; `plus` turns spaces into `+` (`quote_plus`). */
const quote = (input: string, safe: Uint8Array, plus = false): string => {
  let out = ""
  let start = 0
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i)
    if (c < 128 && safe[c] === 1) continue
    out += input.slice(start, i)
    if (plus && c === 32) {
      out += "+"
    } else if (c < 128) {
      out += "%" + HEX[c >> 4] + HEX[c & 15]
    } else {
      // One code point (a surrogate pair counts once), UTF-8 encoded.
      const cp = input.codePointAt(i)!
      const ch = String.fromCodePoint(cp)
      if (ch.length === 2) i++
      for (const byte of encoder.encode(ch)) out += "%" + HEX[byte >> 4] + HEX[byte & 15]
    }
    start = i + 1
  }
  return start === 0 ? input : out + input.slice(start)
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/
const ALNUM_PAIR = /^[A-Za-z0-9]{2}$/

/** requests' `unquote_unreserved`: decode `%XX` only where it is an unreserved character. `undefined` on a bad escape. */
export const unquoteUnreserved = (uri: string): string | undefined => {
  const parts = uri.split("%")
  let out = parts[0]!
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!
    const h = part.slice(0, 2)
    if (h.length === 2 && ALNUM_PAIR.test(h)) {
      if (!HEX_PAIR.test(h)) return undefined
      const ch = String.fromCharCode(parseInt(h, 16))
      out += UNRESERVED.test(ch) ? ch + part.slice(2) : "%" + part
    } else {
      out += "%" + part
    }
  }
  return out
}

/**
 * requests' `requote_uri`: normalise escapes of unreserved characters, then percent-encode whatever
 * is not allowed, leaving valid escapes alone. A bad escape (`%zz`) makes every `%` literal (`%25`).
 */
export const requoteUri = (uri: string): string => {
  const unquoted = unquoteUnreserved(uri)
  return unquoted === undefined ? quote(uri, REQUOTE_SAFE_NO_PERCENT) : quote(unquoted, REQUOTE_SAFE)
}

/** Render one scalar as text. JavaScript's `String()` (so `true`, not Python's `True`). */
export const renderValue = (value: Exclude<ParamValue, null | undefined>): string =>
  typeof value === "string" ? value : String(value)

/** The `[key, value]` pairs of params or form data, `null`/`undefined` values skipped, arrays expanded. */
export const toPairs = (input: Exclude<ParamsInput, string>): Array<[string, string]> => {
  const out: Array<[string, string]> = []
  const push = (key: string, value: ParamValue | ReadonlyArray<ParamValue>) => {
    if (Array.isArray(value)) {
      for (const v of value) if (v !== null && v !== undefined) out.push([key, renderValue(v)])
    } else if (value !== null && value !== undefined) {
      out.push([key, renderValue(value as Exclude<ParamValue, null | undefined>)])
    }
  }
  if (input instanceof URLSearchParams) {
    input.forEach((value, key) => out.push([key, value]))
  } else if (Array.isArray(input)) {
    for (const [key, value] of input as ReadonlyArray<readonly [string, ParamValue]>) push(key, value)
  } else {
    const record = input as Readonly<Record<string, ParamValue | ReadonlyArray<ParamValue>>>
    for (const key of Object.keys(record)) push(key, record[key])
  }
  return out
}

/** `application/x-www-form-urlencoded` as Python's `urlencode(doseq=True)` writes it (space → `+`, `~` kept). */
export const encodeForm = (pairs: ReadonlyArray<readonly [string, string]>): string => {
  let out = ""
  for (let i = 0; i < pairs.length; i++) {
    const [key, value] = pairs[i]!
    if (i > 0) out += "&"
    out += quote(key, FORM_SAFE, true) + "=" + quote(value, FORM_SAFE, true)
  }
  return out
}

/** requests' `_encode_params`: a string is used verbatim, anything else is form-encoded. */
export const encodeParams = (input: ParamsInput | undefined): string => {
  if (input === undefined) return ""
  if (typeof input === "string") return input
  return encodeForm(toPairs(input))
}

/** Why a URL could not be prepared. */
export type UrlProblem =
  | { readonly _tag: "MissingSchema"; readonly message: string }
  | { readonly _tag: "InvalidURL"; readonly message: string }

/** A prepared URL, with the credentials its userinfo carried (removed from `url`). */
export interface PreparedUrl {
  readonly url: string
  readonly userinfo?: readonly [user: string, password: string] | undefined
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/
const LEADING_SPACE = /^[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+/

const safeDecode = (value: string): string => {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * requests' `prepare_url`: strip leading whitespace; leave non-http URLs (`mailto:`, `localhost:3128`)
 * untouched; require a scheme and a host; IDNA-encode the host; append params to the existing query
 * without re-encoding it; keep the fragment after the query; requote the result.
 */
export const prepareUrl = (
  rawUrl: string,
  params: ParamsInput | undefined
): PrepareResult => {
  if (params !== undefined) return prepareUrlUncached(rawUrl, params)
  const hit = prepared.get(rawUrl)
  if (hit !== undefined) return hit
  const result = prepareUrlUncached(rawUrl, undefined)
  if (prepared.size >= 1024) prepared.clear()
  prepared.set(rawUrl, result)
  return result
}

/** The result of `prepareUrl`. */
export type PrepareResult =
  | { readonly _tag: "Ok"; readonly value: PreparedUrl }
  | { readonly _tag: "Err"; readonly problem: UrlProblem }

/** URLs prepared lately, without params (the same few URLs repeat in a client's life). */
const prepared = new Map<string, PrepareResult>()

const prepareUrlUncached = (
  rawUrl: string,
  params: ParamsInput | undefined
): PrepareResult => {
  const err = (problem: UrlProblem) => ({ _tag: "Err" as const, problem })
  const url = rawUrl.replace(LEADING_SPACE, "")
  if (url.includes(":") && !url.toLowerCase().startsWith("http")) {
    return { _tag: "Ok", value: { url } }
  }
  const scheme = SCHEME.exec(url)
  if (scheme === null) {
    return err({
      _tag: "MissingSchema",
      message: `Invalid URL '${url}': No scheme supplied. Perhaps you meant https://${url}?`
    })
  }
  let rest = url.slice(scheme[0].length)
  if (!rest.startsWith("//")) {
    return err({ _tag: "InvalidURL", message: `Invalid URL '${url}': No host supplied` })
  }
  rest = rest.slice(2)
  const authorityEnd = rest.search(/[/?#]/)
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd)
  let tail = authorityEnd === -1 ? "" : rest.slice(authorityEnd)

  const at = authority.lastIndexOf("@")
  const userinfo = at === -1 ? undefined : authority.slice(0, at)
  const hostport = at === -1 ? authority : authority.slice(at + 1)

  let host: string
  let port: string | undefined
  if (hostport.startsWith("[")) {
    const close = hostport.indexOf("]")
    if (close === -1) return err({ _tag: "InvalidURL", message: `Failed to parse: ${url}` })
    host = hostport.slice(0, close + 1)
    const after = hostport.slice(close + 1)
    if (after !== "" && !after.startsWith(":")) return err({ _tag: "InvalidURL", message: `Failed to parse: ${url}` })
    port = after === "" ? undefined : after.slice(1)
  } else {
    const colon = hostport.lastIndexOf(":")
    host = colon === -1 ? hostport : hostport.slice(0, colon)
    port = colon === -1 ? undefined : hostport.slice(colon + 1)
  }
  if (host === "") return err({ _tag: "InvalidURL", message: `Invalid URL '${url}': No host supplied` })
  if (port !== undefined && port !== "" && (!/^\d+$/.test(port) || Number(port) > 65535)) {
    return err({ _tag: "InvalidURL", message: `Failed to parse: ${url}` })
  }
  if (host.startsWith("*") || host.startsWith(".")) {
    return err({ _tag: "InvalidURL", message: "URL has an invalid label." })
  }

  // The canonical host: WHATWG's (IDNA/UTS#46, lower case, IPv4 forms normalised).
  let canonicalHost: string
  try {
    canonicalHost = new URL(`http://${host}/`).host
  } catch {
    return err({
      _tag: "InvalidURL",
      message: /[^ -~]/.test(host) ? "URL has an invalid label." : `Failed to parse: ${url}`
    })
  }

  // Split off the fragment and query of the tail; an empty path becomes "/".
  let fragment: string | undefined
  const hash = tail.indexOf("#")
  if (hash !== -1) {
    fragment = tail.slice(hash + 1)
    tail = tail.slice(0, hash)
  }
  let query: string | undefined
  const q = tail.indexOf("?")
  if (q !== -1) {
    query = tail.slice(q + 1)
    tail = tail.slice(0, q)
  }
  const path = tail === "" ? "/" : tail
  const encoded = encodeParams(params)
  if (encoded !== "") query = query ? `${query}&${encoded}` : encoded

  const schemeLower = scheme[1]!.toLowerCase()
  const portPart = port === undefined || port === "" ? "" : `:${port}`
  const assembled = `${schemeLower}://${canonicalHost}${portPart}${path}` +
    (query ? `?${query}` : "") +
    (fragment !== undefined ? `#${fragment}` : "")
  const prepared = requoteUri(assembled)
  try {
    new URL(prepared)
  } catch {
    return err({ _tag: "InvalidURL", message: `Failed to parse: ${url}` })
  }

  let credentials: readonly [string, string] | undefined
  if (userinfo !== undefined) {
    // requests' get_auth_from_url: both parts percent-decoded; a missing password means no credentials.
    const colon = userinfo.indexOf(":")
    if (colon !== -1) {
      const user = safeDecode(userinfo.slice(0, colon))
      const pass = safeDecode(userinfo.slice(colon + 1))
      if (user !== "" || pass !== "") credentials = [user, pass]
    }
  }
  return { _tag: "Ok", value: { url: prepared, userinfo: credentials } }
}

/** The part of a prepared URL that goes on the request line: path (at least `/`) and query, never the fragment. */
export const pathUrl = (url: string): string => {
  const schemeEnd = url.indexOf("://")
  const start = schemeEnd === -1 ? 0 : url.indexOf("/", schemeEnd + 3)
  if (start === -1) return "/"
  let end = url.indexOf("#", start)
  if (end === -1) end = url.length
  let path = url.slice(start, end)
  if (path.startsWith("?")) path = "/" + path
  if (path.endsWith("?")) path = path.slice(0, -1)
  return path === "" ? "/" : path
}

/** The URL without its fragment and credentials: what logs, messages and `Response.url` show. */
export const displayUrl = (url: string): string => {
  // Credentials need an "@" before the path: most URLs have none, and need no parsing.
  const at = url.indexOf("@")
  if (at === -1) return url
  const slash = url.indexOf("/", url.indexOf("//") + 2)
  if (slash !== -1 && slash < at) return url
  try {
    const parsed = new URL(url)
    if (parsed.username === "" && parsed.password === "") return url
    parsed.username = ""
    parsed.password = ""
    return parsed.href
  } catch {
    return url
  }
}

/** The port a URL uses, default ports filled in. */
export const effectivePort = (url: URL): number =>
  url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : url.protocol === "http:" ? 80 : -1

/** Whether two URLs share an origin: scheme, host and port (default ports normalised). */
export const sameOrigin = (a: URL, b: URL): boolean =>
  a.protocol === b.protocol && a.hostname === b.hostname && effectivePort(a) === effectivePort(b)

/** Parse a URL, `undefined` when it does not parse. */
export const parse = (url: string): URL | undefined => {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}
