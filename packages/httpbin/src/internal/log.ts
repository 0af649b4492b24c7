/**
 * The request log: a bounded ring of every request the server received, with the
 * raw request line and headers exactly as they arrived and a digest of the body.
 *
 * @internal
 */

/**
 * One request as the server saw it.
 *
 * Header names keep their case, order and duplicates. Values are node's latin-1
 * decoding of the raw bytes (use `Buffer.from(value, "latin1")` to get the bytes back).
 */
export interface LoggedRequest {
  /** 1-based sequence number, unique for the life of the server. */
  readonly id: number
  readonly method: string
  /** The raw request target (`/get?a=1`, or an absolute URL for proxy-style requests). */
  readonly url: string
  readonly httpVersion: string
  readonly rawHeaders: ReadonlyArray<readonly [name: string, value: string]>
  /** Body bytes read so far (the whole body once the request has been handled). */
  readonly bodyBytes: number
  /** Hex SHA-256 of the body bytes read. */
  readonly bodySha256: string
  /** Per-connection counter: two requests with the same id came over the same socket. */
  readonly socketId: number
  readonly remotePort: number
  readonly tls: boolean
  /** Epoch milliseconds at which the request headers were parsed. */
  readonly receivedAt: number
}

/** SHA-256 of the empty string, the digest of a request without a body. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

/** A handle to fill in the body fields of an entry once the body has been read. */
export interface LogEntry {
  readonly finish: (bodyBytes: number, bodySha256: string) => void
}

const noop: LogEntry = { finish: () => {} }

/** Bounded ring buffer of {@link LoggedRequest}s. */
export class RequestLog {
  private readonly ring: Array<Mutable<LoggedRequest> | undefined>
  private next = 0
  private clearedAt = 0
  private nextId = 1

  constructor(readonly capacity: number, readonly enabled: boolean) {
    this.ring = new Array(Math.max(1, capacity))
  }

  /** Record a request whose headers have just been parsed. */
  begin(entry: Omit<LoggedRequest, "id" | "bodyBytes" | "bodySha256">): LogEntry {
    if (!this.enabled) return noop
    const record: Mutable<LoggedRequest> = { id: this.nextId++, ...entry, bodyBytes: 0, bodySha256: EMPTY_SHA256 }
    this.ring[this.next % this.ring.length] = record
    this.next++
    return {
      finish: (bodyBytes, bodySha256) => {
        record.bodyBytes = bodyBytes
        record.bodySha256 = bodySha256
      }
    }
  }

  /** A snapshot of the entries, oldest first. */
  entries(): Array<LoggedRequest> {
    const from = Math.max(this.clearedAt, this.next - this.ring.length)
    const out: Array<LoggedRequest> = []
    for (let i = from; i < this.next; i++) {
      const record = this.ring[i % this.ring.length]
      if (record) out.push({ ...record, rawHeaders: record.rawHeaders.map(([k, v]) => [k, v] as const) })
    }
    return out
  }

  /** The newest entry, if any. */
  last(): LoggedRequest | undefined {
    if (this.next === this.clearedAt) return undefined
    const record = this.ring[(this.next - 1) % this.ring.length]
    return record ? { ...record } : undefined
  }

  clear(): void {
    this.clearedAt = this.next
  }
}

/** Node's flat `rawHeaders` list as name/value pairs. */
export const headerPairs = (raw: ReadonlyArray<string>): Array<readonly [string, string]> => {
  const pairs: Array<readonly [string, string]> = []
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!])
  return pairs
}
