/**
 * The cookie jar's codecs and input checks: the saved form of one cookie (a Schema), decoding
 * errors described without values, per-request cookie checks, and requests' dict cookies.
 *
 * @internal
 */
import { ParseResult, Schema } from "effect"
import type { Cookie } from "../CookieJar.js"
import { BAD_NAME, BAD_VALUE, DOMAIN } from "./cookieStore.js"

/** One cookie in the saved form (`expires` as an ISO date, `null` for a session cookie). */
export const CookieSchema = Schema.Struct({
  name: Schema.String.pipe(
    Schema.filter((s) => s !== "" && s.trim() === s && !BAD_NAME.test(s), { message: () => "not a cookie name" })
  ),
  value: Schema.String.pipe(Schema.filter((s) => !BAD_VALUE.test(s), { message: () => "not a cookie value" })),
  domain: Schema.String.pipe(Schema.filter((s) => DOMAIN.test(s), { message: () => "not a domain" })),
  path: Schema.String.pipe(
    Schema.filter((s) => s.startsWith("/") && !BAD_VALUE.test(s), { message: () => "not a cookie path" })
  ),
  hostOnly: Schema.Boolean,
  secure: Schema.Boolean,
  httpOnly: Schema.Boolean,
  expires: Schema.transform(Schema.NullOr(Schema.Date), Schema.UndefinedOr(Schema.DateFromSelf), {
    strict: true,
    decode: (d) => d ?? undefined,
    encode: (d) => d ?? null
  }),
  sameSite: Schema.optional(Schema.String)
})

/** A decoding failure by where it is, never by the value; only `format`/`version` say what was found. */
export const describeParseError = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const described = issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join(".")
    if (issue.path.length === 1 && (path === "format" || path === "version")) return `${path}: ${issue.message}`
    return `${path === "" ? "(root)" : path}: ${issue._tag === "Missing" ? "missing" : "invalid"}`
  })
  return described.join("; ") + (issues.length > 5 ? ` (and ${issues.length - 5} more)` : "")
}

/** Why name/value pairs cannot go into a `Cookie` header; the message names the cookie, never its value. */
export const invalidPair = (pairs: ReadonlyArray<readonly [string, string]>): string | undefined => {
  for (const [name, value] of pairs) {
    if (name === "" || name.trim() !== name || BAD_NAME.test(name)) {
      return `Invalid cookie name ${JSON.stringify(name.slice(0, 64))} in cookies`
    }
    if (BAD_VALUE.test(value)) return `Invalid value for cookie ${JSON.stringify(name)} in cookies`
  }
  return undefined
}

/** A record as requests' dict cookies: any host, path `/` (`null` and `undefined` skipped). */
export const fromRecord = (record: Readonly<Record<string, string | null | undefined>>): Array<Cookie> =>
  Object.entries(record).flatMap(([name, value]) =>
    value === null || value === undefined
      ? []
      : [{ name, value, domain: "", path: "/", hostOnly: false, secure: false, httpOnly: false, expires: undefined }]
  )
