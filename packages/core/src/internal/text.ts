/**
 * Charset handling as requests does it: the encoding from `Content-Type`, `text/*` defaulting to
 * ISO-8859-1, JSON's UTF detection, detection of what the bytes look like (`apparentEncoding`:
 * strict UTF-8 first, then the `chardet` package), and decoding that never fails (bad bytes
 * become U+FFFD).
 *
 * @internal
 */
import * as chardet from "chardet"

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

/** windows-1252's 0x80–0x9F (WHATWG's table); every other byte is its latin-1 code point. */
const CP1252_HIGH = [
  0x20ac,
  0x81,
  0x201a,
  0x192,
  0x201e,
  0x2026,
  0x2020,
  0x2021,
  0x2c6,
  0x2030,
  0x160,
  0x2039,
  0x152,
  0x8d,
  0x17d,
  0x8f,
  0x90,
  0x2018,
  0x2019,
  0x201c,
  0x201d,
  0x2022,
  0x2013,
  0x2014,
  0x2dc,
  0x2122,
  0x161,
  0x203a,
  0x153,
  0x9d,
  0x17e,
  0x178
]

const CP1252 = new Set(["windows-1252", "cp1252", "x-cp1252", "1252"])

/** Node's TextDecoder decodes windows-1252 as latin-1 (nodejs/node#56542), so it is done here. */
const decodeCp1252 = (bytes: Uint8Array): string => {
  let out = ""
  for (let i = 0; i < bytes.length; i += 8192) {
    const piece = bytes.subarray(i, i + 8192)
    const codes = new Array<number>(piece.length)
    for (let j = 0; j < piece.length; j++) {
      const b = piece[j]!
      codes[j] = b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80]! : b
    }
    out += String.fromCharCode.apply(null, codes)
  }
  return out
}

const utf8 = new TextDecoder("utf-8")

/** Whether `label` names an encoding this runtime can decode. */
export const isKnownEncoding = (label: string): boolean => {
  const normalized = normalizeEncoding(label)
  if (normalized === "latin1" || normalized === "utf-8" || CP1252.has(normalized)) return true
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
  if (CP1252.has(normalized)) return decodeCp1252(bytes)
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
  if (CP1252.has(normalized)) return { write: decodeCp1252, end: () => "" }
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

/** Whether the bytes are valid UTF-8 (`partial`: a sequence cut at the end is accepted). */
export const isUtf8 = (bytes: Uint8Array, partial = false): boolean => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: partial })
    return true
  } catch {
    return false
  }
}

const isAscii = (bytes: Uint8Array): boolean => {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return false
  return true
}

/** Bytes looked at for the UTF-8 check (the whole body up to this size). */
const UTF8_SAMPLE = 1024 * 1024
/** Bytes given to the statistical detector (it is slow: about 1 s per MB). */
const DETECT_SAMPLE = 64 * 1024

/** chardet's confidence (0–100) below which its guess is not taken. */
const MIN_CONFIDENCE = 50
const LATIN_PAGE = /^(iso-8859-\d+|windows-125\d)$/i
const WESTERN = /^(iso-8859-1|windows-1252)$/i

/**
 * requests' `apparent_encoding`: what the bytes look like when the headers name no charset.
 *
 * 1. A UTF-16 byte-order mark gives `UTF-16LE` / `UTF-16BE`.
 * 2. ASCII only gives `ascii`; valid UTF-8 gives `utf-8` (checked strictly: chardet alone calls a
 *    short latin-1 text UTF-8).
 * 3. Otherwise the best candidate of `chardet` (ICU's detector: single-byte code pages such as
 *    windows-1252, ISO-8859-x, KOI8-R, and the CJK multi-byte encodings) that this runtime can
 *    decode, when it is confident enough (50/100; short texts rarely are). Among Latin code pages,
 *    a western one (ISO-8859-1, windows-1252) at least half as likely wins.
 * 4. Otherwise `ISO-8859-1`, which decodes any byte.
 */
export const detectEncoding = (bytes: Uint8Array): string => {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return "UTF-16LE"
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return "UTF-16BE"
  const sample = bytes.length > UTF8_SAMPLE ? bytes.subarray(0, UTF8_SAMPLE) : bytes
  if (isAscii(sample)) return sample.length === bytes.length ? "ascii" : "utf-8"
  if (isUtf8(sample, sample.length < bytes.length)) return "utf-8"
  const candidates = chardet.analyse(bytes.subarray(0, DETECT_SAMPLE)).filter(({ name }) => {
    const lower = name.toLowerCase()
    return lower !== "utf-8" && lower !== "ascii" && !lower.startsWith("utf-32") && isKnownEncoding(name)
  })
  const best = candidates[0]
  // A weak guess (short texts) is worse than latin-1, which at least keeps every byte.
  if (best === undefined || best.confidence < MIN_CONFIDENCE) return "ISO-8859-1"
  // Between Latin code pages the statistics are close: prefer the western one when it is near.
  if (LATIN_PAGE.test(best.name)) {
    const western = candidates.find(({ name }) => WESTERN.test(name))
    if (western !== undefined && western.confidence * 2 >= best.confidence) return western.name
  }
  return best.name
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
