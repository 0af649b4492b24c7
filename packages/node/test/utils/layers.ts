import { Httpbin } from "@effect-requests/httpbin"
import { NodeSession } from "@effect-requests/node"
import { ConfigProvider, Layer } from "effect"

/** An environment with nothing in it: tests never read the machine's proxies or netrc. */
export const emptyEnv = (entries: ReadonlyArray<readonly [string, string]> = []) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries)))

/** A Node session (empty environment) beside an httpbin server on 127.0.0.1. */
export const sessionWithHttpbin = (options?: NodeSession.Options) =>
  Layer.mergeAll(Httpbin.layer, NodeSession.layer(options).pipe(Layer.provide(emptyEnv()))).pipe(Layer.orDie)
