/**
 * The environment a session trusts (`trustEnv`): proxies, CA bundles and the netrc location, read
 * through Effect `Config` once, when the session layer is built, so tests and users swap the
 * `ConfigProvider` instead of touching `process.env`.
 *
 * Variables, as requests reads them: `http_proxy`/`HTTP_PROXY`, `https_proxy`/`HTTPS_PROXY`,
 * `all_proxy`/`ALL_PROXY`, `no_proxy`/`NO_PROXY` (the lower-case name wins, even when empty; an
 * upper-case `HTTP_PROXY` is ignored when `REQUEST_METHOD` says we run under CGI, "httpoxy"),
 * `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`, `SSL_CERT_FILE` (the first set wins), `NETRC`, `HOME`.
 *
 * `mergeEnvironmentSettings` is requests' method of that name with our precedence, where explicit
 * settings beat the environment:
 *
 * | setting | highest → lowest |
 * |---|---|
 * | proxies | request → session → environment. `null` removes a session key, `""` means "no proxy" and hides the environment; an explicit `no_proxy` key bypasses every proxy, `NO_PROXY` only the environment's |
 * | verify | request → session; a plain `true` (the default trust store) then takes the environment's CA bundle |
 * | cert | request (`null` removes) → session |
 *
 * requests' own rule differs for proxies (the environment beats `session.proxies`) and for verify
 * (`REQUESTS_CA_BUNDLE` beats `session.verify = False` or a session CA path).
 *
 * @since 0.1.0
 */
import { Config, Effect, Option } from "effect"
import * as Proxies from "./Proxies.js"

/**
 * What the environment says.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  /** `http`, `https` and `all` proxies. */
  readonly proxies: Proxies.Proxies
  readonly noProxy: string | undefined
  /** The CA bundle from `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE` or `SSL_CERT_FILE`. */
  readonly caBundle: string | undefined
  /** `NETRC`: the netrc file to read instead of `~/.netrc`. */
  readonly netrc: string | undefined
  readonly home: string | undefined
}

/**
 * An empty environment (what `trustEnv: false` sees).
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: Settings = {
  proxies: {},
  noProxy: undefined,
  caBundle: undefined,
  netrc: undefined,
  home: undefined
}

const optional = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.orElse(() => Config.succeed(Option.none())))

/**
 * Lower case first; a set-but-empty lower-case variable hides the upper-case one (stdlib
 * `getproxies`). `ignoreUpper` drops the upper-case name (httpoxy: `HTTP_PROXY` under CGI).
 */
const pair = (lower: string, ignoreUpper: Config.Config<boolean> = Config.succeed(false)) =>
  Config.map(Config.all([optional(lower), optional(lower.toUpperCase()), ignoreUpper]), ([lo, up, ignore]) => {
    if (Option.isSome(lo)) return lo.value === "" ? undefined : lo.value
    if (Option.isSome(up) && !ignore) return up.value === "" ? undefined : up.value
    return undefined
  })

/** Under CGI (`REQUEST_METHOD` set), `HTTP_PROXY` may come from a client's `Proxy:` header. */
const underCgi = Config.map(optional("REQUEST_METHOD"), Option.isSome)

const firstSet = (...names: ReadonlyArray<string>) =>
  Config.map(Config.all(names.map(optional)), (values) => {
    for (const value of values) if (Option.isSome(value) && value.value !== "") return value.value
    return undefined
  })

/**
 * The environment as a `Config` (read with whatever `ConfigProvider` is current).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Settings> = Config.map(
  Config.all({
    http: pair("http_proxy", underCgi),
    https: pair("https_proxy"),
    all: pair("all_proxy"),
    noProxy: pair("no_proxy"),
    caBundle: firstSet("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"),
    netrc: firstSet("NETRC"),
    home: firstSet("HOME", "USERPROFILE")
  }),
  ({ all, caBundle, home, http, https, netrc, noProxy }) => {
    const proxies: Record<string, string> = {}
    if (http !== undefined) proxies.http = http
    if (https !== undefined) proxies.https = https
    if (all !== undefined) proxies.all = all
    return { proxies, noProxy, caBundle, netrc, home }
  }
)

/**
 * Read the environment. A variable that cannot be read counts as unset.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load: Effect.Effect<Settings> = Effect.orElseSucceed(config, () => empty)

/**
 * Settings that can come from the request, the session or the environment.
 *
 * @since 0.1.0
 * @category models
 */
export interface Merged<Cert> {
  /** The proxies for this URL: the explicit mapping, plus the environment's proxy under the URL's scheme. */
  readonly proxies: Proxies.Proxies
  readonly verify: boolean | string
  readonly cert: Cert | undefined
}

/**
 * The proxy for `url` (see `Proxies.resolveProxy`): explicit proxies first, then the environment's
 * when the session trusts it.
 *
 * @since 0.1.0
 * @category merging
 */
export const proxyFor = (
  url: string,
  explicit: Proxies.Proxies,
  trustEnv: boolean,
  env: Settings
): string | undefined => Proxies.resolveProxy(url, explicit, trustEnv ? env : undefined)

/**
 * The `verify` in effect: a plain `true` (the default trust store) becomes the environment's CA
 * bundle when the session trusts the environment; `false` and an explicit CA are kept.
 *
 * @since 0.1.0
 * @category merging
 */
export const resolveVerify = (verify: boolean | string, trustEnv: boolean, env: Settings): boolean | string =>
  verify === true && trustEnv && env.caBundle !== undefined ? env.caBundle : verify

/**
 * requests' `merge_environment_settings`, with explicit settings winning (see the module docs).
 * `no_proxy` may also be given as a key of the request's or the session's proxies mapping.
 *
 * @since 0.1.0
 * @category merging
 */
export const mergeEnvironmentSettings = <Cert>(
  url: string,
  request: {
    readonly proxies?: Readonly<Record<string, string | null>> | undefined
    readonly verify?: boolean | string | undefined
    readonly cert?: Cert | null | undefined
  },
  session: {
    readonly proxies: Proxies.Proxies
    readonly verify: boolean | string
    readonly cert: Cert | undefined
    readonly trustEnv: boolean
  },
  env: Settings
): Merged<Cert> => {
  const explicit = Proxies.merge(session.proxies, request.proxies)
  const proxy = proxyFor(url, explicit, session.trustEnv, env)
  const hit = Proxies.lookup(url, explicit)
  // The mapping answers `selectProxy(url, proxies) === proxy`, the environment under the scheme key.
  const proxies = hit.proxy === proxy || hit.key === undefined ? explicit : { ...explicit, [hit.key]: proxy ?? "" }
  const verify = resolveVerify(request.verify ?? session.verify, session.trustEnv, env)
  const cert = request.cert === null ? undefined : request.cert ?? session.cert
  return { proxies, verify, cert }
}
