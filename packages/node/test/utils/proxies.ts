/**
 * Real proxies someone else wrote, on loopback, as scoped Effects: an HTTP forward proxy with
 * CONNECT (the npm `proxy` package, by TooTallNate) and a SOCKS5 server (`@pondwader/socks5-server`).
 * Each records what it was asked, so tests can tell what went to the proxy and what did not.
 */
import { createServer as createSocksServer } from "@pondwader/socks5-server"
import { Effect } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import type { AddressInfo, Socket } from "node:net"
import * as net from "node:net"
import { createProxy } from "proxy"

/** One request a proxy received. */
export interface ProxyRequest {
  readonly method: string
  /** The request target: an absolute URL when forwarding, `host:port` for CONNECT. */
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly socket: number
}

export interface RunningProxy {
  /** `http://127.0.0.1:port` (or https). */
  readonly url: string
  readonly port: number
  /** Everything the proxy received, oldest first. */
  readonly log: () => ReadonlyArray<ProxyRequest>
  readonly clear: () => void
}

const trackSockets = (server: net.Server) => {
  const sockets = new Set<Socket>()
  server.on("connection", (socket: Socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  return sockets
}

const listen = (server: net.Server) =>
  Effect.async<number>((resume) => {
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
  })

const close = (server: net.Server, sockets: Set<Socket>) =>
  Effect.async<void>((resume) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resume(Effect.void))
  })

/**
 * An HTTP proxy (forwarding and CONNECT) for the life of the scope. `credentials`, when given, are
 * required as `Proxy-Authorization: Basic` (407 otherwise).
 */
export const httpProxy = (options: {
  readonly credentials?: readonly [user: string, password: string]
  readonly tls?: { readonly key: string; readonly cert: string }
} = {}) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const base = options.tls === undefined ? http.createServer() : https.createServer(options.tls)
      const server = createProxy(base as http.Server)
      const log: Array<ProxyRequest> = []
      const socketIds = new WeakMap<Socket, number>()
      let nextSocket = 1
      const record = (req: http.IncomingMessage) => {
        const socket = req.socket as Socket
        if (!socketIds.has(socket)) socketIds.set(socket, nextSocket++)
        log.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, socket: socketIds.get(socket)! })
      }
      // Recorded before the proxy's own listeners run (they were added by createProxy).
      server.prependListener("request", record)
      server.prependListener("connect", record)
      if (options.credentials !== undefined) {
        const expected = `Basic ${Buffer.from(options.credentials.join(":")).toString("base64")}`
        server.authenticate = (req) => req.headers["proxy-authorization"] === expected
      }
      const sockets = trackSockets(server)
      // CONNECT sockets leave the server's connection tracking: keep them to destroy them on close.
      server.on("connect", (_req: http.IncomingMessage, socket: Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      const port = yield* listen(server)
      const running: RunningProxy = {
        url: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
        port,
        log: () => [...log],
        clear: () => {
          log.length = 0
        }
      }
      return { running, server, sockets }
    }),
    ({ server, sockets }) => close(server, sockets)
  ).pipe(Effect.map(({ running }) => running))

/** One connection a SOCKS5 server was asked to open. */
export interface SocksRequest {
  /** As the client sent it: a name for `socks5h://`, an address for `socks5://`. */
  readonly host: string
  readonly port: number
}

export interface RunningSocks {
  readonly port: number
  readonly log: () => ReadonlyArray<SocksRequest>
}

/** A SOCKS5 server for the life of the scope, with optional username/password authentication. */
export const socksProxy = (options: { readonly credentials?: readonly [user: string, password: string] } = {}) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const log: Array<SocksRequest> = []
      const server = createSocksServer(
        options.credentials === undefined
          ? {}
          : { auth: { username: options.credentials[0], password: options.credentials[1] } }
      )
      server.setRulesetValidator((connection) => {
        log.push({ host: connection.destAddress, port: connection.destPort })
        return true
      })
      const inner = (server as unknown as { server: net.Server }).server
      const sockets = trackSockets(inner)
      const port = yield* listen(inner)
      return { running: { port, log: () => [...log] } satisfies RunningSocks, inner, sockets }
    }),
    ({ inner, sockets }) => close(inner, sockets)
  ).pipe(Effect.map(({ running }) => running))

/** A loopback port with nothing listening (connections are refused). */
export const closedPort = Effect.gen(function*() {
  const server = net.createServer()
  const port = yield* listen(server)
  yield* close(server, new Set())
  return port
})

/** A server that accepts connections and never says a word (a proxy that hangs). */
export const silentServer = Effect.acquireRelease(
  Effect.gen(function*() {
    const server = net.createServer(() => {})
    const sockets = trackSockets(server)
    const port = yield* listen(server)
    return { port, server, sockets }
  }),
  ({ server, sockets }) => close(server, sockets)
).pipe(Effect.map(({ port }) => port))
