/**
 * Ordered, case-insensitive HTTP headers that keep every value of a repeated header.
 *
 * requests' `CaseInsensitiveDict`: lookups ignore case, the last spelling used for a name is kept,
 * and a name keeps the position it first had. Unlike a dict, a response's repeated headers
 * (`Set-Cookie` above all) stay separate values: `get` joins them with `", "`, `getAll` gives the list.
 *
 * Values are immutable: every change returns a new `Headers`.
 *
 * @since 0.1.0
 */
import { NodeInspectSymbol } from "effect/Inspectable"

/**
 * Anything that can become headers. `null` and `undefined` values are dropped (requests' merge
 * removes them), arrays give repeated headers.
 *
 * @since 0.1.0
 * @category models
 */
export type Input =
  | Headers
  | Readonly<Record<string, string | number | ReadonlyArray<string> | null | undefined>>
  | Iterable<readonly [string, string]>

/**
 * Header names whose values are never shown by `toJSON`, `toString` or error messages.
 *
 * @since 0.1.0
 * @category redaction
 */
export const defaultRedactedNames: ReadonlyArray<string> = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "x-auth-token",
  "x-csrf-token",
  "x-xsrf-token"
]

const redactedSet = new Set(defaultRedactedNames)

/**
 * The text shown in place of a secret.
 *
 * @since 0.1.0
 * @category redaction
 */
export const REDACTED = "<redacted>"

/**
 * @since 0.1.0
 * @category models
 */
export class Headers implements Iterable<readonly [string, string]> {
  /** @internal */
  constructor(
    /** Every entry in order, names as spelled by whoever set them. */
    readonly entries: ReadonlyArray<readonly [name: string, value: string]>
  ) {}

  /** Number of entries (a repeated header counts once per value). */
  get size(): number {
    return this.entries.length
  }

