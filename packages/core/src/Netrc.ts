/**
 * netrc: credentials per host from `$NETRC` or `~/.netrc` (then `~/_netrc`), as requests'
 * `get_netrc_auth` reads them. The file is read through the platform `FileSystem`; a missing,
 * unreadable or malformed file means "no credentials", never an error.
 *
 * Lookups use the parsed host name of the URL (never a split of the raw netloc: CVE-2024-47081).
 *
 * @since 0.1.0
 */
import { FileSystem } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import * as url from "./internal/url.js"

/**
 * One `machine` (or `default`) entry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly login: string
  readonly account: string
  /** Redacted: a parsed netrc can be logged or inspected without showing passwords. */
  readonly password: Redacted.Redacted<string>
}

/**
 * A parsed netrc file.
 *
 * @since 0.1.0
 * @category models
 */
export interface Netrc {
  readonly machines: ReadonlyMap<string, Entry>
  readonly default: Entry | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const empty: Netrc = { machines: new Map(), default: undefined }

const tokenize = (text: string): Array<string> | undefined => {
  const tokens: Array<string> = []
  let i = 0
  let lineStart = true
  while (i < text.length) {
    const ch = text[i]!
    if (ch === "\n") {
      lineStart = true
      i++
      continue
    }
    if (/\s/.test(ch)) {
      i++
      continue
    }
    if (ch === "#" && lineStart) {
      while (i < text.length && text[i] !== "\n") i++
      continue
    }
    lineStart = false
    if (ch === "\"") {
      let value = ""
      i++
      while (i < text.length && text[i] !== "\"") {
        if (text[i] === "\\" && i + 1 < text.length) i++
        value += text[i]
        i++
      }
      if (i >= text.length) return undefined
      i++
      tokens.push(value)
      continue
    }
    let value = ""
    while (i < text.length && !/\s/.test(text[i]!)) value += text[i++]
    tokens.push(value)
  }
  return tokens
}

/**
 * Parse netrc text. `undefined` when the text is malformed (then the file is ignored).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Netrc | undefined => {
  // macdef bodies run to the next blank line; drop them before tokenizing.
  const cleaned = text.replace(/(^|\s)macdef\s+\S+[^\n]*\n[\s\S]*?(\n\s*\n|$)/g, "$1")
  const tokens = tokenize(cleaned)
  if (tokens === undefined) return undefined
  const machines = new Map<string, Entry>()
  let fallback: Entry | undefined
  let i = 0
  while (i < tokens.length) {
    const head = tokens[i++]!
    let name: string | undefined
    if (head === "machine") {
      name = tokens[i++]
      if (name === undefined) return undefined
    } else if (head !== "default") {
      return undefined
    }
    let login = ""
    let account = ""
    let password = ""
    while (i < tokens.length && tokens[i] !== "machine" && tokens[i] !== "default") {
      const key = tokens[i++]!
      const value = tokens[i++]
      if (value === undefined) return undefined
      if (key === "login" || key === "user") login = value
      else if (key === "account") account = value
      else if (key === "password" || key === "passwd") password = value
      else return undefined
    }
    const entry: Entry = { login, account, password: Redacted.make(password) }
    // Python's netrc: a later entry for the same machine (or a later default) wins.
    if (name === undefined) fallback = entry
    else machines.set(name.toLowerCase(), entry)
  }
  return { machines, default: fallback }
}

/**
 * requests' lookup: the entry for `host`, else `default`; `(login or account, password)`, or
 * nothing when all three fields are empty (an empty `default` is ignored).
 *
 * @since 0.1.0
 * @category lookup
 */
export const lookup = (netrc: Netrc, host: string): Option.Option<readonly [string, string]> => {
  const entry = netrc.machines.get(host.toLowerCase()) ?? netrc.default
  if (entry === undefined) return Option.none()
  const password = Redacted.value(entry.password)
  if (entry.login === "" && entry.account === "" && password === "") return Option.none()
  return Option.some([entry.login || entry.account, password])
}

/**
 * The host name netrc is looked up by: the parsed URL's hostname (lower case, IPv6 without
 * brackets), never a split of the raw netloc (`http://trusted:@evil/` looks up `evil`,
 * CVE-2024-47081). `undefined` when the URL does not parse.
 *
 * @since 0.1.0
 * @category lookup
 */
export const hostOf = (href: string): string | undefined => {
  const parsed = url.parse(href)
  if (parsed === undefined || parsed.hostname === "") return undefined
  const host = parsed.hostname
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
}

/**
 * Read the netrc file: `path` (from `NETRC`) alone if given, else `~/.netrc` then `~/_netrc`
 * (`home` from `HOME`). Any failure (missing, unreadable, malformed) gives an empty netrc.
 *
 * @since 0.1.0
 * @category loading
 */
export const load = (
  options: { readonly path?: string | undefined; readonly home?: string | undefined }
): Effect.Effect<Netrc, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const home = options.home
    // `~/` expands to the home directory, as Python's expanduser does for NETRC.
    const path = options.path !== undefined && options.path.startsWith("~/") && home !== undefined
      ? `${home}${options.path.slice(1)}`
      : options.path
    const candidates = path !== undefined
      ? [path]
      : home !== undefined
      ? [`${home}/.netrc`, `${home}/_netrc`]
      : []
    for (const candidate of candidates) {
      const exists = yield* Effect.orElseSucceed(fs.exists(candidate), () => false)
      if (!exists) continue
      const text = yield* Effect.option(fs.readFileString(candidate))
      if (Option.isNone(text)) return empty
      return parse(text.value) ?? empty
    }
    return empty
  })
