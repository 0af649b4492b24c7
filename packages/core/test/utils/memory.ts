import { Adapter, Session } from "@effect-requests/core"
import { ConfigProvider, Effect, Layer } from "effect"

/** An environment with nothing in it: tests never read the machine's proxies or netrc. */
export const noEnv = Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))

/** A session over `Adapter.layerMemory(handler)` (its recorder provided too), in an empty environment. */
export const sessionWith = (handler: Adapter.Handler, options?: Session.LayerOptions) =>
  Session.layer(options).pipe(Layer.provideMerge(Adapter.layerMemory(handler)), Layer.provide(noEnv), Layer.orDie)

/** A session over the in-memory transport, with an empty environment. */
export const memorySession = (
  handler: Adapter.Handler,
  options?: Session.LayerOptions,
  env: Map<string, string> = new Map()
) => {
  const recorder = Effect.runSync(Adapter.memory(handler))
  const layer = Session.layer(options).pipe(
    Layer.provide(Layer.succeed(Adapter.DefaultTransport, recorder.transport)),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(env)))
  )
  return { layer, requests: recorder.requests }
}

export const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
