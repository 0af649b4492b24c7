/**
 * Helpers for streamed bodies: exact rechunking (`iterContent`) and line splitting that does not
 * depend on where the chunks happen to end (`iterLines`), unlike requests, whose `iter_lines`
 * yields a spurious empty line when `\r\n` or a delimiter straddles two chunks (psf/requests#3980,
 * #4121). Lines can be split on bytes (`LineSplitter`) or on decoded text (`TextLineSplitter`, for
 * encodings such as UTF-16 where a `\n` byte is not a newline).
 *
 * @internal
 */
import { concatBytes } from "./bytes.js"

const EMPTY = new Uint8Array(0)

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b
  if (b.length === 0) return a
  return concatBytes([a, b], a.length + b.length)
}

/**
 * Cuts a byte stream into chunks of exactly `size` bytes (the last one may be shorter). Input
 * chunks are kept as views while they fill an output chunk, so each byte is copied at most once
 * (and not at all when an input chunk holds whole output chunks).
 */
export class Rechunker {
  private parts: Array<Uint8Array> = []
  private buffered = 0
  constructor(private readonly size: number) {}

  push(chunk: Uint8Array): Array<Uint8Array> {
    const out: Array<Uint8Array> = []
    let offset = 0
    while (offset < chunk.length) {
      const need = this.size - this.buffered
      if (this.buffered === 0 && chunk.length - offset >= this.size) {
        out.push(chunk.subarray(offset, offset + this.size))
        offset += this.size
        continue
      }
      const take = Math.min(need, chunk.length - offset)
      this.parts.push(chunk.subarray(offset, offset + take))
      this.buffered += take
      offset += take
      if (this.buffered === this.size) out.push(this.flush())
    }
    return out
  }

  end(): Array<Uint8Array> {
    return this.buffered > 0 ? [this.flush()] : []
  }

  private flush(): Uint8Array {
    const out = concatBytes(this.parts, this.buffered)
    this.parts = []
    this.buffered = 0
    return out
  }
}

const CR = 13
const LF = 10

/**
 * Splits bytes into lines. Without a delimiter, a line ends at `\n`, `\r\n` or `\r` (universal
 * newlines) and the terminator is dropped; with a delimiter, lines are the pieces between
 * delimiters. A final piece without a terminator is a line when it is not empty. The result is the
 * same however the input is chunked.
 */
export class LineSplitter {
  private pending: Uint8Array = EMPTY
  private skipLf = false
  constructor(private readonly delimiter?: Uint8Array) {}

  push(input: Uint8Array): Array<Uint8Array> {
    let chunk = input
    if (this.skipLf && chunk.length > 0) {
      this.skipLf = false
      if (chunk[0] === LF) chunk = chunk.subarray(1)
    }
    return this.delimiter === undefined || this.delimiter.length === 0
      ? this.universal(chunk)
      : this.delimited(chunk, this.delimiter)
  }

  end(): Array<Uint8Array> {
    const rest = this.pending
    this.pending = EMPTY
    return rest.length > 0 ? [rest] : []
  }

  private universal(chunk: Uint8Array): Array<Uint8Array> {
    const out: Array<Uint8Array> = []
    let start = 0
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]
      if (byte !== LF && byte !== CR) continue
      out.push(concat(this.pending, chunk.slice(start, i)))
      this.pending = EMPTY
      if (byte === CR) {
        if (i + 1 < chunk.length) {
          if (chunk[i + 1] === LF) i++
        } else {
          this.skipLf = true
        }
      }
      start = i + 1
    }
    if (start < chunk.length) this.pending = concat(this.pending, chunk.slice(start))
    return out
  }

  private delimited(chunk: Uint8Array, delimiter: Uint8Array): Array<Uint8Array> {
    // Only the tail that could hold a straddling delimiter is joined with the new chunk.
    const data = concat(this.pending, chunk)
    const out: Array<Uint8Array> = []
    let start = 0
    let i = Math.max(0, this.pending.length - delimiter.length + 1)
    const first = delimiter[0]!
    while (i + delimiter.length <= data.length) {
      if (data[i] !== first) {
        i++
        continue
      }
      let match = true
      for (let j = 1; j < delimiter.length; j++) {
        if (data[i + j] !== delimiter[j]) {
          match = false
          break
        }
      }
      if (match) {
        out.push(data.slice(start, i))
        i += delimiter.length
        start = i
      } else {
        i++
      }
    }
    this.pending = start === 0 ? data : data.slice(start)
    return out
  }
}

/**
 * `LineSplitter` over decoded text: the same rules, on strings.
 */
export class TextLineSplitter {
  private pending = ""
  private skipLf = false
  constructor(private readonly delimiter?: string) {}

  push(input: string): Array<string> {
    let chunk = input
    if (this.skipLf && chunk.length > 0) {
      this.skipLf = false
      if (chunk.charCodeAt(0) === LF) chunk = chunk.slice(1)
    }
    const delimiter = this.delimiter
    if (delimiter !== undefined && delimiter.length > 0) {
      // Only the tail of what is pending can start a delimiter that ends in this chunk.
      const data = this.pending + chunk
      const out: Array<string> = []
      let start = 0
      let at = data.indexOf(delimiter, Math.max(0, this.pending.length - delimiter.length + 1))
      while (at !== -1) {
        out.push(data.slice(start, at))
        start = at + delimiter.length
        at = data.indexOf(delimiter, start)
      }
      this.pending = data.slice(start)
      return out
    }
    const out: Array<string> = []
    let start = 0
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i)
      if (c !== LF && c !== CR) continue
      out.push(this.pending + chunk.slice(start, i))
      this.pending = ""
      if (c === CR) {
        if (i + 1 < chunk.length) {
          if (chunk.charCodeAt(i + 1) === LF) i++
        } else {
          this.skipLf = true
        }
      }
      start = i + 1
    }
    if (start < chunk.length) this.pending += chunk.slice(start)
    return out
  }

  end(): Array<string> {
    const rest = this.pending
    this.pending = ""
    return rest.length > 0 ? [rest] : []
  }
}