  /** The value of `name`, repeated values joined with `", "`, or `undefined`. */
  get(name: string): string | undefined {
    const lower = name.toLowerCase()
    let found: string | undefined
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i]!
      if (entry[0].toLowerCase() === lower) {
        found = found === undefined ? entry[1] : `${found}, ${entry[1]}`
      }
    }
    return found
  }

  /** Every value of `name`, in the order received. */
  getAll(name: string): ReadonlyArray<string> {
    const lower = name.toLowerCase()
    const out: Array<string> = []
    for (const [key, value] of this.entries) {
      if (key.toLowerCase() === lower) out.push(value)
    }
    return out
  }

  has(name: string): boolean {
    const lower = name.toLowerCase()
    return this.entries.some(([key]) => key.toLowerCase() === lower)
  }

  /**
   * Replace every value of `name` with `value`. The name keeps the position of its first
   * occurrence and takes the new spelling (requests' `CaseInsensitiveDict.__setitem__`).
   */
  set(name: string, value: string): Headers {
    const lower = name.toLowerCase()
    const out: Array<readonly [string, string]> = []
    let placed = false
    for (const entry of this.entries) {
      if (entry[0].toLowerCase() === lower) {
        if (!placed) {
          out.push([name, value])
          placed = true
        }
      } else {
        out.push(entry)
      }
    }
    if (!placed) out.push([name, value])
    return new Headers(out)
  }

  /** Add a value, keeping the existing ones. */
  append(name: string, value: string): Headers {
    return new Headers([...this.entries, [name, value]])
  }

  /** Remove every value of each name (case-insensitive). */
  remove(...names: ReadonlyArray<string>): Headers {
    if (names.length === 0) return this
    const lower = new Set(names.map((n) => n.toLowerCase()))
    const out = this.entries.filter(([key]) => !lower.has(key.toLowerCase()))
    return out.length === this.entries.length ? this : new Headers(out)
  }

  /** Header names in order, once each, spelled as last set. */
  keys(): ReadonlyArray<string> {
    const seen = new Map<string, string>()
    for (const [key] of this.entries) seen.set(key.toLowerCase(), key)
    return Array.from(seen.values())
  }

  [Symbol.iterator](): Iterator<readonly [string, string]> {
    return this.entries[Symbol.iterator]()
  }

  /** A plain record (names as spelled, repeated values joined with `", "`). Secrets included: handle with care. */
  toRecord(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const key of this.keys()) out[key] = this.get(key)!
    return out
  }

  /** A plain record with secrets replaced by `<redacted>`. */
  toJSON(): Record<string, string> {
    return redact(this).toRecord()
  }

  toString(): string {
    return JSON.stringify(this.toJSON())
  }

  [NodeInspectSymbol](): unknown {
    return this.toJSON()
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const empty: Headers = new Headers([])

/**
 * @since 0.1.0
 * @category refinements
 */
export const isHeaders = (u: unknown): u is Headers => u instanceof Headers

/**
 * Build headers from a record, a list of pairs or another `Headers`. In a record, `null` and
 * `undefined` values are dropped and arrays give one entry per value. Pairs are kept exactly.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromInput = (input: Input | undefined): Headers => {
  if (input === undefined) return empty
  if (input instanceof Headers) return input
  if (Symbol.iterator in input) {
    const out: Array<readonly [string, string]> = []
    for (const [key, value] of input as Iterable<readonly [string, string]>) out.push([key, value])
    return new Headers(out)
  }
  const out: Array<readonly [string, string]> = []
  for (const key of Object.keys(input)) {
    const value = (input as Record<string, unknown>)[key]
    if (value === null || value === undefined) continue
    if (Array.isArray(value)) {
      for (const v of value) out.push([key, String(v)])
    } else {
      out.push([key, String(value)])
    }
  }
  return new Headers(out)
}

/**
 * Build headers from Node's raw header list (`[name, value, name, value, ...]`, as buffers
 * or latin-1 strings), keeping order, case and repeats.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromRaw = (raw: ReadonlyArray<string | Uint8Array>): Headers => {
  const out: Array<readonly [string, string]> = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    out.push([latin1(raw[i]!), latin1(raw[i + 1]!)])
  }
  return new Headers(out)
}

const latin1 = (value: string | Uint8Array): string => {
  if (typeof value === "string") return value
  if (value.length <= 4096) return String.fromCharCode.apply(null, value as unknown as Array<number>)
  let out = ""
  for (let i = 0; i < value.length; i += 4096) {
    out += String.fromCharCode.apply(null, value.subarray(i, i + 4096) as unknown as Array<number>)
  }
  return out
}

/**
 * Whether a header name is one whose value must never be shown.
 *
 * @since 0.1.0
 * @category redaction
 */
export const isSensitive = (name: string, extra: ReadonlyArray<string> = []): boolean => {
  const lower = name.toLowerCase()
  return redactedSet.has(lower) || extra.some((n) => n.toLowerCase() === lower)
}

/**
 * Replace the values of sensitive headers (the defaults plus `extra`) with `<redacted>`.
 *
 * @since 0.1.0
 * @category redaction
 */
export const redact = (headers: Headers, extra: ReadonlyArray<string> = []): Headers => {
  let changed = false
  const out = headers.entries.map((entry) => {
    if (isSensitive(entry[0], extra)) {
      changed = true
      return [entry[0], REDACTED] as const
    }
    return entry
  })
  return changed ? new Headers(out) : headers
}

/**
 * requests' `merge_setting` for headers: start from the session's headers, apply the request's
 * (case-insensitively; the request's spelling wins and the session's position is kept), then
 * drop every name whose merged value is `null` or `undefined`, wherever that `null` came from.
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (
  session: ReadonlyArray<readonly [string, string | null]>,
  request: ReadonlyArray<readonly [string, string | null]>
): ReadonlyArray<readonly [string, string | null]> => {
  const order: Array<string> = []
  const values = new Map<string, readonly [string, string | null]>()
  for (const [key, value] of session) {
    const lower = key.toLowerCase()
    if (!values.has(lower)) order.push(lower)
    values.set(lower, [key, value])
  }
  for (const [key, value] of request) {
    const lower = key.toLowerCase()
    if (!values.has(lower)) order.push(lower)
    values.set(lower, [key, value])
  }
  const out: Array<readonly [string, string | null]> = []
  for (const lower of order) {
    const entry = values.get(lower)!
    if (entry[1] !== null) out.push(entry)
  }
  return out
}
