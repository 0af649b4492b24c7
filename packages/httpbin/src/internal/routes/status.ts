/**
 * `/status/:codes` (a comma list with optional `code:weight`, any method) and
 * `/response-headers` (query keys become response headers, echoed in the body).
 *
 * @internal
 */
import { queryPairs } from "../context.js"
import { badRequest, jsonText, sendStatus } from "../respond.js"
import { type Route, route } from "../router.js"

/** Parse `200`, `200,404` or `200:0.9,500:0.1`; `undefined` when invalid. */
export const parseCodes = (codes: string): Array<readonly [code: number, weight: number]> | undefined => {
  const choices: Array<readonly [number, number]> = []
  for (const choice of codes.split(",")) {
    const [code, weight = "1", ...rest] = choice.split(":")
    const c = Number(code)
    const w = Number(weight)
    if (rest.length > 0 || !/^\d+$/.test(code?.trim() ?? "") || !Number.isFinite(w) || w < 0) return undefined
    if (c < 200 || c > 999) return undefined
    choices.push([c, w])
  }
  return choices
}

/** httpbin's `weighted_choice`. */
export const weightedChoice = (choices: ReadonlyArray<readonly [number, number]>): number => {
  const total = choices.reduce((sum, [, w]) => sum + w, 0)
  let x = Math.random() * total
  for (const [code, weight] of choices) {
    if (x < weight) return code
    x -= weight
  }
  return choices[choices.length - 1]![0]
}

/** The body of `/response-headers`: the response's own headers, to a fixed point on Content-Length. */
const responseHeadersBody = (headers: ReadonlyMap<string, ReadonlyArray<string>>): string => {
  let length = 0
  for (;;) {
    const dict: Record<string, string | ReadonlyArray<string>> = {}
    if (![...headers.keys()].some((k) => k.toLowerCase() === "content-type")) dict["Content-Type"] = "application/json"
    dict["Content-Length"] = String(length)
    for (const [k, vs] of headers) dict[k] = vs.length === 1 ? vs[0]! : vs
    const text = jsonText(dict)
    const size = Buffer.byteLength(text)
    if (size === length) return text
    length = size
  }
}

/** Status routes. */
export const statusRoutes: ReadonlyArray<Route> = [
  route("*", "/status/:codes", (ctx) => {
    const choices = parseCodes(ctx.params.codes ?? "")
    if (choices === undefined || choices.length === 0) return badRequest(ctx.res, "Invalid status code")
    sendStatus(ctx.res, weightedChoice(choices))
  }),
  route(["GET", "POST"], "/response-headers", (ctx) => {
    const headers = new Map<string, Array<string>>()
    for (const [k, v] of queryPairs(ctx)) {
      const list = headers.get(k)
      if (list) list.push(v)
      else headers.set(k, [v])
    }
    const body = responseHeadersBody(headers)
    try {
      ctx.res.setHeader("Content-Type", "application/json")
      for (const [k, vs] of headers) ctx.res.setHeader(k, vs.length === 1 ? vs[0]! : vs)
    } catch {
      ctx.res.removeHeader("Content-Type")
      for (const k of headers.keys()) ctx.res.removeHeader(k)
      return badRequest(ctx.res, "invalid header name or value")
    }
    ctx.res.setHeader("Content-Length", Buffer.byteLength(body))
    ctx.res.writeHead(200)
    ctx.res.end(body)
  })
]
