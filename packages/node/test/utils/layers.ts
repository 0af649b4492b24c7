import { Httpbin } from "@effect-requests/httpbin"
import { NodeSession } from "@effect-requests/node"
import { ConfigProvider, Effect, Layer } from "effect"

/** An environment with nothing in it: tests never read the machine's proxies or netrc. */
export const emptyEnv = (entries: ReadonlyArray<readonly [string, string]> = []) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries)))

/** A Node session (empty environment) beside an httpbin server on 127.0.0.1. */
export const sessionWithHttpbin = (options?: NodeSession.Options) =>
  Layer.mergeAll(Httpbin.layer, NodeSession.layer(options).pipe(Layer.provide(emptyEnv()))).pipe(Layer.orDie)

/** A Node session whose environment holds only `env`. */
export const nodeSession = (options: NodeSession.Options = {}, env: ReadonlyArray<readonly [string, string]> = []) =>
  NodeSession.layer(options).pipe(Layer.provide(emptyEnv(env)), Layer.orDie)

/** Run `effect` in a session of its own (see `nodeSession`). */
export const inSession = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options?: NodeSession.Options,
  env?: ReadonlyArray<readonly [string, string]>
) => Effect.provide(effect, nodeSession(options, env))
