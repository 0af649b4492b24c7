/**
 * Charset handling as requests does it: the encoding from `Content-Type`, `text/*` defaulting to
 * ISO-8859-1, JSON's UTF detection, and decoding that never fails (bad bytes become U+FFFD).
 *
 * @internal
 */

/** requests' `_parse_content_type_header`: the media type and lower-cased parameters. */
export const parseContentType = (
  header: string
): { readonly type: string; readonly params: Record<string, string> } => {
  const tokens = header.split(";")
  const type = tokens[0]!.trim()
  const params: Record<string, string> = {}
  for (const token of tokens.slice(1)) {
    const eq = token.indexOf("=")
    if (eq === -1) continue
    const key = token.slice(0, eq).replace(/^[\s"']+|[\s"']+$/g, "").toLowerCase()
    const value = token.slice(eq + 1).replace(/^[\s"']+|[\s"']+$/g, "")
    params[key] = value
  }
  return { type, params }
}

/** requests' `get_encoding_from_headers`. */
export const encodingFromContentType = (contentType: string | undefined): string | undefined => {
  if (contentType === undefined) return undefined
  const { params, type } = parseContentType(contentType)
  if (params.charset !== undefined) return params.charset.replace(/^['"]|['"]$/g, "")
  if (type.includes("text")) return "ISO-8859-1"
  if (type.includes("application/json")) return "utf-8"
  return undefined
}

const LATIN1 = new Set([
  "iso-8859-1",
  "iso8859-1",
  "iso_8859-1",
  "iso-8859-1:1987",
  "iso_8859-1:1987",
  "latin1",
  "latin-1",
  "latin_1",
  "l1",
  "cp819",
  "ibm819",
  "iso-ir-100",
  "csisolatin1",
  "8859",
  "iso8859"
])

/** Normalise a Python or WHATWG encoding label; latin-1 labels give "latin1" (true ISO-8859-1, not windows-1252). */
export const normalizeEncoding = (label: string): string => {
  const lower = label.trim().toLowerCase()
  if (LATIN1.has(lower)) return "latin1"
  if (lower === "utf8" || lower === "utf_8" || lower === "utf-8-sig" || lower === "utf8-sig") return "utf-8"
  if (lower === "ascii" || lower === "us-ascii") return "utf-8"
  return lower.replace(/_/g, "-")
}

const decodeLatin1 = (bytes: Uint8Array): string => {
  let out = ""
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 8192)))
  }
  return out
}

const utf8 = new TextDecoder("utf-8")

/** Whether `label` names an encoding this runtime can decode. */
export const isKnownEncoding = (label: string): boolean => {
  const normalized = normalizeEncoding(label)
  if (normalized === "latin1" || normalized === "utf-8") return true
  try {
    new TextDecoder(normalized)
    return true
  } catch {
    return false
  }
}

/** Decode with replacement; an unknown encoding falls back to UTF-8 (requests does the same). */
export const decode = (bytes: Uint8Array, encoding: string | undefined): string => {
  if (bytes.length === 0) return ""
  const normalized = encoding === undefined ? "utf-8" : normalizeEncoding(encoding)
  if (normalized === "latin1") return decodeLatin1(bytes)
  if (normalized === "utf-8") return utf8.decode(bytes)
  try {
    return new TextDecoder(normalized).decode(bytes)
  } catch {
    return utf8.decode(bytes)
  }
}

/** An incremental decoder for streamed text. */
export const makeStreamDecoder = (encoding: string | undefined): {
  readonly write: (chunk: Uint8Array) => string
  readonly end: () => string
} => {
  const normalized = encoding === undefined ? "utf-8" : normalizeEncoding(encoding)
  if (normalized === "latin1") return { write: decodeLatin1, end: () => "" }
  let decoder: TextDecoder
  try {
    decoder = new TextDecoder(normalized)
  } catch {
    decoder = new TextDecoder("utf-8")
  }
  return {
    write: (chunk) => decoder.decode(chunk, { stream: true }),
    end: () => decoder.decode()
  }
}

/** Whether the bytes are valid UTF-8. */
export const isUtf8 = (bytes: Uint8Array): boolean => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

/** requests' `guess_json_utf`: the UTF flavour of a JSON document from its BOM or NUL pattern. */
export const guessJsonUtf = (data: Uint8Array): string | undefined => {
  const b = data.subarray(0, 4)
  const at = (i: number) => b[i] ?? -1
  if (
    (at(0) === 0xff && at(1) === 0xfe && at(2) === 0 && at(3) === 0) ||
    (at(0) === 0 && at(1) === 0 && at(2) === 0xfe && at(3) === 0xff)
  ) return "utf-32"
  if (at(0) === 0xef && at(1) === 0xbb && at(2) === 0xbf) return "utf-8"
  if ((at(0) === 0xff && at(1) === 0xfe) || (at(0) === 0xfe && at(1) === 0xff)) return "utf-16"
  let nulls = 0
  for (let i = 0; i < b.length; i++) if (b[i] === 0) nulls++
  if (nulls === 0) return "utf-8"
  if (nulls === 2) {
    if (at(0) === 0 && at(2) === 0) return "utf-16-be"
    if (at(1) === 0 && at(3) === 0) return "utf-16-le"
  }
  if (nulls === 3) {
    if (at(0) === 0 && at(1) === 0 && at(2) === 0) return "utf-32-be"
    if (at(1) === 0 && at(2) === 0 && at(3) === 0) return "utf-32-le"
  }
  return undefined
}

/** Decode a JSON document in a UTF flavour TextDecoder may not know (UTF-32). */
export const decodeJsonUtf = (bytes: Uint8Array, flavour: string): string | undefined => {
  if (flavour.startsWith("utf-32")) {
    let big = flavour === "utf-32-be"
    let start = 0
    if (flavour === "utf-32") {
      big = bytes[0] === 0
      start = 4
    }
    let out = ""
    for (let i = start; i + 3 < bytes.length; i += 4) {
      const cp = big
        ? ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0
        : ((bytes[i + 3]! << 24) | (bytes[i + 2]! << 16) | (bytes[i + 1]! << 8) | bytes[i]!) >>> 0
      if (cp > 0x10ffff) return undefined
      out += String.fromCodePoint(cp)
    }
    return out
  }
  let label = flavour
  if (flavour === "utf-16") label = bytes[0] === 0xfe && bytes[1] === 0xff ? "utf-16be" : "utf-16le"
  else if (flavour === "utf-16-le") label = "utf-16le"
  else if (flavour === "utf-16-be") label = "utf-16be"
  try {
    return new TextDecoder(label, { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}
