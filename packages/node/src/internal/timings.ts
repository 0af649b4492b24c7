/**
 * Phase timings of one exchange on undici (connect, TLS, wait, first byte, body), without
 * diagnostics channels: the connectors are wrapped to time new connections, and undici writes a
 * request on a new connection synchronously inside the connector's callback (`connect` →
 * `client[kResume]()` → `writeH1` → the handler's `onConnect`), so the connection's timings are
 * left in a slot for exactly that call. A request whose `onConnect` finds the slot empty went out
 * on a kept-alive connection.
 *
 * A connect timeout after the TCP connection was made is marked as a TLS-phase timeout.
 *
 * @internal
 */
import type { Socket } from "node:net"
import type * as undici from "undici"

type Connector = undici.buildConnector.connector

interface Connected {
  readonly connect: number
  readonly tls: number | undefined
}

/** The timings of the connection being handed to undici right now (see the module comment). */
let handing: Connected | undefined

const TLS_STALLED = new WeakSet<object>()

/** Whether a connect error happened after the TCP connection was made (during the TLS handshake). */
export const isTlsStall = (error: unknown): boolean =>
  typeof error === "object" && error !== null && TLS_STALLED.has(error)

/** Time the connections a connector opens. */
export const timed = (connect: Connector): Connector => (options, callback) => {
  const start = performance.now()
  let tcp: number | undefined
  const socket = connect(options, (...args) => {
    const [error, connected] = args
    if (error !== null) {
      if (tcp !== undefined && options.protocol === "https:" && typeof error === "object") TLS_STALLED.add(error)
      return callback(error, null)
    }
    const done = performance.now()
    const tls = options.protocol === "https:" && tcp !== undefined ? done - tcp : undefined
    handing = { connect: (tcp ?? done) - start, tls }
    try {
      callback(null, connected)
    } finally {
      handing = undefined
    }
  }) as unknown
  const s = socket as Socket | undefined
  if (s !== undefined && s !== null && typeof s.once === "function") {
    s.once("connect", () => {
      tcp = performance.now()
    })
  }
  return socket as ReturnType<Connector>
}

/** Mutable timings, filled in as the exchange goes. */
export interface Timings {
  wait?: number
  connect?: number
  tls?: number
  firstByte?: number
  body?: number
  total?: number
  reused?: boolean
}

/** The clock of one exchange. */
export class Clock {
  readonly start = performance.now()
  private written: number | undefined
  private headers: number | undefined
  readonly timings: Timings = {}

  /** undici's `onConnect`: the request is being written on a connection. */
  onConnect(): void {
    const now = performance.now()
    this.written = now
    this.timings.wait = now - this.start
    const connected = handing
    handing = undefined
    if (connected === undefined) {
      this.timings.reused = true
    } else {
      this.timings.reused = false
      this.timings.connect = connected.connect
      if (connected.tls !== undefined) this.timings.tls = connected.tls
    }
  }

  /** The response headers arrived. */
  onHeaders(): void {
    const now = performance.now()
    this.headers = now
    this.timings.firstByte = now - (this.written ?? this.start)
  }

  /** The body ended. */
  onComplete(): void {
    const now = performance.now()
    if (this.headers !== undefined) this.timings.body = now - this.headers
    this.timings.total = now - this.start
  }

  /** Where the exchange is, for a deadline that passes now. */
  get phase(): "connect" | "headers" | "body" {
    return this.headers !== undefined ? "body" : this.written !== undefined ? "headers" : "connect"
  }
}
