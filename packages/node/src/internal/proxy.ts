/**
 * Connectors that reach an origin through a proxy, for undici's `Agent({ connect })`: the Agent
 * keeps a pool per origin as usual, and each new connection is opened by
 *
 * - `tunnel`: an HTTP `CONNECT host:port` sent to an http:// or https:// proxy (with its
 *   `Proxy-Authorization`, which therefore never enters the tunnel), then TLS to the origin when the
 *   origin is https;
 * - `socks`: a SOCKS5 handshake (RFC 1928, username/password per RFC 1929) through the `socks`
 *   package. `socks5://` resolves the host name here and sends the proxy an address (as curl and
 *   requests do); `socks5h://` (and `socks://`) send the name and let the proxy resolve it.
 *
 * Plain-http requests through an HTTP proxy do not need a connector: the adapter sends them to the
 * proxy in absolute form (forwarding).
 *
 * Failures carry a `code`: the proxy's status (`PROXY_STATUS`, with `status`), `ERR_SOCKS_PROXY`,
 * or the socket error; `internal/errors.ts` turns them into `ProxyError` or `ConnectTimeout`.
 *
 * @internal
 */
import { lookup } from "node:dns/promises"
import { isIP } from "node:net"
import type { Socket } from "node:net"
import { SocksClient } from "socks"
import * as undici from "undici"
import { keepAlerts, type TlsOptions } from "./tls.js"

/** A failure in the proxy leg of a connection. */
export class ProxyConnectError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
    /** False when the failure is not the proxy's (a local DNS failure before `socks5://`). */
    readonly proxyFailure: boolean = true,
    cause?: unknown
  ) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = "ProxyConnectError"
  }
}

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

const defaultPort = (protocol: string) => (protocol === "https:" ? 443 : 80)

const unbracket = (host: string) => host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host

type Connector = undici.buildConnector.connector

const timeoutError = (what: string, ms: number) =>
  new ProxyConnectError(`${what} timed out after ${ms} ms`, "UND_ERR_CONNECT_TIMEOUT")

/** TLS to the origin over an established socket, or the socket itself for http. */
const finish = (
  tlsConnect: Connector,
  options: undici.buildConnector.Options,
  socket: Socket,
  callback: undici.buildConnector.Callback
) => {
  if (options.protocol === "https:") {
    tlsConnect({ ...options, httpSocket: socket }, callback)
  } else {
    callback(null, socket)
  }
}

/**
 * A connector that opens a `CONNECT` tunnel through an HTTP(S) proxy. `proxy` carries no
 * credentials; `token` is the `Proxy-Authorization` value, sent on the `CONNECT` request only.
 */
export const tunnel = (options: {
  readonly proxy: URL
  readonly token: string | undefined
  readonly proxyTls: TlsOptions | undefined
  readonly originTls: TlsOptions
  readonly timeout: number | undefined
}): { readonly connect: Connector; readonly close: () => Promise<void> } => {
  const { proxy, timeout, token } = options
  const proxyClient = new undici.Pool(proxy.origin, {
    connect: {
      ...(options.proxyTls ?? {}),
      timeout: timeout ?? 0,
      ...(isIP(unbracket(proxy.hostname)) === 0 ? { servername: unbracket(proxy.hostname) } : {})
    }
  })
  const tlsConnect = keepAlerts(undici.buildConnector({ ...options.originTls, timeout: timeout ?? 0 }))
  const connect: Connector = (connectOptions, callback) => {
    const port = connectOptions.port || String(defaultPort(connectOptions.protocol))
    const host = connectOptions.hostname.includes(":") && !connectOptions.hostname.startsWith("[")
      ? `[${connectOptions.hostname}]`
      : connectOptions.hostname
    const authority = `${host}:${port}`
    const signal = timeout === undefined || timeout === 0 ? undefined : AbortSignal.timeout(timeout)
    proxyClient.connect({
      path: authority,
      headers: {
        host: authority,
        "proxy-connection": "keep-alive",
        ...(token !== undefined ? { "proxy-authorization": token } : {})
      },
      ...(signal !== undefined ? { signal } : {})
    }).then(
      ({ socket, statusCode }) => {
        if (statusCode !== 200) {
          socket.on("error", () => {}).destroy()
          callback(
            new ProxyConnectError(
              `The proxy answered ${statusCode} to CONNECT ${authority}`,
              "PROXY_STATUS",
              statusCode
            ),
            null
          )
          return
        }
        finish(tlsConnect, connectOptions, socket as Socket, callback)
      },
      (error: unknown) => {
        callback(
          signal?.aborted === true
            ? timeoutError(`CONNECT ${authority} through the proxy`, timeout!)
            : new ProxyConnectError(
              error instanceof Error ? error.message : String(error),
              codeOf(error) ?? "PROXY_CONNECT_FAILED",
              undefined,
              true,
              error
            ),
          null
        )
      }
    )
  }
  return { connect, close: () => proxyClient.destroy() }
}

const socksCodes: ReadonlyArray<string> = ["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND"]

const socksFailure = (error: unknown, timeout: number | undefined): Error => {
  const message = error instanceof Error ? error.message : String(error)
  if (/timed out/i.test(message) && timeout !== undefined) return timeoutError("The SOCKS5 handshake", timeout)
  const code = socksCodes.find((c) => message.includes(c)) ?? "ERR_SOCKS_PROXY"
  return new ProxyConnectError(`SOCKS5 proxy: ${message}`, code)
}

/** A connector that opens a connection through a SOCKS5 proxy. */
export const socks = (options: {
  readonly proxy: URL
  /** Send host names to the proxy (`socks5h://`) instead of resolving them here (`socks5://`). */
  readonly remoteDns: boolean
  readonly originTls: TlsOptions
  readonly timeout: number | undefined
}): { readonly connect: Connector; readonly close: () => Promise<void> } => {
  const { proxy, remoteDns, timeout } = options
  const tlsConnect = keepAlerts(undici.buildConnector({ ...options.originTls, timeout: timeout ?? 0 }))
  const userId = proxy.username === "" ? undefined : decodeURIComponent(proxy.username)
  const password = proxy.password === "" ? undefined : decodeURIComponent(proxy.password)
  const open = async (host: string, port: number): Promise<Socket> => {
    let destination = host
    if (!remoteDns && isIP(host) === 0) {
      try {
        destination = (await lookup(host)).address
      } catch (error) {
        throw new ProxyConnectError(
          `Could not resolve ${host} (socks5:// resolves names locally; socks5h:// lets the proxy do it): ${
            error instanceof Error ? error.message : String(error)
          }`,
          (error as { code?: string }).code ?? "ENOTFOUND",
          undefined,
          false
        )
      }
    }
    try {
      const { socket } = await SocksClient.createConnection({
        proxy: {
          host: unbracket(proxy.hostname),
          port: Number(proxy.port) || 1080,
          type: 5,
          ...(userId !== undefined ? { userId } : {}),
          ...(password !== undefined ? { password } : {})
        },
        command: "connect",
        destination: { host: destination, port },
        ...(timeout !== undefined && timeout > 0 ? { timeout } : {})
      })
      return socket
    } catch (error) {
      throw socksFailure(error, timeout)
    }
  }
  const connect: Connector = (connectOptions, callback) => {
    const port = Number(connectOptions.port) || defaultPort(connectOptions.protocol)
    open(unbracket(connectOptions.hostname), port).then(
      (socket) => finish(tlsConnect, connectOptions, socket, callback),
      (error: Error) => callback(error, null)
    )
  }
  return { connect, close: () => Promise.resolve() }
}
