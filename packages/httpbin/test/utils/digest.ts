/**
 * The client side of HTTP Digest, written independently of the server's module:
 * parse a challenge and compute the Authorization header for it.
 */
import { createHash } from "node:crypto"

const HASHES: Record<string, string> = {
  MD5: "md5",
  "MD5-SESS": "md5",
  SHA: "sha1",
  "SHA-SESS": "sha1",
  "SHA-256": "sha256",
  "SHA-256-SESS": "sha256",
  "SHA-512": "sha512",
  "SHA-512-SESS": "sha512"
}

/** Parse `Digest k=v, k="v"` (assumes no escaped quotes). */
export const parseChallenge = (header: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const m of header.replace(/^Digest\s+/i, "").matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) {
    out[m[1]!] = m[2] ?? m[3] ?? ""
  }
  return out
}

/** What to answer with. */
export interface Answer {
  readonly method: string
  readonly uri: string
  readonly username: string
  readonly password: string
  /** `auth`, `auth-int`, or undefined for none. */
  readonly qop: string | undefined
  readonly nc?: number
  readonly cnonce?: string
  readonly body?: Buffer
  /** Override the computed response (to send a wrong one). */
  readonly response?: string
  /** Override the opaque echoed back. */
  readonly opaque?: string
}

/** The Authorization header answering `challenge`. */
export const authorization = (challenge: Record<string, string>, answer: Answer): string => {
  const algorithm = challenge.algorithm ?? "MD5"
  const name = HASHES[algorithm.toUpperCase()]
  if (name === undefined) throw new Error(`unknown algorithm ${algorithm}`)
  const H = (s: string | Buffer) => createHash(name).update(s).digest("hex")
  const realm = challenge.realm ?? ""
  const nonce = challenge.nonce ?? ""
  const nc = (answer.nc ?? 1).toString(16).padStart(8, "0")
  const cnonce = answer.cnonce ?? "0a4f113b"
  const sess = algorithm.toUpperCase().endsWith("-SESS")
  let ha1 = H(`${answer.username}:${realm}:${answer.password}`)
  if (sess) ha1 = H(`${ha1}:${nonce}:${cnonce}`)
  const ha2 = answer.qop === "auth-int"
    ? H(`${answer.method}:${answer.uri}:${H(answer.body ?? Buffer.alloc(0))}`)
    : H(`${answer.method}:${answer.uri}`)
  const response = answer.response ??
    (answer.qop === undefined
      ? H(`${ha1}:${nonce}:${ha2}`)
      : H(`${ha1}:${nonce}:${nc}:${cnonce}:${answer.qop}:${ha2}`))
  const parts = [
    `username="${answer.username}"`,
    `realm="${realm}"`,
    `nonce="${nonce}"`,
    `uri="${answer.uri}"`,
    `algorithm=${algorithm}`,
    `response="${response}"`,
    `opaque="${answer.opaque ?? challenge.opaque ?? ""}"`
  ]
  if (answer.qop !== undefined) parts.push(`qop=${answer.qop}`, `nc=${nc}`)
  // A -sess hash needs the cnonce even without qop (RFC 2617 leaves that case open).
  if (answer.qop !== undefined || sess) parts.push(`cnonce="${cnonce}"`)
  return `Digest ${parts.join(", ")}`
}
