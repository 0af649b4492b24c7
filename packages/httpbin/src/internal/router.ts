/**
 * Routes: a method set, a path pattern (`/status/:codes`, `/anything/*`), how the
 * request body is consumed, and a handler. Matching yields the route and its
 * decoded parameters, or the allowed methods for a 405.
 *
 * @internal
 */
import type { Ctx } from "./context.js"

/**
 * How the dispatcher consumes the request body before calling the handler:
 * - `buffer`: read into `ctx.body`, capped (413 beyond);
 * - `drain`: read and discard (hashed for the log);
 * - `stream`: left to the handler (`ctx.readBody`).
 */
export type BodyMode = "buffer" | "drain" | "stream"

/** A route. `methods: "*"` accepts any method (including OPTIONS). */
export interface Route {
  readonly methods: "*" | ReadonlyArray<string>
  readonly pattern: string
  readonly body: BodyMode
  readonly handle: (ctx: Ctx) => unknown
  readonly segments: ReadonlyArray<string>
}

/** Build a route. */
export const route = (
  methods: "*" | ReadonlyArray<string>,
  pattern: string,
  handle: (ctx: Ctx) => unknown,
  body: BodyMode = "drain"
): Route => ({ methods, pattern, body, handle, segments: pattern.split("/").slice(1) })

/** Result of {@link match}. */
export type Match =
  | { readonly _tag: "Found"; readonly route: Route; readonly params: Record<string, string> }
  | { readonly _tag: "MethodNotAllowed"; readonly allow: ReadonlyArray<string> }
  | { readonly _tag: "NotFound" }

const decode = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

const matchPath = (route: Route, parts: ReadonlyArray<string>): Record<string, string> | undefined => {
  const params: Record<string, string> = {}
  const segs = route.segments
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!
    if (seg === "*") {
      params["*"] = parts.slice(i).map(decode).join("/")
      return params
    }
    const part = parts[i]
    if (part === undefined) return undefined
    if (seg.startsWith(":")) {
      if (part === "") return undefined
      params[seg.slice(1)] = decode(part)
    } else if (seg !== part) {
      return undefined
    }
  }
  return parts.length === segs.length ? params : undefined
}

const accepts = (route: Route, method: string): boolean =>
  route.methods === "*" || route.methods.includes(method) || (method === "HEAD" && route.methods.includes("GET"))

/** Find the route for `method` and raw `path`. */
export const match = (routes: ReadonlyArray<Route>, method: string, path: string): Match => {
  const parts = path.split("/").slice(1)
  const allow = new Set<string>()
  for (const route of routes) {
    const params = matchPath(route, parts)
    if (params === undefined) continue
    if (accepts(route, method)) return { _tag: "Found", route, params }
    if (route.methods !== "*") {
      for (const m of route.methods) allow.add(m)
      if (route.methods.includes("GET")) allow.add("HEAD")
    }
  }
  return allow.size > 0 ? { _tag: "MethodNotAllowed", allow: [...allow, "OPTIONS"] } : { _tag: "NotFound" }
}
