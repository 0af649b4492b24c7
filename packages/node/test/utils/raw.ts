/**
 * A raw TCP server (node:net) for responses httpbin cannot produce: bodies written in pieces
 * with pauses between them, exact bytes on the wire. Scoped: every socket is destroyed when the
 * scope closes.
 */
import { Effect } from "effect"
import * as net from "node:net"

/** What a handler gets for one request: its head (request line and headers) and the socket. */
export interface RawExchange {
  readonly head: string
  readonly socket: net.Socket
  /** Write `pieces` one after another, `pauseMs` apart, then run `after` (default: nothing). */
  readonly writePieces: (pieces: ReadonlyArray<string | Uint8Array>, pauseMs?: number) => Promise<void>
}

export interface RawServer {
  readonly url: (path: string) => string
  /** Connections accepted so far. */
  readonly accepted: () => number
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A server on 127.0.0.1 that calls `handle` for every request head it reads (keep-alive works). */
export const rawServer = (handle: (exchange: RawExchange) => void | Promise<void>) =>
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; sockets: Set<net.Socket>; accepted: { n: number } }>((resume) => {
      const sockets = new Set<net.Socket>()
      const accepted = { n: 0 }
      const server = net.createServer((socket) => {
        accepted.n++
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => {})
        let buffered = Buffer.alloc(0)
        socket.on("data", (data) => {
          buffered = Buffer.concat([buffered, data])
          for (;;) {
            const end = buffered.indexOf("\r\n\r\n")
            if (end === -1) return
            const head = buffered.subarray(0, end).toString("latin1")
            buffered = buffered.subarray(end + 4)
            const writePieces = async (pieces: ReadonlyArray<string | Uint8Array>, pauseMs = 0) => {
              for (let i = 0; i < pieces.length; i++) {
                if (socket.destroyed) return
                socket.write(pieces[i]!)
                if (pauseMs > 0 && i < pieces.length - 1) await pause(pauseMs)
              }
            }
            void Promise.resolve(handle({ head, socket, writePieces })).catch(() => socket.destroy())
          }
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets, accepted })))
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ accepted, server }): RawServer => {
    const { port } = server.address() as net.AddressInfo
    return { url: (path) => `http://127.0.0.1:${port}${path}`, accepted: () => accepted.n }
  }))

/** A chunked-encoding frame for `data`. */
export const chunk = (data: string | Uint8Array): Buffer => {
  const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data)
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from("\r\n")])
}
