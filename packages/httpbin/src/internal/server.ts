/**
 * The node:http(s) server behind the Httpbin service: listening, connection
 * tracking (ids, open/total counts, forced close), the request log, the body
 * policy of each route (buffer with a cap, drain, stream; `Expect: 100-continue`),
 * dispatch to the routes, and a shutdown that never hangs.
 *
 * @internal
 */
import { setMaxListeners } from "node:events"
import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo, Socket } from "node:net"
import { bufferBody, readBody } from "./body.js"
import type { ConnectionStats, Ctx, ServerState } from "./context.js"
import { DigestStore } from "./digest.js"
import { headerPairs, RequestLog } from "./log.js"
import { parseQuery } from "./query.js"
import { notFound, send, sendJson } from "./respond.js"
import { match } from "./router.js"
import { UNLOGGED_PATHS } from "./routes/admin.js"
import { routes } from "./routes/index.js"

/** TLS material; with it the server speaks https. */
export interface TlsOptions {
  readonly key: string | Buffer
  readonly cert: string | Buffer
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>
  /** Ask clients for a certificate (mutual TLS). */
  readonly requestCert?: boolean
  /** Refuse clients whose certificate does not verify against `ca` (node's default: true when `requestCert`). */
  readonly rejectUnauthorized?: boolean
}

/** Server options; every field has a default. */
export interface ServerOptions {
  /** Address to listen on (default `127.0.0.1`). */
  readonly host?: string
  /** Port (default 0: any free port). */
  readonly port?: number
  readonly tls?: TlsOptions
  /** Record requests in the log (default true; turn off for benchmarks). */
  readonly log?: boolean
  /** Entries kept by the log ring (default 10,000). */
  readonly logSize?: number
  /** Cap of buffered echo bodies, 413 beyond (default 64 MiB). */
  readonly maxBodyBytes?: number
  /** Cap of every stall, drip and delay in milliseconds (default 60,000; `/delay` is also capped at 10 s). */
  readonly stallCapMs?: number
}

const EMPTY = Buffer.alloc(0)

/** A listening server. */
export class HttpbinServer {
  readonly log: RequestLog
  readonly protocol: "http" | "https"
  private readonly server: Http.Server
  private readonly closing = new AbortController()
  private readonly sockets = new Set<Socket>()
  private readonly socketIds = new WeakMap<Socket, number>()
  private readonly closeOnNext = new WeakSet<Socket>()
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private readonly state: ServerState
  private open = 0
  private total = 0
  private active = 0
  private nextSocketId = 1
  private closed: Promise<void> | undefined
  private address: AddressInfo = { address: "127.0.0.1", family: "IPv4", port: 0 }

