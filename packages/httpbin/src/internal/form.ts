/**
 * Request bodies as httpbin reports them: `form` and `files` from
 * `application/x-www-form-urlencoded` and `multipart/form-data`, `data` as the raw
 * body text, and `json` when the body parses as JSON.
 *
 * @internal
 */
import { args, type Ctx, fullUrl, header, headers, jsonSafe, origin } from "./context.js"
import { type Pair, parseBytePairs, semiflatten, toTextPairs } from "./query.js"

/** One part of a multipart body. */
export interface Part {
  readonly name: string
  /** Present (possibly empty) for file parts. */
  readonly filename: string | undefined
  readonly contentType: string | undefined
  readonly data: Buffer
}

/** Parameters of a header such as `form-data; name="a"; filename="b"` (lower-cased keys). */
export const headerParams = (value: string): Map<string, string> => {
  const params = new Map<string, string>()
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g
  for (const m of value.matchAll(re)) {
    const key = m[1]!.toLowerCase()
    let v = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "").trim()
    if (key.endsWith("*")) {
      const ext = /^([^']*)'[^']*'(.*)$/.exec(v)
      if (ext) {
        try {
          v = decodeURIComponent(ext[2]!)
        } catch {
          v = ext[2]!
        }
      }
      params.set(key.slice(0, -1), v)
    } else if (!params.has(key)) {
      params.set(key, v)
    }
  }
  return params
}

/** Split a `multipart/form-data` body on `boundary`. Malformed tails are ignored. */
export const parseMultipart = (body: Buffer, boundary: string): Array<Part> => {
  const parts: Array<Part> = []
  const delimiter = Buffer.from(`--${boundary}`, "latin1")
  const next = Buffer.from(`\r\n--${boundary}`, "latin1")
  let pos = body.subarray(0, delimiter.length).equals(delimiter) ? 0 : body.indexOf(next)
  if (pos === -1) return parts
  pos += pos === 0 ? delimiter.length : next.length
  while (pos < body.length) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break
    const lineEnd = body.indexOf("\r\n", pos, "latin1")
    if (lineEnd === -1) break
    const headerEnd = body.indexOf("\r\n\r\n", lineEnd, "latin1")
    if (headerEnd === -1) break
    const headerBlock = headerEnd > lineEnd ? body.subarray(lineEnd + 2, headerEnd).toString("utf8") : ""
    const start = headerEnd + 4
    const end = body.indexOf(next, start)
    if (end === -1) break
    const headers = new Map<string, string>()
    for (const line of headerBlock.split("\r\n")) {
      const colon = line.indexOf(":")
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
    }
    const disposition = headerParams(headers.get("content-disposition") ?? "")
    const name = disposition.get("name")
    if (name !== undefined) {
      parts.push({
        name,
        filename: disposition.get("filename"),
        contentType: headers.get("content-type"),
        data: body.subarray(start, end)
      })
    }
    pos = end + next.length
  }
  return parts
}

/** httpbin's `form`, `files`, `data` and `json` for a body of type `contentType`. */
export interface BodyDict {
  readonly form: Record<string, string | Array<string>>
  readonly files: Record<string, string | Array<string>>
  readonly data: string
  readonly json: unknown
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return null
  }
}

/** Interpret a buffered body the way httpbin (werkzeug) does. */
export const bodyDict = (body: Buffer, contentType: string | undefined): BodyDict => {
  const mime = (contentType ?? "").split(";")[0]!.trim().toLowerCase()
  if (mime === "application/x-www-form-urlencoded") {
    return { form: semiflatten(toTextPairs(parseBytePairs(body))), files: {}, data: "", json: null }
  }
  if (mime === "multipart/form-data") {
    const boundary = headerParams(contentType ?? "").get("boundary")
    const form: Array<Pair> = []
    const files: Array<Pair> = []
    for (const part of boundary ? parseMultipart(body, boundary) : []) {
      if (part.filename === undefined) form.push([part.name, part.data.toString("utf8")])
      else files.push([part.name, jsonSafe(part.data, part.contentType ?? "application/octet-stream")])
    }
    return { form: semiflatten(form), files: semiflatten(files), data: "", json: null }
  }
  const data = jsonSafe(body)
  return { form: {}, files: {}, data, json: body.length === 0 ? null : parseJson(body.toString("utf8")) }
}

/** A key of httpbin's `get_dict`. */
export type DictKey = "url" | "args" | "form" | "data" | "origin" | "headers" | "files" | "json" | "method"

/** httpbin's `get_dict(*keys)` for this request. */
export const getDict = (ctx: Ctx, ...keys: ReadonlyArray<DictKey>): Record<string, unknown> => {
  const body = keys.some((k) => k === "form" || k === "data" || k === "files" || k === "json")
    ? bodyDict(ctx.body, header(ctx, "content-type"))
    : undefined
  const value = (key: DictKey): unknown => {
    switch (key) {
      case "url":
        return fullUrl(ctx)
      case "args":
        return args(ctx)
      case "origin":
        return origin(ctx)
      case "headers":
        return headers(ctx)
      case "method":
        return ctx.method
      default:
        return body?.[key]
    }
  }
  return Object.fromEntries(keys.map((k) => [k, value(k)]))
}
