/**
 * Reading request bodies: every byte is counted and hashed for the request log,
 * whether the handler buffers it (with a cap), streams it, or ignores it.
 *
 * @internal
 */
import { createHash, type Hash } from "node:crypto"
import type { IncomingMessage } from "node:http"
import { EMPTY_SHA256 } from "./log.js"

/** How a body read ended. */
export interface BodyResult {
  readonly bytes: number
  readonly sha256: string
  /** The whole body arrived (false when the client went away or the cap was hit). */
  readonly complete: boolean
  /** More than `limit` bytes arrived; reading stopped there. */
  readonly tooLarge: boolean
}

/** Options of {@link readBody}. */
export interface ReadOptions {
  /** Stop (with `tooLarge`) once more than this many bytes have arrived. */
  readonly limit?: number
  /** Called with every chunk, in order. */
  readonly onChunk?: (chunk: Buffer) => void
}

/** Read a request body to its end, hashing it on the way. Never rejects. */
export const readBody = (req: IncomingMessage, options: ReadOptions = {}): Promise<BodyResult> =>
  new Promise((resolve) => {
    let hash: Hash | undefined // created on the first chunk: most requests have no body
    let bytes = 0
    let settled = false
    const settle = (complete: boolean, tooLarge: boolean) => {
      if (settled) return
      settled = true
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("close", onClose)
      req.off("error", onError)
      resolve({ bytes, sha256: hash ? hash.digest("hex") : EMPTY_SHA256, complete, tooLarge })
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      hash ??= createHash("sha256")
      hash.update(chunk)
      if (options.limit !== undefined && bytes > options.limit) {
        req.pause()
        settle(false, true)
        return
      }
      options.onChunk?.(chunk)
    }
    const onEnd = () => settle(true, false)
    const onClose = () => settle(req.complete, false)
    const onError = () => settle(false, false)
    if (req.readableEnded) {
      settle(true, false)
      return
    }
    req.on("data", onData)
    req.on("end", onEnd)
    req.on("close", onClose)
    req.on("error", onError)
  })

/** Read a body into memory, up to `limit` bytes. */
export const bufferBody = async (
  req: IncomingMessage,
  limit: number
): Promise<BodyResult & { readonly body: Buffer }> => {
  const chunks: Array<Buffer> = []
  const result = await readBody(req, { limit, onChunk: (chunk) => chunks.push(chunk) })
  return { ...result, body: result.tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks) }
}
