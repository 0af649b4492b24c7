/**
 * Raw HTTP/1.1 over node:net / node:tls sockets, for what fetch cannot observe:
 * resets, truncation, exact header bytes, duplicate request headers, connection reuse.
 */
import * as Net from "node:net"
import * as Tls from "node:tls"

/** A parsed response head plus the raw bytes after it. */
export interface RawResponse {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: Buffer
}

/** Everything a connection received until it ended. */
export interface RawExchange {
  readonly bytes: Buffer
  /** Error code the socket ended with (`ECONNRESET`), if any. */
  readonly errorCode: string | undefined
  readonly elapsedMs: number
}

/** Header value by name (case-insensitive), first occurrence. */
export const headerOf = (res: RawResponse, name: string): string | undefined =>
  res.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]

/** All values of a header (case-insensitive). */
export const headersOf = (res: RawResponse, name: string): Array<string> =>
  res.headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v)

/** Parse status line and headers; `body` is whatever follows (not de-chunked). */
export const parseResponse = (bytes: Buffer): RawResponse => {
  const end = bytes.indexOf("\r\n\r\n")
  if (end === -1) throw new Error(`no complete head in ${JSON.stringify(bytes.toString("latin1").slice(0, 200))}`)
  const [statusLine = "", ...lines] = bytes.subarray(0, end).toString("latin1").split("\r\n")
  const status = Number(statusLine.split(" ")[1])
  const headers = lines.map((line) => {
    const colon = line.indexOf(":")
    return [line.slice(0, colon), line.slice(colon + 1).trim()] as const
  })
  return { status, headers, body: bytes.subarray(end + 4) }
}

/** Decode a chunked body; `complete` tells whether the terminating chunk arrived. */
export const dechunk = (body: Buffer): { readonly data: Buffer; readonly complete: boolean } => {
  const parts: Array<Buffer> = []
  let pos = 0
  for (;;) {
    const lineEnd = body.indexOf("\r\n", pos)
    if (lineEnd === -1) return { data: Buffer.concat(parts), complete: false }
    const size = parseInt(body.subarray(pos, lineEnd).toString("latin1"), 16)
    if (size === 0) return { data: Buffer.concat(parts), complete: body.indexOf("\r\n", lineEnd + 2) !== -1 }
    if (lineEnd + 2 + size + 2 > body.length) {
      parts.push(body.subarray(lineEnd + 2, Math.min(body.length, lineEnd + 2 + size)))
      return { data: Buffer.concat(parts), complete: false }
    }
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size))
    pos = lineEnd + 2 + size + 2
  }
}

/** Where to connect. */
export interface Target {
  readonly host: string
  readonly port: number
  /** Connect with TLS using these options. */
  readonly tls?: Tls.ConnectionOptions
}

const connect = (target: Target): Net.Socket =>
  target.tls
    ? Tls.connect({ host: target.host, port: target.port, ...target.tls })
    : Net.connect({ host: target.host, port: target.port })

/** Send `data`, then collect everything until the server closes (or `timeoutMs`). */
export const exchange = (target: Target, data: string | Buffer, timeoutMs = 5000): Promise<RawExchange> =>
  new Promise((resolve) => {
    const started = performance.now()
    const chunks: Array<Buffer> = []
    const socket = connect(target)
    let errorCode: string | undefined
    const timer = setTimeout(() => {
      errorCode = "TEST_TIMEOUT"
      socket.destroy()
    }, timeoutMs)
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    socket.on("error", (error: NodeJS.ErrnoException) => {
      errorCode ??= error.code ?? error.message
    })
    socket.on("close", () => {
      clearTimeout(timer)
      resolve({ bytes: Buffer.concat(chunks), errorCode, elapsedMs: performance.now() - started })
    })
    socket.write(data)
  })

/** A GET request line with Host and `Connection: close`, plus extra raw header lines. */
export const get = (path: string, extra: ReadonlyArray<string> = []): string =>
  [`GET ${path} HTTP/1.1`, "Host: 127.0.0.1", ...extra, "Connection: close", "", ""].join("\r\n")

/** A persistent connection that reads one response per request (Content-Length or chunked bodies). */
export class Connection {
  private buffer = Buffer.alloc(0)
  private waiter: (() => void) | undefined
  readonly socket: Net.Socket
  readonly closed: Promise<string | undefined>

  constructor(target: Target) {
    this.socket = connect(target)
    let errorCode: string | undefined
    this.socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.waiter?.()
    })
    this.socket.on("error", (error: NodeJS.ErrnoException) => {
      errorCode ??= error.code
    })
    this.closed = new Promise((resolve) =>
      this.socket.on("close", () => {
        this.waiter?.()
        resolve(errorCode)
      })
    )
  }

  /** Send a raw request and read one complete response; rejects if the connection ends first. */
  async request(data: string | Buffer): Promise<RawResponse> {
    this.socket.write(data)
    for (;;) {
      const parsed = this.tryParse()
      if (parsed) return parsed
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error("connection closed before a response")
      await new Promise<void>((resolve) => (this.waiter = resolve))
    }
  }

  close(): void {
    this.socket.destroy()
  }

  private tryParse(): RawResponse | undefined {
    const end = this.buffer.indexOf("\r\n\r\n")
    if (end === -1) return undefined
    const head = parseResponse(Buffer.concat([this.buffer.subarray(0, end + 4)]))
    const rest = this.buffer.subarray(end + 4)
    const length = headerOf(head, "content-length")
    if (length !== undefined) {
      if (rest.length < Number(length)) return undefined
      this.buffer = rest.subarray(Number(length))
      return { ...head, body: rest.subarray(0, Number(length)) }
    }
    if ((headerOf(head, "transfer-encoding") ?? "").toLowerCase() === "chunked") {
      const terminator = rest.indexOf("0\r\n\r\n")
      const { complete, data } = dechunk(rest)
      if (!complete || terminator === -1) return undefined
      this.buffer = rest.subarray(terminator + 5)
      return { ...head, body: data }
    }
    this.buffer = rest
    return { ...head, body: Buffer.alloc(0) }
  }
}
