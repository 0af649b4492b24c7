/**
 * Time and backpressure helpers for handlers: sleeps that end early when the client
 * goes away or the server closes, and writes that wait for `drain`.
 *
 * @internal
 */
import type { Writable } from "node:stream"

/** Sleep `ms`; resolves `false` early if `signal` aborts. */
export const sleep = (ms: number, signal: AbortSignal): Promise<boolean> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve(false)
    if (ms <= 0) return resolve(true)
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort)
      resolve(true)
    }, ms)
    signal.addEventListener("abort", onAbort, { once: true })
  })

/** Wait for `drain` on `stream`; resolves `false` if it closes or `signal` aborts first. */
export const waitDrain = (stream: Writable, signal: AbortSignal): Promise<boolean> =>
  new Promise((resolve) => {
    if (signal.aborted || stream.destroyed) return resolve(false)
    const done = (ok: boolean) => {
      stream.off("drain", onDrain)
      stream.off("close", onClose)
      signal.removeEventListener("abort", onClose)
      resolve(ok)
    }
    const onDrain = () => done(true)
    const onClose = () => done(false)
    stream.on("drain", onDrain)
    stream.on("close", onClose)
    signal.addEventListener("abort", onClose, { once: true })
  })

/** Write `chunk`, then wait for `drain` if the stream asked for it. `false` once it is gone. */
export const write = async (stream: Writable, chunk: Buffer | string, signal: AbortSignal): Promise<boolean> => {
  if (signal.aborted || stream.destroyed) return false
  return stream.write(chunk) ? true : waitDrain(stream, signal)
}

/** Write `chunk` and wait until it has been handed to the kernel. */
export const flushed = (stream: Writable, chunk: Buffer | string): Promise<boolean> =>
  new Promise((resolve) => {
    if (stream.destroyed) return resolve(false)
    stream.write(chunk, (error) => resolve(!error))
  })

/** Parse a number query parameter; `fallback` when absent or not a finite number. */
export const numberParam = (value: string | undefined, fallback: number): number => {
  if (value === undefined || value.trim() === "") return fallback
  const n = Number(value)
  return Number.isFinite(n) ? n : fallback
}

/** Clamp `n` to `[min, max]`. */
export const clamp = (n: number, min: number, max: number): number => Math.min(max, Math.max(min, n))
