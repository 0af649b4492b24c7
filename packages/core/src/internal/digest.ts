/**
 * HTTP Digest authentication, the client side (RFC 7616, RFC 2617), as pure functions:
 * parsing `WWW-Authenticate` challenges, choosing one we can answer, and computing the
 * `Authorization` value. `Auth.digest` keeps the state (nonce, nonce count) and runs the round trips.
 *
 * Hashes come from `@noble/hashes` (audited, no dependencies, runs in every JavaScript runtime:
 * the core package must not depend on `node:crypto`, and WebCrypto has no MD5).
 *
 * @internal
 */
import { md5, sha1 } from "@noble/hashes/legacy.js"
import { sha256, sha512 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"

/** One challenge of a `WWW-Authenticate` header: a scheme and its parameters (names lower-cased). */
export interface Challenge {
  readonly scheme: string
  readonly params: ReadonlyMap<string, string>
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/

/**
 * Parse the challenges of one or more `WWW-Authenticate` values (RFC 7235 §4.1): each value may
 * hold several comma-separated challenges, each a scheme followed by `name=value` parameters
 * (token or quoted-string) or a token68. Garbage is skipped, never fatal.
 */
export const parseChallenges = (values: ReadonlyArray<string>): Array<Challenge> => {
  const out: Array<Challenge> = []
  for (const value of values) {
    let rest = value
    let current: { scheme: string; params: Map<string, string> } | undefined
    const skip = () => {
      rest = rest.replace(/^[\s,]+/, "")
    }
    skip()
    while (rest.length > 0) {
      const token = TOKEN.exec(rest)
      if (token === null) {
        // Not a token: drop one character (a whole quoted string) and go on.
        const close = rest.startsWith("\"") ? rest.indexOf("\"", 1) : 0
        rest = close === -1 ? "" : rest.slice(close + 1)
        skip()
        continue
      }
      const after = rest.slice(token[0].length).replace(/^\s*/, "")
      if (after.startsWith("=") && !after.startsWith("==") && current !== undefined) {
        // A parameter of the current challenge.
        let tail = after.slice(1).replace(/^\s*/, "")
        let paramValue: string
        if (tail.startsWith("\"")) {
          let i = 1
          paramValue = ""
          while (i < tail.length && tail[i] !== "\"") {
            if (tail[i] === "\\" && i + 1 < tail.length) i++
            paramValue += tail[i]
            i++
          }
          tail = tail.slice(i + 1)
        } else {
          const bare = /^[^\s,]*/.exec(tail)![0]
          paramValue = bare
          tail = tail.slice(bare.length)
        }
        current.params.set(token[0].toLowerCase(), paramValue)
        rest = tail
        skip()
        continue
      }
      // A new challenge: the scheme, then maybe a token68.
      current = { scheme: token[0].toLowerCase(), params: new Map() }
      out.push(current)
      rest = after
      const t68 = TOKEN68.exec(rest)
      if (t68 !== null) {
        const afterT68 = rest.slice(t68[0].length).replace(/^\s*/, "")
        if (afterT68 === "" || afterT68.startsWith(",")) {
          current.params.set("", t68[0])
          rest = afterT68
        }
      }
      skip()
    }
  }
  return out
}

/** A hash function of the digest scheme. */
export interface Algorithm {
  /** The canonical name (`MD5`, `SHA-256-sess`, ...). */
  readonly name: string
  readonly hash: (data: Uint8Array) => Uint8Array
  readonly sess: boolean
}

const HASHES: Record<string, (data: Uint8Array) => Uint8Array> = {
  "MD5": md5,
  "SHA": sha1,
  "SHA-1": sha1,
  "SHA-256": sha256,
  "SHA-512": sha512
}

/**
 * The algorithm named by a challenge (case-insensitive; none means MD5). `SHA` is SHA-1 as
 * requests reads it. `undefined` for anything else (SHA-512-256, unknown names): not answered.
 */
export const algorithm = (name: string | undefined): Algorithm | undefined => {
  const upper = (name ?? "MD5").trim().toUpperCase()
  const sess = upper.endsWith("-SESS")
  const base = sess ? upper.slice(0, -5) : upper
  const hash = HASHES[base]
  return hash === undefined ? undefined : { name: upper, hash, sess }
}

const encoder = new TextEncoder()

/** Lower-case hex of `H(data)`; strings are hashed as UTF-8 (as requests does). */
export const hex = (alg: Algorithm, data: string | Uint8Array): string =>
  bytesToHex(alg.hash(typeof data === "string" ? encoder.encode(data) : data))

/** What a request contributes to a digest answer. */
export interface Target {
  readonly method: string
  /** The request target: path and query (requests' `path_url`). */
  readonly uri: string
  /** The body bytes for `qop=auth-int`, or `undefined` when the body is a stream (auth-int impossible). */
  readonly body: Uint8Array | undefined
}

/** The parts of a digest challenge the client needs. */
export interface DigestChallenge {
  readonly realm: string
  readonly nonce: string
  readonly opaque: string | undefined
  /** The algorithm as the server wrote it (echoed back), and as parsed. */
  readonly algorithmName: string | undefined
  readonly algorithm: Algorithm
  /** The qop options offered, lower-cased; empty when the server offered none (RFC 2069 mode). */
  readonly qop: ReadonlyArray<string>
  readonly stale: boolean
  readonly userhash: boolean
}

/** The `Digest` challenges we could answer, in the server's order (unknown algorithms left out). */
export const digestChallenges = (values: ReadonlyArray<string>): Array<DigestChallenge> => {
  const out: Array<DigestChallenge> = []
  for (const challenge of parseChallenges(values)) {
    if (challenge.scheme !== "digest") continue
    const realm = challenge.params.get("realm")
    const nonce = challenge.params.get("nonce")
    if (realm === undefined || nonce === undefined) continue
    const algorithmName = challenge.params.get("algorithm")
    const alg = algorithm(algorithmName)
    if (alg === undefined) continue
    const qopRaw = challenge.params.get("qop")
    out.push({
      realm,
      nonce,
      opaque: challenge.params.get("opaque"),
      algorithmName,
      algorithm: alg,
      qop: qopRaw === undefined ? [] : qopRaw.split(",").map((q) => q.trim().toLowerCase()).filter((q) => q !== ""),
      stale: (challenge.params.get("stale") ?? "").toLowerCase() === "true",
      userhash: (challenge.params.get("userhash") ?? "").toLowerCase() === "true"
    })
  }
  return out
}

/**
 * The qop we answer with: `auth` when offered (what requests and every browser choose), else
 * `auth-int` when the body is in memory, else none when none was offered; `undefined` when the
 * challenge cannot be answered (only `auth-int` with a streamed body, or only unknown qops).
 */
export const chooseQop = (challenge: DigestChallenge, target: Target): "auth" | "auth-int" | null | undefined => {
  if (challenge.qop.length === 0) return null
  if (challenge.qop.includes("auth")) return "auth"
  if (challenge.qop.includes("auth-int") && target.body !== undefined) return "auth-int"
  return undefined
}

/** A quoted-string with `"` and `\` escaped. */
const quoted = (value: string): string => `"${value.replace(/(["\\])/g, "\\$1")}"`

/** UTF-8 bytes of `value` as a latin-1 string (how a header carries bytes). */
const utf8AsLatin1 = (value: string): string => {
  let out = ""
  for (const byte of encoder.encode(value)) out += String.fromCharCode(byte)
  return out
}

/**
 * The `Authorization` value answering `challenge` for `target`, with nonce count `nc` and client
 * nonce `cnonce`. `undefined` when the challenge cannot be answered (see `chooseQop`).
 *
 * Layout as requests writes it: `Digest username="…", realm="…", nonce="…", uri="…",
 * response="…"`, then `opaque`, `algorithm` (as the server sent it), and `qop`, `nc`, `cnonce`.
 */
export const authorization = (options: {
  readonly challenge: DigestChallenge
  readonly target: Target
  readonly username: string
  readonly password: string
  readonly nc: number
  readonly cnonce: string
}): string | undefined => {
  const { challenge, cnonce, nc, password, target, username } = options
  const qop = chooseQop(challenge, target)
  if (qop === undefined) return undefined
  const alg = challenge.algorithm
  const H = (data: string | Uint8Array) => hex(alg, data)
  let ha1 = H(`${username}:${challenge.realm}:${password}`)
  if (alg.sess) ha1 = H(`${ha1}:${challenge.nonce}:${cnonce}`)
  const ha2 = qop === "auth-int"
    ? H(`${target.method}:${target.uri}:${H(target.body ?? new Uint8Array(0))}`)
    : H(`${target.method}:${target.uri}`)
  const ncValue = nc.toString(16).padStart(8, "0")
  const response = qop === null
    ? H(`${ha1}:${challenge.nonce}:${ha2}`)
    : H(`${ha1}:${challenge.nonce}:${ncValue}:${cnonce}:${qop}:${ha2}`)
  const user = challenge.userhash ? H(`${username}:${challenge.realm}`) : utf8AsLatin1(username)
  const parts = [
    `username=${quoted(user)}`,
    `realm=${quoted(challenge.realm)}`,
    `nonce=${quoted(challenge.nonce)}`,
    `uri=${quoted(target.uri)}`,
    `response=${quoted(response)}`
  ]
  if (challenge.opaque !== undefined) parts.push(`opaque=${quoted(challenge.opaque)}`)
  if (challenge.algorithmName !== undefined) parts.push(`algorithm=${quoted(challenge.algorithmName)}`)
  if (qop !== null) parts.push(`qop=${quoted(qop)}`, `nc=${ncValue}`, `cnonce=${quoted(cnonce)}`)
  // A -sess answer without qop still needs the server to know the cnonce in its HA1 (requests omits it).
  else if (alg.sess) parts.push(`cnonce=${quoted(cnonce)}`)
  if (challenge.userhash) parts.push("userhash=true")
  return `Digest ${parts.join(", ")}`
}

/** 16 random hex characters from the platform's cryptographic random source. */
export const makeCnonce = (): string => {
  const bytes = new Uint8Array(8)
  globalThis.crypto.getRandomValues(bytes)
  return bytesToHex(bytes)
}