  private constructor(private readonly options: ServerOptions) {
    // One abort listener per waiting request: no leak warning at 11 concurrent stalls.
    setMaxListeners(Infinity, this.closing.signal)
    this.log = new RequestLog(options.logSize ?? 10_000, options.log ?? true)
    this.protocol = options.tls ? "https" : "http"
    const httpOptions: Http.ServerOptions = { requireHostHeader: false }
    this.server = options.tls
      ? Https.createServer({
        ...httpOptions,
        key: options.tls.key,
        cert: options.tls.cert,
        ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca as Array<string | Buffer> }),
        ...(options.tls.requestCert === undefined ? {} : { requestCert: options.tls.requestCert }),
        ...(options.tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.tls.rejectUnauthorized })
      })
      : Http.createServer(httpOptions)
    this.state = {
      log: this.log,
      digest: new DigestStore(),
      tls: options.tls !== undefined,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
      stallCapMs: options.stallCapMs ?? 60_000,
      closing: this.closing.signal,
      schedule: (ms, f) => this.schedule(ms, f),
      closeOnNext: (socket) => this.closeOnNext.add(socket),
      connections: () => this.connections()
    }
    this.server.on("connection", (socket: Socket) => {
      this.open++
      this.total++
      this.track(socket)
      if (!options.tls) this.socketIds.set(socket, this.nextSocketId++)
      socket.once("close", () => this.open--)
    })
    this.server.on("secureConnection", (socket: Socket) => {
      this.track(socket)
      this.socketIds.set(socket, this.nextSocketId++)
    })
    this.server.on("request", (req: Http.IncomingMessage, res: Http.ServerResponse) => this.dispatch(req, res, false))
    this.server.on(
      "checkContinue",
      (req: Http.IncomingMessage, res: Http.ServerResponse) => this.dispatch(req, res, true)
    )
  }

  /** Create a server and wait until it listens. */
  static start(options: ServerOptions = {}): Promise<HttpbinServer> {
    const instance = new HttpbinServer(options)
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      instance.server.once("error", onError)
      instance.server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        instance.server.off("error", onError)
        instance.address = instance.server.address() as AddressInfo
        resolve(instance)
      })
    })
  }

  /** The host the server listens on, as given (default `127.0.0.1`). */
  get host(): string {
    return this.options.host ?? "127.0.0.1"
  }

  get port(): number {
    return this.address.port
  }

  /** `http://127.0.0.1:port` (IPv6 hosts bracketed). */
  get origin(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host
    return `${this.protocol}://${host}:${this.port}`
  }

  connections(): ConnectionStats {
    return { open: this.open, total: this.total, activeRequests: this.active }
  }

  /** Stop listening, destroy every connection, cancel every pending stall. Idempotent. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      this.closing.abort()
      for (const timer of this.timers) clearTimeout(timer)
      this.timers.clear()
      this.server.close(() => resolve())
      this.server.closeAllConnections()
      for (const socket of this.sockets) socket.destroy()
    })
    return this.closed
  }

  private track(socket: Socket): void {
    this.sockets.add(socket)
    socket.once("close", () => this.sockets.delete(socket))
  }

  private schedule(ms: number, f: () => void): void {
    if (this.closing.signal.aborted) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      f()
    }, ms)
    this.timers.add(timer)
  }

  private dispatch(req: Http.IncomingMessage, res: Http.ServerResponse, expectContinue: boolean): void {
    this.handle(req, res, expectContinue).catch((error: unknown) => {
      if (res.headersSent) return res.destroy()
      try {
        sendJson(res, { error: String(error) }, 500)
      } catch {
        res.destroy()
      }
    })
  }

  private async handle(req: Http.IncomingMessage, res: Http.ServerResponse, expectContinue: boolean): Promise<void> {
    const socket = req.socket
    const target = req.url ?? "/"
    const q = target.indexOf("?")
    const rawPath = q === -1 ? target : target.slice(0, q)
    const path = rawPath.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "") || "/"
    const method = req.method ?? "GET"
    const entry = UNLOGGED_PATHS.has(path) ? undefined : this.log.begin({
      method,
      url: target,
      httpVersion: req.httpVersion,
      rawHeaders: headerPairs(req.rawHeaders),
      socketId: this.socketIds.get(socket) ?? 0,
      remotePort: socket.remotePort ?? 0,
      tls: this.state.tls,
      receivedAt: Date.now()
    })
    if (this.closeOnNext.has(socket)) {
      this.closeOnNext.delete(socket)
      socket.destroy()
      return
    }
    const found = match(routes, method, path)
    const mode = found._tag === "Found" ? found.route.body : "drain"
    const declared = Number(req.headers["content-length"] ?? 0)
    if (mode === "buffer" && declared > this.state.maxBodyBytes) return this.tooLarge(req, res)
    if (expectContinue) res.writeContinue()
    let body: Buffer = EMPTY
    if (mode === "buffer") {
      const result = await bufferBody(req, this.state.maxBodyBytes)
      entry?.finish(result.bytes, result.sha256)
      if (result.tooLarge) return this.tooLarge(req, res)
      if (!result.complete) return
      body = result.body
    } else if (mode === "drain") {
      const result = await readBody(req)
      entry?.finish(result.bytes, result.sha256)
      if (!result.complete) return
    }
    if (found._tag === "NotFound") return notFound(res)
    if (found._tag === "MethodNotAllowed") {
      const allow = found.allow.join(", ")
      return method === "OPTIONS" ? send(res, 200, "", { Allow: allow }) : send(res, 405, "", { Allow: allow })
    }
    // The abort signal is made on first use: most handlers never wait.
    let controller: AbortController | undefined
    const signal = (): AbortSignal => {
      if (controller === undefined) {
        const c = controller = new AbortController()
        const abort = () => c.abort()
        if (res.closed || this.closing.signal.aborted) abort()
        this.closing.signal.addEventListener("abort", abort, { once: true })
        res.once("close", () => {
          this.closing.signal.removeEventListener("abort", abort)
          abort()
        })
      }
      return controller.signal
    }
    const ctx: Ctx = {
      req,
      res,
      state: this.state,
      method,
      target,
      path,
      query: q === -1 ? [] : parseQuery(target.slice(q + 1)),
      params: found.params,
      body,
      get signal() {
        return signal()
      },
      readBody: async (onChunk) => {
        const result = await readBody(req, { onChunk })
        entry?.finish(result.bytes, result.sha256)
        return result
      }
    }
    this.active++
    try {
      await found.route.handle(ctx)
    } finally {
      this.active--
    }
  }

  /** 413 and close; keep discarding what the client still sends (bounded) so it can read the answer. */
  private tooLarge(req: Http.IncomingMessage, res: Http.ServerResponse): void {
    req.resume()
    send(res, 413, `request body larger than ${this.state.maxBodyBytes} bytes\n`, {
      "Content-Type": "text/plain; charset=utf-8",
      Connection: "close"
    })
    const socket = req.socket
    this.schedule(1000, () => socket.destroy())
  }
}
