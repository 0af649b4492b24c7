import { Adapter, Session } from "@effect-requests/core"
import { FileSystem } from "@effect/platform"
import { SystemError } from "@effect/platform/Error"
import { ConfigProvider, Effect, Layer } from "effect"

/**
 * A session over the in-memory transport with an in-memory file system holding `files` (for
 * netrc) and the environment `env`.
 */
export const memorySessionWithFiles = (
  handler: Adapter.Handler,
  options: Session.LayerOptions = {},
  files: Record<string, string> = {},
  env: Record<string, string> = {}
) => {
  const recorder = Effect.runSync(Adapter.memory(handler))
  const missing = (path: string) =>
    new SystemError({ reason: "NotFound", module: "FileSystem", method: "readFileString", pathOrDescriptor: path })
  const fs = FileSystem.layerNoop({
    exists: (path) => Effect.succeed(path in files),
    readFileString: (path) => path in files ? Effect.succeed(files[path]!) : Effect.fail(missing(path))
  })
  const layer = Session.layer(options).pipe(
    Layer.provide(Layer.succeed(Adapter.DefaultTransport, recorder.transport)),
    Layer.provide(fs),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))),
    Layer.orDie
  )
  return { layer, requests: recorder.requests }
}
