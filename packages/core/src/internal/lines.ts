/**
 * Byte-level helpers for streamed bodies: exact rechunking (`iterContent`) and line splitting that
 * does not depend on where the chunks happen to end (`iterLines`), unlike requests, whose
 * `iter_lines` yields a spurious empty line when `\r\n` or a delimiter straddles two chunks.
 *
 * @internal
 */

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b
  if (b.length === 0) return a
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** Cuts a byte stream into chunks of exactly `size` bytes (the last one may be shorter). */
export class Rechunker {
  private pending: Uint8Array = new Uint8Array(0)
  constructor(private readonly size: number) {}

  push(chunk: Uint8Array): Array<Uint8Array> {
    const data = concat(this.pending, chunk)
    const out: Array<Uint8Array> = []
    let offset = 0
    while (data.length - offset >= this.size) {
      out.push(data.slice(offset, offset + this.size))
      offset += this.size
    }
    this.pending = offset === 0 ? data : data.slice(offset)
    return out
  }

  end(): Array<Uint8Array> {
    const rest = this.pending
    this.pending = new Uint8Array(0)
    return rest.length > 0 ? [rest] : []
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
  private pending: Uint8Array = new Uint8Array(0)
  private skipLf = false
  constructor(private readonly delimiter?: Uint8Array) {}

  push(input: Uint8Array): Array<Uint8Array> {
    let chunk = input
    if (this.skipLf && chunk.length > 0) {
      this.skipLf = false
      if (chunk[0] === LF) chunk = chunk.subarray(1)
    }
    return this.delimiter === undefined ? this.universal(chunk) : this.delimited(chunk, this.delimiter)
  }

  end(): Array<Uint8Array> {
    const rest = this.pending
    this.pending = new Uint8Array(0)
    return rest.length > 0 ? [rest] : []
  }

  private universal(chunk: Uint8Array): Array<Uint8Array> {
    const out: Array<Uint8Array> = []
    let start = 0
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]
      if (byte !== LF && byte !== CR) continue
      out.push(concat(this.pending, chunk.slice(start, i)))
      this.pending = new Uint8Array(0)
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
    const data = concat(this.pending, chunk)
    const out: Array<Uint8Array> = []
    let start = 0
    let i = 0
    while (i + delimiter.length <= data.length) {
      let match = true
      for (let j = 0; j < delimiter.length; j++) {
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
    this.pending = data.slice(start)
    return out
  }
}
