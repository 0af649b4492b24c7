/**
 * Large generated bodies without large allocations: a 1 MiB block (seeded or
 * random) is generated once and written again and again, honouring backpressure.
 * Byte `i` of a body is always byte `i % BLOCK_SIZE` of its block.
 *
 * @internal
 */
import { createHash, randomBytes } from "node:crypto"
import type { Writable } from "node:stream"
import { sleep, write } from "./io.js"

/** Size of the generated block a body cycles through. */
export const BLOCK_SIZE = 1 << 20

/** Largest generated body: 4 GiB. */
export const MAX_GENERATED = 2 ** 32

const cache = new Map<string, Buffer>()

/** The block for `seed`: deterministic (xoshiro128** seeded from SHA-256 of the seed), cached. */
export const seededBlock = (seed: string): Buffer => {
  const hit = cache.get(seed)
  if (hit) return hit
  const seedWords = createHash("sha256").update(seed).digest()
  let s0 = seedWords.readUInt32LE(0) | 1
  let s1 = seedWords.readUInt32LE(4)
  let s2 = seedWords.readUInt32LE(8)
  let s3 = seedWords.readUInt32LE(12)
  const out = new Uint32Array(BLOCK_SIZE / 4)
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.imul(rotl(Math.imul(s1, 5), 7), 9)
    const t = s1 << 9
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 11)
  }
  const block = Buffer.from(out.buffer)
  cache.set(seed, block)
  if (cache.size > 8) cache.delete(cache.keys().next().value!)
  return block
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))

/** A fresh random block, for requests without `seed`. */
export const randomBlock = (size: number): Buffer => randomBytes(Math.min(size, BLOCK_SIZE))

/** Bytes `[offset, offset + length)` of the infinite repetition of `block` (copies only when wrapping). */
export const cyclicSlice = (block: Buffer, offset: number, length: number): Buffer => {
  const start = offset % block.length
  if (start + length <= block.length) return block.subarray(start, start + length)
  const out = Buffer.allocUnsafe(length)
  let filled = 0
  let at = start
  while (filled < length) {
    const n = Math.min(length - filled, block.length - at)
    block.copy(out, filled, at, at + n)
    filled += n
    at = 0
  }
  return out
}

/** Options of {@link writeCyclic}. */
export interface CyclicOptions {
  readonly block: Buffer
  /** First byte offset into the cyclic body. */
  readonly offset?: number
  readonly length: number
  readonly chunkSize: number
  readonly signal: AbortSignal
  /** Pause between chunks, in milliseconds. */
  readonly pauseMs?: number
}

/** Write `length` bytes of the cyclic body in chunks; `false` if the client went away. */
export const writeCyclic = async (stream: Writable, options: CyclicOptions): Promise<boolean> => {
  const offset = options.offset ?? 0
  for (let done = 0; done < options.length;) {
    const n = Math.min(options.chunkSize, options.length - done)
    if (!(await write(stream, cyclicSlice(options.block, offset + done, n), options.signal))) return false
    done += n
    if (options.pauseMs !== undefined && options.pauseMs > 0 && done < options.length) {
      if (!(await sleep(options.pauseMs, options.signal))) return false
    }
  }
  return true
}

/** The `/range` alphabet: byte `i` is `"a" + i % 26`. */
export const alphabetBlock: Buffer = (() => {
  const size = 26 * Math.floor(BLOCK_SIZE / 26)
  const out = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) out[i] = 0x61 + (i % 26)
  return out
})()
