/**
 * Query strings and form bodies, parsed at the byte level.
 *
 * Percent-escapes are decoded to bytes, not to text, so that fault endpoints can put
 * any byte sequence into a header (`/fault/redirect?location=%E9`) while the echo
 * endpoints decode the same bytes as UTF-8, as httpbin does.
 *
 * @internal
 */

/** A decoded `key=value` pair, both sides still bytes. */
export type BytePair = readonly [key: Buffer, value: Buffer]

/** A decoded `key=value` pair as text. */
export type Pair = readonly [key: string, value: string]

const hexValue = (code: number): number => {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  if (code >= 0x41 && code <= 0x46) return code - 0x37
  if (code >= 0x61 && code <= 0x66) return code - 0x57
  return -1
}

/** Decode `+` and `%XX` escapes of a form-encoded component into raw bytes. */
export const decodeComponent = (input: Buffer): Buffer => {
  const out = Buffer.allocUnsafe(input.length)
  let j = 0
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!
    if (c === 0x2b) {
      out[j++] = 0x20
    } else if (c === 0x25 && i + 2 < input.length) {
      const hi = hexValue(input[i + 1]!)
      const lo = hexValue(input[i + 2]!)
      if (hi >= 0 && lo >= 0) {
        out[j++] = hi * 16 + lo
        i += 2
      } else {
        out[j++] = c
      }
    } else {
      out[j++] = c
    }
  }
  return out.subarray(0, j)
}

/**
 * Split `a=1&b=2&a` into byte pairs (werkzeug semantics: empty pieces are skipped,
 * a piece without `=` has an empty value).
 */
export const parseBytePairs = (input: Buffer): Array<BytePair> => {
  const pairs: Array<BytePair> = []
  let start = 0
  while (start <= input.length) {
    let end = input.indexOf(0x26, start)
    if (end === -1) end = input.length
    if (end > start) {
      const piece = input.subarray(start, end)
      const eq = piece.indexOf(0x3d)
      pairs.push(
        eq === -1
          ? [decodeComponent(piece), Buffer.alloc(0)]
          : [decodeComponent(piece.subarray(0, eq)), decodeComponent(piece.subarray(eq + 1))]
      )
    }
    start = end + 1
  }
  return pairs
}

/** Pairs as UTF-8 text (invalid sequences become U+FFFD). */
export const toTextPairs = (pairs: ReadonlyArray<BytePair>): Array<Pair> =>
  pairs.map(([k, v]) => [k.toString("utf8"), v.toString("utf8")] as const)

/** Parse the query part of a raw request target (node gives it as a latin-1 string). */
export const parseQuery = (rawQuery: string): Array<BytePair> => parseBytePairs(Buffer.from(rawQuery, "latin1"))

/**
 * httpbin's `semiflatten`: a key seen once maps to its value, a repeated key to the
 * list of its values, in order.
 */
export const semiflatten = (pairs: ReadonlyArray<Pair>): Record<string, string | Array<string>> => {
  const grouped = new Map<string, Array<string>>()
  for (const [k, v] of pairs) {
    const list = grouped.get(k)
    if (list) list.push(v)
    else grouped.set(k, [v])
  }
  return Object.fromEntries(Array.from(grouped, ([k, vs]) => [k, vs.length === 1 ? vs[0]! : vs]))
}

/** Bytes to a header value string that node writes back byte for byte (latin-1). */
export const headerBytes = (value: Buffer): string => value.toString("latin1")
