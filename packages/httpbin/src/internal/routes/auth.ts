/**
 * Authentication endpoints: `/basic-auth/:u/:p`, `/hidden-basic-auth/:u/:p` (404
 * instead of 401), `/bearer`, and `/digest-auth/:qop/:u/:p[/:algorithm[/:stale_after]]`
 * with server-side nonce state (nc ordering, opaque binding, stale nonces).
 *
 * @internal
 */
import { type Ctx, header, paramCI, remoteAddress } from "../context.js"
import * as Digest from "../digest.js"
import { send, sendJson, sendStatus } from "../respond.js"
import { type Route, route } from "../router.js"

/** Credentials of a Basic Authorization header; the bytes are tried as UTF-8, then latin-1. */
const basicCredentials = (ctx: Ctx): ReadonlyArray<readonly [string, string]> => {
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(header(ctx, "authorization") ?? "")
  if (!m) return []
  const bytes = Buffer.from(m[1]!, "base64")
  const colon = bytes.indexOf(0x3a)
  if (colon === -1) return []
  const user = bytes.subarray(0, colon)
  const pass = bytes.subarray(colon + 1)
  return [[user.toString("utf8"), pass.toString("utf8")], [user.toString("latin1"), pass.toString("latin1")]]
}

const basicOk = (ctx: Ctx): boolean =>
  basicCredentials(ctx).some(([u, p]) => u === ctx.params.user && p === ctx.params.passwd)

/** Header bytes (node's latin-1 string) read back as UTF-8. */
const utf8 = (value: string): string => Buffer.from(value, "latin1").toString("utf8")

/** The `/digest-auth` options taken from the path. */
interface DigestRoute {
  readonly qop: ReadonlyArray<string>
  readonly algorithm: Digest.Algorithm
  readonly staleAfter: number
}

const digestRoute = (ctx: Ctx): DigestRoute => {
  const qop = (ctx.params.qop ?? "").toLowerCase()
  const staleAfter = /^\d+$/.test(ctx.params.stale_after ?? "") ? Number(ctx.params.stale_after) : Infinity
  return {
    qop: qop === "auth" || qop === "auth-int" ? [qop] : qop === "none" ? [] : ["auth", "auth-int"],
    algorithm: Digest.algorithm(ctx.params.algorithm ?? "MD5") ?? Digest.algorithm("MD5")!,
    staleAfter
  }
}

const sendChallenge = (ctx: Ctx, options: DigestRoute, stale: boolean): void => {
  const { nonce, opaque } = ctx.state.digest.issue(options.algorithm, remoteAddress(ctx))
  send(ctx.res, 401, "", {
    "WWW-Authenticate": Digest.challenge({ nonce, opaque, algorithm: options.algorithm, qop: options.qop, stale }),
    "Set-Cookie": "fake=fake_value; Path=/"
  })
}

/** Why a digest answer was refused, or `ok`. */
type Verdict = "ok" | "invalid" | "stale"

const verifyDigest = (ctx: Ctx, options: DigestRoute, p: ReadonlyMap<string, string>): Verdict => {
  const get = (k: string) => p.get(k)
  const nonce = get("nonce") ?? ""
  const qop = get("qop")
  const nc = get("nc")
  const cnonce = get("cnonce")
  const alg = Digest.algorithm(get("algorithm") ?? "MD5")
  if (alg === undefined || alg.name !== options.algorithm.name) return "invalid"
  if (utf8(get("username") ?? "") !== ctx.params.user || get("realm") !== Digest.REALM) return "invalid"
  if (get("uri") !== ctx.target) return "invalid"
  if (options.qop.length === 0 ? qop !== undefined : qop === undefined || !options.qop.includes(qop)) return "invalid"
  if (qop !== undefined && (!/^[0-9a-f]{8}$/i.test(nc ?? "") || !cnonce)) return "invalid"
  if (alg.sess && !cnonce) return "invalid"
  const expected = Digest.expectedResponse({
    algorithm: alg,
    username: ctx.params.user ?? "",
    realm: Digest.REALM,
    password: ctx.params.passwd ?? "",
    method: ctx.method,
    uri: ctx.target,
    nonce,
    qop,
    nc,
    cnonce,
    body: ctx.body
  })
  if ((get("response") ?? "").toLowerCase() !== expected) return "invalid"
  const state = ctx.state.digest.get(nonce)
  if (state === undefined) return "stale"
  if (state.algorithm.name !== alg.name || get("opaque") !== state.opaque) return "invalid"
  if (qop !== undefined) {
    const count = parseInt(nc!, 16)
    if (count <= state.lastNc) return "invalid"
    state.lastNc = count
  }
  if (state.uses >= options.staleAfter) {
    ctx.state.digest.retire(nonce)
    return "stale"
  }
  state.uses++
  return "ok"
}

const digestAuth = (ctx: Ctx): void => {
  const options = digestRoute(ctx)
  const requireCookie = ["1", "t", "true"].includes((paramCI(ctx, "require-cookie") ?? "").toLowerCase())
  const params = Digest.parseAuthorization(header(ctx, "authorization") ?? "")
  if (params === undefined || (requireCookie && ctx.req.headers.cookie === undefined)) {
    return sendChallenge(ctx, options, false)
  }
  const verdict = verifyDigest(ctx, options, params)
  if (verdict !== "ok") return sendChallenge(ctx, options, verdict === "stale")
  sendJson(ctx.res, { authenticated: true, user: ctx.params.user }, 200, { "Set-Cookie": "fake=fake_value; Path=/" })
}

/** Auth routes. */
export const authRoutes: ReadonlyArray<Route> = [
  route("*", "/basic-auth/:user/:passwd", (ctx) =>
    basicOk(ctx)
      ? sendJson(ctx.res, { authenticated: true, user: ctx.params.user })
      : sendStatus(ctx.res, 401)),
  route("*", "/hidden-basic-auth/:user/:passwd", (ctx) =>
    basicOk(ctx)
      ? sendJson(ctx.res, { authenticated: true, user: ctx.params.user })
      : sendStatus(ctx.res, 404)),
  route("*", "/bearer", (ctx) => {
    const authorization = header(ctx, "authorization") ?? ""
    if (!authorization.startsWith("Bearer ")) return send(ctx.res, 401, "", { "WWW-Authenticate": "Bearer" })
    sendJson(ctx.res, { authenticated: true, token: authorization.slice("Bearer ".length) })
  }),
  ...[
    "/digest-auth/:qop/:user/:passwd",
    "/digest-auth/:qop/:user/:passwd/:algorithm",
    "/digest-auth/:qop/:user/:passwd/:algorithm/:stale_after"
  ].map((pattern) => route("*", pattern, digestAuth, "buffer"))
]
