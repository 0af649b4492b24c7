/**
 * Writing responses the way httpbin (Flask) does: sorted, 2-space-indented JSON
 * with a trailing newline; `text/html; charset=utf-8` for plain strings; httpbin's
 * special cases of `/status/:code`.
 *
 * @internal
 */
import type { OutgoingHttpHeaders, ServerResponse } from "node:http"

/** Recursively sort object keys (Flask's `jsonify` sorts). */
export const sortKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>
    return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, sortKeys(obj[k])]))
  }
  return value
}

/** httpbin's JSON text for `value`. */
export const jsonText = (value: unknown): string => `${JSON.stringify(sortKeys(value), null, 2)}\n`

/** Send a complete response with Content-Length. */
export const send = (
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: OutgoingHttpHeaders = {}
): void => {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body
  const all: OutgoingHttpHeaders = { "Content-Type": "text/html; charset=utf-8", ...headers }
  for (const [name, value] of Object.entries(all)) {
    if (value !== undefined) res.setHeader(name, value)
  }
  if (status !== 204 && status !== 304 && status >= 200) res.setHeader("Content-Length", bytes.length)
  res.writeHead(status)
  res.end(bytes)
}

/** Send `value` as httpbin JSON. */
export const sendJson = (res: ServerResponse, value: unknown, status = 200, headers: OutgoingHttpHeaders = {}): void =>
  send(res, status, jsonText(value), { "Content-Type": "application/json", ...headers })

/** Werkzeug's body for a redirect. */
export const redirectHtml = (location: string): string =>
  "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n" +
  `<p>You should be redirected automatically to the target URL: <a href="${location}">${location}</a>. ` +
  "If not, click the link.\n"

const NOT_FOUND = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n" +
  "<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"

/** Flask's 404 page. */
export const notFound = (res: ServerResponse): void => send(res, 404, NOT_FOUND)

/** A plain-text 400. */
export const badRequest = (res: ServerResponse, message: string): void =>
  send(res, 400, `${message}\n`, { "Content-Type": "text/plain; charset=utf-8" })

const ASCII_ART = `
    -=[ teapot ]=-

       _...._
     .'  _ _ \`.
    | ."\` ^ \`". _,
    \\_;\`"---"\`|//
      |       ;/
      \\_     _/
        \`"""\`
`

/** Headers and body httpbin sends for `/status/:code`. */
export const statusResponse = (code: number): { readonly headers: OutgoingHttpHeaders; readonly body: string } => {
  switch (code) {
    case 301:
    case 302:
    case 303:
    case 305:
    case 307:
      return { headers: { Location: "/redirect/1" }, body: "" }
    case 401:
      return { headers: { "WWW-Authenticate": "Basic realm=\"Fake Realm\"" }, body: "" }
    case 402:
      return { headers: { "x-more-info": "http://vimeo.com/22053820" }, body: "Payment required." }
    case 406:
      return {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          message: "Client did not request a supported media type.",
          accept: ["image/webp", "image/svg+xml", "image/jpeg", "image/png", "image/*"]
        })
      }
    case 407:
      return { headers: { "Proxy-Authenticate": "Basic realm=\"Fake Realm\"" }, body: "" }
    case 418:
      return { headers: { "x-more-info": "http://tools.ietf.org/html/rfc2324" }, body: ASCII_ART }
    default:
      return { headers: {}, body: "" }
  }
}

/** Send httpbin's response for status `code`. */
export const sendStatus = (res: ServerResponse, code: number): void => {
  const { body, headers } = statusResponse(code)
  send(res, code, body, headers)
}
