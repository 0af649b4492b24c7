/**
 * A gzip member that decodes to N zero bytes (up to 4 GiB), written without ever
 * compressing N bytes: one deflate segment for 1 MiB of zeros is made once with a
 * full flush (so it references nothing before it) and repeated; the CRC-32 of N zeros
 * comes from zlib's GF(2) polynomial arithmetic in O(log N).
 *
 * @internal
 */
import type { Writable } from "node:stream"
import * as Zlib from "node:zlib"
import { write } from "./io.js"

const POLY = 0xedb88320
const SEGMENT_BYTES = 1 << 20
/** Segments per write: 64 MiB decoded per ~64 KiB written. */
const GROUP = 64

/** a(x) * b(x) mod p(x), reflected (zlib's multmodp). */
const multmodp = (a: number, b: number): number => {
  let m = 0x80000000
  let p = 0
  for (;;) {
    if ((a & m) !== 0) {
      p = (p ^ b) >>> 0
      if ((a & (m - 1)) === 0) break
    }
    m >>>= 1
    b = (b & 1) !== 0 ? ((b >>> 1) ^ POLY) >>> 0 : b >>> 1
  }
  return p >>> 0
}

const X2N: ReadonlyArray<number> = (() => {
  const table: Array<number> = []
  let p = 0x40000000
  table.push(p)
  for (let n = 1; n < 32; n++) table.push(p = multmodp(p, p))
  return table
})()

/** x^(n * 2^k) mod p(x) (zlib's x2nmodp); `n` may exceed 2^31. */
const x2nmodp = (n: number, k: number): number => {
  let p = 0x80000000
  while (n > 0) {
    if (n % 2 === 1) p = multmodp(X2N[k & 31]!, p)
    n = Math.floor(n / 2)
    k++
  }
  return p
}

/** CRC-32 of `n` zero bytes. */
export const crc32OfZeros = (n: number): number => (multmodp(x2nmodp(n, 3), 0xffffffff) ^ 0xffffffff) >>> 0

let cachedGroup: Buffer | undefined
const segmentGroup = (): Buffer => {
  if (!cachedGroup) {
    const segment = Zlib.deflateRawSync(Buffer.alloc(SEGMENT_BYTES), {
      level: 9,
      finishFlush: Zlib.constants.Z_FULL_FLUSH
    })
    cachedGroup = Buffer.concat(Array.from({ length: GROUP }, () => segment))
  }
  return cachedGroup
}

const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x02, 0x03])
const FINAL_BLOCK = Buffer.from([0x03, 0x00])

/** The pieces of the gzip member for `n` zeros, and its exact encoded length. */
export const gzipZeros = (
  n: number
): { readonly length: number; readonly write: (out: Writable, signal: AbortSignal) => Promise<boolean> } => {
  const group = segmentGroup()
  const segmentLength = group.length / GROUP
  const fullSegments = Math.floor(n / SEGMENT_BYTES)
  const rest = n % SEGMENT_BYTES
  const tail = rest > 0
    ? Zlib.deflateRawSync(Buffer.alloc(rest), { level: 9, finishFlush: Zlib.constants.Z_FULL_FLUSH })
    : Buffer.alloc(0)
  const trailer = Buffer.alloc(8)
  trailer.writeUInt32LE(crc32OfZeros(n), 0)
  trailer.writeUInt32LE(n % 2 ** 32, 4)
  return {
    length: HEADER.length + fullSegments * segmentLength + tail.length + FINAL_BLOCK.length + trailer.length,
    write: async (out, signal) => {
      if (!(await write(out, HEADER, signal))) return false
      for (let left = fullSegments; left > 0;) {
        const k = Math.min(left, GROUP)
        if (!(await write(out, group.subarray(0, k * segmentLength), signal))) return false
        left -= k
      }
      return write(out, Buffer.concat([tail, FINAL_BLOCK, trailer]), signal)
    }
  }
}
