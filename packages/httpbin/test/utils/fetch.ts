/**
 * Small wrappers around the global fetch for Effect tests.
 */
import { Effect } from "effect"

/** A response with its body read. */
export interface Fetched {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly bytes: Buffer
  readonly json: any
  readonly elapsedMs: number
}

/** fetch `url` and read the whole body; `json` is the parsed body or undefined. */
export const fetchAll = (url: string, init: RequestInit = {}): Effect.Effect<Fetched> =>
  Effect.promise(async () => {
    const started = performance.now()
    const res = await fetch(url, { redirect: "manual", ...init })
    const bytes = Buffer.from(await res.arrayBuffer())
    const text = bytes.toString("utf8")
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.status, headers: res.headers, text, bytes, json, elapsedMs: performance.now() - started }
  })

/** Poll `read` until it returns `expected` (or give up after `timeoutMs` and return the last value). */
export const eventually = <A>(read: Effect.Effect<A>, expected: A, timeoutMs = 3000): Effect.Effect<A> =>
  Effect.promise(async () => {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const value = await Effect.runPromise(read)
      if (value === expected || performance.now() > deadline) return value
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })
