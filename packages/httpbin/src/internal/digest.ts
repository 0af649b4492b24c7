/**
 * HTTP Digest authentication (RFC 7616 / RFC 2617) as the server side of
 * `/digest-auth`: algorithms, challenge headers, Authorization parsing, response
 * verification, and the per-server nonce store that enforces `nc` ordering,
 * `opaque` binding and httpbin's `stale_after`.
 *
 * @internal
 */
import { createHash, randomBytes } from "node:crypto"

/** httpbin's realm. */
export const REALM = "me@kennethreitz.com"

/** A digest algorithm: its canonical name, node hash, and whether it is a `-sess` variant. */
export interface Algorithm {
  readonly name: string
  readonly hash: "md5" | "sha1" | "sha256" | "sha512"
  readonly sess: boolean
}

const ALGORITHMS: ReadonlyArray<Algorithm> = [
  { name: "MD5", hash: "md5", sess: false },
  { name: "MD5-sess", hash: "md5", sess: true },
  { name: "SHA", hash: "sha1", sess: false },
  { name: "SHA-sess", hash: "sha1", sess: true },
  { name: "SHA-256", hash: "sha256", sess: false },
  { name: "SHA-256-sess", hash: "sha256", sess: true },
  { name: "SHA-512", hash: "sha512", sess: false },
  { name: "SHA-512-sess", hash: "sha512", sess: true }
]

/** Look an algorithm up by name, case-insensitively (`SHA-1` is accepted for `SHA`). */
export const algorithm = (name: string): Algorithm | undefined => {
  const upper = name.toUpperCase().replace(/^SHA-1(?=$|-SESS$)/, "SHA")
  return ALGORITHMS.find((a) => a.name.toUpperCase() === upper)
}

/** Hex digest of UTF-8 `data`. */
export const H = (alg: Algorithm, data: string | Buffer): string => createHash(alg.hash).update(data).digest("hex")

/** The values a digest response is computed from. */
export interface ResponseInput {
  readonly algorithm: Algorithm
  readonly username: string
  readonly realm: string
  readonly password: string
  readonly method: string
  readonly uri: string
  readonly nonce: string
  readonly qop: string | undefined
  readonly nc: string | undefined
  readonly cnonce: string | undefined
  readonly body: Buffer
}

/** The expected `response` value for `input` (RFC 7616 section 3.4.1). */
export const expectedResponse = (input: ResponseInput): string => {
  const alg = input.algorithm
  let ha1 = H(alg, `${input.username}:${input.realm}:${input.password}`)
  if (alg.sess) ha1 = H(alg, `${ha1}:${input.nonce}:${input.cnonce ?? ""}`)
  const ha2 = input.qop === "auth-int"
    ? H(alg, `${input.method}:${input.uri}:${H(alg, input.body)}`)
    : H(alg, `${input.method}:${input.uri}`)
  return input.qop === undefined
    ? H(alg, `${ha1}:${input.nonce}:${ha2}`)
    : H(alg, `${ha1}:${input.nonce}:${input.nc ?? ""}:${input.cnonce ?? ""}:${input.qop}:${ha2}`)
}

/** Parse `Digest a=b, c="d"` into lower-cased keys; `undefined` for other schemes. */
export const parseAuthorization = (value: string): Map<string, string> | undefined => {
  const m = /^\s*digest\s+(.*)$/is.exec(value)
  if (!m) return undefined
  const params = new Map<string, string>()
  const re = /([^\s=,]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g
  for (const p of m[1]!.matchAll(re)) {
    params.set(p[1]!.toLowerCase(), p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!)
  }
  return params
}

/** State of one issued nonce. */
export interface NonceState {
  readonly opaque: string
  readonly algorithm: Algorithm
  /** Successful authentications with this nonce. */
  uses: number
  /** Highest `nc` accepted so far. */
  lastNc: number
}

/** Issued nonces of one server, bounded (oldest evicted first). */
export class DigestStore {
  private readonly nonces = new Map<string, NonceState>()

  constructor(readonly capacity = 1024) {}

  /** Issue a fresh nonce and opaque for `alg`. */
  issue(alg: Algorithm, remote: string): { readonly nonce: string; readonly opaque: string } {
    const nonce = H(alg, `${remote}:${Date.now()}:${randomBytes(10).toString("hex")}`)
    const opaque = H(alg, randomBytes(10))
    this.nonces.set(nonce, { opaque, algorithm: alg, uses: 0, lastNc: 0 })
    while (this.nonces.size > this.capacity) {
      const oldest = this.nonces.keys().next()
      if (oldest.done) break
      this.nonces.delete(oldest.value)
    }
    return { nonce, opaque }
  }

  get(nonce: string): NonceState | undefined {
    return this.nonces.get(nonce)
  }

  retire(nonce: string): void {
    this.nonces.delete(nonce)
  }
}

/** A `WWW-Authenticate: Digest ...` value (`qop` empty: none offered). */
export const challenge = (options: {
  readonly nonce: string
  readonly opaque: string
  readonly algorithm: Algorithm
  readonly qop: ReadonlyArray<string>
  readonly stale: boolean
}): string => {
  const parts = [`realm="${REALM}"`, `nonce="${options.nonce}"`]
  if (options.qop.length > 0) parts.push(`qop="${options.qop.join(", ")}"`)
  parts.push(
    `opaque="${options.opaque}"`,
    `algorithm=${options.algorithm.name}`,
    `stale=${options.stale ? "TRUE" : "FALSE"}`
  )
  return `Digest ${parts.join(", ")}`
}
